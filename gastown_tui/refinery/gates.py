"""The rig's merge gates (setup, typecheck, lint, build, test) run on the rebased tip.

Each gate is an argv from shlex.split (never a shell string), runs in its own process group in
a scratch worktree `<rig>/.runtime/refinery/gate-wt` checked out at the rebased tip, with a
timeout, its output kept in `<rig>/.runtime/refinery/logs/<mr>-<gate>.log` for the control room.
The refinery worktree and the target branch are never touched here."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gastown_tui.refinery.gate_watch import kill_group_if_ours
from gastown_tui.refinery.state import (
    MergeQueueSettings,
    RefineryError,
    gate_log_path,
    gate_worktree_path,
)
from gastown_tui.town import safe_write
from gastown_tui.town.layout import RigInfo

GATE_WORKTREE_NAME = "refinery-gate"
GATE_BRANCH_PREFIX = "refinery/gate/"
TAIL_LINES = 40
TAIL_CHARS = 4000
KILL_GRACE = 5.0
_SCRUBBED_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                 "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR")


class GatesInterrupted(RefineryError):
    """The loop was asked to stop while a gate ran; the gate was killed."""

    code = "interrupted"


@dataclass(frozen=True, slots=True)
class GateRun:
    name: str
    command: str
    returncode: int | None
    seconds: float
    timed_out: bool
    log_path: str
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.error


@dataclass(frozen=True, slots=True)
class GatesResult:
    passed: bool
    runs: tuple[GateRun, ...] = ()
    failed: GateRun | None = None
    tail: str = ""


# ------------------------------------------------------------------ scratch worktree
def remove_gate_worktree(repo: pygit2.Repository, rig: RigInfo) -> None:
    """Remove the scratch worktree, its git metadata and temporary branches (idempotent:
    also cleans what a killed loop left behind)."""
    path = gate_worktree_path(rig)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    try:
        repo.lookup_worktree(GATE_WORKTREE_NAME).prune(True)
    except (KeyError, pygit2.GitError, OSError):
        # libgit2 stats files of the bare repository (`shallow`) that a concurrent git
        # process may be replacing: seen as OSError under load. The cleanup is best effort
        # and runs again before the next gate.
        pass
    for name in list(repo.branches.local):
        if name.startswith(GATE_BRANCH_PREFIX):
            try:
                repo.branches.local.delete(name)
            except pygit2.GitError:
                pass


def add_gate_worktree(repo: pygit2.Repository, rig: RigInfo, tip: str, mr_id: str) -> Path:
    remove_gate_worktree(repo, rig)
    path = gate_worktree_path(rig)
    path.parent.mkdir(parents=True, exist_ok=True)
    ref = repo.references.create(f"refs/heads/{GATE_BRANCH_PREFIX}{mr_id}",
                                 pygit2.Oid(hex=tip), force=True)
    repo.add_worktree(GATE_WORKTREE_NAME, str(path), ref)
    return path


# ------------------------------------------------------------------ running
def _kill_group(pgid: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the gate's process group, then SIGKILL what is left after a grace period."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            break
        if proc is not None:
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue


def tail_of(path: Path, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - chars * 4))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    text = "\n".join(data.splitlines()[-lines:])
    return text[-chars:]


def _gate_env(rig: RigInfo, mr_id: str, gate: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.update({"GT_RIG": rig.name, "GT_MR": mr_id, "GT_GATE": gate})
    return env


def _watch_gate(pgid: int, cwd: Path) -> subprocess.Popen[bytes] | None:
    """The watcher that kills this gate's group if we die first (gate_watch.py says why)."""
    if not Path("/proc").is_dir():
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "gastown_tui.refinery.gate_watch", str(os.getpid()),
             str(pgid), str(cwd)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return None  # the gate still runs; a loop start cleans up after a crash, as before


def run_gate(name: str, command: str, cwd: Path, log_path: Path, timeout: float, *,
             env: dict[str, str], stop: threading.Event | None = None,
             on_spawn: Callable[[int], None] | None = None,
             on_tick: Callable[[], None] | None = None) -> GateRun:
    log_fd = safe_write.open_file(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    started = time.monotonic()
    with os.fdopen(log_fd, "wb") as log:
        log.write(f"$ {command}\n".encode())
        log.flush()
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            log.write(f"cannot parse the command: {exc}\n".encode())
            return GateRun(name, command, None, 0.0, False, str(log_path),
                           error=f"cannot parse {name}_command: {exc}")
        if not argv:
            return GateRun(name, command, 0, 0.0, False, str(log_path))
        try:
            # Own session = own process group, so a timeout or a stop kills the whole tree.
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as exc:
            log.write(f"cannot start {argv[0]}: {exc}\n".encode())
            return GateRun(name, command, None, time.monotonic() - started, False,
                           str(log_path), error=f"cannot start {argv[0]}: {exc.strerror or exc}")
        # The watcher first, then the record of the gate's group: once the group is on record
        # its watcher is there (Popen returns after the exec, so no half-forked child of ours
        # holds the loop's lock either).
        watcher = _watch_gate(proc.pid, cwd)
        if on_spawn is not None:
            on_spawn(proc.pid)
        deadline = started + timeout
        timed_out = False
        try:
            while True:
                try:
                    proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if stop is not None and stop.is_set():
                    _kill_group(proc.pid, proc)
                    raise GatesInterrupted(f"stopped during the {name} gate",
                                           fix="the MR goes back to the queue")
                if time.monotonic() > deadline:
                    timed_out = True
                    _kill_group(proc.pid, proc)
                    break
                if on_tick is not None:
                    on_tick()
        finally:
            # Whatever the gate left running in its group (servers, watchers) goes with it.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.returncode is None:
                proc.wait()
            if watcher is not None:
                watcher.kill()
                watcher.wait()
        seconds = time.monotonic() - started
        footer = (f"\n[gastown] {name} timed out after {timeout:g}s\n" if timed_out
                  else f"\n[gastown] {name} exited {proc.returncode} in {seconds:.1f}s\n")
        log.write(footer.encode())
    return GateRun(name, command, proc.returncode, seconds, timed_out, str(log_path))


def run_gates(rig: RigInfo, repo: pygit2.Repository, tip: str, mr_id: str,
              settings: MergeQueueSettings, *,
              on_gate: Callable[[str], None] | None = None,
              on_spawn: Callable[[int], None] | None = None,
              on_tick: Callable[[], None] | None = None,
              stop: threading.Event | None = None) -> GatesResult:
    """Run every configured gate in order, stopping at the first failure."""
    if not settings.gates:
        return GatesResult(passed=True)
    runs: list[GateRun] = []
    workdir = add_gate_worktree(repo, rig, tip, mr_id)
    try:
        for name, command in settings.gates:
            if on_gate is not None:
                on_gate(name)
            run = run_gate(name, command, workdir, gate_log_path(rig, mr_id, name),
                           settings.gate_timeout, env=_gate_env(rig, mr_id, name), stop=stop,
                           on_spawn=on_spawn, on_tick=on_tick)
            runs.append(run)
            if not run.passed:
                tail = tail_of(Path(run.log_path))
                return GatesResult(passed=False, runs=tuple(runs), failed=run, tail=tail)
        return GatesResult(passed=True, runs=tuple(runs))
    finally:
        remove_gate_worktree(repo, rig)


def kill_stale_gate(rig: RigInfo, pgid: int) -> bool:
    """Kill a gate process group a dead loop left behind, if it is still ours: a member's
    working directory is inside the gate worktree (pids get reused; never kill a stranger).
    Linux /proc only; elsewhere stale gates are left to finish on their own."""
    if pgid <= 0 or not Path("/proc").is_dir():
        return False
    return kill_group_if_ours(pgid, str(gate_worktree_path(rig).resolve()))
