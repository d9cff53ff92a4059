"""TownSnapshot: everything the control room shows, as one immutable value.

The TownModel builds a new snapshot per batch of changes; the app hands parts of it to its
widgets, which only read it. Frozen dataclasses with tuple collections, so a snapshot can be
shared between threads, compared, and hashed (plain dataclasses, not pydantic: a snapshot of a
large town holds thousands of views, built without validation in a fraction of the time, and
the control room does not import pydantic to start). They are the one shape a record has from
the store to the widget: the readers in sources.py turn the store's bd-shaped dicts into these
once, and nothing above the model sees a dict. Copies with changes use `dataclasses.replace`.
Times are kept as the RFC3339 text the town writes (widgets turn them into ages against
`taken_at`), so building a snapshot never parses a date it does not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from gastown_tui.runtimes.screen import ScreenSpec

AgentRole = Literal["mayor", "deacon", "witness", "refinery", "polecat", "crew"]
BannerKind = Literal["town_missing", "store_locked", "store_error", "tmux_down", "error"]
AttentionKind = Literal["escalation", "conflict", "failed", "stalled", "zombie", "blocked",
                        "rate-limited", "gate", "warrant", "mail", "unreachable"]
DONE_STATUSES = ("closed", "tombstone")


def parse_ts(text: str | None) -> datetime | None:
    """An RFC3339 time as the town writes it (Z, with or without fractions); None if not one."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


frozen = dataclass(frozen=True, slots=True, kw_only=True)


@frozen
class Banner:
    """A condition that makes the whole screen less trustworthy until it goes away."""

    kind: BannerKind
    message: str
    fix: str = ""


@frozen
class RigView:
    name: str
    prefix: str
    default_branch: str = "main"
    polecats: int = 0
    refinery_running: bool = False


@frozen
class AgentView:
    """One agent: a polecat (with its worktree facts) or a town/rig role session."""

    address: str
    role: AgentRole
    rig: str = ""
    name: str = ""
    session: str
    session_running: bool = False
    state: str  # polecats: working|idle|stalled|zombie|done; roles: running|stopped
    evidence: str = ""
    hooked_bead: str = ""
    hooked_title: str = ""
    hooked_since: str = ""
    agent_state: str = ""
    active_mr: str = ""
    branch: str = ""
    ahead: int = 0
    dirty: int = 0
    dirty_paths: tuple[str, ...] = ()
    worktree_exists: bool = False
    worktree_pending: bool = False  # branch, ahead and dirty not read yet (just after start)
    heartbeat: str = ""
    pending_nudges: int = 0
    runtime: str = ""  # what its session runs: claude, codex, sim, …
    screen: ScreenSpec | None = None  # how that runtime's screen reads (dialogs, chrome)
    spend: float = 0.0  # USD its runtime reported today (model/costs.py)
    host: str = ""  # the host it runs on ('' = the town's own machine; session is host:name)

    @property
    def label(self) -> str:
        """What a person calls it: rig/name for polecats, the address otherwise."""
        return f"{self.rig}/{self.name}" if self.role in ("polecat", "crew") else self.address


@frozen
class BeadView:
    id: str
    title: str
    status: str
    priority: int = 2
    issue_type: str = "task"
    assignee: str = ""
    ready: bool = False
    blocked: bool = False
    created_at: str = ""
    updated_at: str = ""
    labels: tuple[str, ...] = ()


@frozen
class Related:
    """A bead on the other end of a dependency of a BeadDetail."""

    id: str
    title: str = ""
    status: str = ""
    dependency_type: str = ""


@frozen
class Comment:
    author: str = ""
    created_at: str = ""
    text: str = ""


@frozen
class BeadDetail:
    """One bead in full (what `bd show` prints): the bead screen's record."""

    id: str
    title: str
    status: str
    priority: int = 2
    issue_type: str = "task"
    assignee: str = ""
    labels: tuple[str, ...] = ()
    created_at: str = ""
    updated_at: str = ""
    description: str = ""
    dependencies: tuple[Related, ...] = ()
    dependents: tuple[Related, ...] = ()
    comments: tuple[Comment, ...] = ()


@frozen
class BeadCounts:
    open: int = 0
    in_progress: int = 0
    hooked: int = 0
    blocked: int = 0
    closed: int = 0
    ready: int = 0
    ready_capped: bool = False  # more ready beads exist than the snapshot counted


@frozen
class TrackedItem:
    id: str
    title: str = ""
    status: str
    blocked: bool = False
    worker: str = ""

    @property
    def glyph(self) -> str:
        if self.status in DONE_STATUSES:
            return "✓"
        if self.blocked:
            return "✗"
        if self.status in ("hooked", "in_progress"):
            return "▶"
        if self.status == "missing":
            return "?"
        return "○"


@frozen
class ConvoyView:
    id: str
    title: str
    status: str
    created_at: str = ""
    closed_at: str = ""
    completed: int = 0
    total: int = 0
    tracked: tuple[TrackedItem, ...] = ()
    spend: float = 0.0  # USD spent on its beads in the last seven days

    @property
    def landed(self) -> bool:
        return self.status == "closed"


@frozen
class MergeView:
    """One open merge request, in the rig's processing order (`position` counts from 1)."""

    id: str
    rig: str
    position: int
    source_issue: str = ""
    branch: str = ""
    worker: str = ""
    queue_status: str = "ready"  # ready | blocked | active (the refinery's classification)
    stage: str = "queued"  # queued|claimed|rebasing|gates:<name>|merging|pushing|conflict|failed|blocked
    stage_since: str = ""
    reason: str = ""
    retries: int = 0
    created_at: str = ""
    score: float | None = None


@frozen
class RefineryView:
    """What a rig's refinery loop says it is doing (`.runtime/refinery/state.json`)."""

    rig: str
    mr: str = ""
    stage: str = ""  # empty when idle
    started_at: str = ""
    stage_started_at: str = ""
    log_name: str = ""
    log_tail: tuple[str, ...] = ()


@frozen
class MailView:
    id: str
    sender: str
    subject: str
    body: str = ""
    timestamp: str = ""
    priority: str = "normal"
    msg_type: str = "notification"


@frozen
class EventView:
    ts: str
    type: str
    actor: str = ""
    summary: str = ""
    rig: str = ""  # the rig it happened in ('' for the town's own roles)


@frozen
class AttentionItem:
    """Something the overseer should look at, first in the Needs-you pane."""

    kind: AttentionKind
    key: str  # the bead, MR, agent or message it is about
    text: str
    ts: str = ""
    agent: str = ""  # the polecat it concerns (its address), when there is one


@frozen
class RigSpend:
    rig: str
    today: float = 0.0
    hourly: tuple[float, ...] = ()  # USD per local hour of today, 0..23


@frozen
class CostsView:
    """What the agents' runtimes cost (ops/costs.py), as the control room shows it."""

    today: float = 0.0
    today_tokens: int = 0
    sessions: tuple[tuple[str, float], ...] = ()  # session -> USD today
    convoys: tuple[tuple[str, float], ...] = ()  # convoy -> USD in the last seven days
    rigs: tuple[RigSpend, ...] = ()
    known: bool = False  # False until the ledger was read once (or when it cannot be)


@frozen
class TownSnapshot:
    name: str
    root: str
    taken_at: datetime
    generation: int = 0
    store_seq: int = 0
    rigs: tuple[RigView, ...] = ()
    agents: tuple[AgentView, ...] = ()
    beads: tuple[BeadView, ...] = ()
    bead_counts: BeadCounts = BeadCounts()
    convoys: tuple[ConvoyView, ...] = ()
    merge_queue: tuple[MergeView, ...] = ()
    refineries: tuple[RefineryView, ...] = ()
    mail: tuple[MailView, ...] = ()
    events: tuple[EventView, ...] = ()
    needs_you: tuple[AttentionItem, ...] = ()
    banners: tuple[Banner, ...] = ()
    costs: CostsView = CostsView()
    queued: tuple[str, ...] = ()  # beads the scheduler holds until a slot frees (oldest first)
    escalated: frozenset[str] = frozenset()  # agents with an open escalation they filed

    @classmethod
    def empty(cls, root: str, name: str = "", taken_at: datetime | None = None) -> TownSnapshot:
        return cls(name=name or root.rstrip("/").rsplit("/", 1)[-1], root=root,
                   taken_at=taken_at or datetime.now(UTC))

    @property
    def polecats(self) -> tuple[AgentView, ...]:
        return tuple(a for a in self.agents if a.role == "polecat")

    @property
    def workers(self) -> tuple[AgentView, ...]:
        """Polecats and crew: the rigs' workers, shown side by side on the wall."""
        return tuple(a for a in self.agents if a.role in ("polecat", "crew"))

    def agent(self, address: str) -> AgentView | None:
        return next((a for a in self.agents if a.address == address), None)

    def agent_by_session(self, session: str) -> AgentView | None:
        return next((a for a in self.agents if a.session == session), None)

    def bead(self, bead_id: str) -> BeadView | None:
        return next((b for b in self.beads if b.id == bead_id), None)

    def convoy(self, convoy_id: str) -> ConvoyView | None:
        return next((c for c in self.convoys if c.id == convoy_id), None)

    def refinery(self, rig: str) -> RefineryView | None:
        return next((r for r in self.refineries if r.rig == rig), None)

    def merge_request(self, mr_id: str) -> MergeView | None:
        return next((m for m in self.merge_queue if m.id == mr_id), None)

    @property
    def agents_up(self) -> int:
        return sum(1 for a in self.agents if a.session_running)

    @property
    def merging(self) -> int:
        return sum(1 for m in self.merge_queue if m.queue_status == "active")
