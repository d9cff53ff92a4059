"""TownModel: loads a TownSnapshot once, then follows the town and applies deltas.

A batch of file changes (watchfiles) is classified into the parts it invalidates (see
model_filter); only those parts are read again: the store through its change sequence
(`changed_since`), the event log from its last offset, worktree facts (pygit2) only for the
worktrees that changed. Each batch produces at most one new snapshot, and none when nothing the
screens show changed.

Every method except `follow` and `poke` does blocking I/O and is meant for a worker thread;
`follow` is an async generator for the app's one watcher worker. No Textual here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gastown_tui.model.snapshot import (
    AgentView,
    Banner,
    BeadCounts,
    BeadView,
    ConvoyView,
    CostsView,
    MailView,
    MergeView,
    RefineryView,
    RigView,
    TownSnapshot,
)
from gastown_tui.model.wall_order import escalated_agents
from gastown_tui.model.watch_filter import ChangeSet, TownFilter, changes_from_paths
from gastown_tui.ops.context import open_store
from gastown_tui.town.errors import GasTownError, StoreLockedError, StoreUnavailableError
from gastown_tui.town.layout import TOWN_MARKER, RigInfo, Town

if TYPE_CHECKING:
    from gastown_tui.model.sources import EventTail
    from gastown_tui.town.store import BeadStore

Clock = Callable[[], datetime]
STORE_BUSY_MS = 2000  # a locked store shows a banner after 2 s instead of stalling 30 s
MISSING_POLL_S = 1.0
STORE_RETRY_S = 1.0
# The bead lists follow the first snapshot this much later: read at once, they competed with
# the drawing of the first frame (one GIL), which they are not part of.
BEAD_LISTS_AFTER_S = 0.5  # while the store is locked, `follow` asks it again this often


STORE_POLL_S = 2.0  # a PostgreSQL store is asked for changes this often without a NOTIFY
LISTEN_KEEPALIVE_S = 60.0  # below the server's idle-session timeout


def _import_all(names: Iterable[str]) -> None:
    for name in names:
        importlib.import_module(name)


def utc_now() -> datetime:
    return datetime.now(UTC)


def listen_for_changes(location: str, ask: Callable[[], None], stop: threading.Event) -> None:
    """The store-listener thread's body (see TownModel._start_store_feed)."""
    from gastown_tui.town.store.pg import Listener

    listener = Listener(location)
    quiet_since = keepalive_at = time.monotonic()
    try:
        while not stop.is_set():
            try:
                seqs = listener.wait(0.5)
                now = time.monotonic()
                if now - keepalive_at > LISTEN_KEEPALIVE_S:
                    listener.keepalive()
                    keepalive_at = now
            except GasTownError:
                ask()  # the refresh shows the store's banner, and retries
                stop.wait(1.0)
                continue
            if seqs or now - quiet_since >= STORE_POLL_S:
                quiet_since = now
                ask()
    finally:
        listener.close()


class HandedRead(Protocol):
    """A first read made elsewhere (model/first_read.py's FirstRead, a forked child)."""

    def future(self) -> concurrent.futures.Future[TownSnapshot | None]: ...


class TownModel:
    def __init__(self, root: Path | str, *, clock: Clock = utc_now, ready_limit: int = 500,
                 open_limit: int = 500, event_limit: int = 200) -> None:
        self.root = Path(root).resolve()
        self.town = Town(self.root)
        self.clock = clock
        self.ready_limit = ready_limit
        self.open_limit = open_limit
        self._store: BeadStore | None = None
        self._seq = 0
        self._generation = 0
        self._rig_infos: list[RigInfo] = []
        self._rig_names: frozenset[str] = frozenset()
        self._name = self.root.name
        self._event_limit = event_limit
        self._event_tail: EventTail | None = None
        self._sessions: dict[str, bool] = {}
        self._polecats: list[AgentView] = []
        self._stalls: dict[str, dict[str, tuple[str, str]]] = {}  # rig -> the Witness's stalls
        self._roles: list[AgentView] = []
        self._crew: list[AgentView] = []
        self._worktrees: dict[tuple[str, str], dict[str, Any]] = {}
        self._beads: tuple[BeadView, ...] = ()
        self._counts = BeadCounts()
        self._blocked: set[str] = set()
        self._hooked: tuple[dict[str, Any], ...] = ()
        self._defer_bead_lists = False
        self._prefetched: concurrent.futures.Future[TownSnapshot] | None = None
        self._first_read: concurrent.futures.Future[TownSnapshot] | None = None  # (kept)
        self._convoys: dict[str, ConvoyView] = {}
        self._refinery: dict[str, RefineryView] = {}
        self._refinery_state: dict[str, dict[str, Any] | None] = {}
        self._mq: dict[str, list[MergeView]] = {}
        self._mail: list[MailView] = []
        self._escalations: list[dict[str, Any]] = []
        self._costs = CostsView()
        self._queued: tuple[str, ...] = ()
        self._costs_at = 0.0  # monotonic time of the last ledger read (0: never)
        self._gates: list[dict[str, Any]] = []  # open human gates (Needs-you)
        self._warrants: list[dict[str, Any]] = []  # pending death warrants (Needs-you)
        self._banners: dict[str, Banner] = {}
        self._snapshot: TownSnapshot | None = None
        self._queue: asyncio.Queue[ChangeSet] | None = None
        # A batch the locked store refused. Nothing in the town changes when the lock holder
        # lets go (a reader that holds it writes nothing), so `follow` replays the batch
        # itself; otherwise the banner, and a half-read town, stayed up until some
        # unrelated file changed.
        self._retry: ChangeSet | None = None
        # One batch at a time, and never a close() during one: `follow` may be cancelled while
        # a batch still runs in its thread.
        self._lock = threading.RLock()
        self.filter = TownFilter(self.root, lambda: self._rig_names)

    # ------------------------------------------------------------------ public
    @property
    def _events(self) -> EventTail:
        # Made at the first read: the readers (model.sources and the ops they use) are
        # imported then, not as the control room starts (its first read is a child's).
        if self._event_tail is None:
            from gastown_tui.model.sources import EventTail

            self._event_tail = EventTail(self.root, self._event_limit)
        return self._event_tail

    @property
    def snapshot(self) -> TownSnapshot | None:
        return self._snapshot

    @property
    def town_present(self) -> bool:
        return (self.root / TOWN_MARKER).is_file()

    def load(self, *, defer_bead_lists: bool = False) -> TownSnapshot:
        """Read everything; the first snapshot, and the one after the town comes back.

        `defer_bead_lists` leaves out the ready and open bead lists (and their counts), which
        only the beads screen and the sling dialog show: on a large town they are a third of
        the first read, and the main screen is drawn that much sooner. Apply
        `ChangeSet(bead_lists=True)` next to read them; `follow` does."""
        with self._lock:
            self._defer_bead_lists = defer_bead_lists
            try:
                return self._build(ChangeSet(full=True)) or self._require_snapshot()
            finally:
                self._defer_bead_lists = False

    def apply(self, changes: ChangeSet | Iterable[str]) -> TownSnapshot | None:
        """Apply one batch (a ChangeSet, or the paths watchfiles reported).

        Returns the new snapshot, or None when nothing the screens show changed."""
        if not isinstance(changes, ChangeSet):
            changes = changes_from_paths(self.root, self._rig_names, changes)
        if not changes:
            return None
        with self._lock:
            return self._build(changes)

    def close(self) -> None:
        # Under the lock: closing a SQLite connection another thread is reading crashes.
        with self._lock:
            if self._store is not None:
                self._store.close_connection()
                self._store = None

    def prefetch(self, first_read: HandedRead | None = None) -> None:
        """Start the first read now, for the `follow` about to start: the control room calls
        it as it is made, so the read overlaps Textual's start-up. `first_read`: the read the
        CLI forked before its imports (model/first_read.py); else one on a thread."""
        if self._prefetched is not None or self._snapshot is not None:
            return
        future: concurrent.futures.Future[TownSnapshot] = concurrent.futures.Future()
        self._prefetched = self._first_read = future

        def read() -> None:
            try:
                future.set_result(self.load(defer_bead_lists=True))
            except BaseException as exc:  # handed to follow, which reports it
                future.set_exception(exc)

        if first_read is None:
            threading.Thread(target=read, name="town-first-read", daemon=True).start()
            return

        def handed(child: concurrent.futures.Future[TownSnapshot | None]) -> None:
            snapshot = child.result()
            if snapshot is None:
                read()  # the child failed: read here (on its collector thread)
                return
            # This model's own first build must come after the child's snapshot.
            self._generation = max(self._generation, snapshot.generation)
            future.set_result(snapshot)

        first_read.future().add_done_callback(handed)

    def prefetched_ready(self) -> TownSnapshot | None:
        """The prefetched first read if it has arrived, without waiting (`follow` still yields
        it as its first snapshot): a screen mounting after it draws the town in its first
        frame instead of an empty one and a second frame."""
        future = self._first_read
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result()

    def _ask(self, changes: ChangeSet) -> None:
        if self._queue is not None:  # (a timer may fire after `follow` ended)
            self._queue.put_nowait(changes)

    def poke(self, sessions: bool = True) -> None:
        """Ask the running `follow` loop for a refresh (call it on the loop's thread)."""
        if self._queue is not None:
            self._queue.put_nowait(ChangeSet(sessions=sessions))

    async def follow(self, *, step: int = 20, debounce: int = 200, rust_timeout: int = 1000,
                     watch_after: asyncio.Event | None = None) -> AsyncIterator[TownSnapshot]:
        """The first snapshot, then one per batch of changes, until cancelled.

        watchfiles batches file events (`step` ms quiet, at most `debounce` ms); pokes from the
        pane observer (sessions came or went) join the same queue. While the town directory is
        missing it is looked for once a second, and a full load follows its return.

        `watch_after`: with a prefetched first read, the watch starts once this is set (the
        control room sets it when the first frame is drawn: importing watchfiles and anyio
        took ~50 ms of the event loop before it); the full read that follows it catches what
        changed in between."""
        self._queue = asyncio.Queue()
        try:
            while True:
                if not self.root.is_dir() or not self.town_present:
                    self._prefetched = None  # it read a missing town; read again on return
                    if self._snapshot is None:
                        yield await asyncio.to_thread(self.load)  # a banner: town missing
                    await self._wait_for_town()
                prefetched, self._prefetched = self._prefetched, None
                pump: asyncio.Task[None] | None = None
                feed: threading.Event | None = None
                try:
                    if prefetched is not None:
                        # Read before the watch began: what changed in between is caught by
                        # a full read once the watch is up (which brings the lists too).
                        yield await asyncio.wrap_future(prefetched)
                        if watch_after is not None:
                            await watch_after.wait()
                        pump, feed = await self._start_watch(step, debounce, rust_timeout)
                        later = ChangeSet(full=True, costs=True)
                    else:
                        # Watch first, then read: a change made while the read runs is
                        # queued, not lost.
                        pump, feed = await self._start_watch(step, debounce, rust_timeout)
                        yield await asyncio.to_thread(self.load, defer_bead_lists=True)
                        later = ChangeSet(bead_lists=True, costs=True)
                    asyncio.get_running_loop().call_later(BEAD_LISTS_AFTER_S, self._ask, later)
                    async for snapshot in self._drain():
                        yield snapshot
                finally:
                    if pump is not None:
                        pump.cancel()
                        await asyncio.gather(pump, return_exceptions=True)
                    if feed is not None:
                        feed.set()
        finally:
            self._queue = None
            await asyncio.to_thread(self.close)

    async def _start_watch(self, step: int, debounce: int, rust_timeout: int
                           ) -> tuple[asyncio.Task[None], threading.Event | None]:
        """The file watch (and a PostgreSQL store's change feed), set up when this returns."""
        # watchfiles brings anyio, the store backends sqlite3 and more: imported on a thread,
        # the event loop keeps drawing.
        await asyncio.to_thread(_import_all, ("watchfiles", "gastown_tui.town.store.backend"))
        pump = asyncio.create_task(self._pump(step, debounce, rust_timeout))
        feed = self._start_store_feed()
        # One turn of the loop lets awatch set up its watches (synchronously, on its first
        # step) before the caller reads.
        await asyncio.sleep(0)
        return pump, feed

    # ------------------------------------------------------------------ follow internals
    async def _pump(self, step: int, debounce: int, rust_timeout: int) -> None:
        from watchfiles import awatch

        assert self._queue is not None
        try:
            async for batch in awatch(self.root, watch_filter=self.filter, step=step,
                                      debounce=debounce, rust_timeout=rust_timeout):
                self._queue.put_nowait(changes_from_paths(self.root, self._rig_names,
                                                          (path for _, path in batch)))
        except (FileNotFoundError, RuntimeError, OSError):
            pass
        # The watch ended (the town directory went away): make the drain loop notice.
        self._queue.put_nowait(ChangeSet(full=True))

    def _start_store_feed(self) -> threading.Event | None:
        """A PostgreSQL store's change feed: a thread LISTENs for the sequence numbers each
        write NOTIFYs at commit and queues a store refresh; when nothing came for
        STORE_POLL_S it queues one anyway (the sequence poll: a missed notification, a
        restarted server, can only delay a change, never lose it). SQLite stores need none:
        watchfiles sees the file change. Returns the event that stops the thread."""
        from gastown_tui.town.store.backend import is_pg

        location = self.town.store_location
        if not is_pg(location) or self._queue is None:
            return None
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def ask() -> None:
            try:
                loop.call_soon_threadsafe(self._ask, ChangeSet(store=True))
            except RuntimeError:
                stop.set()  # the loop is closed: the control room is gone

        threading.Thread(target=listen_for_changes, args=(location, ask, stop),
                         name="store-listener", daemon=True).start()
        return stop

    async def _drain(self) -> AsyncIterator[TownSnapshot]:
        while True:
            changes = await self._next_batch()
            if changes:
                snapshot = await asyncio.to_thread(self.apply, changes)
                if snapshot is not None:
                    yield snapshot
            if not self.town_present:
                # The last batch may have been read as the directory went: say it is gone.
                missing = await asyncio.to_thread(self.apply, ChangeSet(full=True))
                if missing is not None:
                    yield missing
                return

    async def _next_batch(self) -> ChangeSet:
        """Everything queued so far as one batch; after a quiet second, a check of our own.

        Two faults leave no file event: a town directory renamed away (inotify follows the
        moved directory, so the watch neither ends nor reports it) and a store lock let go
        by a reader. So a quiet second looks for the town (one stat) and replays the batch
        the locked store refused."""
        assert self._queue is not None
        wait = STORE_RETRY_S if self._retry is not None else MISSING_POLL_S
        try:
            changes = await asyncio.wait_for(self._queue.get(), wait)
        except TimeoutError:
            changes = ChangeSet(full=not self.town_present)
        if self._retry is not None:
            changes.merge(self._retry)
        while not self._queue.empty():
            changes.merge(self._queue.get_nowait())
        if self._costs_at:  # (the first read comes with the bead lists; then every so often)
            from gastown_tui.model.costs import COSTS_EVERY_S  # imported by that first read

            if time.monotonic() - self._costs_at >= COSTS_EVERY_S:
                changes.costs = True
        return changes

    async def _wait_for_town(self) -> None:
        assert self._queue is not None
        while not (self.root.is_dir() and self.town_present):
            try:
                await asyncio.wait_for(self._queue.get(), MISSING_POLL_S)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ building
    def _require_snapshot(self) -> TownSnapshot:
        assert self._snapshot is not None
        return self._snapshot

    def _build(self, changes: ChangeSet) -> TownSnapshot | None:
        self._retry = None
        if not self.town_present:
            return self._town_missing()
        before = self._parts()
        self._banners.pop("town_missing", None)
        asked = changes
        if changes.full or self._snapshot is None:
            changes = self._full_changes()
            changes.costs = asked.costs
        try:
            self._refresh(changes)
        except StoreLockedError as exc:
            self._banners["store"] = Banner(kind="store_locked", message=exc.problem,
                                            fix=exc.fix or "")
            self._retry = asked
        except StoreUnavailableError as exc:
            # A server that is down sends no event when it is back: ask again every second.
            self._banners["store"] = Banner(kind="store_error", message=exc.problem,
                                            fix=exc.fix or "")
            self.close()
            self._retry = asked
        except GasTownError as exc:
            self._banners["store"] = Banner(kind="store_error", message=exc.problem,
                                            fix=exc.fix or "")
            self.close()  # reopen next time: the file may have been replaced
        else:
            self._banners.pop("store", None)
        if not self.town_present:
            # It went away while being read (renamed or deleted): what was read is partial,
            # so the last full snapshot stays on screen under the banner instead.
            return self._town_missing()
        if self._snapshot is not None and self._parts() == before:
            return None
        return self._publish()

    def _full_changes(self) -> ChangeSet:
        self._load_rigs()
        self._events.load()
        self._worktrees.clear()
        self._convoys.clear()
        self._seq = 0
        return ChangeSet(full=True, store=True, sessions=True,
                         refinery={r.name for r in self._rig_infos})

    def _load_rigs(self) -> None:
        try:
            self._rig_infos = self.town.rigs()
            self._name = self.town.name
        except GasTownError as exc:
            self._banners["rigs"] = Banner(kind="error", message=exc.problem, fix=exc.fix or "")
            self._rig_infos = []
        else:
            self._banners.pop("rigs", None)
        self._rig_names = frozenset(r.name for r in self._rig_infos)

    def _open_store(self) -> BeadStore:
        if self._store is None:
            self._probe_store()
            store = open_store(self.town, "overseer")
            # Reads in a worker may wait for a writer, but not the 30 s a verb would.
            store.conn.set_busy_timeout(STORE_BUSY_MS)
            self._store = store
        return self._store

    def _probe_store(self) -> None:
        """Raise StoreLockedError if the store cannot be read within STORE_BUSY_MS.

        Opening a BeadStore waits GT_STORE_BUSY_TIMEOUT_MS (30 s by default) for a lock before
        the short timeout above applies, so a store locked when the control room opened (or
        reopened it) kept "loading the town…" on screen, with no banner, for as long as the
        lock lasted. A throwaway connection with the short timeout asks first (SQLite; a
        PostgreSQL store answers or fails at connect, within its connect timeout)."""
        from gastown_tui.town.store.backend import is_pg
        from gastown_tui.town.store.connection import translate

        location = self.town.store_location
        if is_pg(location):
            return
        path = Path(location)
        if not path.is_file():
            return  # opening the store says what is wrong
        try:
            probe = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True,
                                    timeout=STORE_BUSY_MS / 1000)
            try:
                probe.execute("PRAGMA schema_version").fetchone()
            finally:
                probe.close()
        except sqlite3.Error as exc:
            raise translate(exc, path, STORE_BUSY_MS / 1000) from exc

    def _refresh(self, changes: ChangeSet) -> None:
        from gastown_tui.model import sources as src
        from gastown_tui.model.parts import needs_agents, patch_hook_titles

        if changes.events:
            self._events.update()
        if changes.events or changes.full:  # filing or executing one logs an event
            self._warrants = src.read_warrants(self.town)
        store = self._open_store()
        changed: list[dict[str, Any]] = []
        if changes.full:
            # Everything is read below anyway; the change feed would decode every bead.
            self._seq, store_moved = store.current_seq(), True
        elif changes.store:
            seq, changed = store.changed_since(self._seq)
            store_moved = seq != self._seq or bool(changed)
            self._seq = seq
        else:
            store_moved = False
        if store_moved or changes.bead_lists:
            self._refresh_store_parts(store, changed, changes.full, changes.bead_lists)
        refresh_agents = changes.full or changes.sessions or bool(changes.polecat_dirs) \
            or (store_moved and needs_agents(changed, self._polecats))
        if refresh_agents:
            self._refresh_agents(store)
        else:
            self._patch_agents(changes)
            if changed:
                self._polecats = patch_hook_titles(self._polecats, changed)
        self._refresh_worktrees(changes, refresh_agents)
        if changes.costs:
            self._refresh_costs(store)
        for rig in self._rig_infos:
            if rig.name in changes.refinery or rig.name in changes.gate_logs or store_moved:
                self._refresh_rig_queue(store, rig, changes, changed)
            if rig.name in changes.witness or changes.full:
                self._stalls[rig.name] = src.read_witness_stalls(rig)

    def _refresh_costs(self, store: BeadStore) -> None:
        """The usage ledger, refreshed from the transcripts; a store that cannot take the
        write now keeps the last figures (the next tick tries again)."""
        from gastown_tui.model.costs import read_costs

        self._costs_at = time.monotonic()
        try:
            self._costs = read_costs(self.town, store)
        except GasTownError:
            pass

    def _refresh_store_parts(self, store: BeadStore, changed: list[dict[str, Any]],
                             full: bool, lists: bool = False) -> None:
        from gastown_tui.model import sources as src
        from gastown_tui.model.parts import patch_beads
        from gastown_tui.model.queue import read_queue

        types = {c.get("issue_type") for c in changed}
        labels = {label for c in changed for label in c.get("labels", ())}
        blocked = store.blocked_ids()
        patched = None if full or lists else patch_beads(
            self._beads, changed, self._blocked, blocked, src.NOT_LISTED_TYPES)
        if full and self._defer_bead_lists:
            self._hooked = src.read_hooked(store)  # the agents need it; the lists come next
        elif patched is not None:
            self._beads = patched  # same statuses, same blockers: readiness did not move
        elif full or lists or types - {"agent", "message", "merge-request"}:
            self._beads, self._counts, self._hooked = src.read_beads(
                store, blocked, ready_limit=self.ready_limit, open_limit=self.open_limit)
        self._blocked = blocked
        if full or "gt:message" in labels or "message" in types:
            self._mail = src.read_mail(store)
        if full or "gt:escalation" in labels:
            self._escalations = src.read_escalations(store)
        if full or "gt:sling-context" in labels:
            self._queued = read_queue(store)
        if full or "gate" in types:
            self._gates = src.read_human_gates(store)
        self._refresh_convoys(store, {c["id"] for c in changed}, full)

    def _refresh_convoys(self, store: BeadStore, changed_ids: set[str], full: bool) -> None:
        from gastown_tui.model import sources as src

        now = self.clock()
        current = {b["id"]: b for b in src.convoy_beads(store, now)} if (
            full or changed_ids) else None
        if current is None:
            return
        blocked = self._blocked  # read once per refresh (a query over every bead)
        fresh: dict[str, ConvoyView] = {}
        for convoy_id, bead in current.items():
            old = self._convoys.get(convoy_id)
            stale = (old is None or full or convoy_id in changed_ids
                     or any(t.id in changed_ids or t.blocked != (t.id in blocked)
                            for t in old.tracked))
            fresh[convoy_id] = src.read_convoy(store, bead, blocked) if stale else old
        self._convoys = fresh

    def _refresh_agents(self, store: BeadStore) -> None:
        from gastown_tui.model import sources as src
        from gastown_tui.model.sources import session_states

        self._sessions, tmux_error = session_states(self.town)
        if tmux_error:
            self._banners["tmux"] = Banner(kind="tmux_down", message=tmux_error,
                                           fix="agents are not running; start them with gt up")
        else:
            self._banners.pop("tmux", None)
        # The session list just read (one tmux call fewer), unless tmux did not answer.
        self._polecats = src.read_polecats(self.town, store, self._hooked,
                                           None if tmux_error else self._sessions)
        self._roles = src.read_roles(self.town, self._rig_infos, self._sessions)
        self._crew = src.read_crew(self.town, self._rig_infos, self._hooked, self._sessions)

    def _patch_agents(self, changes: ChangeSet) -> None:
        """Heartbeats and nudge queues change one field of one agent: no full re-read."""
        from gastown_tui.model import sources as src

        if not (changes.heartbeats or changes.nudges):
            return

        def patched(agent: AgentView) -> AgentView:
            update: dict[str, Any] = {}
            if agent.session in changes.heartbeats:
                update["heartbeat"] = src.read_heartbeat_ts(self.town, agent.session)
            if agent.session in changes.nudges:
                update["pending_nudges"] = src.pending_nudges(self.town, agent.session)
            return replace(agent, **update) if update else agent

        self._polecats = [patched(a) for a in self._polecats]
        self._roles = [patched(a) for a in self._roles]
        self._crew = [patched(a) for a in self._crew]

    def _refresh_worktrees(self, changes: ChangeSet, agents_refreshed: bool) -> None:
        from gastown_tui.model import sources as src
        from gastown_tui.model.parts import worktree_update

        rigs = {r.name: r for r in self._rig_infos}
        # (a polecat on another host keeps its worktree there: its tile shows the host)
        wanted = {(a.rig, a.name) for a in self._polecats
                  if a.worktree_exists and not a.host and a.rig in rigs}
        for key in list(self._worktrees):
            if key not in wanted:
                del self._worktrees[key]
        # The first read (deferred) reads none: pygit2's import and the worktrees took ~90 ms
        # of a large town's read, which the first frame then waited for; the tiles show their
        # branch meanwhile, and ahead and dirty come with the full read that follows.
        now = set() if self._defer_bead_lists else wanted
        read = False
        for key in sorted(now):
            if key not in self._worktrees or key in changes.worktrees \
                    or key[0] in changes.rig_refs:
                self._worktrees[key] = src.worktree_facts(rigs[key[0]], key[1])
                read = True
        pending = wanted - self._worktrees.keys()
        if agents_refreshed or read or changes.worktrees or changes.rig_refs:
            self._polecats = [replace(a, **worktree_update(
                self._worktrees.get((a.rig, a.name), {})),
                worktree_pending=(a.rig, a.name) in pending) for a in self._polecats]

    def _refresh_rig_queue(self, store: BeadStore, rig: RigInfo, changes: ChangeSet,
                           changed: list[dict[str, Any]]) -> None:
        from gastown_tui.model import sources as src

        state_changed = rig.name in changes.refinery or rig.name not in self._refinery
        if state_changed or rig.name in changes.gate_logs:
            self._refinery[rig.name], self._refinery_state[rig.name] = src.read_refinery(rig)
        relevant = (changes.full or state_changed or rig.name not in self._mq
                    or any("gt:merge-request" in c.get("labels", ()) for c in changed)
                    or bool({c["id"] for c in changed}
                            & {m.source_issue for m in self._mq.get(rig.name, ())}))
        if relevant:
            self._mq[rig.name] = src.read_merge_queue(store, rig, self._refinery_state[rig.name],
                                                      self.clock())

    # ------------------------------------------------------------------ publishing
    def _witnessed(self) -> list[AgentView]:
        """The polecats, each one the rig's Witness judged stalled shown stalled with its
        evidence: silence is the Witness's to judge (its stall threshold, before its GUPP
        nudge), and only while it runs and the polecat still works on the bead it judged."""
        if not any(self._stalls.values()):
            return self._polecats
        prefixes = {r.name: r.prefix for r in self._rig_infos}
        out = []
        for agent in self._polecats:
            stall = self._stalls.get(agent.rig, {}).get(agent.name)
            if stall is not None and agent.state == "working" and stall[0] == agent.hooked_bead \
                    and self._sessions.get(f"{prefixes.get(agent.rig, '')}-witness"):
                agent = replace(agent, state="stalled", evidence=stall[1] or agent.evidence)
            out.append(agent)
        return out

    def _parts(self) -> tuple[Any, ...]:
        return (self._name, tuple(self._rig_infos), tuple(self._witnessed()), tuple(self._roles),
                tuple(self._crew),
                self._beads, self._counts, tuple(self._convoys.values()),
                tuple(self._refinery.items()), tuple((k, tuple(v)) for k, v in self._mq.items()),
                tuple(self._mail), tuple(self._events.events),
                tuple(b["id"] + b.get("updated_at", "") for b in self._escalations),
                tuple(b["id"] + b.get("updated_at", "") for b in self._gates),
                tuple(w.get("id", "") for w in self._warrants),
                tuple(self._banners.items()), self._costs, self._queued)

    def _publish(self) -> TownSnapshot:
        from gastown_tui.model.parts import attention

        self._generation += 1
        polecats = self._witnessed()
        rigs = tuple(RigView(name=r.name, prefix=r.prefix, default_branch=r.default_branch,
                             polecats=sum(1 for a in polecats if a.rig == r.name),
                             refinery_running=self._sessions.get(f"{r.prefix}-refinery", False))
                     for r in self._rig_infos)
        mq = tuple(m for r in self._rig_infos for m in self._mq.get(r.name, ()))
        convoys = tuple(self._convoys.values())
        agents = (*self._roles[:1], *polecats, *self._crew, *self._roles[1:])
        if self._costs.known:
            spent, cv_spent = dict(self._costs.sessions), dict(self._costs.convoys)
            agents = tuple(a if a.spend == spent.get(a.session, 0.0)
                           else replace(a, spend=spent.get(a.session, 0.0))
                           for a in agents)
            convoys = tuple(c if c.spend == cv_spent.get(c.id, 0.0)
                            else replace(c, spend=cv_spent.get(c.id, 0.0))
                            for c in convoys)
        snapshot = TownSnapshot(
            name=self._name, root=str(self.root), taken_at=self.clock(),
            generation=self._generation, store_seq=self._seq, rigs=rigs,
            agents=agents,
            beads=self._beads, bead_counts=self._counts, convoys=convoys, merge_queue=mq,
            refineries=tuple(self._refinery.get(r.name, RefineryView(rig=r.name))
                             for r in self._rig_infos),
            mail=tuple(self._mail), events=tuple(self._events.events),
            needs_you=attention(self._escalations, mq, polecats, self._mail,
                                self._gates, self._warrants),
            banners=tuple(self._banners.values()), costs=self._costs, queued=self._queued,
            escalated=escalated_agents(self._escalations, {a.address for a in agents}))
        self._snapshot = snapshot
        return snapshot

    def _town_missing(self) -> TownSnapshot | None:
        if "town_missing" in self._banners:
            return None
        self._banners = {"town_missing": Banner(
            kind="town_missing", message=f"the town at {self.root} is gone (no {TOWN_MARKER})",
            fix="restore the directory or reinstall with gt install; the control room "
                "reconnects when it is back")}
        self.close()
        base = self._snapshot or TownSnapshot.empty(str(self.root), self._name, self.clock())
        self._generation += 1
        self._snapshot = replace(base, banners=tuple(self._banners.values()),
                                 generation=self._generation, taken_at=self.clock())
        return self._snapshot
