"""git between the town's bare repositories and a host's, over the host's ssh (git+ssh).

Every connection goes from the town to the host, as every other call does: the town pushes
the default branch (and a polecat's new branch) into the host's copy of the rig's bare
repository, and fetches a polecat's branch (or a grave) back from it. The host needs no ssh
access to the town's machine.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from gastown_tui.hosts.ssh import Ssh, evidence
from gastown_tui.town.errors import GitError
from gastown_tui.town.hostlist import HostUnreachableError

# What git prints when it never got a repository to talk to over ssh.
_UNREACHABLE = ("Could not read from remote repository", "Connection refused",
                "Connection timed out", "No route to host", "Host key verification failed",
                "Permission denied (publickey")
TIMEOUT = 120.0


def _git(ssh: Ssh, local_repo: Path, args: Sequence[str], what: str) -> str:
    env = {**os.environ, "GIT_SSH_COMMAND": ssh.git_ssh_command(), "GIT_TERMINAL_PROMPT": "0",
           "LC_ALL": "C"}
    try:
        proc = subprocess.run(["git", "-C", str(local_repo), *args], capture_output=True,
                              text=True, errors="replace", env=env, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise HostUnreachableError(ssh.host.name, f"git {what} took over {TIMEOUT:.0f} s") \
            from None
    if proc.returncode != 0:
        if any(marker in proc.stderr for marker in _UNREACHABLE):
            raise HostUnreachableError(ssh.host.name, evidence(proc.stderr))
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise GitError(f"git {what} with host {ssh.host.name} failed: {last}",
                       fix=f"check the host with gt host check {ssh.host.name}")
    return proc.stdout


def remote_repo(ssh: Ssh, rig: str) -> str:
    """The host's bare repository of `rig` (inside its satellite town)."""
    return f"{ssh.host.town_path.rstrip('/')}/{rig}/.repo.git"


def push(ssh: Ssh, local_repo: Path, rig: str, refspecs: Sequence[str]) -> None:
    """Push refs (`+refs/heads/x:refs/heads/x`) from the town's bare repo to the host's."""
    _git(ssh, local_repo, ["push", "--quiet", ssh.git_url(remote_repo(ssh, rig)), *refspecs],
         "push")


def fetch(ssh: Ssh, local_repo: Path, rig: str, refspecs: Sequence[str]) -> None:
    """Fetch refs from the host's bare repo of `rig` into the town's."""
    _git(ssh, local_repo, ["fetch", "--quiet", "--no-tags", ssh.git_url(remote_repo(ssh, rig)),
                           *refspecs], "fetch")
