"""`gt refinery run <rig>`: the per-rig merge loop.

One loop per rig (a non-blocking flock on `<rig>/.runtime/refinery/loop.lock`; a second one
exits at once). It recovers what a dead loop left, then takes the highest-score ready MR,
processes it, and repeats; with nothing ready it sleeps on file events (the town's `.beads`
folder, its own runtime folder, its nudge queue) with a timeout instead of polling fast. SIGTERM stops it
cleanly: an idle loop exits at once, a running gate is killed and its MR goes back to the queue."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gastown_tui.ops.context import open_store
from gastown_tui.ops.loop_mail import handle_inbox, handle_nudges
from gastown_tui.refinery.outcomes import ProcessResult
from gastown_tui.refinery.process import process_mr, recover
from gastown_tui.refinery.score import next_ready
from gastown_tui.refinery.state import (
    RefineryBusyError,
    lock_path,
    refinery_address,
    runtime_dir,
    write_heartbeat,
)
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.names import Address
from gastown_tui.town.presence import GoneWatch
from gastown_tui.town.store import BeadStore
from gastown_tui.town.store.backend import is_pg

HEARTBEAT_EVERY = 10.0       # seconds between heartbeats while a gate runs
IDLE_BEAT = 30.0             # an idle loop still beats this often (status calls 120 s stale)
ERROR_COOLDOWN = 300.0       # an MR that hit an unexpected error waits this long before a retry
HOST_COOLDOWN = 10.0         # an MR whose branch is on a host that did not answer, likewise
ONCE_MAX_ATTEMPTS = 3        # --once never spins: each MR is tried at most this many times


@dataclass
class LoopSummary:
    results: list[ProcessResult] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    stopped_by_signal: bool = False
    gone: str = ""  # why the loop stopped on its own: its town or rig went away

    @property
    def merged(self) -> list[str]:
        return [r.mr_id for r in self.results if r.outcome == "merged"]


@contextlib.contextmanager
def rig_lock(rig: RigInfo, town_root: Path | None = None) -> Iterator[None]:
    """Hold the rig's loop lock for the duration; RefineryBusyError if another loop has it.
    flock dies with its process, so a killed loop never leaves a stale lock behind. On a
    PostgreSQL town the loop also holds `presence:<prefix>-refinery` in the store (across
    hosts; released with its connection)."""
    with _rig_flock(rig):
        if town_root is None:
            yield
            return
        from gastown_tui.town.errors import ConflictError
        from gastown_tui.town.locks import store_lock

        try:
            with store_lock(town_root, f"presence:{rig.prefix}-refinery",
                            busy=f"the refinery of rig {rig.name} is already running",
                            fix=f"only one loop per rig; see 'gt refinery status {rig.name}'"):
                yield
        except ConflictError as exc:
            raise RefineryBusyError(exc.problem, fix=exc.fix) from None


@contextlib.contextmanager
def _rig_flock(rig: RigInfo) -> Iterator[None]:
    path = lock_path(rig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise RefineryBusyError(
                f"the refinery of rig {rig.name} is already running (pid {holder})",
                fix=f"only one loop per rig; see 'gt refinery status {rig.name}'") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _wake_filter(change: object, path: str) -> bool:
    """Bead writes, pokes and queued nudges wake the loop. Deletions (our own nudge drain),
    SQLite's shared-memory file, our own stage file and temp files do not: reading the store
    or recording a stage must never wake the loop that did it."""
    from watchfiles import Change  # already loaded by the watcher calling us

    if change == Change.deleted:
        return False
    name = Path(path).name
    if name.endswith(("-shm", ".tmp", ".lock", ".claimed")) or name.startswith("."):
        return False
    return name != "state.json"


def _session(rig: RigInfo) -> str:
    return Address("refinery", rig.name).session_name(rig.prefix)


def _drain_nudges(town: Town, rig: RigInfo, say: Callable[[str], None],
                  store: BeadStore | None = None) -> None:
    """`gt done` nudges the refinery (MERGE_READY); this loop needs no reminder (bead writes
    wake it) but takes its queued nudges so they never pile up to the queue's limit, and
    answers its mail (it is a loop: questions go on to the Mayor)."""
    try:
        handle_nudges(town, _session(rig), refinery_address(rig), say=say)
        if store is not None:
            report = handle_inbox(town, store, f"{rig.name}/refinery")
            for mail_id in report.forwarded:
                say(f"mail {mail_id} forwarded to the Mayor")
    except (GasTownError, OSError) as exc:
        say(f"could not read nudges or mail: {exc}")


class _Waiter:
    """Sleeps until the town's beads, the refinery's runtime folder or its nudge queue
    change, or until the timeout.

    One watcher lives for the whole loop and is started before the first look at the queue:
    changes that arrive while an MR is processed (or between two waits) are kept and end the
    next wait at once, so a wake-up is never missed. The watcher hands control back every
    TICK_MS only to check the deadline and the stop flag; changes themselves are events."""

    TICK_MS = 250

    def __init__(self, town: Town, rig: RigInfo, stop: threading.Event, timeout: float) -> None:
        self.stop = stop
        self.timeout = timeout
        self._gen = None
        paths = [town.beads_dir, runtime_dir(rig)]
        try:
            from gastown_tui.ops.nudge import queue_dir

            paths.append(queue_dir(town, _session(rig)))
        except ImportError:
            pass
        try:
            from watchfiles import watch

            if town.town_json.is_file():  # never re-create the folders of a removed town
                for p in paths:
                    p.mkdir(parents=True, exist_ok=True)
            self._gen = watch(*paths, watch_filter=_wake_filter, stop_event=stop,
                              rust_timeout=self.TICK_MS, yield_on_timeout=True,
                              recursive=False, debounce=400, step=30)
            next(self._gen)  # start watching now; what it saw so far the first check covers
        except (ImportError, OSError, StopIteration):
            self._gen = None  # no file events here: fall back to a plain timed wait
        # A PostgreSQL store is shared with other hosts, whose `gt done` leaves no file here:
        # its commits' NOTIFY wakes the loop instead.
        self._poked = threading.Event()
        self._closed = threading.Event()
        if is_pg(town.store_location):
            threading.Thread(target=self._listen, args=(town.store_location,), daemon=True,
                             name=f"refinery-listen-{rig.name}").start()

    def _listen(self, location: str) -> None:
        from gastown_tui.town.store.pg import Listener

        listener = Listener(location)
        try:
            while not (self.stop.is_set() or self._closed.is_set()):
                try:
                    if listener.wait(0.5):
                        self._poked.set()
                except GasTownError:
                    self._closed.wait(2.0)  # the server is away: the timed wait covers it
        finally:
            listener.close()

    def close(self) -> None:
        self._closed.set()

    def wait(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.stop.is_set() and time.monotonic() < deadline:
            if self._poked.is_set():
                self._poked.clear()
                return
            if self._gen is None:
                self.stop.wait(max(0.0, min(self.TICK_MS / 1000, deadline - time.monotonic())))
                continue
            try:
                if next(self._gen):
                    return
            except StopIteration:
                self._gen = None


def run(town: Town, rig: RigInfo, *, once: bool = False, poll: float = 30.0,
        stop: threading.Event | None = None,
        out: Callable[[str], None] | None = None) -> LoopSummary:
    """Run the merge loop for one rig until stopped (or, with once, until nothing is ready)."""
    stop = stop or threading.Event()
    say = out or (lambda _line: None)
    summary = LoopSummary()
    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        def on_term(signum: int, _frame: object) -> None:
            summary.stopped_by_signal = True
            stop.set()
        # Ctrl-C in the tmux pane stops as cleanly as SIGTERM from `gt down`.
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_term)
    try:
        with rig_lock(rig, town.root):
            store = open_store(town, actor=refinery_address(rig))
            try:
                _loop(town, rig, store, once=once, poll=poll, stop=stop, say=say,
                      summary=summary)
            finally:
                write_heartbeat(town, rig, "stopped")
                store.close_connection()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
    return summary


def _loop(town: Town, rig: RigInfo, store: BeadStore, *, once: bool, poll: float, stop: threading.Event,
          say: Callable[[str], None], summary: LoopSummary) -> None:
    write_heartbeat(town, rig, "starting")
    summary.recovered = recover(town, rig, store)
    for note in summary.recovered:
        say(f"recovered: {note}")
    say(f"refinery of {rig.name} running (pid {os.getpid()})")
    _drain_nudges(town, rig, say, store)
    waiter = None if once else _Waiter(town, rig, stop, min(poll, IDLE_BEAT))
    cooldown: dict[str, float] = {}
    attempts: dict[str, int] = {}
    last_beat = 0.0

    def tick(mr_id: str) -> Callable[[], None]:
        def beat() -> None:
            nonlocal last_beat
            if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                write_heartbeat(town, rig, "processing", mr_id)
                last_beat = time.monotonic()
        return beat

    gone = GoneWatch(town, rig.name)
    while not stop.is_set():
        why = gone.reason()
        if why:
            say(f"refinery of {rig.name} stopped: {why}; nothing left to look after.")
            summary.gone = why
            break
        if gone.missing():  # but not for long enough yet: look again in a second
            stop.wait(1.0)
            continue
        now = time.monotonic()
        skip = {m for m, until in cooldown.items() if until > now}
        if once:
            skip |= {m for m, n in attempts.items() if n >= ONCE_MAX_ATTEMPTS}
        entry = next_ready(store, rig, exclude=skip)
        if entry is None:
            if once:
                break
            write_heartbeat(town, rig, "idle")
            waiter.wait()
            _drain_nudges(town, rig, say, store)
            continue
        mr_id = entry.mr.id
        attempts[mr_id] = attempts.get(mr_id, 0) + 1
        say(f"processing {mr_id} ({entry.mr.branch}, score {entry.score:.0f})")
        write_heartbeat(town, rig, "processing", mr_id)
        last_beat = time.monotonic()
        result = process_mr(town, rig, mr_id, store=store, stop=stop, on_tick=tick(mr_id))
        summary.results.append(result)
        say(_describe(result))
        if result.outcome == "host-unreachable":
            cooldown[mr_id] = time.monotonic() + HOST_COOLDOWN
        if result.outcome == "error":
            cooldown[mr_id] = time.monotonic() + ERROR_COOLDOWN
            # A failure after the target moved is finished by the same path as a crash.
            for note in recover(town, rig, store):
                say(f"recovered: {note}")
    if waiter is not None:
        waiter.close()  # its store listener ends with the loop


def _describe(result: ProcessResult) -> str:
    line = f"{result.mr_id}: {result.outcome}"
    if result.detail:
        line += f" ({result.detail})"
    if result.conflict_task:
        line += f"; conflict task {result.conflict_task}"
    if result.push_error:
        line += f"; NOT PUSHED: {result.push_error}"
    for note in result.notes:
        if not note.startswith("not pushed"):
            line += f"; {note}"
    return line
