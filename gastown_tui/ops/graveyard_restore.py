"""Bringing a grave back: the polecat's name, a branch at the saved head, and the saved files
as uncommitted changes (staged ones staged again). See ops/graveyard.py for what a grave is."""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gastown_tui.ops.graveyard import (
    _EXEC,
    _GITLINK,
    _LINK,
    Files,
    _open,
    find_grave,
    flatten,
)
from gastown_tui.ops.namepool import allocate, claim
from gastown_tui.town import safe_write
from gastown_tui.town.errors import ConflictError, GitError
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.names import Address, validate_agent_name


@dataclass(frozen=True)
class RestoreResult:
    ref: str
    agent: str
    name: str
    branch: str
    head: str
    worktree: str
    files: tuple[str, ...]  # back as uncommitted changes
    bead: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _free_branch(repo, wanted: str, name: str) -> str:
    import pygit2

    if not wanted or not pygit2.reference_is_valid_name(f"refs/heads/{wanted}"):
        wanted = f"polecat/{name}-restored"
    branch, n = wanted, 1
    while branch in repo.branches.local:
        n += 1
        branch = f"{wanted}-restored" if n == 2 else f"{wanted}-restored{n - 1}"
    return branch


def _write_back(repo, root: Path, head_files: Files, saved: Files) -> None:
    """Turn a fresh checkout of head into the saved working directory."""
    for path in sorted(set(head_files) - set(saved), reverse=True):
        target = root / path
        if target.is_symlink() or target.is_file():
            target.unlink()
        parent = target.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    for path, (oid, mode) in saved.items():
        if head_files.get(path) == (oid, mode) or mode == _GITLINK:
            continue
        target = root / path
        # A saved link is restored as a link, but nothing is ever written through one.
        safe_write.ensure_dir(target.parent, within=root)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.is_symlink() or target.exists():
            target.unlink()
        data = repo[oid].data
        if mode == _LINK:
            os.symlink(os.fsdecode(data), target)
            continue
        safe_write.write_bytes(target, data, within=root)
        bits = stat.S_IMODE(target.lstat().st_mode)
        target.chmod(bits | ((bits & 0o444) >> 2) if mode == _EXEC else bits & ~0o111)


def restore(town: Town, rig: RigInfo | str, ref: str, *, as_name: str | None = None,
            store=None) -> RestoreResult:
    """Bring a grave back as a polecat: its name (or a free one), a branch at the saved head,
    and the saved files as uncommitted changes (staged ones staged again)."""
    import pygit2

    from gastown_tui.ops.agents import ensure_agent_bead
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.worktrees import write_polecat_guide
    from gastown_tui.town.events import log_event

    rig = town.rig(rig) if isinstance(rig, str) else rig
    grave = find_grave(rig, ref)
    if as_name is not None:
        validate_agent_name(as_name)
    bare = _open(rig.bare_repo)
    commit = bare[grave.commit].peel(pygit2.Commit)
    if not commit.parents:
        raise GitError(f"grave {grave.short_ref} has no head commit to restore onto",
                       fix="read its files with 'git show' in the rig's .repo.git")
    head = commit.parents[0]
    if as_name is not None:
        if not claim(rig, as_name):
            raise ConflictError(f"polecat name {as_name!r} is in use in rig {rig.name}",
                                fix="pick another --as NAME, or nuke that polecat first")
        name = as_name
    else:
        name = grave.name if claim(rig, grave.name) else allocate(rig)
    branch = _free_branch(bare, grave.branch, name)
    path = rig.polecat_worktree(name)
    made_branch = added = False
    try:
        if name in bare.list_worktrees():
            stale = bare.lookup_worktree(name)
            if Path(stale.path).exists():
                raise ConflictError(f"a worktree named {name} already exists at {stale.path}",
                                    fix=f"nuke it first: gt polecat nuke {rig.name}/{name}")
            stale.prune(True)
        created = bare.branches.local.create(branch, head)
        made_branch = True
        bare.add_worktree(name, str(path), created.resolve())
        added = True
        worktree = _open(path)
        _write_back(worktree, path, flatten(bare, head.tree), flatten(bare, commit.tree))
        if len(commit.parents) > 1:  # the index as it was: staged files are staged again
            worktree.index.read_tree(commit.parents[1].tree)
            worktree.index.write()
        if not (path / "AGENTS.md").exists():
            write_polecat_guide(rig, name, path / "AGENTS.md", branch)
    except BaseException:
        shutil.rmtree(rig.polecats_dir / name, ignore_errors=True)  # the name we claimed
        if added:
            bare.lookup_worktree(name).prune(True)
        if made_branch:
            bare.branches.local.delete(branch)
        raise
    addr = Address("polecat", rig.name, name)
    own_store = store is None
    store = open_store(town) if own_store else store
    try:
        agent = ensure_agent_bead(store, addr, rig.prefix, state="idle")
        store.update(agent["id"], description_fields={
            "agent_state": "idle", "hook_bead": None, "active_mr": None, "branch": branch,
            "cleanup_status": "has_uncommitted" if grave.files else "clean"})
        log_event(town.root, "graveyard_restore", actor=store.actor,
                  payload={"ref": grave.ref, "agent": str(addr), "branch": branch,
                           "head": str(head.id), "files": len(grave.files), "bead": grave.bead})
    finally:
        if own_store:
            store.close_connection()
    return RestoreResult(ref=grave.ref, agent=str(addr), name=name, branch=branch,
                         head=str(head.id), worktree=str(path), files=grave.files,
                         bead=grave.bead)
