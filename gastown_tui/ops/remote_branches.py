"""A polecat's branch on another host, brought to the town's bare repository (git over the
host's ssh), where the Refinery merges it as it merges any other."""

from __future__ import annotations

from gastown_tui.hosts import git as host_git
from gastown_tui.ops.sessions import ssh_for
from gastown_tui.town.errors import GitError
from gastown_tui.town.layout import RigInfo, Town

_NO_SUCH_REF = "couldn't find remote ref"


def fetch_branch(town: Town, rig: RigInfo, host: str, branch: str) -> bool:
    """Fetch `branch` from `host` over the town's copy (forced: a resubmit rewrites it).
    False when the host no longer has it (the caller treats it as a missing branch);
    HostUnreachableError when the host does not answer."""
    ref = f"refs/heads/{branch}"
    try:
        host_git.fetch(ssh_for(town, host), rig.bare_repo, rig.name, [f"+{ref}:{ref}"])
    except GitError as exc:
        if _NO_SUCH_REF in exc.problem:
            return False
        raise
    return True
