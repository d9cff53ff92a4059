"""Merge-request beads: ephemeral rig beads labelled gt:merge-request with upstream's
`key: value` fields (reference §6.1 step 9, §6.2). `gt done` makes them; the refinery eats them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gastown_tui.town.fields import format_fields, parse_fields
from gastown_tui.town.layout import RigInfo
from gastown_tui.town.store import BeadStore

MR_LABEL = "gt:merge-request"
MR_FIELD_ORDER = ("branch", "target", "source_issue", "rig", "commit_sha", "worker", "agent_bead",
                  "retry_count", "last_conflict_sha", "conflict_task_id")


@dataclass(frozen=True, slots=True)
class MergeRequest:
    id: str
    status: str
    priority: int
    branch: str
    target: str
    source_issue: str
    rig: str
    commit_sha: str
    worker: str
    agent_bead: str
    retry_count: int
    created_at: str
    updated_at: str
    labels: tuple[str, ...]
    fields: dict[str, str]

    @classmethod
    def from_bead(cls, bead: dict[str, Any]) -> MergeRequest:
        f = parse_fields(bead.get("description", ""))
        try:
            retries = int(f.get("retry_count") or 0)
        except ValueError:
            retries = 0
        return cls(id=bead["id"], status=bead["status"], priority=int(bead.get("priority", 2)),
                   branch=f.get("branch", ""), target=f.get("target", ""),
                   source_issue=f.get("source_issue", ""), rig=f.get("rig", ""),
                   commit_sha=f.get("commit_sha", ""), worker=f.get("worker", ""),
                   agent_bead=f.get("agent_bead", ""), retry_count=retries,
                   created_at=bead.get("created_at", ""), updated_at=bead.get("updated_at", ""),
                   labels=tuple(bead.get("labels", [])), fields=f)


def find_open_mr(store: BeadStore, rig: RigInfo, branch: str) -> MergeRequest | None:
    for mr in list_mrs(store, rig, include_closed=False):
        if mr.branch == branch:
            return mr
    return None


def list_mrs(store: BeadStore, rig: RigInfo, *, include_closed: bool = False) -> list[MergeRequest]:
    beads = store.list_issues(prefixes=[rig.prefix], labels=[MR_LABEL], include_infra=True,
                              include_all=include_closed, limit=0, sort="oldest", counts=False)
    return [m for m in (MergeRequest.from_bead(b) for b in beads) if m.rig in ("", rig.name)]


def create_mr(store: BeadStore, rig: RigInfo, *, branch: str, target: str, source_issue: str,
              worker: str, commit_sha: str, agent_bead: str, priority: int = 2,
              extra: dict[str, str] | None = None) -> tuple[MergeRequest, bool]:
    """Create the MR bead, or return the open one for the same branch and head (idempotent).

    An open MR for the same branch at an older head is updated to the new head (a resubmit)."""
    existing = find_open_mr(store, rig, branch)
    if existing is not None:
        if existing.commit_sha == commit_sha:
            return existing, False
        bead = store.update(existing.id, description_fields={"commit_sha": commit_sha},
                            remove_labels=["needs-fix", "needs-rebase", "needs-retry"])
        return MergeRequest.from_bead(bead), False
    fields: dict[str, str | None] = {
        "branch": branch, "target": target, "source_issue": source_issue, "rig": rig.name,
        "commit_sha": commit_sha, "worker": worker, "agent_bead": agent_bead, "retry_count": "0",
        "last_conflict_sha": None, "conflict_task_id": None, **(extra or {}),
    }
    bead = store.create(f"Merge: {source_issue}", prefix=rig.prefix, issue_type="merge-request",
                        ephemeral=True, priority=priority, labels=[MR_LABEL],
                        description=format_fields("", fields))
    return MergeRequest.from_bead(bead), True
