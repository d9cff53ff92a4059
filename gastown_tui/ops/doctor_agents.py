"""`gt doctor` checks of the town's moving parts: tmux sessions, polecat directories, agent
beads, merge requests and the worktrees registered in each rig's bare repo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gastown_tui.ops.agents import ensure_agent_bead, set_agent_fields
from gastown_tui.ops.doctor_findings import DoctorContext, Finding, _rigs
from gastown_tui.ops.mr import list_mrs
from gastown_tui.ops.polecats import live_sessions
from gastown_tui.ops.sessions import tmux_for
from gastown_tui.town.errors import ConflictError, GasTownError, InvalidNameError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.hostlist import PLACEMENT_FILE
from gastown_tui.town.layout import RigInfo
from gastown_tui.town.names import Address, parse_address, validate_agent_name
from gastown_tui.town.store.records import normalize_time

LIVE_AGENT_STATES = ("working", "idle", "spawning", "done", "stuck", "stalled", "")
BRANCH_GONE = "Branch no longer exists"


def _polecat_of_session(session: str, rigs: list[RigInfo]) -> tuple[RigInfo, str] | None:
    """(rig, polecat name) for `<prefix>-<name>`; the longest matching prefix wins, since a
    prefix may itself contain '-'."""
    for rig in sorted(rigs, key=lambda r: len(r.prefix), reverse=True):
        if not session.startswith(rig.prefix + "-"):
            continue
        tail = session[len(rig.prefix) + 1:]
        if tail in ("witness", "refinery") or tail.startswith("crew-"):
            return None
        try:
            return rig, validate_agent_name(tail)
        except InvalidNameError:
            return None
    return None


# ---------------------------------------------------------------------------- sessions
def check_sessions(ctx: DoctorContext, f: Finding) -> None:
    """A polecat session whose polecat directory is gone is a zombie: it holds a name, a
    process tree and maybe a hook, for work that no longer has a place. Killed with --fix."""
    sessions = live_sessions(ctx.town)
    if not sessions:
        f.notes.append("no tmux server or no sessions")
        return
    rigs = _rigs(ctx.town)
    for session in sorted(sessions):
        found = _polecat_of_session(session, rigs)
        if found is None:
            continue
        rig, name = found
        if (rig.polecats_dir / name).is_dir():
            continue
        what = f"session {session}: polecat {rig.name}/{name} has no directory"
        if not ctx.fix:
            f.errors.append(what)
            continue
        tmux_for(ctx.town).kill_session(session)
        log_event(ctx.town.root, "kill", actor="doctor",
                  payload={"session": session, "reason": "orphaned session"})
        f.fixed.append(f"killed {what}")


# ---------------------------------------------------------------------------- git worktrees
def check_git_worktrees(ctx: DoctorContext, f: Finding) -> None:
    """Worktrees registered in `.repo.git` whose directory is gone: pruned (the refinery's own
    is made again, on the rig's default branch)."""
    import pygit2

    for rig in _rigs(ctx.town):
        try:
            repo = pygit2.Repository(str(rig.bare_repo))
        except pygit2.GitError as exc:
            f.errors.append(f"rig {rig.name}: cannot open {rig.bare_repo} ({exc})")
            continue
        for name in repo.list_worktrees():
            wt = repo.lookup_worktree(name)
            if Path(wt.path).exists():
                continue
            what = f"rig {rig.name}: worktree {name} is registered but {wt.path} is gone"
            if not ctx.fix:
                f.errors.append(what)
                continue
            wt.prune(True)
            done = f"pruned {what}"
            if name == "refinery":
                _recreate_refinery(repo, rig)
                done += f"; made it again on {rig.default_branch}"
            f.fixed.append(done)


def _recreate_refinery(repo, rig: RigInfo) -> None:
    ref = repo.references.get(f"refs/heads/{rig.default_branch}")
    if ref is None:
        raise GasTownError(f"rig {rig.name} has no branch {rig.default_branch}",
                           fix="check the rig's default_branch in config.json")
    rig.refinery_worktree.parent.mkdir(parents=True, exist_ok=True)
    repo.add_worktree("refinery", str(rig.refinery_worktree), ref)


# ---------------------------------------------------------------------------- polecat dirs
def _worktree_branch(path: Path) -> str:
    import pygit2

    try:
        repo = pygit2.Repository(str(path))
        return "" if repo.head_is_unborn or repo.head_is_detached else repo.head.shorthand
    except pygit2.GitError:
        return ""


def _hooked(store, agent: str) -> str:
    from gastown_tui.ops.hook import hooked_for

    bead = hooked_for(store, agent)
    return bead["id"] if bead else ""


def check_polecat_dirs(ctx: DoctorContext, f: Finding) -> None:
    """A polecat worktree needs its agent bead (the town's record of who works there): a
    missing one is made, one marked nuked is brought back. An empty name directory left by a
    sling that died before its worktree releases the name."""
    sessions = live_sessions(ctx.town)
    for rig in _rigs(ctx.town):
        if not rig.polecats_dir.is_dir():
            continue
        for entry in sorted(rig.polecats_dir.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir() or entry.name.endswith(".pending"):
                continue
            try:
                name = validate_agent_name(entry.name)
            except InvalidNameError:
                f.warnings.append(f"{entry}: not a polecat name; left alone")
                continue
            worktree = rig.polecat_worktree(name)
            if (entry / PLACEMENT_FILE).is_file():
                f.notes.append(f"{rig.name}/{name} runs on another host "
                               "(gt host check looks at it there)")
                continue
            if not ctx.old_enough(entry.stat().st_mtime):
                if not (worktree / ".git").exists():
                    f.notes.append(f"{entry}: no worktree yet, {ctx.now - entry.stat().st_mtime:.0f}s "
                                   f"old: a sling in flight, or one that died (judged after "
                                   f"{ctx.grace:.0f}s; 'gt doctor --grace 0' now)")
                continue
            if not (worktree / ".git").exists():
                _no_worktree(ctx, f, rig, entry)
                continue
            _agent_for_worktree(ctx, f, rig, name, worktree, sessions)


def _no_worktree(ctx: DoctorContext, f: Finding, rig: RigInfo, entry: Path) -> None:
    if any(entry.iterdir()):
        f.warnings.append(f"{entry}: a polecat directory without a worktree, not empty; "
                          "left for a person to look at")
        return
    what = f"{entry}: an empty polecat directory (a sling that died before its worktree)"
    if not ctx.fix:
        f.errors.append(what)
        return
    entry.rmdir()
    f.fixed.append(f"removed {what}, releasing the name")


def _agent_for_worktree(ctx: DoctorContext, f: Finding, rig: RigInfo, name: str,
                        worktree: Path, sessions: dict[str, bool]) -> None:
    store = ctx.store()
    addr = Address("polecat", rig.name, name)
    bead_id = addr.agent_bead_id(rig.prefix)
    running = sessions.get(addr.session_name(rig.prefix), False)
    state = "working" if running else "idle"
    if store.exists(bead_id):
        fields = parse_fields(store.get(bead_id).get("description", ""))
        if fields.get("agent_state") != "nuked":
            return
        what = f"{bead_id} says nuked but {worktree} is there"
        if not ctx.fix:
            f.errors.append(what)
            return
        set_agent_fields(store, bead_id, agent_state=state, branch=_worktree_branch(worktree),
                         hook_bead=_hooked(store, str(addr)) or None)
        f.fixed.append(f"{what}: marked {state}")
        return
    what = f"{worktree} has no agent bead {bead_id}"
    if not ctx.fix:
        f.errors.append(what)
        return
    try:
        ensure_agent_bead(store, addr, rig.prefix, state=state,
                          branch=_worktree_branch(worktree),
                          hook_bead=_hooked(store, str(addr)) or None)
    except ConflictError:
        pass  # made by someone else meanwhile: what we wanted
    f.fixed.append(f"{what}: created it ({state})")


# ---------------------------------------------------------------------------- agent beads
def _older_than_grace(ctx: DoctorContext, bead: dict[str, Any]) -> bool:
    from datetime import datetime

    try:
        stamp = normalize_time(bead.get("updated_at")) or ""
        return ctx.now - datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() \
            >= ctx.grace
    except (GasTownError, ValueError):
        return True


def check_agent_beads(ctx: DoctorContext, f: Finding) -> None:
    """A polecat agent bead that says working or idle while its worktree is gone is marked
    nuked; its hooked beads go back to open (work with an open MR waits for the refinery)."""
    store = ctx.store()
    rigs = {r.name: r for r in _rigs(ctx.town)}
    agents = store.list_issues(labels=["gt:agent"], include_infra=True, include_all=True,
                               limit=0, counts=False)
    for bead in agents:
        fields = parse_fields(bead.get("description", ""))
        if fields.get("role_type") != "polecat":
            continue
        if fields.get("agent_state", "") not in LIVE_AGENT_STATES:
            continue
        try:
            addr = parse_address(bead.get("assignee") or "")
        except InvalidNameError:
            continue
        rig = rigs.get(addr.rig or "")
        if addr.role != "polecat" or rig is None or addr.name is None:
            continue
        if (rig.polecats_dir / addr.name).exists() or not _older_than_grace(ctx, bead):
            continue
        what = (f"{bead['id']} says {fields.get('agent_state') or 'nothing'} but "
                f"{rig.polecat_worktree(addr.name)} is gone")
        if not ctx.fix:
            f.errors.append(what)
            continue
        set_agent_fields(store, bead["id"], agent_state="nuked", hook_bead=None)
        released = _release_hooks(store, str(addr))
        f.fixed.append(f"{what}: marked nuked"
                       + (f", put {', '.join(released)} back in the queue" if released else ""))


def _release_hooks(store, agent: str) -> list[str]:
    released = []
    for status in ("hooked", "in_progress"):
        for bead in store.list_issues(assignee=agent, statuses=[status], include_infra=True,
                                      limit=0, counts=False):
            if "gt:message" in bead.get("labels", []):
                continue
            mr = parse_fields(bead.get("description", "")).get("merge_request", "")
            if mr and store.exists(mr) and store.get(mr)["status"] != "closed":
                continue
            try:
                store.update(bead["id"], changes={"status": "open", "assignee": ""},
                             expect_status=(status,))
                released.append(bead["id"])
            except ConflictError:
                pass
    return released


# ---------------------------------------------------------------------------- merge requests
def _branch_exists(repo, branch: str) -> bool:
    import pygit2

    for namespace in ("refs/heads/", "refs/remotes/origin/"):
        try:
            if branch and repo.references.get(namespace + branch) is not None:
                return True
        except (pygit2.InvalidSpecError, ValueError):
            return False  # not even a valid branch name
    return False


def check_merge_requests(ctx: DoctorContext, f: Finding) -> None:
    """An open MR whose branch is in neither the rig's repo nor its origin can never merge:
    closed as upstream does ("Branch no longer exists"). MRs the refinery holds are its own."""
    import pygit2

    store = ctx.store()
    for rig in _rigs(ctx.town):
        try:
            repo = pygit2.Repository(str(rig.bare_repo))
        except pygit2.GitError as exc:
            f.warnings.append(f"rig {rig.name}: cannot open its repository ({exc}); MRs skipped")
            continue
        for mr in list_mrs(store, rig):
            if mr.status in ("in_progress", "closed") or not _older_than_grace(
                    ctx, {"updated_at": mr.updated_at}):
                continue
            if _branch_exists(repo, mr.branch):
                continue
            what = f"{mr.id}: branch {mr.branch or '(none)'} no longer exists"
            if not ctx.fix:
                f.errors.append(what)
                continue
            store.set_status(mr.id, "closed", reason=BRANCH_GONE, force=True)
            log_event(ctx.town.root, "mr_closed", actor="doctor",
                      payload={"mr": mr.id, "branch": mr.branch, "reason": BRANCH_GONE})
            f.fixed.append(f"closed {what}")

