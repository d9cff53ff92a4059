"""Ending a tmux pane's whole process tree, not just the pane's first process.

Agents start helpers (language servers, test runners, `sleep` in a loop) that `kill-session`
alone would leave behind: tmux only sends SIGHUP to the pane process. Gas Town's
`KillSessionWithProcesses` terminates every descendant deepest-first, waits, then SIGKILLs the
survivors (gastown-reference §2.4). Processes are identified by (pid, start time) so a pid
that the kernel reuses while we wait is never signalled.

The process table comes from psutil, which reads it the same way on Linux and macOS (parent,
session, start time, environment, command line); it costs ~50 ms to import, so it is imported
when a tree is walked, never on the way to a `gt`/`bd` command that does not stop processes.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessEntry:
    pid: int
    ppid: int
    session: int  # session id; -1 when the platform does not tell us
    start: float  # start time (seconds since the epoch); with the pid, the process's identity
    zombie: bool


def _session_of(pid: int) -> int:
    try:
        return os.getsid(pid)
    except OSError:  # gone, or another user's on a system that hides it
        return -1


def process_table() -> dict[int, ProcessEntry]:
    """Every process on the machine, keyed by pid."""
    import psutil

    table: dict[int, ProcessEntry] = {}
    for proc in psutil.process_iter(["pid", "ppid", "create_time", "status"]):
        info = proc.info
        if info.get("ppid") is None:  # ended while we were listing
            continue
        table[info["pid"]] = ProcessEntry(
            pid=info["pid"],
            ppid=info["ppid"],
            session=_session_of(info["pid"]),
            start=info.get("create_time") or 0.0,
            zombie=info.get("status") in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD),
        )
    return table


def _protected(table: dict[int, ProcessEntry]) -> set[int]:
    """Our own process and its ancestors: a pane that runs this very program must not kill it."""
    protected = {0, 1}
    pid = os.getpid()
    while pid > 1 and pid not in protected:
        protected.add(pid)
        pid = table[pid].ppid if pid in table else 0
    return protected


def tree_deepest_first(roots: Iterable[int], table: dict[int, ProcessEntry]) -> list[ProcessEntry]:
    """`roots`, their descendants, and processes that left the tree but kept a root's session.

    A daemonised grandchild is re-parented to init yet keeps the session id of the pane
    process (the pane process is a session leader), which is how Gas Town catches it too.
    Deepest first, so children go before the parent that might respawn them.
    """
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    depth: dict[int, int] = {}
    stack = [(pid, 0) for pid in roots if pid in table]
    while stack:
        pid, level = stack.pop()
        if pid in depth:
            continue
        depth[pid] = level
        stack.extend((child, level + 1) for child in children.get(pid, ()))
    root_sessions = {pid for pid in depth if depth[pid] == 0}
    for proc in table.values():
        if proc.pid not in depth and proc.session in root_sessions:
            depth[proc.pid] = max(depth.values(), default=0) + 1
    protected = _protected(table)
    members = [table[pid] for pid in depth if pid not in protected]
    return sorted(members, key=lambda proc: depth[proc.pid], reverse=True)


def _alive(proc: ProcessEntry, table: dict[int, ProcessEntry]) -> bool:
    now = table.get(proc.pid)
    return now is not None and now.start == proc.start and not now.zombie


def _signal(procs: Iterable[ProcessEntry], signum: int) -> None:
    table = process_table()
    for proc in procs:
        if not _alive(proc, table):  # gone, or its pid now names another process
            continue
        try:
            os.kill(proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def terminate_tree(roots: Iterable[int], grace: float = 2.0, poll: float = 0.02) -> list[int]:
    """SIGTERM the tree deepest-first, wait up to `grace` seconds, SIGKILL what is left.

    Returns the pids that were signalled. A zombie counts as gone: its parent (possibly init
    in a container that never reaps) owns it, and it holds no resources we care about.
    """
    return end_tree(roots, grace=grace, poll=poll).signalled


@dataclass
class TreeEnd:
    signalled: list[int]
    killed: list[tuple[int, str]]  # (pid, command line) of what needed SIGKILL
    survivors: list[int]  # still there after SIGKILL and `grace` more: a stuck process


def end_tree(roots: Iterable[int], grace: float = 2.0, poll: float = 0.02) -> TreeEnd:
    """terminate_tree, saying which processes ignored SIGTERM for `grace` seconds and were
    SIGKILLed (with their command lines, read before the kill), and waiting up to `grace`
    again for those to be gone."""
    members = tree_deepest_first(roots, process_table())
    if not members:
        return TreeEnd([], [], [])
    _signal(members, signal.SIGTERM)
    survivors = _wait_gone(members, grace, poll)
    killed = [(proc.pid, command_line(proc.pid)) for proc in survivors]
    if survivors:
        _signal(survivors, signal.SIGKILL)
        survivors = _wait_gone(survivors, grace, poll)
    return TreeEnd([proc.pid for proc in members], killed, [proc.pid for proc in survivors])


def _wait_gone(procs: list[ProcessEntry], timeout: float, poll: float) -> list[ProcessEntry]:
    deadline = time.monotonic() + timeout
    while procs:
        table = process_table()
        procs = [proc for proc in procs if _alive(proc, table)]
        if not procs or time.monotonic() >= deadline:
            break
        time.sleep(poll)
    return procs


def is_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    import psutil

    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return psutil.pid_exists(pid) and pid > 0


def environ_of(pid: int) -> dict[str, str]:
    """The environment `pid` was started with; {} when it cannot be read (gone, other user)."""
    import psutil

    try:
        return dict(psutil.Process(pid).environ())
    except (psutil.Error, OSError):
        return {}


def processes_with_env(key: str, values: Iterable[str]) -> list[ProcessEntry]:
    """Live processes (not this one nor its ancestors) whose environment has key=one of values.

    How a town finds what it started wherever it went: every agent and loop carries the
    town's GT_ROOT, even one that left its tmux pane's tree.
    """
    wanted = set(values)
    table = process_table()
    protected = _protected(table)
    found = []
    for proc in table.values():
        if proc.zombie or proc.pid in protected:
            continue
        if environ_of(proc.pid).get(key) in wanted:
            found.append(proc)
    return found


def command_line(pid: int) -> str:
    """`pid`'s command line as one readable string ('' when gone)."""
    import psutil

    try:
        return " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return ""
