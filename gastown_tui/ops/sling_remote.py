"""The host's side of `gt sling … --host NAME` (the flow itself is `sling._sling_to_host`).

Before a polecat starts on another host, the host's satellite town is refreshed (settings,
rigs, the store URL it uses) and the rig's default branch is pushed into the host's copy of
the bare repository (git over the host's ssh, from the town: the host needs no way back).
Then the host's own gt makes the worktree on the branch the town chose and starts the
session on the host's tmux server; its gt and bd talk to the shared PostgreSQL store.
"""

from __future__ import annotations

from typing import Any

from gastown_tui.hosts import git as host_git
from gastown_tui.hosts import rpc
from gastown_tui.hosts.ssh import Ssh
from gastown_tui.ops.hosts import sync
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.hostlist import HostRecord
from gastown_tui.town.layout import RigInfo, Town


def prepare_host(town: Town, record: HostRecord, rig: RigInfo) -> Ssh:
    """The host's town folder refreshed and the rig's default branch pushed there."""
    ssh = Ssh(town.root, record)
    answer = sync(town, record)
    if answer.get("store"):
        raise GasTownError(f"host {record.name} cannot reach the town's store: "
                           f"{answer['store']}", fix=f"gt host check {record.name}")
    head = f"refs/heads/{rig.default_branch}"
    host_git.push(ssh, rig.bare_repo, rig.name, [f"+{head}:{head}"])
    return ssh


def spawn_on_host(ssh: Ssh, rig: RigInfo, name: str, bead: str, branch: str,
                  agent: str | None) -> dict[str, Any]:
    """{worktree, branch, session, runtime, screen} of the polecat started on the host."""
    return rpc.call(ssh, "spawn", {"rig": rig.name, "name": name, "bead": bead,
                                   "branch": branch, "agent": agent}, timeout=240)


def remove_on_host(ssh: Ssh, rig: RigInfo, name: str) -> None:
    """Undo a spawn: the session, the worktree and its branch on the host (a grave first if
    anything was written there)."""
    rpc.call(ssh, "nuke", {"rig": rig.name, "name": name, "force": True}, timeout=120)
