"""Merge-queue verbs for people and the control room: MR detail, retry, reject, and the
refinery's status. Light on imports (no pygit2, no watchfiles): `gt mq list` must start fast."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gastown_tui.ops.mr import MR_LABEL, MergeRequest
from gastown_tui.refinery.outcomes import Ctx, notify, worker_address
from gastown_tui.refinery.score import entry_for, parse_time, queue
from gastown_tui.refinery.state import (
    gate_log_path,
    logs_dir,
    poke,
    read_heartbeat,
    read_state,
)
from gastown_tui.town.errors import ClosedBeadError, ConflictError, ValidationError
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.locks import pid_alive
from gastown_tui.town.names import bead_prefix
from gastown_tui.town.store import BeadStore

STALE_HEARTBEAT = 120.0   # seconds: a loop that has not beaten for this long is not running


def find_mr(town: Town, store: BeadStore, mr_id: str) -> tuple[MergeRequest, RigInfo]:
    bead = store.get(mr_id)
    if MR_LABEL not in bead.get("labels", []):
        raise ValidationError(f"{mr_id} is not a merge request",
                              fix="see 'gt mq list <rig>' for MR ids")
    mr = MergeRequest.from_bead(bead)
    rig = None
    if mr.rig:
        rig = town.rig(mr.rig)
    else:
        rig = town.rig_for_prefix(bead_prefix(mr_id))
    if rig is None:
        raise ValidationError(f"cannot tell which rig {mr_id} belongs to",
                              fix="its rig: field is empty and its prefix matches no rig")
    return mr, rig


def loop_info(town: Town, rig: RigInfo) -> dict[str, Any]:
    beat = read_heartbeat(town, rig)
    age = None
    running = False
    if beat:
        ts = parse_time(str(beat.get("ts", "")))
        if ts is not None:
            age = max(0.0, (datetime.now(UTC) - ts).total_seconds())
        pid = int(beat.get("pid") or 0)
        running = (beat.get("state") != "stopped" and pid_alive(pid)
                   and (age is None or age < STALE_HEARTBEAT))
    return {"running": running, "heartbeat": beat, "heartbeat_age_s": age}


def _being_processed(town: Town, rig: RigInfo, mr_id: str) -> bool:
    state = read_state(rig)
    return bool(state and state.get("mr") == mr_id and state.get("stage") != "done"
                and loop_info(town, rig)["running"])


def mr_detail(town: Town, store: BeadStore, mr_id: str) -> dict[str, Any]:
    mr, rig = find_mr(town, store, mr_id)
    bead = store.get(mr_id)
    out: dict[str, Any]
    if mr.status in ("open", "in_progress"):
        out = entry_for(store, mr).as_json()
    else:
        out = {"id": mr.id, "branch": mr.branch, "source_issue": mr.source_issue,
               "worker": mr.worker, "status": "closed", "score": None,
               "retry_count": mr.retry_count, "target": mr.target, "labels": list(mr.labels),
               "priority": mr.priority, "blocked_by": [], "reason": "",
               "commit_sha": mr.commit_sha, "created_at": mr.created_at}
    logs = sorted(str(p) for p in logs_dir(rig).glob(f"{mr_id}-*.log")) \
        if logs_dir(rig).is_dir() else []
    state = read_state(rig)
    out.update({
        "rig": rig.name, "bead_status": mr.status, "title": bead["title"],
        "agent_bead": mr.agent_bead, "fields": mr.fields,
        "close_reason": bead.get("close_reason") or mr.fields.get("close_reason", ""),
        "merge_commit": mr.fields.get("merge_commit", ""),
        "conflict_task_id": mr.fields.get("conflict_task_id", ""),
        "updated_at": mr.updated_at, "logs": logs,
        "stage": state.get("stage") if state and state.get("mr") == mr_id else None,
    })
    return out


def retry(town: Town, store: BeadStore, mr_id: str) -> dict[str, Any]:
    """Clear the failure marks, unblock from the conflict task, and put the MR back in the queue."""
    mr, rig = find_mr(town, store, mr_id)
    if mr.status == "closed":
        raise ClosedBeadError(f"{mr_id} is closed ({mr.fields.get('close_reason') or 'closed'})",
                              fix="resubmit the branch with 'gt done' to open a new MR")
    if mr.status == "in_progress" and _being_processed(town, rig, mr_id):
        raise ConflictError(f"{mr_id} is being merged right now",
                            fix=f"wait for it; see 'gt refinery status {rig.name}'")
    task = mr.fields.get("conflict_task_id", "")
    if task and any(d["depends_on_id"] == task and d["type"] == "blocks"
                    for d in store.dependency_records(mr_id)):
        store.remove_dependency(mr_id, task)
    changes = {"status": "open", "assignee": ""} if mr.status != "open" else {}
    store.update(mr_id, changes=changes,
                 remove_labels=["needs-fix", "needs-rebase", "needs-retry"],
                 description_fields={"last_failed_sha": None})
    Ctx(town, rig, store).event("mq_retry", mr=mr_id, by=store.actor)
    poke(rig)
    return mr_detail(town, store, mr_id)


def reject(town: Town, store: BeadStore, mr_id: str, reason: str) -> dict[str, Any]:
    """Close the MR as rejected and tell its worker; the branch and source bead are kept."""
    if not reason.strip():
        raise ValidationError("a rejection needs a reason", fix="pass -r 'why'")
    mr, rig = find_mr(town, store, mr_id)
    if mr.status == "closed":
        raise ClosedBeadError(f"{mr_id} is already closed", fix="nothing to reject")
    if mr.status == "in_progress" and _being_processed(town, rig, mr_id):
        raise ConflictError(f"{mr_id} is being merged right now",
                            fix=f"wait for it; see 'gt refinery status {rig.name}'")
    store.update(mr_id, description_fields={"close_reason": "rejected"})
    store.set_status(mr_id, "closed", reason=f"rejected: {reason}", force=True)
    ctx = Ctx(town, rig, store)
    ctx.event("mq_reject", mr=mr_id, reason=reason, by=store.actor)
    notify(town, worker_address(rig, mr.worker),
           f"MR rejected: {mr_id} branch={mr.branch} issue={mr.source_issue} reason={reason}",
           sender=store.actor or ctx.actor)
    return mr_detail(town, store, mr_id)


def refinery_status(town: Town, rig: RigInfo, store: BeadStore) -> dict[str, Any]:
    entries = queue(store, rig)
    state = read_state(rig)
    info = loop_info(town, rig)
    gate_log = ""
    if state and str(state.get("stage", "")).startswith("gates:"):
        gate_log = str(gate_log_path(rig, str(state.get("mr")), state["stage"].split(":", 1)[1]))
    return {
        "rig": rig.name, "prefix": rig.prefix, **info,
        "stage": state, "gate_log": gate_log,
        "queue": {"ready": sum(1 for e in entries if e.status == "ready"),
                  "blocked": sum(1 for e in entries if e.status == "blocked"),
                  "active": sum(1 for e in entries if e.status == "active")},
        "next": next((e.mr.id for e in entries if e.status == "ready"), None),
    }
