"""A gate outlives nobody: a tiny watcher that kills a gate's process group when the refinery
that started it dies (kill -9 included, which no handler in the refinery can catch).

A gate runs in its own process group (so a timeout kills its whole tree), which also means
nothing ends it when the refinery is killed: it used to linger until the next loop start. The
refinery starts this watcher next to each gate: `python -m gastown_tui.refinery.gate_watch
<refinery pid> <gate pgid> <gate worktree>`. It polls; when its parent is no longer the
refinery (the refinery died and the watcher was re-parented), it kills the gate's group, but
only while a member still works inside the gate worktree (a pid is never trusted alone), and
exits. It exits on its own when the group is gone. Linux (/proc) only; it imports nothing
heavy, so it starts in a few tens of milliseconds."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

POLL = 0.1


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def group_works_in(pgid: int, root: str) -> bool:
    """A member of the group has its working directory inside `root`: the group is the gate."""
    for pid in group_members(pgid):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            return True
    return False


def kill_group_if_ours(pgid: int, root: str) -> bool:
    if pgid <= 0 or not group_works_in(pgid, root):
        return False
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def watch(parent: int, pgid: int, root: str) -> int:
    while True:
        if not group_members(pgid):
            return 0
        if os.getppid() != parent:
            kill_group_if_ours(pgid, root)
            return 0
        time.sleep(POLL)


def main(argv: list[str]) -> int:
    parent, pgid, root = int(argv[0]), int(argv[1]), os.path.realpath(argv[2])
    # Our own group, apart from the refinery's pane, so a tmux stop of the refinery's tree
    # (which sends SIGHUP/SIGTERM) does not end us before we end the gate.
    for sig in (signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    return watch(parent, pgid, root)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
