"""Polecat worktrees with pygit2: create on a fresh branch, inspect, commit, remove."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.ops.role_text import role_text
from gastown_tui.town import safe_write
from gastown_tui.town.errors import GitError
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.names import Address
from gastown_tui.town.store.ids import base36

# Files we drop into a worktree that must never be committed by `gt done`'s safety net.
LOCAL_FILES = ("AGENTS.md", "CLAUDE.md", "CLAUDE.local.md", ".gastown/", ".gemini/", ".opencode/",
               ".codex/")


def branch_name(name: str, bead_id: str | None) -> str:
    stamp = base36(int(time.time() * 1000))
    return f"polecat/{name}/{bead_id}@{stamp}" if bead_id else f"polecat/{name}-{stamp}"


def _repo(path: Path):
    import pygit2

    try:
        return pygit2.Repository(str(path))
    except pygit2.GitError as exc:
        raise GitError(f"{path} is not a git repository ({exc})",
                       fix="run 'gt doctor' to repair the rig") from exc


def _exclude_local_files(bare: Path, tracked: set[str]) -> None:
    exclude = bare / "info" / "exclude"
    current = exclude.read_text() if exclude.is_file() and not exclude.is_symlink() else ""
    missing = [f for f in LOCAL_FILES if f not in current.split("\n") and f.rstrip("/") not in tracked]
    if missing:
        safe_write.append_bytes(exclude, "".join(f"{f}\n" for f in missing).encode())


def create_polecat_worktree(rig: RigInfo, name: str, bead_id: str | None,
                            instructions_file: str = "AGENTS.md",
                            branch: str | None = None) -> tuple[Path, str]:
    """The polecat's worktree on a new branch from the rig's default branch; `branch` names
    it when the caller already chose the name (a town slinging to another host)."""
    import pygit2

    repo = _repo(rig.bare_repo)
    start = repo.references.get(f"refs/heads/{rig.default_branch}")
    if start is None:
        raise GitError(f"rig {rig.name} has no branch {rig.default_branch}",
                       fix="check the rig's default_branch in config.json")
    branch = branch or branch_name(name, bead_id)
    path = rig.polecat_worktree(name)
    if name in repo.list_worktrees():
        stale = repo.lookup_worktree(name)
        if Path(stale.path).exists():
            raise GitError(f"a worktree named {name} already exists at {stale.path}",
                           fix=f"nuke the polecat first: gt polecat nuke {rig.name}/{name}")
        stale.prune(True)
    commit = start.peel(pygit2.Commit)
    ref = repo.branches.local.create(branch, commit).resolve()
    try:
        repo.add_worktree(name, str(path), ref)
    except pygit2.GitError as exc:
        repo.branches.local.delete(branch)
        raise GitError(f"could not create the worktree for {name}: {exc}",
                       fix="run 'gt doctor' to clean stale worktrees") from exc
    tracked = {entry.name for entry in commit.tree}
    _exclude_local_files(rig.bare_repo, tracked)
    target = "CLAUDE.local.md" if instructions_file == "CLAUDE.md" and "CLAUDE.md" in tracked \
        else instructions_file
    if target not in tracked:
        write_polecat_guide(rig, name, path / target, branch)
    return path, branch


def write_polecat_guide(rig: RigInfo, name: str, file: Path, branch: str) -> None:
    """The polecat's guide in its worktree (what `gt prime` prints), for runtimes that read
    an instructions file (CLAUDE.md, AGENTS.md) before any hook runs."""
    town = Town(rig.path.parent)
    # The worktree is the repository's: its files may be links out of it (safe_write refuses).
    safe_write.write_text(file, role_text(town, Address("polecat", rig.name, name),
                                          worktree=rig.polecat_worktree(name), branch=branch),
                          within=rig.path)


@dataclass(frozen=True)
class WorktreeState:
    branch: str
    head: str
    dirty: tuple[str, ...]  # uncommitted, staged or untracked paths
    ahead: int  # commits not on the rig's default branch
    exists: bool


def inspect(rig: RigInfo, path: Path) -> WorktreeState:
    import pygit2

    if not (path / ".git").exists():
        return WorktreeState("", "", (), 0, False)
    repo = _repo(path)
    if repo.head_is_unborn:
        return WorktreeState("", "", (), 0, True)
    dirty = tuple(sorted(p for p, flags in repo.status().items()
                         if flags != pygit2.enums.FileStatus.IGNORED))
    head = repo.head.target
    main = repo.references.get(f"refs/heads/{rig.default_branch}")
    ahead = 0
    if main is not None:
        ahead, _ = repo.ahead_behind(head, main.target)
    return WorktreeState(repo.head.shorthand, str(head), dirty, ahead, True)


def commit_all(path: Path, message: str, author: str) -> str | None:
    """Stage everything (ignores respected) and commit; None when there was nothing to commit."""
    import pygit2

    repo = _repo(path)
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    parent = repo.head.target
    if tree == repo[parent].peel(pygit2.Commit).tree.id:
        return None
    sig = pygit2.Signature(author, f"{author}@gastown.local")
    return str(repo.create_commit("HEAD", sig, sig, message, tree, [parent]))


def remove_worktree(rig: RigInfo, name: str, branch: str | None) -> None:
    """Remove the worktree directory, prune it from the bare repo, delete the local branch."""
    shutil.rmtree(rig.polecats_dir / name, ignore_errors=True)
    repo = _repo(rig.bare_repo)
    if name in repo.list_worktrees():
        repo.lookup_worktree(name).prune(True)
    if branch and branch in repo.branches.local:
        repo.branches.local.delete(branch)
