"""Boot (upstream gastown's internal/boot, mol-boot-triage): the watchdog of the watchdog.

Upstream runs a fresh AI session each daemon tick to decide what the Deacon needs. Here the
Deacon is a deterministic loop, so Boot is too: observe (is `hq-deacon` running, how old is
its heartbeat), decide (start, restart, nudge, nothing), act, and carry out pending death
warrants. Each run leaves upstream's `.boot-status.json` in `deacon/dogs/boot/`. Witnesses
call it when the Deacon's heartbeat goes stale, with upstream's 2-minute cooldown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.ops.sessions import read_heartbeat, tmux_for
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

STALE = 5 * 60.0  # a heartbeat this old: nudge the Deacon
VERY_STALE = 20 * 60.0  # this old: restart it
COOLDOWN = 2 * 60.0
GONE_AFTER = 90.0  # no session and no beat for this long: the Deacon died; start it


def boot_dir(town: Town) -> Path:
    return town.root / "deacon" / "dogs" / "boot"


def status_path(town: Town) -> Path:
    return boot_dir(town) / ".boot-status.json"


def _stamp(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(text: str, now: datetime) -> float | None:
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (now - (value if value.tzinfo else value.replace(tzinfo=UTC))).total_seconds()


def observe(town: Town, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    running = tmux_for(town).has_session("hq-deacon")
    beat = read_heartbeat(town, "hq-deacon") or {}
    age = _age(beat.get("ts", ""), now) if beat else None
    return {"deacon_running": running, "heartbeat": beat.get("ts", ""),
            "heartbeat_age_s": None if age is None else round(age, 1)}


def decide(seen: dict[str, Any]) -> str:
    if not seen["deacon_running"]:
        return "start"
    age = seen["heartbeat_age_s"]
    if age is not None and age > VERY_STALE:
        return "restart"
    if age is not None and age > STALE:
        return "nudge"
    return "nothing"


def triage(town: Town, store: BeadStore, *, now: datetime | None = None) -> dict[str, Any]:
    from gastown_tui.ops import warrants
    from gastown_tui.ops.nudge import nudge
    from gastown_tui.ops.up import start_deacon

    started = datetime.now(UTC)
    seen = observe(town, now)
    action = decide(seen)
    error = ""
    try:
        if action == "restart":
            tmux_for(town).kill_session("hq-deacon")
        if action in ("start", "restart"):
            start_deacon(town)
        elif action == "nudge":
            nudge(town, "deacon", "HEALTH_CHECK from boot: your heartbeat is stale",
                  mode="queue", sender="boot")
    except GasTownError as exc:
        error = exc.problem
    executed = [w["target"] for w in warrants.execute_pending(town, store, by="boot")
                if not w.get("error")]
    status = {"started_at": _stamp(started), "completed_at": _stamp(), "last_action": action,
              "target": "deacon", **({"error": error} if error else {}), "observed": seen,
              "warrants_executed": executed}
    write_json(status_path(town), status)
    if action != "nothing" or executed:
        log_event(town.root, "boot", actor="deacon-boot",
                  payload={"action": action, "warrants": executed, "error": error})
    return status


def last_status(town: Town) -> dict[str, Any]:
    return read_json(status_path(town), {}) or {}


def watch_deacon(town: Town, store: BeadStore) -> dict[str, Any] | None:
    """What a Witness calls each patrol: triage when the Deacon looks unwell, at most once
    per cooldown. None when all is well or it ran too recently."""
    seen = observe(town)
    if decide(seen) == "nothing":
        return None
    age = seen["heartbeat_age_s"]
    if age is None:
        return None  # no Deacon ever ran here: starting one is `gt up`'s call, not Boot's
    if not seen["deacon_running"] and age < GONE_AFTER:
        return None  # it beat a moment ago (a `--once` run, a restart under way): wait
    last = last_status(town).get("completed_at", "")
    age = _age(last, datetime.now(UTC)) if last else None
    if age is not None and age < COOLDOWN:
        return None
    return triage(town, store)
