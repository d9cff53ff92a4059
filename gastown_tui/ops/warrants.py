"""Death warrants (upstream gastown's cmd/warrant.go): a controlled way to end an agent that
is stuck or unresponsive. Someone files a warrant with a reason (the evidence is captured with
it: the agent's derived state and the last lines of its pane); the Deacon's patrol (this
town's Boot) or a person executes it: the session and every process in it are stopped, and a
polecat's hooked work goes back to the ready pool with the reason in its notes, so another
polecat can take it. The worktree stays (gt polecat nuke removes it).

Warrants are upstream's JSON files, `<town>/warrants/<target with / as _>.warrant.json`."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops.sessions import tmux_for
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, parse_address, validate_agent_name
from gastown_tui.town.store import BeadStore

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
EVIDENCE_LINES = 15


def warrants_dir(town: Town) -> Path:
    return town.root / "warrants"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _canonical(target: str) -> tuple[str, str, Address | None]:
    """(canonical target, tmux session suffix or '', address) for an agent path; dogs are
    deacon/dogs/<name>."""
    text = target.strip().strip("/")
    parts = text.split("/")
    if len(parts) == 3 and parts[:2] == ["deacon", "dogs"]:
        validate_agent_name(parts[2], kind="dog")
        return text, f"hq-dog-{parts[2]}", None
    if parts[:2] == ["deacon", "dogs"]:
        raise ValidationError("a dog warrant names the dog", fix="e.g. deacon/dogs/alpha")
    addr = parse_address(text)
    return str(addr), "", addr


def _path(town: Town, target: str) -> Path:
    return warrants_dir(town) / f"{target.replace('/', '_')}.warrant.json"


def session_for(town: Town, target: str) -> str:
    canonical, dog_session, addr = _canonical(target)
    if dog_session:
        return dog_session
    assert addr is not None
    return addr.session_name(town.rig(addr.rig).prefix if addr.rig else None)


def _evidence(town: Town, store: BeadStore, target: str, session: str) -> list[str]:
    """What the agent looked like when the warrant was filed (one-line, control-free)."""
    lines: list[str] = []
    _, _, addr = _canonical(target)
    if addr is not None and addr.role == "polecat":
        from gastown_tui.ops.polecats import polecats

        for info in polecats(town, store, town.rig(str(addr.rig))):
            if info.name == addr.name:
                lines.append(f"state: {info.state} ({info.evidence})")
                if info.issue:
                    lines.append(f"hook: {info.issue} {info.issue_title}")
    tmux = tmux_for(town)
    try:
        if tmux.has_session(session):
            tail = [ln for ln in tmux.capture(session) if ln.strip()][-EVIDENCE_LINES:]
            lines += [f"pane: {_CONTROL.sub('', ln)[:200]}" for ln in tail]
        else:
            lines.append(f"no tmux session {session}")
    except GasTownError as exc:
        lines.append(f"pane unreadable: {exc.problem}")
    return lines


def file(town: Town, store: BeadStore, target: str, reason: str, *, filed_by: str = ""
         ) -> tuple[dict[str, Any], bool]:
    """(warrant, created): a pending warrant for the target stays the one there is."""
    if not reason.strip():
        raise ValidationError("a warrant needs a reason",
                              fix='gt warrant file <target> --reason "what is wrong"')
    canonical, _, _ = _canonical(target)
    path = _path(town, canonical)
    existing = read_json(path, None)
    if isinstance(existing, dict) and not existing.get("executed"):
        return existing, False
    session = session_for(town, canonical)
    warrant = {"id": f"warrant-{int(time.time() * 1000)}", "target": canonical,
               "reason": reason.strip(), "filed_by": filed_by or store.actor or "unknown",
               "filed_at": _now(), "executed": False, "session": session,
               "evidence": _evidence(town, store, canonical, session)}
    write_json(path, warrant)
    log_event(town.root, "warrant_filed", actor=warrant["filed_by"],
              payload={"target": canonical, "reason": warrant["reason"], "id": warrant["id"]})
    return warrant, True


def list_warrants(town: Town, *, include_executed: bool = False) -> list[dict[str, Any]]:
    folder = warrants_dir(town)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.warrant.json")):
        try:
            warrant = read_json(path, None)
        except GasTownError:
            continue  # a damaged file is gt doctor's; the rest still list
        if isinstance(warrant, dict) and (include_executed or not warrant.get("executed")):
            out.append(warrant)
    return sorted(out, key=lambda w: w.get("filed_at", ""))


def execute(town: Town, store: BeadStore, target: str, *, force: bool = False,
            by: str = "") -> dict[str, Any]:
    """Carry out a warrant: end the session with its processes, mark the warrant executed,
    give a polecat's hooked work back to the pool. --force without a warrant only ends the
    session."""
    canonical, _, addr = _canonical(target)
    path = _path(town, canonical)
    warrant = read_json(path, None)
    if not isinstance(warrant, dict):
        warrant = None
    if warrant is None and not force:
        raise ValidationError(f"no warrant found for {canonical}",
                              fix=f"file one first (gt warrant file {canonical} -r ...), "
                                  "or use --force")
    if warrant is not None and warrant.get("executed"):
        return {"target": canonical, "already_executed": True, "warrant": warrant,
                "killed": False, "released": []}
    session = session_for(town, canonical)
    tmux = tmux_for(town)
    killed = False
    if tmux.has_session(session):
        killed = tmux.kill_session(session)
    released: list[str] = []
    reason = (warrant or {}).get("reason") or "forced"
    if addr is not None and addr.role in ("polecat", "crew"):
        hooked = hook_ops.hooked_for(store, str(addr))
        while hooked is not None and hooked["id"] not in released:
            store.update(hooked["id"], changes={"status": "open", "assignee": ""},
                         append_notes=f"Warrant executed on {canonical}: {reason}")
            released.append(hooked["id"])
            hooked = hook_ops.hooked_for(store, str(addr))
        if addr.role == "polecat":
            try:
                store.update(addr.agent_bead_id(town.rig(str(addr.rig)).prefix),
                             description_fields={"agent_state": "idle", "hook_bead": None,
                                                 "exit_type": "WARRANT"})
            except GasTownError:
                pass
    if warrant is not None:
        warrant.update(executed=True, executed_at=_now(), executed_by=by or store.actor,
                       released=released)
        write_json(path, warrant)
    log_event(town.root, "warrant_executed", actor=by or store.actor or "deacon",
              payload={"target": canonical, "session": session, "killed": killed,
                       "released": released, "reason": reason})
    return {"target": canonical, "session": session, "killed": killed, "released": released,
            "warrant": warrant}


def execute_pending(town: Town, store: BeadStore, *, by: str = "deacon") -> list[dict[str, Any]]:
    """Every pending warrant, executed (the Deacon's patrol, Boot's triage upstream)."""
    done = []
    for warrant in list_warrants(town):
        try:
            done.append(execute(town, store, warrant["target"], by=by))
        except GasTownError as exc:
            done.append({"target": warrant.get("target", "?"), "error": exc.problem})
    return done
