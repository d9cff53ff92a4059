"""The scheduler (`gt scheduler`): caps on how many polecats work at once, per town and per
rig, and a memory/CPU gate; beads beyond them wait in a visible queue and start as slots free.

As upstream (internal/cmd/scheduler.go, sling_schedule.go, capacity_dispatch.go): with
`settings/config.json` `"scheduler": {"max_polecats": N}` (N > 0) a sling to a rig does not
spawn a polecat but files a *sling context*: an ephemeral bead labelled `gt:sling-context`
whose description is the sling's parameters as JSON (`work_bead_id`, `target_rig`, `formula`,
`enqueued_at`, …) with a `tracks` dependency on the work bead; dispatch (`gt scheduler run`,
and the Deacon every patrol) slings the ready ones while there is capacity, oldest first, and
closes each context `dispatched`. State (pause) is `.runtime/scheduler-state.json`.

Ours besides: a rig's own cap (`<rig>/settings/config.json` `"scheduler": {"max_polecats":
N}`), a gate on free memory (`min_free_memory_mb`) and on load (`max_load_per_cpu`), and a
sling that finds a free slot starts at once instead of waiting for the next patrol."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from gastown_tui.town.errors import ConflictError, GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import RigInfo, Town, now_rfc3339
from gastown_tui.town.locks import try_lock
from gastown_tui.town.store import BeadStore

LABEL = "gt:sling-context"
MAX_FAILURES = 3  # a context that failed this often is left for a person (upstream's)


@dataclass(frozen=True)
class Config:
    max_polecats: int = -1  # town-wide; <= 0 means no cap
    batch_size: int = 0  # most to start per dispatch; 0: as many as there are slots for
    spawn_delay: float = 0.0
    min_free_memory_mb: int = 0
    max_load_per_cpu: float = 0.0
    rig_caps: dict[str, int] = field(default_factory=dict)

    def deferred(self, rig: str) -> bool:
        """Slings to `rig` queue (a cap or the gate applies to it)."""
        return (self.max_polecats > 0 or self.rig_caps.get(rig, 0) > 0
                or self.min_free_memory_mb > 0 or self.max_load_per_cpu > 0)

    @property
    def active(self) -> bool:
        """Any cap or gate is set (for any rig)."""
        return self.deferred("") or any(cap > 0 for cap in self.rig_caps.values())


def _int(value: Any, default: int, what: str) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"scheduler.{what} {value!r} is not a number",
                              fix=f"set it with: gt config set scheduler.{what} <N>") from exc


def _seconds(text: str) -> float:
    """A Go duration as upstream writes spawn_delay ("0s", "2s", "500ms", "1m")."""
    import re

    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text or "0")
    if not found:
        raise ValidationError(f"scheduler.spawn_delay {text!r} is not a duration",
                              fix="use e.g. 0s, 2s, 500ms")
    return float(found.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[
        found.group(2) or "s"]


def config(town: Town) -> Config:
    settings = read_json(town.settings_json, {}) or {}
    cfg = settings.get("scheduler") if isinstance(settings, dict) else None
    cfg = cfg if isinstance(cfg, dict) else {}
    caps = {}
    for rig in town.rigs():
        rig_cfg = (read_json(rig.path / "settings" / "config.json", {}) or {}).get("scheduler")
        if isinstance(rig_cfg, dict) and rig_cfg.get("max_polecats") is not None:
            caps[rig.name] = _int(rig_cfg.get("max_polecats"), -1, "max_polecats")
    try:
        load = float(cfg.get("max_load_per_cpu") or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"scheduler.max_load_per_cpu {cfg.get('max_load_per_cpu')!r} is "
                              "not a number", fix="use a number such as 1.5") from exc
    return Config(max_polecats=_int(cfg.get("max_polecats"), -1, "max_polecats"),
                  batch_size=max(0, _int(cfg.get("batch_size"), 0, "batch_size")),
                  spawn_delay=_seconds(str(cfg.get("spawn_delay") or "0s")),
                  min_free_memory_mb=_int(cfg.get("min_free_memory_mb"), 0,
                                          "min_free_memory_mb"),
                  max_load_per_cpu=load, rig_caps=caps)


# ---------------------------------------------------------------------------- state
def state_path(town: Town):
    return town.runtime_dir / "scheduler-state.json"


def load_state(town: Town) -> dict[str, Any]:
    data = read_json(state_path(town), None)
    if data is None:
        data = read_json(town.runtime_dir / "queue-state.json", None)  # upstream's old name
    return data if isinstance(data, dict) else {}


def pause(town: Town, actor: str) -> bool:
    state = load_state(town)
    if state.get("paused"):
        return False
    state.update({"paused": True, "paused_by": actor, "paused_at": now_rfc3339()})
    write_json(state_path(town), state)
    log_event(town.root, "scheduler_pause", actor=actor)
    return True


def resume(town: Town, actor: str) -> bool:
    state = load_state(town)
    if not state.get("paused"):
        return False
    for key in ("paused", "paused_by", "paused_at"):
        state.pop(key, None)
    state["paused"] = False
    write_json(state_path(town), state)
    log_event(town.root, "scheduler_resume", actor=actor)
    return True


# ---------------------------------------------------------------------------- the gate
@dataclass
class Gate:
    open: bool = True
    reason: str = ""
    memory_free_mb: int | None = None
    load_per_cpu: float | None = None


def free_memory_mb() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def gate(cfg: Config) -> Gate:
    """Whether the machine has room for one more agent: free memory and load per CPU."""
    out = Gate(memory_free_mb=free_memory_mb())
    try:
        out.load_per_cpu = round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    except OSError:
        out.load_per_cpu = None
    if cfg.min_free_memory_mb > 0 and out.memory_free_mb is not None \
            and out.memory_free_mb < cfg.min_free_memory_mb:
        out.open = False
        out.reason = (f"memory: {out.memory_free_mb} MB free, below "
                      f"min_free_memory_mb {cfg.min_free_memory_mb}")
    elif cfg.max_load_per_cpu > 0 and out.load_per_cpu is not None \
            and out.load_per_cpu > cfg.max_load_per_cpu:
        out.open = False
        out.reason = (f"cpu: load {out.load_per_cpu} per CPU, above max_load_per_cpu "
                      f"{cfg.max_load_per_cpu}")
    return out


def active(town: Town, store: BeadStore) -> dict[str, int]:
    """rig -> polecats holding a slot: a live session with work on its hook (working,
    blocked by a dialog or rate-limited alike: each is a running agent)."""
    from gastown_tui.ops.polecats import polecats

    out: dict[str, int] = {r.name: 0 for r in town.rigs()}
    for p in polecats(town, store):
        if p.session_running and p.issue:
            out[p.rig] = out.get(p.rig, 0) + 1
    return out


def free_slots(cfg: Config, counts: dict[str, int], rig: str) -> int:
    town_free = cfg.max_polecats - sum(counts.values()) if cfg.max_polecats > 0 else 1 << 30
    cap = cfg.rig_caps.get(rig, 0)
    rig_free = cap - counts.get(rig, 0) if cap > 0 else 1 << 30
    return max(0, min(town_free, rig_free))


# ---------------------------------------------------------------------------- the queue
def contexts(store: BeadStore) -> list[dict[str, Any]]:
    """Open sling contexts, oldest first, each with its parsed fields under `fields`."""
    out = []
    for bead in store.list_issues(labels=[LABEL], include_infra=True, limit=0,
                                  statuses=["open"], sort="created", counts=False):
        try:
            fields = json.loads(bead.get("description") or "{}")
        except ValueError:
            fields = {}
        if not isinstance(fields, dict) or not fields.get("work_bead_id"):
            continue  # not one of ours: reported by status as unreadable
        out.append({**bead, "fields": fields})
    out.sort(key=lambda c: (c["fields"].get("enqueued_at", ""), c["id"]))
    return out


def queued(town: Town, store: BeadStore) -> list[dict[str, Any]]:
    """The scheduled beads in upstream's shape (`gt scheduler list --json`), oldest first."""
    blocked = store.blocked_ids()
    out, seen = [], set()
    for ctx in contexts(store):
        f = ctx["fields"]
        work = str(f["work_bead_id"])
        if work in seen or int(f.get("dispatch_failures") or 0) >= MAX_FAILURES:
            continue
        seen.add(work)
        try:
            bead = store.get(work)
        except GasTownError:
            bead = {"title": ctx["title"], "status": "missing"}
        if bead["status"] in ("hooked", "closed", "tombstone"):
            continue
        item = {"id": work, "title": bead["title"], "status": bead["status"],
                "target_rig": str(f.get("target_rig") or "")}
        if work in blocked or bead["status"] not in ("open",):
            item["blocked"] = True
        item["context"] = ctx["id"]
        item["enqueued_at"] = f.get("enqueued_at", "")
        out.append(item)
    return out


def schedule(town: Town, store: BeadStore, bead_ids: list[str], rig: RigInfo, *,
             formula: str, agent: str | None, account: str | None, no_convoy: bool,
             force: bool, dispatched_by: str, guard: Callable[[str], dict[str, Any]]
             ) -> list[str]:
    """File a sling context for each bead (one already scheduled is left as it is); returns
    the context ids. `guard` checks a bead as sling does (closed, hooked elsewhere)."""
    from gastown_tui.ops import convoy as convoy_ops

    existing = {c["fields"]["work_bead_id"]: c["id"] for c in contexts(store)}
    out = []
    batch_convoy = ""
    if len(bead_ids) > 1 and not no_convoy:
        untracked = [b for b in bead_ids
                     if b not in existing and not convoy_ops.tracking_convoy(store, b)]
        if untracked:
            batch_convoy = convoy_ops.create(town, store, f"Batch: {len(untracked)} beads to "
                                             f"{rig.name}", untracked,
                                             owner=_owner(dispatched_by))["id"]
    for bead_id in bead_ids:
        if bead_id in existing:
            out.append(existing[bead_id])
            continue
        bead = guard(bead_id)
        # microseconds: a batch slung in one second keeps its order in the queue
        enqueued = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        fields: dict[str, Any] = {"version": 1, "work_bead_id": bead_id, "target_rig": rig.name,
                                  "enqueued_at": enqueued}
        if formula:
            fields["formula"] = formula
        if agent:
            fields["agent"] = agent
        if account:
            fields["account"] = account
        if force:
            fields["force"] = True
        if not no_convoy:
            fields["convoy"] = batch_convoy or convoy_ops.ensure_convoy(town, store, bead,
                                                                        dispatched_by)
        title = f"sling-context: {bead['title']}"[:200]
        ctx = store.create(title, prefix=rig.prefix, description=json.dumps(fields),
                           issue_type="task", labels=[LABEL], ephemeral=True,
                           deps=[("tracks", bead_id)])
        out.append(ctx["id"])
        log_event(town.root, "scheduler_enqueue", actor=dispatched_by,
                  payload={"bead": bead_id, "rig": rig.name, "context": ctx["id"]})
    return out


def _owner(dispatched_by: str) -> str:
    return dispatched_by if "/" in dispatched_by or dispatched_by in ("mayor", "deacon") \
        else "overseer"


@dataclass
class DispatchReport:
    dispatched: list[dict[str, Any]] = field(default_factory=list)  # {bead, rig, agent}
    failed: list[dict[str, Any]] = field(default_factory=list)  # {bead, rig, error}
    waiting: int = 0
    reason: str = ""  # why the rest waits: capacity | rig capacity | gate text | paused | none

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def dispatch(town: Town, store: BeadStore, *, start: Callable[..., list[Any]],
             batch: int | None = None, dry_run: bool = False, actor: str = "scheduler",
             say: Callable[[str], None] | None = None) -> DispatchReport:
    """Sling the ready queued beads while there is room, oldest first (one dispatcher at a
    time: a second one returns at once with nothing done). `start` is ops.sling.sling, passed
    in because sling queues here: the two modules must not import each other."""
    report = DispatchReport()
    try:
        with try_lock(town.runtime_dir / "locks" / "scheduler-dispatch.flock",
                      busy="another dispatch is running", fix="", town_root=town.root):
            return _dispatch(town, store, report, batch, dry_run, actor, say, start)
    except ConflictError:
        report.reason = "another dispatch is running"
        return report


def _dispatch(town: Town, store: BeadStore, report: DispatchReport, batch: int | None,
              dry_run: bool, actor: str, say: Callable[[str], None] | None,
              sling: Callable[..., list[Any]]) -> DispatchReport:
    state = load_state(town)
    pending = [q for q in queued(town, store) if not q.get("blocked")]
    report.waiting = len(pending)
    if state.get("paused"):
        report.reason = f"paused by {state.get('paused_by') or '?'}"
        return report
    if not pending:
        report.reason = "none"
        return report
    cfg = config(town)
    limit = batch if batch and batch > 0 else (cfg.batch_size or len(pending))
    counts = active(town, store)
    by_context = {c["id"]: c for c in contexts(store)}
    for item in pending:
        if len(report.dispatched) >= limit:
            report.reason = report.reason or "batch"
            break
        rig = item["target_rig"]
        if free_slots(cfg, counts, rig) <= 0:
            report.reason = ("rig capacity" if cfg.rig_caps.get(rig, 0) > 0 and
                             counts.get(rig, 0) >= cfg.rig_caps[rig] else "capacity")
            continue
        room = gate(cfg)
        if not room.open:
            report.reason = room.reason
            break
        if dry_run:
            report.dispatched.append({"bead": item["id"], "rig": rig, "agent": ""})
            counts[rig] = counts.get(rig, 0) + 1
            continue
        ctx = by_context[item["context"]]
        f = ctx["fields"]
        try:
            result = sling(town, store, [item["id"]], rig, force=bool(f.get("force")),
                           formula=f.get("formula") or None, agent=f.get("agent") or None,
                           no_convoy=True, account=f.get("account") or None,
                           schedule=False)[0]
        except GasTownError as exc:
            _failed(town, store, ctx, exc.problem, actor)
            report.failed.append({"bead": item["id"], "rig": rig, "error": exc.problem})
            continue
        store.set_status(ctx["id"], "closed", reason="dispatched")
        counts[rig] = counts.get(rig, 0) + 1
        report.dispatched.append({"bead": item["id"], "rig": rig, "agent": result.agent,
                                  "result": result.as_json()})
        log_event(town.root, "scheduler_dispatch", actor=actor,
                  payload={"bead": item["id"], "rig": rig, "polecat": result.agent})
        if say:
            say(f"dispatched {item['id']} → {result.agent}")
        if cfg.spawn_delay:
            time.sleep(cfg.spawn_delay)
    report.waiting = len(pending) - len(report.dispatched) - len(report.failed)
    if report.waiting and not report.reason:
        report.reason = "capacity"
    if report.dispatched and not dry_run:
        fresh = load_state(town)
        fresh.update({"last_dispatch_at": now_rfc3339(),
                      "last_dispatch_count": len(report.dispatched)})
        write_json(state_path(town), fresh)
    return report


def _failed(town: Town, store: BeadStore, ctx: dict[str, Any], why: str, actor: str) -> None:
    fields = dict(ctx["fields"])
    fields["dispatch_failures"] = int(fields.get("dispatch_failures") or 0) + 1
    fields["last_failure"] = why[:300]
    store.update(ctx["id"], changes={"description": json.dumps(fields)})
    log_event(town.root, "scheduler_dispatch_failed", actor=actor,
              payload={"bead": fields["work_bead_id"], "rig": fields.get("target_rig", ""),
                       "error": why, "failures": fields["dispatch_failures"]})


def clear(town: Town, store: BeadStore, bead: str | None = None) -> int:
    """Close the sling contexts (of one bead, or all): those beads leave the queue."""
    closed = 0
    for ctx in contexts(store):
        if bead is None or ctx["fields"].get("work_bead_id") == bead:
            store.set_status(ctx["id"], "closed", reason="cleared")
            closed += 1
    return closed


def status(town: Town, store: BeadStore) -> dict[str, Any]:
    """Upstream's `gt scheduler status --json`, and the caps, slots and gate besides."""
    state = load_state(town)
    beads = queued(town, store)
    cfg = config(town)
    counts = active(town, store)
    room = gate(cfg)
    out: dict[str, Any] = {
        "paused": bool(state.get("paused")), "queued_total": len(beads),
        "queued_ready": sum(1 for b in beads if not b.get("blocked")),
        "active_polecats": sum(counts.values()), "beads": beads,
        "max_polecats": cfg.max_polecats, "deferred": cfg.active,
        "rigs": {rig: {"active": n, "max_polecats": cfg.rig_caps.get(rig, -1),
                       "free": free_slots(cfg, counts, rig)} for rig, n in counts.items()},
        "gate": {"open": room.open, "reason": room.reason,
                 "memory_free_mb": room.memory_free_mb,
                 "min_free_memory_mb": cfg.min_free_memory_mb,
                 "load_per_cpu": room.load_per_cpu, "max_load_per_cpu": cfg.max_load_per_cpu},
    }
    if state.get("paused_by"):
        out["paused_by"] = state["paused_by"]
    if state.get("last_dispatch_at"):
        out["last_dispatch_at"] = state["last_dispatch_at"]
        out["last_dispatch_count"] = state.get("last_dispatch_count", 0)
    return out
