"""Process one merge request end to end (operations.md, refinery), and recover after a crash.

Stage order, chosen so a kill at any point leaves the target untouched or fully advanced and
the MR retryable:

  claimed   MR open -> in_progress by compare-and-swap (two refineries never take one MR)
  rebasing  fetch origin's target; replay the branch onto the tip: new objects, no ref moves
  gates:<g> run the gates in a scratch worktree at the rebased tip
  merging   compare-and-swap the target ref (the one irreversible step), refresh the worktree
  pushing   push the target to origin
  done      MR closed merged, source bead closed (convoys land), branch deleted, Mayor nudged

Before `merging` a restarted loop just puts the MR back in the queue; from `merging` on, the
stage file records the new tip, and if the target contains it the restart finishes the merge."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pygit2

from gastown_tui.ops.context import open_store
from gastown_tui.ops.mr import MergeRequest, list_mrs
from gastown_tui.refinery import merge
from gastown_tui.refinery.gates import (
    GatesInterrupted,
    kill_stale_gate,
    remove_gate_worktree,
    run_gates,
)
from gastown_tui.refinery.outcomes import (
    Ctx,
    ProcessResult,
    branch_missing,
    conflict,
    escalate_push_failure,
    finish_merged,
    gates_failed,
    log,
    release,
)
from gastown_tui.refinery.state import (
    StageRecorder,
    clear_state,
    load_settings,
    read_state,
    refinery_address,
)
from gastown_tui.town.errors import BeadNotFoundError, ConflictError, GasTownError
from gastown_tui.town.layout import RigInfo, Town, now_rfc3339
from gastown_tui.town.store import BeadStore

MERGED_STAGES = ("merging", "pushing")


def process_mr(town: Town, rig: RigInfo, mr_id: str, *, store: BeadStore | None = None,
               stop: threading.Event | None = None,
               on_tick: Callable[[], None] | None = None) -> ProcessResult:
    own = store is None
    store = store or open_store(town, actor=refinery_address(rig))
    try:
        return _process(Ctx(town, rig, store), mr_id, stop=stop, on_tick=on_tick)
    finally:
        if own:
            store.close_connection()


def _process(ctx: Ctx, mr_id: str, *, stop: threading.Event | None,
             on_tick: Callable[[], None] | None) -> ProcessResult:
    store, rig = ctx.store, ctx.rig
    try:
        bead = store.update(mr_id, changes={"status": "in_progress", "assignee": ctx.actor},
                            expect_status=("open",))
    except (ConflictError, BeadNotFoundError) as exc:
        return ProcessResult(mr_id, "skipped", str(exc))
    mr = MergeRequest.from_bead(bead)
    stage = StageRecorder(rig, mr.id)
    stage.stage_to("claimed", branch=mr.branch)
    target = mr.target or rig.default_branch
    ctx.event("merge_started", mr=mr.id, branch=mr.branch, issue=mr.source_issue, target=target)
    try:
        repo = merge.open_repo(rig)
        if mr.fields.get("host"):
            waiting = _fetch_from_host(ctx, mr, stage)
            if waiting is not None:
                return waiting
        head = merge.branch_head(repo, mr.branch)
        if head is None:
            result = branch_missing(ctx, mr)
            stage.stage_to("done", outcome=result.outcome)
            return result
        stage.stage_to("rebasing", head=str(head), target=target)
        onto, note = merge.refresh_target(repo, target)
        if note.startswith("fast-forwarded") and target == rig.default_branch:
            _sync_refinery_worktree(rig, onto, target)
        replayed = merge.replay(repo, head, onto, merge.committer(rig))
        if replayed.conflicts:
            result = conflict(ctx, mr, target, replayed.onto, replayed.head, replayed.conflicts,
                              replayed.conflict_commit)
            stage.stage_to("done", outcome=result.outcome)
            return result
        if replayed.already_merged:
            # The target already holds every change (a retried merge that did land, or work
            # merged another way): nothing to test or move, only the bookkeeping is left.
            stage.stage_to("pushing", onto=replayed.onto, new_tip=replayed.onto)
            return _complete(ctx, repo, mr, stage, target, replayed.onto, replayed.head)
        settings = load_settings(rig)
        gates = run_gates(
            rig, repo, replayed.new_tip, mr.id, settings,
            on_gate=lambda name: stage.stage_to(f"gates:{name}", new_tip=replayed.new_tip,
                                                gate_pgid=0),
            on_spawn=lambda pid: stage.note(gate_pgid=pid), on_tick=on_tick, stop=stop)
        if not gates.passed and gates.failed is not None:
            failed = gates.failed
            result = gates_failed(ctx, mr, target, replayed.head, failed.name, failed.command,
                                  failed.returncode, failed.timed_out, failed.error,
                                  failed.log_path, gates.tail)
            stage.stage_to("done", outcome=result.outcome)
            return result
        stage.stage_to("merging", onto=replayed.onto, new_tip=replayed.new_tip, gate_pgid=0)
        merge.advance_target(repo, target, onto, replayed.new_tip)
        if target == rig.default_branch:
            _sync_refinery_worktree(rig, replayed.new_tip, target)
        return _complete(ctx, repo, mr, stage, target, replayed.new_tip, replayed.head)
    except merge.TargetMovedError as exc:
        release(ctx, mr.id)
        stage.stage_to("done", outcome="target-moved")
        return ProcessResult(mr.id, "target-moved", exc.problem)
    except GatesInterrupted as exc:
        release(ctx, mr.id)
        clear_state(rig)
        return ProcessResult(mr.id, "interrupted", exc.problem)
    except (GasTownError, pygit2.GitError, OSError) as exc:
        # Anything unexpected before the target moved: back to the queue, marked so a person
        # can see it; the loop cools this MR down instead of spinning on it.
        log.warning("refinery error on %s: %s", mr.id, exc, exc_info=True)
        if stage.stage not in MERGED_STAGES:
            release(ctx, mr.id, add_labels=("needs-retry",))
            stage.stage_to("done", outcome="error", error=str(exc))
        ctx.event("merge_failed", mr=mr.id, branch=mr.branch, issue=mr.source_issue,
                  type="error", error=str(exc))
        return ProcessResult(mr.id, "error", str(exc))


def _fetch_from_host(ctx: Ctx, mr: MergeRequest, stage: StageRecorder
                     ) -> ProcessResult | None:
    """A branch made on another host comes from there first. A host that does not answer
    puts the MR back in the queue (it is not a missing branch: the work is still there)."""
    from gastown_tui.ops.remote_branches import fetch_branch
    from gastown_tui.town.hostlist import HostUnreachableError

    host = mr.fields["host"]
    try:
        fetch_branch(ctx.town, ctx.rig, host, mr.branch)
    except HostUnreachableError as exc:
        release(ctx, mr.id)
        stage.stage_to("done", outcome="host-unreachable")
        ctx.event("merge_deferred", mr=mr.id, branch=mr.branch, issue=mr.source_issue,
                  host=host, evidence=exc.evidence)
        return ProcessResult(mr.id, "host-unreachable", exc.problem)
    return None


def _sync_refinery_worktree(rig: RigInfo, tip: pygit2.Oid | str, target: str) -> None:
    try:
        merge.sync_worktree(rig.refinery_worktree, tip, target)
    except (pygit2.GitError, OSError) as exc:
        # The worktree is only a view; the target ref is the truth and is already right.
        log.warning("could not refresh %s: %s", rig.refinery_worktree, exc)


def _complete(ctx: Ctx, repo: pygit2.Repository, mr: MergeRequest, stage: StageRecorder,
              target: str, new_tip: str, head: str) -> ProcessResult:
    stage.stage_to("pushing")
    push_error = ""
    try:
        merge.push_target(repo, target, ctx.rig)
    except merge.PushRefusedError as exc:
        push_error = str(exc)
        ctx.event("push_failed", mr=mr.id, target=target, error=push_error)
        escalate_push_failure(ctx, target, push_error)
    resubmitted = _resubmitted_during_merge(ctx, repo, mr, head)
    if resubmitted:
        # The worker ran `gt done` again while we merged: what we merged is on the target,
        # but the MR now names newer work. Keep the MR (and the source bead) open for it.
        release(ctx, mr.id, fields={"merge_commit": new_tip})
        ctx.event("merged", mr=mr.id, branch=mr.branch, issue=mr.source_issue, target=target,
                  merge_commit=new_tip, partial=True, requeued_for=resubmitted,
                  push_error=push_error)
        stage.stage_to("done", outcome="merged", finished_at=now_rfc3339(), requeued=True)
        return ProcessResult(mr.id, "merged", f"{target} at {new_tip[:10]}",
                             merge_commit=new_tip, push_error=push_error,
                             notes=(f"resubmitted during the merge; requeued for "
                                    f"{resubmitted[:10]}",))
    branch_status = ""
    if load_settings(ctx.rig).delete_merged_branches:
        branch_status = merge.delete_branch(repo, mr.branch, head)
    result = finish_merged(ctx, mr.id, merge_commit=new_tip, merged_head=head, target=target,
                           branch_status=branch_status, push_error=push_error)
    stage.stage_to("done", outcome=result.outcome, finished_at=now_rfc3339(),
                   push_error=push_error)
    return result


def _resubmitted_during_merge(ctx: Ctx, repo: pygit2.Repository, mr: MergeRequest,
                              head: str) -> str:
    """The MR's new commit_sha if the worker resubmitted work we did not merge, else ""."""
    try:
        current = MergeRequest.from_bead(ctx.store.get(mr.id)).commit_sha
    except BeadNotFoundError:
        return ""
    if not current or current in (mr.commit_sha, head) or not head:
        return ""
    try:
        sha, merged = pygit2.Oid(hex=current), pygit2.Oid(hex=head)
        contained = repo.descendant_of(merged, sha)
    except (ValueError, KeyError, pygit2.GitError):
        contained = False
    return "" if contained else current


def recover(town: Town, rig: RigInfo, store: BeadStore) -> list[str]:
    """Startup clean-up after a dead loop: kill its gate, drop the scratch worktree, finish a
    merge that had already moved the target, put every other claimed MR back in the queue,
    and clear the stage file. Only call while holding the rig's loop lock."""
    ctx = Ctx(town, rig, store)
    notes: list[str] = []
    state = read_state(rig) or {}
    try:
        pgid = int(state.get("gate_pgid") or 0)
    except (TypeError, ValueError):
        pgid = 0
    if pgid and kill_stale_gate(rig, pgid):
        notes.append(f"killed the stale gate process group {pgid}")
    repo = merge.open_repo(rig)
    remove_gate_worktree(repo, rig)
    finished = ""
    mr_id = str(state.get("mr") or "")
    new_tip = str(state.get("new_tip") or "")
    target = str(state.get("target") or rig.default_branch)
    if mr_id and new_tip and state.get("stage") in MERGED_STAGES:
        tip = merge.target_tip(repo, target)
        landed = str(tip) == new_tip or repo.descendant_of(tip, pygit2.Oid(hex=new_tip))
        if landed:
            if target == rig.default_branch:
                _sync_refinery_worktree(rig, tip, target)
            try:
                mr = MergeRequest.from_bead(store.get(mr_id))
            except BeadNotFoundError:
                notes.append(f"{mr_id} merged but its bead is gone; nothing to close")
            else:
                stage = StageRecorder(rig, mr_id)
                _complete(ctx, repo, mr, stage, target, new_tip, str(state.get("head") or ""))
                finished = mr_id
                notes.append(f"finished the merge of {mr_id} a stopped loop had left half done")
    elif rig.refinery_worktree.exists():
        # A kill during the worktree refresh can leave its files half updated.
        _sync_refinery_worktree(rig, merge.target_tip(repo, rig.default_branch),
                                rig.default_branch)
    for mr in list_mrs(store, rig):
        if mr.status == "in_progress" and mr.id != finished:
            if release(ctx, mr.id):
                ctx.event("merge_recovered", mr=mr.id, branch=mr.branch,
                          stage=state.get("stage", "") if mr.id == mr_id else "")
                notes.append(f"{mr.id} was left claimed; back in the queue")
    clear_state(rig)
    return notes
