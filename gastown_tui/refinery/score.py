"""Which MR goes next: upstream's priority score (internal/refinery/score.go) and readiness.

score = 1000 + 10×convoy_age_hours + 100×(4−priority) − min(50×retry_count, 300) + 1×mr_age_hours

Ready = open, not blocked by an open blocker (a conflict task counts only while the MR still
carries needs-rebase, i.e. until the worker resubmits), and not waiting for a fix (needs-fix at
the head that failed). Claimed MRs (in_progress) are "active"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from gastown_tui.ops.convoy import tracked_id
from gastown_tui.ops.mr import MergeRequest, list_mrs
from gastown_tui.town.errors import BeadNotFoundError
from gastown_tui.town.layout import RigInfo
from gastown_tui.town.names import bead_prefix
from gastown_tui.town.store import BeadStore

BASE_SCORE = 1000.0
CONVOY_AGE_WEIGHT = 10.0
PRIORITY_WEIGHT = 100.0
RETRY_PENALTY = 50.0
MAX_RETRY_PENALTY = 300.0
MR_AGE_WEIGHT = 1.0

DONE_STATUSES = ("closed", "tombstone", "pinned")


def parse_time(text: str | None) -> datetime | None:
    """RFC3339 as the store writes it (with Z, with or without fractions); None if unparseable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hours(since: datetime | None, now: datetime) -> float:
    if since is None:
        return 0.0
    # A clock skewed into the future must not lower a score (upstream clamps too).
    return max(0.0, (now - since).total_seconds() / 3600.0)


def score(*, priority: int, mr_created_at: datetime | None, now: datetime,
          convoy_created_at: datetime | None = None, retry_count: int = 0) -> float:
    bonus = min(4, max(0, 4 - int(priority)))
    penalty = min(RETRY_PENALTY * max(0, int(retry_count)), MAX_RETRY_PENALTY)
    return (BASE_SCORE
            + CONVOY_AGE_WEIGHT * _hours(convoy_created_at, now)
            + PRIORITY_WEIGHT * bonus
            - penalty
            + MR_AGE_WEIGHT * _hours(mr_created_at, now))


def convoy_for_issue(store: BeadStore, issue_id: str) -> tuple[str, datetime] | None:
    """The oldest open convoy tracking the issue (directly or in upstream's external: form)."""
    if not issue_id:
        return None
    targets = [issue_id, f"external:{bead_prefix(issue_id)}:{issue_id}"]
    best: tuple[str, datetime] | None = None
    for target in targets:
        for dep in store.dependent_records(target):
            if dep["type"] != "tracks" or tracked_id(dep["depends_on_id"]) != issue_id:
                continue
            try:
                convoy = store.get(dep["issue_id"])
            except BeadNotFoundError:
                continue  # a dangling edge must not break the queue
            if convoy.get("issue_type") != "convoy" or convoy["status"] in DONE_STATUSES:
                continue
            created = parse_time(convoy.get("created_at"))
            if created is not None and (best is None or created < best[1]):
                best = (convoy["id"], created)
    return best


@dataclass(frozen=True, slots=True)
class QueueEntry:
    mr: MergeRequest
    score: float
    status: str                  # ready | blocked | active
    reason: str                  # why not ready ("" when ready)
    blockers: tuple[str, ...]    # open beads this MR waits for
    convoy_id: str

    def as_json(self) -> dict[str, object]:
        m = self.mr
        return {"id": m.id, "branch": m.branch, "source_issue": m.source_issue,
                "worker": m.worker, "status": self.status, "score": round(self.score, 2),
                "retry_count": m.retry_count, "target": m.target, "labels": list(m.labels),
                "priority": m.priority, "blocked_by": list(self.blockers),
                "reason": self.reason, "convoy_id": self.convoy_id,
                "commit_sha": m.commit_sha, "created_at": m.created_at}


def open_blockers(store: BeadStore, mr_id: str) -> list[str]:
    out = []
    for dep in store.dependency_records(mr_id):
        if dep["type"] not in ("blocks", "conditional-blocks"):
            continue
        target = dep["depends_on_id"]
        if target.startswith("external:"):
            continue
        try:
            if store.get(target)["status"] not in DONE_STATUSES:
                out.append(target)
        except BeadNotFoundError:
            continue  # a deleted blocker blocks nothing
    return out


def classify(store: BeadStore, mr: MergeRequest) -> tuple[str, str, tuple[str, ...]]:
    """(status, reason, blockers) for one MR by the readiness rules above."""
    if mr.status == "in_progress":
        return "active", "claimed by the refinery", ()
    if mr.status != "open":
        return "blocked", f"status {mr.status}", ()
    blockers = open_blockers(store, mr.id)
    conflict_task = mr.fields.get("conflict_task_id", "")
    waiting = [b for b in blockers
               if b != conflict_task or "needs-rebase" in mr.labels]
    if waiting:
        return "blocked", "blocked by " + ", ".join(waiting), tuple(blockers)
    failed_sha = mr.fields.get("last_failed_sha", "")
    if "needs-fix" in mr.labels and (not failed_sha or failed_sha == mr.commit_sha):
        return "blocked", "needs-fix: waiting for the worker to resubmit", tuple(blockers)
    return "ready", "", tuple(blockers)


def entry_for(store: BeadStore, mr: MergeRequest, now: datetime | None = None) -> QueueEntry:
    now = now or datetime.now(UTC)
    convoy = convoy_for_issue(store, mr.source_issue)
    convoy_at = convoy[1] if convoy else parse_time(mr.fields.get("convoy_created_at"))
    value = score(priority=mr.priority, mr_created_at=parse_time(mr.created_at), now=now,
                  convoy_created_at=convoy_at, retry_count=mr.retry_count)
    status, reason, blockers = classify(store, mr)
    return QueueEntry(mr=mr, score=value, status=status, reason=reason, blockers=blockers,
                      convoy_id=convoy[0] if convoy else mr.fields.get("convoy_id", ""))


def order(entries: Iterable[QueueEntry]) -> list[QueueEntry]:
    """Highest score first; equal scores go oldest first, then by id, so the order is stable."""
    return sorted(entries, key=lambda e: (-e.score, e.mr.created_at, e.mr.id))


def queue(store: BeadStore, rig: RigInfo, *, now: datetime | None = None,
          ready_only: bool = False) -> list[QueueEntry]:
    """Every open or claimed MR of the rig with its score and status, in processing order."""
    now = now or datetime.now(UTC)
    entries = [entry_for(store, mr, now) for mr in list_mrs(store, rig)
               if mr.status in ("open", "in_progress")]
    if ready_only:
        entries = [e for e in entries if e.status == "ready"]
    return order(entries)


def next_ready(store: BeadStore, rig: RigInfo, *, exclude: Iterable[str] = (),
               now: datetime | None = None) -> QueueEntry | None:
    skip = set(exclude)
    for entry in queue(store, rig, now=now, ready_only=True):
        if entry.mr.id not in skip:
            return entry
    return None
