"""`gt done`: a polecat submits its branch to the merge queue (operations.md, reference §6.1).

We differ from upstream in one place: the source bead is closed when its MR merges (by the
Refinery), not here, so a convoy never lands before its code is on main."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops.mr import create_mr
from gastown_tui.ops.worktrees import commit_all, inspect
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, parse_address
from gastown_tui.town.store import BeadStore


@dataclass(frozen=True)
class DoneResult:
    mr: str
    created: bool
    branch: str
    commit_sha: str
    source_issue: str
    commits: int
    auto_committed: str | None

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
         status: str = "COMPLETED") -> DoneResult:
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
    if state.ahead == 0:
        raise ValidationError(f"{addr} has no commits ahead of {rig.default_branch}",
                              fix="commit your work first (nothing to merge)")
    source = issue or _issue_from_branch(state.branch)
    if not source:
        hooked = hook_ops.hooked_for(store, str(addr))
        source = hooked["id"] if hooked else ""
    if not source:
        raise ValidationError("cannot tell which bead this work is for",
                              fix="pass --issue <bead>")
    bead = store.get(source)
    agent_bead = addr.agent_bead_id(rig.prefix)
    mr, created = create_mr(store, rig, branch=state.branch, target=rig.default_branch,
                            source_issue=source, worker=str(addr.name), commit_sha=state.head,
                            agent_bead=agent_bead, priority=int(bead.get("priority", 2)))
    if bead["status"] != "closed":
        store.update(source, changes={"status": "in_progress"},
                     description_fields={"merge_request": mr.id})
    exit_state = {"COMPLETED": "idle", "ESCALATED": "stuck", "DEFERRED": "idle"}.get(status, "idle")
    if store.exists(agent_bead):
        store.update(agent_bead, description_fields={
            "agent_state": exit_state, "hook_bead": None, "active_mr": mr.id,
            "exit_type": status, "branch": state.branch, "cleanup_status": "clean"})
    log_event(town.root, "done", actor=str(addr),
              payload={"bead": source, "mr": mr.id, "branch": state.branch, "exit": status})
    _notify(town, f"{rig.name}/refinery", "MERGE_READY received - check inbox for pending work")
    _notify(town, f"{rig.name}/witness", f"POLECAT_DONE {addr.name} exit={status}")
    return DoneResult(mr=mr.id, created=created, branch=state.branch, commit_sha=state.head,
                      source_issue=source, commits=state.ahead, auto_committed=auto)


def _notify(town: Town, target: str, text: str) -> None:
    from gastown_tui.ops.nudge import nudge

    try:
        nudge(town, target, text, mode="queue")
    except GasTownError:
        pass  # the refinery and witness also find the MR on their own
