"""`gt done`: a polecat submits its branch to the merge queue (operations.md, reference §6.1).

We differ from upstream in one place: the source bead is closed when its MR merges (by the
Refinery), not here, so a convoy never lands before its code is on main."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops.beads import close as close_beads
from gastown_tui.ops.mr import create_mr
from gastown_tui.ops.worktrees import commit_all, inspect
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.hostlist import is_satellite
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, parse_address
from gastown_tui.town.store import BeadStore

EXIT_TYPES = ("COMPLETED", "ESCALATED", "DEFERRED")
CLEANUP_STATUSES = ("clean", "uncommitted", "unpushed", "stash", "unknown")


@dataclass(frozen=True)
class DoneResult:
    mr: str  # '' when this exit files no merge request
    created: bool
    branch: str
    commit_sha: str
    source_issue: str
    commits: int
    auto_committed: str | None
    exit: str = "COMPLETED"
    issue_status: str = ""  # the source bead's status afterwards
    agent_state: str = "idle"
    note: str = ""  # why no MR was filed, when none was

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _who_am_i(town: Town, cwd: Path) -> Address:
    role = os.environ.get("GT_ROLE") or os.environ.get("BD_ACTOR") or ""
    if role:
        addr = parse_address(role)
        if addr.role == "polecat":
            return addr
    rig = town.rig_at(cwd)
    if rig is not None:
        try:
            rel = cwd.resolve().relative_to(rig.polecats_dir.resolve())
            return Address("polecat", rig.name, rel.parts[0])
        except (ValueError, IndexError):
            pass
    raise ValidationError("gt done is for polecats (GT_ROLE is not a polecat here)",
                          fix="run it inside a polecat's worktree or session")


def _issue_from_branch(branch: str) -> str:
    # polecat/<name>/<issue>@<ts>
    parts = branch.split("/")
    if len(parts) >= 3 and "@" in parts[2]:
        return parts[2].split("@", 1)[0]
    return ""


def done(town: Town, store: BeadStore, *, cwd: Path | None = None, issue: str | None = None,
         status: str = "COMPLETED", cleanup_status: str | None = None) -> DoneResult:
    """End a polecat's work in one of upstream's ways (reference §6.1):

    - COMPLETED with commits: an MR for the Refinery (the bead closes when it merges);
    - COMPLETED with nothing to merge, when the bead was closed first (`bd close --reason
      "no-changes: ..."`), is report-only (`--cleanup-status clean`) or is marked no_merge:
      no MR, the bead closed;
    - ESCALATED: no MR, the agent `stuck` waiting for help, the bead kept open (blocked) so
      its convoy does not land on unfinished work (upstream closes it; we do not, as for MRs);
    - DEFERRED: no MR, the bead left on the hook as it is, to be resumed.
    Every exit clears the agent bead's hook and tells the witness.
    """
    status = status.upper()
    if status not in EXIT_TYPES:
        raise ValidationError(f"invalid exit status {status!r}",
                              fix="use --status COMPLETED, ESCALATED or DEFERRED")
    if cleanup_status is not None and cleanup_status not in CLEANUP_STATUSES:
        raise ValidationError(f"invalid cleanup status {cleanup_status!r}",
                              fix=f"use one of {', '.join(CLEANUP_STATUSES)}")
    addr = _who_am_i(town, Path(cwd or Path.cwd()))
    rig = town.rig(str(addr.rig))
    worktree = rig.polecat_worktree(str(addr.name))
    state = inspect(rig, worktree)
    if not state.exists:
        raise ValidationError(f"{addr} has no worktree at {worktree}",
                              fix="it may have been nuked; ask the Mayor for work")
    auto = None
    if state.dirty:
        auto = commit_all(worktree, f"gt done: save work of {addr.name}", str(addr.name))
        state = inspect(rig, worktree)
    source = issue or _issue_from_branch(state.branch)
    if not source:
        hooked = hook_ops.hooked_for(store, str(addr))
        source = hooked["id"] if hooked else ""
    bead = store.get(source) if source else None
    agent_bead = addr.agent_bead_id(rig.prefix)
    mr_id, created, note = "", False, ""
    if status == "COMPLETED" and bead is not None and bead["status"] != "closed":
        from gastown_tui.ops.gates import describe, gates_on

        parked = gates_on(store, bead["id"])
        if parked:  # a step of this work waits on a gate: the work is not done yet
            raise ValidationError(f"{bead['id']} is parked on gate {parked[0]['id']} "
                                  f"({describe(parked[0])})",
                                  fix="wait for GATE_OPEN, or use --status DEFERRED to hand "
                                      "it back")
    if status == "COMPLETED":
        if state.ahead:
            if bead is None:
                raise ValidationError("cannot tell which bead this work is for",
                                      fix="pass --issue <bead>")
            # On another host, the MR says which: the Refinery fetches the branch from there.
            host = is_satellite(town)
            mr, created = create_mr(store, rig, branch=state.branch, target=rig.default_branch,
                                    source_issue=source, worker=str(addr.name),
                                    commit_sha=state.head, agent_bead=agent_bead,
                                    priority=int(bead.get("priority", 2)),
                                    extra={"host": host} if host else None)
            mr_id = mr.id
            if bead["status"] != "closed":
                store.update(source, changes={"status": "in_progress"},
                             description_fields={"merge_request": mr.id})
        else:
            note = _no_merge_reason(bead, cleanup_status)
            if not note:
                raise ValidationError(
                    f"{addr} has no commits ahead of {rig.default_branch}",
                    fix=(f"commit your work first; if there is nothing to change, close the "
                         f"bead first: bd close {source or '<id>'} --reason \"no-changes: "
                         "<why>\" then gt done; blocked: gt done --status ESCALATED; "
                         "paused: gt done --status DEFERRED"))
            if bead is not None and bead["status"] != "closed":
                # as `bd close` would: its convoy lands if this was the last of its work
                close_beads(town, store, [source], force=True,
                            reasons=[f"Completed with no code changes ({note})"])
    elif status == "ESCALATED" and bead is not None and bead["status"] != "closed":
        store.update(source, changes={"status": "blocked"},
                     append_notes=f"ESCALATED by {addr}: waiting for help (gt done "
                                  "--status ESCALATED)")
    digest = _squash_molecule(town, store, addr, source, status, mr_id)
    exit_state = "stuck" if status == "ESCALATED" else "idle"
    if store.exists(agent_bead):
        fields: dict[str, str | None] = {
            "agent_state": exit_state, "hook_bead": None, "exit_type": status,
            "branch": state.branch}
        if mr_id:
            fields["active_mr"] = mr_id
        if cleanup_status or mr_id:
            fields["cleanup_status"] = cleanup_status or "clean"
        store.update(agent_bead, description_fields=fields)
    log_event(town.root, "done", actor=str(addr),
              payload={"bead": source, "mr": mr_id, "branch": state.branch, "exit": status,
                       **({"note": note} if note else {}),
                       **({"digest": digest} if digest else {})})
    if mr_id:
        _notify(town, f"{rig.name}/refinery", "MERGE_READY received - check inbox for pending work")
    _notify(town, f"{rig.name}/witness", f"POLECAT_DONE {addr.name} exit={status}")
    after = store.get(source)["status"] if source else ""
    return DoneResult(mr=mr_id, created=created, branch=state.branch, commit_sha=state.head,
                      source_issue=source, commits=state.ahead, auto_committed=auto,
                      exit=status, issue_status=after, agent_state=exit_state, note=note)


def _squash_molecule(town: Town, store: BeadStore, addr: Address, source: str, status: str,
                     mr_id: str) -> str:
    """The molecule the work ran under ends with it (upstream closes it; we also keep a
    digest of how far its steps got). A deferred one stays attached, to be resumed."""
    if status == "DEFERRED" or not source:
        return ""
    from gastown_tui.ops.mol_lifecycle import attached_molecule, squash

    try:
        bead = store.get(source)
        if not attached_molecule(bead):
            return ""
        summary = f"gt done --status {status}" + (f"; merge request {mr_id}" if mr_id else "")
        return squash(town, store, addr, summary=summary, bead=bead)["digest"]
    except GasTownError:
        return ""  # the submission stands; a molecule left open is gt doctor's to find


def _no_merge_reason(bead: dict[str, Any] | None, cleanup_status: str | None) -> str:
    """Why completing without commits is legitimate here, or '' when it is not."""
    if bead is not None and bead["status"] == "closed":
        return f"bead closed first: {bead.get('close_reason') or 'closed'}"
    if cleanup_status == "clean":
        return "report-only work (--cleanup-status clean)"
    if bead is not None:
        fields = parse_fields(bead.get("description", ""))
        if fields.get("no_merge", "").lower() == "true" or \
                fields.get("review_only", "").lower() == "true":
            return "no_merge work"
    return ""


def _notify(town: Town, target: str, text: str) -> None:
    from gastown_tui.ops.nudge import nudge

    try:
        nudge(town, target, text, mode="queue")
    except GasTownError:
        pass  # the refinery and witness also find the MR on their own
