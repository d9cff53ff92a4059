"""Readers for each part of a TownSnapshot, one function per part.

Each reader takes the town, the open store and the clock and returns view records; the
TownModel decides which ones to call for a batch of changes. The verbs' own read functions
(polecats, convoy tracking, the merge queue order, mail) are called, not re-implemented. They
live in ops/ and refinery/, which sit above town/ in the layering, so they are imported inside
the functions: `import gastown_tui.town` stays light and cycle-free.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from gastown_tui.model.snapshot import (
    AgentView,
    BeadCounts,
    BeadDetail,
    BeadView,
    Comment,
    ConvoyView,
    EventView,
    MailView,
    MergeView,
    RefineryView,
    Related,
    TrackedItem,
    parse_ts,
)
from gastown_tui.ops.context import open_store
from gastown_tui.ops.convoy import DONE_STATUSES, tracked
from gastown_tui.ops.crew import names as crew_names
from gastown_tui.ops.escalate import open_escalations
from gastown_tui.ops.mail import inbox
from gastown_tui.ops.nudge import pending
from gastown_tui.ops.polecats import polecats
from gastown_tui.ops.sessions import read_heartbeat, tmux_for
from gastown_tui.ops.warrants import list_warrants
from gastown_tui.ops.worktrees import inspect
from gastown_tui.refinery.score import queue
from gastown_tui.runtimes.presets import runtime_named
from gastown_tui.runtimes.screen import ScreenSpec
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.store import BeadStore

# Bead types the screens list as work (the rest have their own panes or are bookkeeping).
NOT_LISTED_TYPES = frozenset({"merge-request", "convoy", "message", "agent", "role", "rig",
                              "event", "gate", "molecule"})
LOG_TAIL_LINES = 12
LOG_TAIL_BYTES = 8192
RECENT_LANDED_HOURS = 24.0
MAX_LANDED = 10


# ------------------------------------------------------------------ beads
def bead_view(bead: dict[str, Any], *, ready: bool = False, blocked: bool = False) -> BeadView:
    return BeadView(id=bead["id"], title=bead.get("title", ""), status=bead.get("status", ""),
                    priority=int(bead.get("priority", 2) or 0),
                    issue_type=bead.get("issue_type", "task") or "task",
                    assignee=bead.get("assignee", "") or "", ready=ready, blocked=blocked,
                    created_at=bead.get("created_at", "") or "",
                    updated_at=bead.get("updated_at", "") or "",
                    labels=tuple(bead.get("labels", ()) or ()))


def bead_detail(bead: dict[str, Any]) -> BeadDetail:
    """`store.details()` (bd show's shape) as the bead screen's record."""

    def related(others: Iterable[dict[str, Any]]) -> tuple[Related, ...]:
        return tuple(Related(id=o["id"], title=o.get("title", "") or "",
                             status=o.get("status", "") or "",
                             dependency_type=o.get("dependency_type", "") or "") for o in others)

    return BeadDetail(
        id=bead["id"], title=bead.get("title", "") or "", status=bead.get("status", "") or "",
        priority=int(bead.get("priority", 2) or 0),
        issue_type=bead.get("issue_type", "task") or "task",
        assignee=bead.get("assignee", "") or "", labels=tuple(bead.get("labels", ()) or ()),
        created_at=bead.get("created_at", "") or "", updated_at=bead.get("updated_at", "") or "",
        description=bead.get("description", "") or "",
        dependencies=related(bead.get("dependencies", ()) or ()),
        dependents=related(bead.get("dependents", ()) or ()),
        comments=tuple(Comment(author=str(c.get("author", "") or ""),
                               created_at=str(c.get("created_at", "") or ""),
                               text=str(c.get("text", "") or ""))
                       for c in bead.get("comments", ()) or ()))


def read_bead_detail(town: Town, bead_id: str) -> BeadDetail:
    """One bead in full, read in the caller's thread (the bead screen's worker)."""
    store = open_store(town, "overseer")
    try:
        return bead_detail(store.details(bead_id))
    finally:
        store.close_connection()


def read_beads(store: BeadStore, blocked: set[str], *, ready_limit: int, open_limit: int
               ) -> tuple[tuple[BeadView, ...], BeadCounts, tuple[dict[str, Any], ...]]:
    """(records, counts, hooked bead dicts): ready first, then work on hooks, then open.

    Lists are capped (a town can hold tens of thousands of beads; the screens show hundreds);
    the counts come from one GROUP BY so they stay exact. `ready` counts the ready beads
    listed (convoys, merge requests and mail are ready beads too, but not rows to sling)."""
    ready = store.ready(limit=ready_limit + 1)
    capped = len(ready) > ready_limit
    ready = ready[:ready_limit]
    hooked = read_hooked(store)
    open_beads = store.list_issues(statuses=["open"], limit=open_limit, counts=False)
    records: dict[str, BeadView] = {}
    ready_ids = {b["id"] for b in ready}
    for bead in [*ready, *hooked, *open_beads]:
        if bead["id"] in records or bead.get("issue_type") in NOT_LISTED_TYPES \
                or "gt:message" in bead.get("labels", ()):
            continue
        records[bead["id"]] = bead_view(bead, ready=bead["id"] in ready_ids,
                                        blocked=bead["id"] in blocked)
    # Exact per-status counts over work beads; BeadStore has no counting query, so this one
    # reads its connection directly (see the report: a counts_by_status() would be cleaner).
    marks = ",".join("?" * len(NOT_LISTED_TYPES))
    rows = store.conn.read(f"SELECT status, count(*) FROM issues WHERE issue_type NOT IN ({marks})"
                           " GROUP BY status", sorted(NOT_LISTED_TYPES))
    by_status = {row[0]: int(row[1]) for row in rows}
    counts = BeadCounts(open=by_status.get("open", 0), in_progress=by_status.get("in_progress", 0),
                        hooked=by_status.get("hooked", 0), closed=by_status.get("closed", 0),
                        blocked=len(blocked), ready=sum(1 for r in records.values() if r.ready),
                        ready_capped=capped)
    return tuple(records.values()), counts, hooked


def read_hooked(store: BeadStore) -> tuple[dict[str, Any], ...]:
    """Work on hooks (hooked or in progress): the agents' view needs it before the lists."""
    return tuple(store.list_issues(statuses=["hooked", "in_progress"], limit=0, counts=False))


def attached_at(bead: dict[str, Any]) -> str:
    """When work went on its hook: sling's attached_at field, else when it last changed."""
    fields = parse_fields(bead.get("description", "") or "")
    return fields.get("attached_at") or bead.get("started_at") or bead.get("updated_at", "") or ""


# ------------------------------------------------------------------ agents
def screen_spec(town: Town, alias: str, rig: str) -> ScreenSpec | None:
    """How the screens of a runtime read; None for loops and unknown runtimes."""
    if not alias or alias == "gt":
        return None
    try:
        return runtime_named(town, alias, rig).screen
    except GasTownError:
        return None


def session_states(town: Town) -> tuple[dict[str, bool], str]:
    """(session -> pane alive, error text): one `list-panes -a` on the town's server."""
    tmux = tmux_for(town)
    try:
        sessions = {s.name: not s.pane_dead for s in tmux.list_sessions()}
    except GasTownError as exc:
        return {}, str(exc)
    if not sessions and not tmux.is_running():
        return {}, f"the town's tmux server is not running (socket {tmux.socket})"
    return sessions, ""


def read_polecats(town: Town, store: BeadStore, hooked: Iterable[dict[str, Any]],
                  sessions: dict[str, bool] | None = None) -> list[AgentView]:
    """Every polecat with its state and evidence, from ops.polecats (the one derivation)."""
    since = {b["id"]: attached_at(b) for b in hooked}
    out = []
    specs: dict[tuple[str, str], ScreenSpec | None] = {}
    for info in polecats(town, store, sessions=sessions):
        key = (info.runtime, info.rig)
        if key not in specs:
            specs[key] = screen_spec(town, *key)
        out.append(AgentView(
            address=info.address, role="polecat", rig=info.rig, name=info.name,
            session=info.session_address, session_running=info.session_running, state=info.state,
            evidence=info.evidence, hooked_bead=info.issue, hooked_title=info.issue_title,
            hooked_since=since.get(info.issue, ""), agent_state=info.agent_state,
            active_mr=info.active_mr, branch=info.branch, worktree_exists=info.worktree_exists,
            heartbeat=info.heartbeat, pending_nudges=pending(town, info.session_name),
            runtime=info.runtime, screen=specs[key], host=info.host))
    return out


def read_crew(town: Town, rigs: list[RigInfo], hooked: Iterable[dict[str, Any]],
              sessions: dict[str, bool]) -> list[AgentView]:
    """Each rig's crew members (a clone at <rig>/crew/<name>), shown beside its polecats:
    working with a bead on the hook and a session, idle with a session, else away."""
    hooks = {b.get("assignee", ""): b for b in hooked}
    out = []
    for rig in rigs:
        for name in crew_names(rig):
            address = f"{rig.name}/crew/{name}"
            session = f"{rig.prefix}-crew-{name}"
            alive = bool(sessions.get(session))
            bead = hooks.get(address)
            if alive:
                state = "working" if bead else "idle"
                evidence = f"hooked {bead['id']}, session alive" if bead else "session alive"
            else:
                state = "away"
                evidence = (f"hooked {bead['id']}; no session (a person may work the clone)"
                            if bead else "no session: gt crew at " + name)
            head = rig.path / "crew" / name / ".git" / "HEAD"
            try:
                ref = head.read_text(encoding="utf-8").strip()
            except OSError:
                ref = ""
            beat = read_heartbeat(town, session) or {}
            out.append(AgentView(
                address=address, role="crew", rig=rig.name, name=name, session=session,
                session_running=alive, state=state, evidence=evidence,
                hooked_bead=bead["id"] if bead else "",
                hooked_title=bead["title"] if bead else "",
                hooked_since=attached_at(bead) if bead else "",
                branch=ref.removeprefix("ref: refs/heads/"), worktree_exists=True,
                heartbeat=str(beat.get("ts", "")), pending_nudges=pending(town, session)))
    return out


def read_roles(town: Town, rigs: list[RigInfo], sessions: dict[str, bool]) -> list[AgentView]:
    """The Mayor, the Deacon, and each rig's Witness and Refinery, from their sessions."""
    wanted: list[tuple[str, str, str, str]] = [("mayor", "mayor", "", "hq-mayor"),
                                               ("deacon", "deacon", "", "hq-deacon")]
    for rig in rigs:
        wanted.append((f"{rig.name}/witness", "witness", rig.name, f"{rig.prefix}-witness"))
        wanted.append((f"{rig.name}/refinery", "refinery", rig.name, f"{rig.prefix}-refinery"))
    out = []
    for address, role, rig_name, session in wanted:
        alive = sessions.get(session)
        if alive is None:
            state, evidence = "stopped", f"no tmux session {session}"
        elif alive:
            state, evidence = "running", "session alive"
        else:
            state, evidence = "stopped", "its program exited (pane dead)"
        beat = read_heartbeat(town, session) or {}
        out.append(AgentView(address=address, role=role, rig=rig_name, session=session,
                             session_running=bool(alive), state=state, evidence=evidence,
                             heartbeat=str(beat.get("ts", "")),
                             pending_nudges=pending(town, session)))
    return out


def read_heartbeat_ts(town: Town, session: str) -> str:
    return str((read_heartbeat(town, session) or {}).get("ts", ""))


def pending_nudges(town: Town, session: str) -> int:
    return pending(town, session)


def worktree_facts(rig: RigInfo, name: str) -> dict[str, Any]:
    """Branch, ahead and dirty counts with pygit2; a fresh Repository per call (per thread)."""
    try:
        state = inspect(rig, rig.polecat_worktree(name))
    except GasTownError:
        return {}
    if not state.exists:
        return {}
    return {"branch": state.branch, "ahead": state.ahead, "dirty": len(state.dirty),
            "dirty_paths": tuple(state.dirty[:5])}


# ------------------------------------------------------------------ convoys
def read_convoy(store: BeadStore, convoy: dict[str, Any],
                blocked: set[str] | None = None) -> ConvoyView:
    items = tuple(TrackedItem(id=i["id"], title=i.get("title", ""), status=i["status"],
                              blocked=bool(i.get("blocked")), worker=i.get("worker", ""))
                  for i in tracked(store, convoy["id"], blocked))
    return ConvoyView(id=convoy["id"], title=convoy.get("title", ""), status=convoy["status"],
                      created_at=convoy.get("created_at", "") or "",
                      closed_at=convoy.get("closed_at", "") or "",
                      completed=sum(1 for i in items if i.status in DONE_STATUSES),
                      total=len(items), tracked=items)


def convoy_beads(store: BeadStore, now: datetime) -> list[dict[str, Any]]:
    """Open convoys, then the few that landed in the last day (newest first)."""
    beads = store.list_issues(issue_types=["convoy"], include_all=True, limit=0, sort="created",
                              counts=False)
    open_ones = [b for b in beads if b["status"] != "closed"]
    landed = []
    for bead in beads:
        closed = parse_ts(bead.get("closed_at"))
        if bead["status"] == "closed" and closed is not None \
                and (now - closed).total_seconds() < RECENT_LANDED_HOURS * 3600:
            landed.append(bead)
    return open_ones + landed[:MAX_LANDED]


# ------------------------------------------------------------------ merge queue
def _stage_of(mr_id: str, labels: tuple[str, ...], mr_status: str, queue_status: str,
              state: dict[str, Any] | None) -> tuple[str, str]:
    if state and state.get("mr") == mr_id and state.get("stage") not in (None, "", "done"):
        return str(state["stage"]), str(state.get("stage_started_at", ""))
    if "needs-rebase" in labels:
        return "conflict", ""
    if "needs-fix" in labels:
        return "failed", ""
    if queue_status == "blocked" or mr_status == "blocked":
        return "blocked", ""
    if queue_status == "active":
        return "claimed", ""
    return "queued", ""


def read_merge_queue(store: BeadStore, rig: RigInfo, state: dict[str, Any] | None,
                     now: datetime) -> list[MergeView]:
    """Open MRs in the order the Refinery takes them (its score)."""
    rows = [(entry.mr, entry.score, entry.status, entry.reason)
            for entry in queue(store, rig, now=now)]
    out = []
    for position, (mr, score, status, reason) in enumerate(rows, start=1):
        stage, since = _stage_of(mr.id, mr.labels, mr.status, status, state)
        out.append(MergeView(id=mr.id, rig=rig.name, position=position,
                             source_issue=mr.source_issue, branch=mr.branch, worker=mr.worker,
                             queue_status=status, stage=stage, stage_since=since, reason=reason,
                             retries=mr.retry_count, created_at=mr.created_at, score=score))
    return out


def refinery_state_path(rig: RigInfo) -> Path:
    return rig.path / ".runtime" / "refinery" / "state.json"


def read_witness_stalls(rig: RigInfo) -> dict[str, tuple[str, str]]:
    """The polecats the rig's Witness last judged stalled: name -> (hooked bead, evidence).
    An unreadable file is no verdict (the Witness rewrites it every patrol)."""
    try:
        data = json.loads((rig.path / ".runtime" / "witness" / "state.json")
                          .read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    verdicts = data.get("verdicts") if isinstance(data, dict) else None
    out: dict[str, tuple[str, str]] = {}
    for name, verdict in (verdicts or {}).items():
        if isinstance(verdict, dict) and verdict.get("state") == "stalled":
            out[str(name)] = (str(verdict.get("issue", "")), str(verdict.get("evidence", "")))
    return out


def read_refinery_state(rig: RigInfo) -> dict[str, Any] | None:
    """The refinery's stage file, read defensively: missing or unreadable means idle."""
    try:
        data = json.loads(refinery_state_path(rig).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def tail_lines(path: Path, lines: int = LOG_TAIL_LINES, max_bytes: int = LOG_TAIL_BYTES
               ) -> tuple[str, ...]:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return ()
    text = data.decode("utf-8", "replace").replace("\r", "")
    return tuple(text.splitlines()[-lines:])


def read_refinery(rig: RigInfo) -> tuple[RefineryView, dict[str, Any] | None]:
    state = read_refinery_state(rig)
    if not state or state.get("stage") in (None, "", "done"):
        return RefineryView(rig=rig.name), state
    stage = str(state.get("stage", ""))
    mr = str(state.get("mr", ""))
    log_name, tail = "", ()
    if stage.startswith("gates:") and mr:
        gate = stage.split(":", 1)[1]
        log = rig.path / ".runtime" / "refinery" / "logs" / f"{mr}-{gate}.log"
        log_name, tail = log.name, tail_lines(log)
    return RefineryView(rig=rig.name, mr=mr, stage=stage,
                        started_at=str(state.get("started_at", "")),
                        stage_started_at=str(state.get("stage_started_at", "")),
                        log_name=log_name, log_tail=tail), state


# ------------------------------------------------------------------ mail and escalations
def read_mail(store: BeadStore) -> list[MailView]:
    return [MailView(id=m["id"], sender=m["from"], subject=m["subject"], body=m["body"],
                     timestamp=m["timestamp"], priority=m["priority"], msg_type=m["type"])
            for m in inbox(store, "overseer", include_read=False)]


def read_escalations(store: BeadStore) -> list[dict[str, Any]]:
    """Open escalation beads nobody has acknowledged yet."""
    out = []
    for bead in open_escalations(store):
        if not parse_fields(bead.get("description", "") or "").get("acked_by"):
            out.append(bead)
    return out


def read_human_gates(store: BeadStore) -> list[dict[str, Any]]:
    """Open gates that wait for a person (human approval), with the beads they hold."""
    gates = store.list_issues(issue_types=["gate"], statuses=["open"], limit=200,
                              sort="created", counts=False)
    out = []
    for gate in gates:
        if gate.get("await_type") == "human":
            held = [d["issue_id"] for d in store.dependent_records(gate["id"])
                    if d["type"] == "blocks"]
            out.append({**gate, "blocks": ", ".join(held)})
    return out


def read_warrants(town: Town) -> list[dict[str, Any]]:
    """Pending death warrants (gt warrant file), oldest first."""
    return list_warrants(town)


# ------------------------------------------------------------------ events
def event_view(event: dict[str, Any]) -> EventView:
    payload = event.get("payload") or {}
    summary = ""
    if isinstance(payload, dict):
        summary = " ".join(f"{k}={_short(v)}" for k, v in payload.items()
                           if v not in (None, "", [], {}))
    actor = str(event.get("actor", ""))
    return EventView(ts=str(event.get("ts", "")), type=str(event.get("type", "")),
                     actor=actor, summary=summary[:200], rig=_event_rig(payload, actor))


_TOWN_ROLES = ("mayor", "deacon", "overseer", "boot", "hq", "dogs")


def _event_rig(payload: Any, actor: str) -> str:
    """The rig an event is about: its payload's `rig`, else its actor's (`<rig>/…`)."""
    if isinstance(payload, dict) and isinstance(payload.get("rig"), str) and payload["rig"]:
        return payload["rig"]
    head, slash, _ = actor.partition("/")
    return head if slash and head and head not in _TOWN_ROLES else ""


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value[:4]) + ("…" if len(value) > 4 else "")
    return str(value)


class EventTail:
    """Follows `.events.jsonl` from where it stopped: a change reads only the appended bytes.

    The first read goes through `read_events` (the log's one reader); later reads parse just
    the new complete lines. A file that shrank was rewritten, so it is read again in full.
    """

    def __init__(self, root: Path, limit: int) -> None:
        self.root = Path(root)
        self.path = self.root / ".events.jsonl"
        self.limit = limit
        self.offset = 0
        self.events: list[EventView] = []

    def load(self) -> list[EventView]:
        from gastown_tui.town.events import read_events

        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        self.events = [event_view(e) for e in read_events(self.root, limit=self.limit)]
        self.offset = size
        return self.events

    def update(self) -> bool:
        """Read what was appended; True when new events arrived."""
        try:
            size = self.path.stat().st_size
        except OSError:
            if self.events or self.offset:
                self.events, self.offset = [], 0
                return True
            return False
        if size < self.offset:
            self.load()
            return True
        if size == self.offset:
            return False
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read(size - self.offset)
        end = data.rfind(b"\n")
        if end < 0:
            return False  # half a line: wait for the writer to finish it
        self.offset += end + 1
        added = []
        for raw in data[:end].splitlines():
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                event = {"type": "corrupt", "payload": {"text": raw[:200].decode("utf-8", "replace")}}
            if isinstance(event, dict):
                added.append(event_view(event))
        self.events = (self.events + added)[-self.limit:]
        return bool(added)
