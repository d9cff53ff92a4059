"""The graveyard: what a polecat would lose is kept as a commit before the polecat is destroyed.

A grave is `refs/gastown/graveyard/<name>/<UTC stamp>-<4 hex>` in the rig's bare repo: a commit
whose first parent is the polecat branch's head and whose tree is the worktree's working
directory as it was (modified, staged and untracked files; ignored ones are not work). When the
index differed from both, a second parent holds the index's tree, as `git stash` does, so a
restore gives back what was staged too. The branch's commits stay reachable through the first
parent, so deleting the local branch afterwards loses nothing. The commit message carries the
metadata as `key: value` lines, so listing needs no other state (operations.md, nuke).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.town.errors import (
    ConflictError,
    GasTownError,
    GitError,
    InvalidNameError,
    ValidationError,
)
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.names import validate_agent_name

GRAVE_PREFIX = "refs/gastown/graveyard/"
_STAMP_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$")
_BLOB, _EXEC, _LINK, _GITLINK = 0o100644, 0o100755, 0o120000, 0o160000

# path -> (blob id, file mode): one shape for a worktree scan and for a flattened tree.
Files = Mapping[str, tuple[Any, int]]


class GraveNotFoundError(GasTownError):
    code = "not_found"


@dataclass(frozen=True)
class WorkState:
    """A polecat's git state, read without writing anything."""

    exists: bool  # the worktree directory is there
    branch: str
    head: str  # the branch's commit ("" when there is none)
    files: Files  # what a grave would hold
    changed: tuple[str, ...]  # paths differing from head: modified, staged, untracked, deleted
    unmerged: int  # commits on head whose changes are not on the default branch

    @property
    def would_lose(self) -> bool:
        return bool(self.changed or self.unmerged)


@dataclass(frozen=True)
class GraveEntry:
    ref: str
    rig: str
    name: str
    polecat: str
    branch: str
    bead: str
    head: str
    saved_at: str
    reason: str
    commit: str
    files: tuple[str, ...]  # changed versus head

    @property
    def short_ref(self) -> str:
        return self.ref.removeprefix(GRAVE_PREFIX)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "short_ref": self.short_ref, "files_changed": len(self.files)}


def _open(path: Path):
    import pygit2

    try:
        return pygit2.Repository(str(path))
    except pygit2.GitError as exc:
        raise GitError(f"{path} is not a git repository ({exc})",
                       fix="run 'gt doctor' to repair the rig") from exc


def flatten(repo, tree, prefix: str = "") -> dict[str, tuple[Any, int]]:
    out: dict[str, tuple[Any, int]] = {}
    for entry in tree:
        path = prefix + entry.name
        if int(entry.filemode) == 0o040000:
            out.update(flatten(repo, repo[entry.id], path + "/"))
        else:
            out[path] = (entry.id, int(entry.filemode))
    return out


def _walk(repo, root: Path, tracked: Files, blob_id: Callable[[bytes], Any]) -> dict[str, tuple[Any, int]]:
    """Every file of the working directory git would see: tracked ones (even when a rule
    ignores them, as git does) and untracked ones that no .gitignore/exclude rule covers.
    Contents are read raw, so a restore gives back the very bytes."""
    tracked_dirs = {p[:i + 1] for p in tracked for i, ch in enumerate(p) if ch == "/"}
    out: dict[str, tuple[Any, int]] = {}
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        with os.scandir(root / rel_dir) as entries:
            for entry in entries:
                if entry.name == ".git":  # the worktree's link, or a nested repository's store
                    continue
                rel = rel_dir + entry.name
                known = tracked.get(rel)
                try:
                    if known is not None and known[1] == _GITLINK:
                        out[rel] = known  # a submodule: keep its pinned commit
                    elif entry.is_dir(follow_symlinks=False):
                        if rel + "/" in tracked_dirs or not repo.path_is_ignored(rel + "/"):
                            pending.append(rel + "/")
                    elif known is None and repo.path_is_ignored(rel):
                        continue
                    elif entry.is_symlink():
                        out[rel] = (blob_id(os.fsencode(os.readlink(entry.path))), _LINK)
                    elif entry.is_file(follow_symlinks=False):
                        data = Path(entry.path).read_bytes()
                        executable = entry.stat(follow_symlinks=False).st_mode & 0o111
                        out[rel] = (blob_id(data), _EXEC if executable else _BLOB)
                except UnicodeEncodeError as exc:
                    raise GitError(f"cannot save {rel!r}: its name is not UTF-8",
                                   fix="rename the file, then retry") from exc
    return out


def _branch_of(repo) -> str:
    head = repo.references.get("HEAD")
    target = head.target if head is not None else ""
    return target.removeprefix("refs/heads/") if isinstance(target, str) else ""


def _registered_branch(rig: RigInfo, name: str) -> str:
    """The branch a worktree had checked out, read from the bare repo once its directory is gone."""
    try:
        text = (rig.bare_repo / "worktrees" / name / "HEAD").read_text().strip()
    except OSError:
        return ""
    return text.removeprefix("ref: refs/heads/") if text.startswith("ref: refs/heads/") else ""


# How far back main is searched for a replayed copy of a polecat's commit: the Refinery merges
# a branch soon after it is done, so its copy is among main's recent commits.
PATCH_ID_DEPTH = 500


def _unmerged(repo, head, main) -> int:
    """Commits on head not on main, unless main already holds their changes. The refinery
    replays commits (a rebase), so a merged branch's own commits never become main's
    ancestors: the work counts as merged when merging the whole branch into main changes
    nothing, or, commit by commit, when main has a commit with the same patch-id (`git
    patch-id --stable`: the replayed copy, even after later commits rewrote those lines)
    or applying the commit to main changes nothing."""
    if head is None or main is None:
        return 0
    ahead, _ = repo.ahead_behind(head.id, main.id)
    if not ahead:
        return 0
    import pygit2

    try:
        merged = repo.merge_commits(main.id, head.id)
        if merged.conflicts is None and len(merged.diff_to_tree(main.tree)) == 0:
            return 0
    except (pygit2.GitError, ValueError, KeyError):
        pass  # no merge base, or libgit2 refused: judge each commit
    try:
        return _not_on_main(repo, head, main)
    except (pygit2.GitError, ValueError, KeyError):
        return ahead  # unreadable history counts as unmerged: nothing is lost by keeping it


def _patch_id(repo, commit) -> str:
    parent = commit.parents[0].tree if commit.parents else repo[repo.TreeBuilder().write()]
    return str(repo.diff(parent, commit.tree).patchid)


def _not_on_main(repo, head, main) -> int:
    """How many of head's own commits main holds no copy of (see _unmerged)."""
    from pygit2.enums import SortMode

    base = repo.merge_base(head.id, main.id)
    on_main: set[str] = set()
    walker = repo.walk(main.id, SortMode.TOPOLOGICAL)
    if base is not None:
        walker.hide(base)
    for n, commit in enumerate(walker):
        if n >= PATCH_ID_DEPTH:
            break
        if len(commit.parents) <= 1:
            on_main.add(_patch_id(repo, commit))
    walker = repo.walk(head.id, SortMode.TOPOLOGICAL)
    walker.hide(main.id)
    missing = 0
    for commit in walker:
        if len(commit.parents) <= 1 and _patch_id(repo, commit) in on_main:
            continue
        if commit.parents:  # applying its change to main changes nothing: main has it
            index = repo.merge_trees(commit.parents[0].tree, main.tree, commit.tree)
            if index.conflicts is None and len(index.diff_to_tree(main.tree)) == 0:
                continue  # (compared in memory: a scan writes no object)
        missing += 1
    return missing


def _state(rig: RigInfo, name: str, branch_hint: str, *, write: bool) -> tuple[WorkState, Any, Any]:
    """(state, repo, base commit); without `write` files are only hashed, so nothing is written."""
    import pygit2

    path = rig.polecat_worktree(name)
    exists = (path / ".git").exists()
    repo = _open(path if exists else rig.bare_repo)
    branch = _branch_of(repo) if exists else (_registered_branch(rig, name) or branch_hint)
    head = None
    if exists and not repo.head_is_unborn:
        head = repo.head.peel(pygit2.Commit)
        branch = "" if repo.head_is_detached else branch
    elif branch and branch in repo.branches.local:
        head = repo.branches.local[branch].peel(pygit2.Commit)
    main_ref = repo.references.get(f"refs/heads/{rig.default_branch}")
    main = main_ref.peel(pygit2.Commit) if main_ref is not None else None
    # A branch the refinery deleted after merging leaves HEAD unborn: compare with main then.
    base = head if head is not None else (main if exists else None)
    base_files = flatten(repo, base.tree) if base is not None else {}
    if exists:
        staged = {e.path: (e.id, int(e.mode)) for e in repo.index}
        files = _walk(repo, path, {**base_files, **staged},
                      repo.create_blob if write else pygit2.hash)
    else:
        staged = files = base_files
    # Staged content counts even when the working file no longer has it: a grave keeps the index.
    changed = tuple(sorted(p for p in {*base_files, *files, *staged}
                           if base_files.get(p) != files.get(p)
                           or base_files.get(p) != staged.get(p)))
    state = WorkState(exists, branch, str(head.id) if head is not None else "", files, changed,
                      _unmerged(repo, head, main))
    return state, repo, (base if head is None else head)


def scan(rig: RigInfo, name: str, *, branch_hint: str = "") -> WorkState:
    """What a nuke would lose, without writing any object."""
    validate_agent_name(name)
    return _state(rig, name, branch_hint, write=False)[0]


def _tree(repo, files: Files):
    import pygit2

    index = pygit2.Index()  # in memory: the worktree's own index is never touched
    for path, (oid, mode) in files.items():
        index.add(pygit2.IndexEntry(path, oid, pygit2.enums.FileMode(mode)))
    return index.write_tree(repo)


def _stamp() -> tuple[str, str]:
    now = datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")


def save(rig: RigInfo, name: str, *, bead: str = "", reason: str = "",
         branch_hint: str = "") -> GraveEntry | None:
    """Keep the polecat's branch head and working files under a new grave; None when there is
    neither a worktree nor a branch, so nothing exists to keep."""
    import pygit2

    validate_agent_name(name)
    state, repo, base = _state(rig, name, branch_hint, write=True)
    if base is None and not state.exists:
        return None
    tree = _tree(repo, state.files)
    parents = [base.id] if base is not None else []
    sig = pygit2.Signature("Gas Town graveyard", "graveyard@gastown.local")
    if state.exists and base is not None:
        try:
            index_tree = repo.index.write_tree()  # objects only; the index file is not written
        except pygit2.GitError:
            index_tree = None  # a conflicted index: the working files are still kept
        if index_tree is not None and index_tree != base.tree.id:
            parents.append(repo.create_commit(None, sig, sig, f"index of {name}\n",
                                              index_tree, [base.id]))
    stamp, saved_at = _stamp()
    meta = {"polecat": f"{rig.name}/{name}", "branch": state.branch, "bead": bead,
            "head": str(base.id) if base is not None else "", "saved_at": saved_at,
            "reason": " ".join(reason.split())}
    message = (f"graveyard {rig.name}/{name}\n\n"
               + "".join(f"{k}: {v}\n" for k, v in meta.items()))
    commit = repo.create_commit(None, sig, sig, message, tree, parents)
    bare = _open(rig.bare_repo)
    for _ in range(20):
        ref = f"{GRAVE_PREFIX}{name}/{stamp}-{secrets.token_hex(2)}"
        try:
            bare.references.create(ref, commit)
            return _entry(bare, rig, bare.references[ref])
        except pygit2.AlreadyExistsError:
            continue
    raise ConflictError("could not find a free graveyard ref name", fix="retry in a second")


def _entry(repo, rig: RigInfo, ref) -> GraveEntry:
    import pygit2

    commit = ref.peel(pygit2.Commit)
    meta = parse_fields(commit.message)
    files: set[str] = set()
    if commit.parents:  # the working files and, when kept, the index, each against head
        for saved in (commit, *commit.parents[1:2]):
            files.update(d.old_file.path if d.status == pygit2.enums.DeltaStatus.DELETED
                         else d.new_file.path
                         for d in repo.diff(commit.parents[0].tree, saved.tree).deltas)
    else:
        files.update(flatten(repo, commit.tree))
    name = ref.name.removeprefix(GRAVE_PREFIX).split("/", 1)[0]
    return GraveEntry(ref=ref.name, rig=rig.name, name=name,
                      polecat=meta.get("polecat") or f"{rig.name}/{name}",
                      branch=meta.get("branch", ""), bead=meta.get("bead", ""),
                      head=meta.get("head") or (str(commit.parents[0].id) if commit.parents else ""),
                      saved_at=meta.get("saved_at", ""), reason=meta.get("reason", ""),
                      commit=str(commit.id), files=tuple(sorted(files)))


def registered(rig: RigInfo, name: str) -> bool:
    """True when the bare repo still lists a worktree of that name (its directory may be gone)."""
    return rig.bare_repo.exists() and name in _open(rig.bare_repo).list_worktrees()


def same_state(rig: RigInfo, grave: GraveEntry, state: WorkState) -> bool:
    """True when `grave` already holds exactly `state` (same head, same files)."""
    import pygit2

    repo = _open(rig.bare_repo)
    commit = repo[grave.commit].peel(pygit2.Commit)
    return (not state.head or state.head == grave.head) and \
        flatten(repo, commit.tree) == dict(state.files)


def list_graveyard(rig: RigInfo, name: str | None = None) -> list[GraveEntry]:
    """The rig's graves, newest first."""
    if not rig.bare_repo.exists():
        return []
    repo = _open(rig.bare_repo)
    prefix = GRAVE_PREFIX + (f"{validate_agent_name(name)}/" if name else "")
    entries = [_entry(repo, rig, repo.references[r]) for r in repo.references if r.startswith(prefix)]
    return sorted(entries, key=lambda e: (e.saved_at, e.ref), reverse=True)


def list_all(town: Town) -> list[GraveEntry]:
    """Every rig's graves, newest first: the order `graveyard list` numbers them in."""
    entries = [e for rig in town.rigs() for e in list_graveyard(rig)]
    return sorted(entries, key=lambda e: (e.saved_at, e.ref), reverse=True)


def normalize_ref(text: str) -> str:
    """`refs/gastown/graveyard/<name>/<stamp>`, `graveyard/<name>/<stamp>` or `<name>/<stamp>`."""
    short = text.strip().removeprefix("refs/").removeprefix("gastown/").removeprefix("graveyard/")
    name, _, stamp = short.partition("/")
    try:
        validate_agent_name(name)
    except InvalidNameError:
        stamp = ""
    if not _STAMP_RE.match(stamp):
        raise ValidationError(f"{text!r} is not a graveyard ref",
                              fix="see 'gt polecat graveyard list' for the refs and their numbers")
    return f"{GRAVE_PREFIX}{name}/{stamp}"


def find_grave(rig: RigInfo, ref: str) -> GraveEntry:
    full = normalize_ref(ref)
    repo = _open(rig.bare_repo)
    found = repo.references.get(full)
    if found is None:
        raise GraveNotFoundError(f"no grave {full} in rig {rig.name}",
                                 fix="see 'gt polecat graveyard list'")
    return _entry(repo, rig, found)
