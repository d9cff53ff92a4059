"""Ending a tmux pane's whole process tree, not just the pane's first process.

Agents start helpers (language servers, test runners, `sleep` in a loop) that `kill-session`
alone would leave behind: tmux only sends SIGHUP to the pane process. Gas Town's
`KillSessionWithProcesses` terminates every descendant deepest-first, waits, then SIGKILLs the
survivors (gastown-reference §2.4). Processes are identified by (pid, start time) so a pid
that the kernel reuses while we wait is never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessEntry:
    pid: int
    ppid: int
    session: int  # session id; -1 when the platform does not tell us
    start: int  # start time in clock ticks since boot; 0 when unknown
    zombie: bool


def _read_proc() -> dict[int, ProcessEntry]:
    table: dict[int, ProcessEntry] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text(errors="replace")
        except OSError:  # the process ended while we were listing
            continue
        # The command name sits in parentheses and may itself contain ')' or spaces, so the
        # numeric fields are what follows the LAST ')'. They start at field 3 (state).
        fields = raw[raw.rfind(")") + 2 :].split()
        table[int(entry.name)] = ProcessEntry(
            pid=int(entry.name),
            ppid=int(fields[1]),
            session=int(fields[3]),
            start=int(fields[19]),
            zombie=fields[0] in ("Z", "X"),
        )
    return table


def _read_ps() -> dict[int, ProcessEntry]:
    """Fallback for systems without /proc (macOS): only pid, ppid and state are portable."""
    out = subprocess.run(
        ["ps", "-A", "-o", "pid=,ppid=,stat="], capture_output=True, text=True, check=False
    ).stdout
    table: dict[int, ProcessEntry] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit():
            pid = int(parts[0])
            table[pid] = ProcessEntry(pid, int(parts[1]), -1, 0, parts[2].startswith("Z"))
    return table


def process_table() -> dict[int, ProcessEntry]:
    """Every process on the machine, keyed by pid."""
    return _read_proc() if _PROC.is_dir() else _read_ps()


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
    for proc in procs:
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
    proc = process_table().get(pid)
    return proc is not None and not proc.zombie


def environ_of(pid: int) -> dict[str, str]:
    """The environment `pid` was started with; {} when it cannot be read (gone, other user)."""
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


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
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
