"""What happens to an MR, its worker and its source bead after an attempt: merged, conflict,
gates failed, branch gone, or released back to the queue. `finish_merged` is idempotent so a
restarted loop can complete a merge a dead one left half done."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from gastown_tui.ops import beads as beads_ops
from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.ops import mail as mail_ops
from gastown_tui.ops.mr import MergeRequest
from gastown_tui.refinery.state import refinery_address
from gastown_tui.town.errors import BeadNotFoundError, ConflictError, GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import get_field
from gastown_tui.town.layout import RigInfo, Town, now_rfc3339
from gastown_tui.town.store import BeadStore

log = logging.getLogger("gastown_tui.refinery")

FAILURE_TYPES = {"test": "tests", "build": "build", "lint": "lint", "typecheck": "typecheck",
                 "setup": "setup"}


@dataclass(frozen=True, slots=True)
class ProcessResult:
    mr_id: str
    outcome: str   # merged | conflict | gates-failed | branch-missing | target-moved | skipped
                   # | interrupted | host-unreachable | error
    detail: str = ""
    merge_commit: str = ""
    conflict_task: str = ""
    conflicts: tuple[str, ...] = ()
    failed_gate: str = ""
    push_error: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(slots=True)
class Ctx:
    town: Town
    rig: RigInfo
    store: BeadStore

    @property
    def actor(self) -> str:
        return refinery_address(self.rig)

    def event(self, kind: str, **payload: Any) -> None:
        log_event(self.town.root, kind, actor=self.actor, payload={"rig": self.rig.name, **payload})


def escalate_push_failure(ctx: Ctx, target: str, error: str) -> str:
    """Merges that do not reach upstream must reach a person: one open escalation per rig says
    so (the needs-you panel, mail to the Mayor), not one per merge; '' when one is open already
    or it could not be raised (a merge is never undone for it)."""
    title = f"rig {ctx.rig.name}: merges to {target} are not reaching upstream"
    try:
        from gastown_tui.ops.escalate import escalate, open_escalations

        if any(b["title"] == title and b["status"] != "closed"
               for b in open_escalations(ctx.store)):
            return ""
        return escalate(ctx.town, ctx.store, title, severity="high", reason=error,
                        source="refinery", escalated_by=ctx.actor).id
    except GasTownError as exc:
        log.warning("could not escalate the push failure: %s", exc)
        return ""


def notify(town: Town, address: str, text: str, *, sender: str) -> bool:
    """Nudge an agent (queued, delivered at its next prompt). Best effort: a missing or dead
    agent, or a town without the nudge verb, must never break a merge."""
    if not address:
        return False
    try:
        from gastown_tui.ops.nudge import nudge

        nudge(town, address, text, mode="queue", sender=sender)
        return True
    except (ImportError, GasTownError) as exc:
        log.info("nudge to %s skipped: %s", address, exc)
    except Exception:  # a bug in nudge delivery is logged, never allowed to undo a merge
        log.warning("nudge to %s failed", address, exc_info=True)
    return False


def worker_address(rig: RigInfo, worker: str) -> str:
    if not worker:
        return ""
    return worker if "/" in worker else f"{rig.name}/polecats/{worker}"


def _title_of(store: BeadStore, bead_id: str) -> str:
    try:
        return store.get(bead_id)["title"] if bead_id else ""
    except BeadNotFoundError:
        return ""


def release(ctx: Ctx, mr_id: str, *, add_labels: tuple[str, ...] = (),
            fields: dict[str, str | None] | None = None) -> bool:
    """Put a claimed MR back in the queue (open, unassigned). False if it is no longer ours."""
    try:
        ctx.store.update(mr_id, changes={"status": "open", "assignee": ""},
                         add_labels=add_labels, description_fields=fields or None,
                         expect_status=("in_progress",))
    except (ConflictError, BeadNotFoundError):
        return False
    return True


def branch_missing(ctx: Ctx, mr: MergeRequest) -> ProcessResult:
    reason = "Branch no longer exists"
    ctx.store.update(mr.id, description_fields={"close_reason": "branch-missing"})
    ctx.store.set_status(mr.id, "closed", reason=reason, force=True)
    ctx.event("merge_failed", mr=mr.id, branch=mr.branch, issue=mr.source_issue,
              type="branch-missing")
    notify(ctx.town, "mayor", f"BRANCH_MISSING: {mr.id} branch={mr.branch} issue={mr.source_issue}",
           sender=ctx.actor)
    return ProcessResult(mr.id, "branch-missing", f"{mr.branch} is gone; MR closed")


def conflict(ctx: Ctx, mr: MergeRequest, target: str, onto: str, head: str,
             files: tuple[str, ...], commit: str) -> ProcessResult:
    """File (or refresh) the conflict task, block the MR on it and hand it back to the worker."""
    store = ctx.store
    source_title = _title_of(store, mr.source_issue) or mr.source_issue or mr.branch
    assignee = worker_address(ctx.rig, mr.worker)
    description = "\n".join([
        f"Merge request {mr.id} ({mr.source_issue or mr.branch}) no longer applies to {target}.",
        "",
        f"mr: {mr.id}",
        f"branch: {mr.branch}",
        f"source_issue: {mr.source_issue or 'null'}",
        f"target: {target}",
        f"target_sha: {onto}",
        f"branch_sha: {head}",
        f"conflict_commit: {commit}",
        f"files: {', '.join(files)}",
        "",
        f"Rebase {mr.branch} onto {target}, resolve the conflicts in the files above, commit,",
        "and resubmit with 'gt done'; the MR is retried as soon as its new head is submitted.",
    ])
    task_id = mr.fields.get("conflict_task_id", "")
    reuse = False
    if task_id:
        try:
            reuse = store.get(task_id)["status"] != "closed"
        except BeadNotFoundError:
            reuse = False
    if reuse:
        store.update(task_id, changes={"description": description})
    else:
        task = store.create(f"Resolve merge conflicts: {source_title}", prefix=ctx.rig.prefix,
                            issue_type="task", priority=1, assignee=assignee,
                            description=description)
        task_id = task["id"]
    store.add_dependency(mr.id, task_id, "blocks", check_cycle=False)
    attempt = mr.retry_count + 1
    release(ctx, mr.id, add_labels=("needs-rebase",),
            fields={"retry_count": str(attempt), "last_conflict_sha": onto,
                    "conflict_task_id": task_id})
    ctx.event("merge_failed", mr=mr.id, branch=mr.branch, issue=mr.source_issue, type="conflict",
              files=list(files), task=task_id, attempt=attempt)
    notify(ctx.town, assignee,
           f"MERGE_FAILED: branch={mr.branch} issue={mr.source_issue} type=conflict "
           f"files={','.join(files)} task={task_id} — rebase onto {target}, resolve, and "
           "resubmit with 'gt done'", sender=ctx.actor)
    return ProcessResult(mr.id, "conflict", f"conflicts in {', '.join(files)}",
                         conflict_task=task_id, conflicts=files)


def gates_failed(ctx: Ctx, mr: MergeRequest, target: str, head: str, gate: str, command: str,
                 returncode: int | None, timed_out: bool, error: str, log_path: str,
                 tail: str) -> ProcessResult:
    attempt = mr.retry_count + 1
    failed_sha = mr.commit_sha or head
    release(ctx, mr.id, add_labels=("needs-fix",),
            fields={"retry_count": str(attempt), "last_failed_sha": failed_sha,
                    "last_failed_gate": gate})
    if error:
        what = error
    elif timed_out:
        what = f"{gate} gate timed out ({command})"
    else:
        what = f"{gate} gate failed: `{command}` exited {returncode}"
    failure_type = FAILURE_TYPES.get(gate, "other")
    body = "\n".join([
        f"Branch: {mr.branch}", f"Issue: {mr.source_issue}", f"Polecat: {mr.worker}",
        f"Rig: {ctx.rig.name}", f"Target: {target}", f"Failed-At: {now_rfc3339()}",
        f"Failure-Type: {failure_type}", f"Error: {what}", f"MR-Bead-ID: {mr.id}",
        f"Attempt-Number: {attempt}", f"Log: {log_path}", "", tail.rstrip(), "",
        "Fix it on your branch, commit, and resubmit with 'gt done'.",
    ])
    address = worker_address(ctx.rig, mr.worker)
    if address:
        try:
            mail_ops.send(ctx.town, ctx.store, address, f"FIX_NEEDED {mr.worker}", body,
                          sender=ctx.actor, msg_type="task", priority=1)
        except GasTownError as exc:
            log.warning("FIX_NEEDED mail to %s failed: %s", address, exc)
        notify(ctx.town, address,
               f"MERGE_FAILED: branch={mr.branch} issue={mr.source_issue} type={failure_type} "
               f"error={what} — see your FIX_NEEDED mail, fix and resubmit with 'gt done'",
               sender=ctx.actor)
    if mr.source_issue:
        try:
            ctx.store.update(mr.source_issue,
                             append_notes=f"Refinery: {what} on {mr.id} (attempt {attempt}).")
        except GasTownError:
            pass  # the note is a courtesy; the MR and the mail carry the facts
    ctx.event("merge_failed", mr=mr.id, branch=mr.branch, issue=mr.source_issue, type="gates",
              gate=gate, error=what, log=log_path, attempt=attempt)
    return ProcessResult(mr.id, "gates-failed", what, failed_gate=gate)


def finish_merged(ctx: Ctx, mr_id: str, *, merge_commit: str, merged_head: str,
                  target: str, branch_status: str = "", push_error: str = "") -> ProcessResult:
    """Everything after the target moved; each step checks first, so running it twice is safe."""
    store = ctx.store
    mr = MergeRequest.from_bead(store.get(mr_id))
    notes: list[str] = []
    if mr.status != "closed":
        store.update(mr_id, description_fields={"merge_commit": merge_commit,
                                                "close_reason": "merged"})
        store.set_status(mr_id, "closed", reason="merged", force=True)
    if mr.source_issue:
        try:
            source = store.get(mr.source_issue)
        except BeadNotFoundError:
            source = None
            notes.append(f"source {mr.source_issue} not found")
        if source is not None and source["status"] != "closed":
            _, landed = beads_ops.close(ctx.town, store, [mr.source_issue],
                                        reasons=[f"Merged in {mr_id}"], force=True)
            notes.extend(f"convoy {c['id']} landed" for c in landed)
        elif source is not None:
            landed = convoy_ops.check_for_issues(ctx.town, store, [mr.source_issue])
            notes.extend(f"convoy {c['id']} landed" for c in landed)
    task_id = mr.fields.get("conflict_task_id", "")
    if task_id:
        try:
            if store.get(task_id)["status"] != "closed":
                store.set_status(task_id, "closed", reason=f"Resolved: {mr_id} merged", force=True)
        except BeadNotFoundError:
            pass
    if mr.agent_bead:
        try:
            agent = store.get(mr.agent_bead)
            if get_field(agent.get("description", ""), "active_mr") == mr_id:
                store.update(mr.agent_bead, description_fields={"active_mr": None})
        except BeadNotFoundError:
            pass
    if branch_status:
        notes.append(f"branch {mr.branch}: {branch_status}")
    if push_error:
        notes.append(f"not pushed: {push_error}")
    ctx.event("merged", mr=mr_id, branch=mr.branch, issue=mr.source_issue, target=target,
              merge_commit=merge_commit, branch_status=branch_status, push_error=push_error)
    notify(ctx.town, "mayor",
           f"MERGED: {mr_id} issue={mr.source_issue} branch={mr.branch}", sender=ctx.actor)
    return ProcessResult(mr_id, "merged", f"{target} at {merge_commit[:10]}",
                         merge_commit=merge_commit, push_error=push_error, notes=tuple(notes))
