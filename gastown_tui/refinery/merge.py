"""Merging one branch with pygit2 only: replay its commits onto the target tip in memory, then
move the target by compare-and-swap, refresh the refinery worktree and push to origin.

Nothing here moves the target until `advance_target`, and that is a single ref update that
only succeeds while the target is still the commit we replayed onto; so a crash at any point
leaves the target either untouched or fully advanced. One Repository per thread: callers open
their own with `open_repo`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import CheckoutStrategy, SortMode

from gastown_tui.refinery.state import RefineryError
from gastown_tui.town.errors import GitError
from gastown_tui.town.layout import RigInfo


class TargetMovedError(RefineryError):
    """The target branch changed between the rebase and the fast-forward."""

    code = "target_moved"


class PushRefusedError(GitError):
    code = "push_refused"


@dataclass(frozen=True, slots=True)
class ReplayResult:
    onto: str                      # target tip the branch was replayed onto
    head: str                      # branch head that was replayed
    new_tip: str                   # the rebased tip ("" on conflict)
    conflicts: tuple[str, ...] = ()
    conflict_commit: str = ""      # the branch commit that did not apply
    replayed: int = 0              # commits written onto the target
    skipped: int = 0               # commits whose change the target already has
    fast_forward: bool = False     # the branch already sat on the tip: no rewrite
    already_merged: bool = False   # nothing left to merge

    @property
    def ok(self) -> bool:
        return not self.conflicts


def open_repo(rig: RigInfo) -> pygit2.Repository:
    try:
        return pygit2.Repository(str(rig.bare_repo))
    except (pygit2.GitError, KeyError) as exc:
        raise GitError(f"cannot open the rig's repository {rig.bare_repo}: {exc}",
                       fix=f"re-add the rig, or check {rig.bare_repo} is a git repository") from exc


def committer(rig: RigInfo) -> pygit2.Signature:
    # A fixed identity: replayed commits keep their authors, and the refinery never depends
    # on a user.name being configured on the machine it runs on.
    return pygit2.Signature(f"{rig.name}/refinery", f"refinery@{rig.name}.gastown.invalid")


def branch_head(repo: pygit2.Repository, branch: str) -> pygit2.Oid | None:
    if not branch:
        return None
    try:
        ref = repo.references.get(f"refs/heads/{branch}")
    except (pygit2.InvalidSpecError, ValueError):
        return None
    if ref is None:
        return None
    return ref.peel(pygit2.Commit).id


def target_tip(repo: pygit2.Repository, target: str) -> pygit2.Oid:
    ref = repo.references.get(f"refs/heads/{target}")
    if ref is None:
        remote = repo.references.get(f"refs/remotes/origin/{target}")
        if remote is None:
            raise GitError(f"target branch {target!r} does not exist in the rig's repository",
                           fix="fix the MR's target, or create the branch upstream and retry")
        ref = repo.references.create(f"refs/heads/{target}", remote.target)
    return ref.peel(pygit2.Commit).id


def refresh_target(repo: pygit2.Repository, target: str) -> tuple[pygit2.Oid, str]:
    """Fetch origin's target (only that ref) and fast-forward the local target when origin is
    ahead, so we merge onto what upstream has. Returns (tip, note); an unreachable origin is a
    note, not an error: the rig's bare repo stays the working truth."""
    try:
        origin = repo.remotes["origin"]
    except KeyError:
        return target_tip(repo, target), "no origin remote"
    try:
        # Fetch before reading the local tip: a target that exists only upstream (a new
        # integration branch) is then created locally from what was just fetched.
        origin.fetch([f"+refs/heads/{target}:refs/remotes/origin/{target}"])
    except (pygit2.GitError, ValueError, OSError) as exc:
        return target_tip(repo, target), f"origin unreachable ({exc})"
    local = target_tip(repo, target)
    remote_ref = repo.references.get(f"refs/remotes/origin/{target}")
    if remote_ref is None or remote_ref.target == local:
        return local, ""
    remote = remote_ref.target
    if repo.descendant_of(remote, local):
        advance_target(repo, target, local, remote, reason="fast-forward to origin")
        return remote, f"fast-forwarded {target} to origin"
    if repo.descendant_of(local, remote):
        return local, f"{target} is ahead of origin (merges not pushed yet)"
    return local, f"{target} has diverged from origin/{target}; merging onto the rig's {target}"


def _conflict_paths(index: pygit2.Index) -> tuple[str, ...]:
    paths: set[str] = set()
    for ancestor, ours, theirs in index.conflicts or ():
        for entry in (ancestor, ours, theirs):
            if entry is not None:
                paths.add(entry.path)
                break
    return tuple(sorted(paths))


def replay(repo: pygit2.Repository, head: pygit2.Oid, onto: pygit2.Oid,
           sig: pygit2.Signature) -> ReplayResult:
    """Replay head's commits (those not reachable from onto) onto onto, in memory.

    Each commit is applied as its diff against its first parent with a three-way tree merge
    (the cherry-pick loop of textual-notes §4.4), so a merge commit carries its own conflict
    resolutions. A commit whose change the target already has is dropped, as git rebase does.
    Writes objects only; no reference moves."""
    onto_hex, head_hex = str(onto), str(head)
    if head == onto or repo.descendant_of(onto, head):
        return ReplayResult(onto=onto_hex, head=head_hex, new_tip=onto_hex, already_merged=True)
    if repo.merge_base(head, onto) == onto:
        count = sum(1 for _ in _walk(repo, head, onto))
        return ReplayResult(onto=onto_hex, head=head_hex, new_tip=head_hex, replayed=count,
                            fast_forward=True)
    current = repo[onto].peel(pygit2.Commit)
    replayed = skipped = 0
    empty_tree = None
    for commit in _walk(repo, head, onto):
        if commit.parents:
            base_tree = commit.parents[0].tree
        else:
            if empty_tree is None:
                empty_tree = repo[repo.TreeBuilder().write()]
            base_tree = empty_tree
        index = repo.merge_trees(base_tree, current.tree, commit.tree)
        if index.conflicts is not None:
            return ReplayResult(onto=onto_hex, head=head_hex, new_tip="",
                                conflicts=_conflict_paths(index), conflict_commit=str(commit.id),
                                replayed=replayed, skipped=skipped)
        tree_id = index.write_tree(repo)
        if tree_id == current.tree.id:
            skipped += 1
            continue
        new_id = repo.create_commit(None, commit.author, sig, commit.message, tree_id,
                                    [current.id])
        current = repo[new_id].peel(pygit2.Commit)
        replayed += 1
    if current.id == onto:
        return ReplayResult(onto=onto_hex, head=head_hex, new_tip=onto_hex, skipped=skipped,
                            already_merged=True)
    return ReplayResult(onto=onto_hex, head=head_hex, new_tip=str(current.id),
                        replayed=replayed, skipped=skipped)


def _walk(repo: pygit2.Repository, head: pygit2.Oid, hide: pygit2.Oid):
    walker = repo.walk(head, SortMode.TOPOLOGICAL | SortMode.REVERSE)
    walker.hide(hide)
    return walker


def advance_target(repo: pygit2.Repository, target: str, expected: pygit2.Oid | str,
                   new_tip: pygit2.Oid | str, *, reason: str = "refinery merge") -> None:
    """Move refs/heads/<target> to new_tip only if it still points at expected.

    libgit2's set_target on a looked-up reference is itself a compare-and-swap against the
    value read at lookup (it fails with "old reference value does not match"), so a writer
    sneaking in between our check and our write is caught too."""
    expected_oid = pygit2.Oid(hex=str(expected))
    new_oid = pygit2.Oid(hex=str(new_tip))
    name = f"refs/heads/{target}"
    ref = repo.references.get(name)
    if ref is None or ref.target != expected_oid:
        now = ref.target if ref is not None else "nothing"
        raise TargetMovedError(f"{target} moved from {str(expected_oid)[:10]} to {str(now)[:10]} "
                               "during the merge", fix="the MR goes back to the queue and is retried")
    if not repo.descendant_of(new_oid, expected_oid) and new_oid != expected_oid:
        raise RefineryError(f"refusing to move {target} to {str(new_oid)[:10]}: not a fast-forward",
                            fix="this is a refinery bug; nothing was changed")
    try:
        ref.set_target(new_oid, f"{reason}: {str(new_oid)[:10]}")
    except pygit2.GitError as exc:
        if "does not match" in str(exc) or "modified" in str(exc):
            raise TargetMovedError(f"{target} moved during the merge",
                                   fix="the MR goes back to the queue and is retried") from exc
        raise GitError(f"could not move {target}: {exc}", fix="check the rig's repository") from exc


def sync_worktree(path: Path, commit_id: pygit2.Oid | str, branch: str) -> bool:
    """Make a worktree that has `branch` checked out show commit_id (files and index).

    The refinery worktree shares refs with the bare repo, so after the target moved its HEAD
    already names the new commit; a forced checkout brings files and index along (files the
    old index tracked and the new tree lacks are removed). Returns False when there is no such
    worktree or it is on another branch."""
    if not (Path(path) / ".git").exists():
        return False
    wt = pygit2.Repository(str(path))
    if wt.head_is_detached or wt.head_is_unborn or wt.head.name != f"refs/heads/{branch}":
        return False
    commit = wt[pygit2.Oid(hex=str(commit_id))].peel(pygit2.Commit)
    wt.checkout_tree(commit, strategy=CheckoutStrategy.FORCE)
    index = wt.index
    index.read_tree(commit.tree)
    index.write()
    return True


class _PushCallbacks(pygit2.RemoteCallbacks):
    def __init__(self) -> None:
        super().__init__()
        self.rejected: dict[str, str] = {}

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.rejected[refname] = message


def push_target(repo: pygit2.Repository, target: str, rig: RigInfo) -> None:
    """Push refs/heads/<target> to origin; a refusal raises PushRefusedError saying why."""
    try:
        origin = repo.remotes["origin"]
    except KeyError as exc:
        raise PushRefusedError(f"rig {rig.name} has no origin remote to push {target} to",
                               fix=f"{target} lives in {rig.bare_repo}; add an origin remote") from exc
    url = origin.url or rig.git_url
    callbacks = _PushCallbacks()
    try:
        origin.push([f"refs/heads/{target}:refs/heads/{target}"], callbacks=callbacks)
    except pygit2.GitError as exc:
        text = str(exc)
        if "non-bare" in text:
            raise PushRefusedError(
                f"upstream {url} refused the push of {target}: it is a non-bare repository "
                f"(pushes to a checked-out branch are refused); {target} lives in the rig's "
                "bare repo for now",
                fix=f"make the upstream bare (git clone --bare), or pull {target} from "
                    f"{rig.bare_repo} by hand") from exc
        if "non-fastforward" in text or "fast-forward" in text:
            raise PushRefusedError(
                f"upstream {url} has commits on {target} the rig does not; push refused",
                fix=f"the next merge fetches them first; or merge origin/{target} into "
                    f"{rig.bare_repo} by hand") from exc
        raise PushRefusedError(f"push of {target} to {url} failed: {text}",
                               fix="check the upstream is reachable and accepts pushes") from exc
    if callbacks.rejected:
        detail = "; ".join(f"{k}: {v}" for k, v in callbacks.rejected.items())
        raise PushRefusedError(f"upstream {url} rejected the push of {target} ({detail})",
                               fix=f"{target} lives in {rig.bare_repo} until the upstream accepts it")


def delete_branch(repo: pygit2.Repository, branch: str, expected: str) -> str:
    """Delete a merged polecat branch unless it moved on or is checked out somewhere.

    Returns deleted | missing | moved | checked-out: a branch with commits we did not merge,
    or one a polecat's worktree still stands on, is kept (nothing is ever lost)."""
    try:
        ref = repo.branches.local.get(branch)
    except (pygit2.InvalidSpecError, ValueError):
        return "missing"
    if ref is None:
        return "missing"
    if expected and str(ref.target) != expected:
        return "moved"
    if ref.is_checked_out():
        return "checked-out"
    try:
        ref.delete()
    except pygit2.GitError:
        return "checked-out"
    return "deleted"
