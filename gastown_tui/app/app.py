"""GasTownApp: the control room. Two workers feed it; handlers hand the news to the screens.

- the town watcher (one async worker) runs `TownModel.follow()` and posts `TownChanged`;
- the pane observer (one thread worker, one tmux control client) posts one `PanesUpdated` per
  tick for the panes the current screen shows, and `PanesPolled` when sessions come or go.
Actions run the ops verbs in thread workers (actions.py); their results come back as flash
messages, their effects through the same watch path as every other change.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.widgets import Input
from textual.worker import Worker, WorkerState, get_current_worker

from gastown_tui.app.actions import ActionsMixin
from gastown_tui.app.commands import TownCommands
from gastown_tui.app.messages import (
    ActionFinished,
    PanesPolled,
    PanesUpdated,
    PaneUpdated,
    TownChanged,
)
from gastown_tui.app.panes import ObserverFactory, PaneTracker, town_observer
from gastown_tui.model.snapshot import Banner, TownSnapshot
from gastown_tui.model.town_model import Clock, TownModel, utc_now
from gastown_tui.screens.base import TownScreen
from gastown_tui.screens.main import MainScreen
from gastown_tui.screens.sling import SlingModal
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import Town

POLL_INTERVAL = 0.25  # 4 Hz: a changed pane is on screen within ~250 ms
POLL_RETRY = 2.0  # while tmux is down
CPU_INTERVAL = 5.0  # each header repaint is a compositor pass over the whole screen


@dataclass(frozen=True)
class AppConfig:
    town: Town
    clock: Clock = utc_now
    read_only: bool = False
    live: bool = True  # follow the town and the panes; False renders one settled frame
    observer_factory: ObserverFactory = town_observer
    start_screen: str = "main"
    poll_interval: float = POLL_INTERVAL
    model_options: dict[str, int] = field(default_factory=dict)


class GasTownApp(ActionsMixin, App[str | None]):
    TITLE = "gastown-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {TownCommands}
    # The main screen as the default mode: Textual loads a screen's CSS_PATH for modes, not
    # for a screen returned by get_default_screen().
    MODES = {"_default": MainScreen}
    BINDINGS = [
        Binding("colon", "command_palette", "command", tooltip="Every action and screen",
                id="command"),
        Binding("question_mark", "help", "help", tooltip="Keys of this screen", id="help"),
        Binding("q", "quit", "quit", tooltip="Quit (agents keep running)", id="quit"),
    ]

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self.config = config
        self.town = config.town
        self.model = TownModel(config.town.root, clock=config.clock, **config.model_options)
        if config.live:
            self.model.prefetch()
        self.snapshot: TownSnapshot | None = None
        self.pane_screens: dict[str, tuple[str, ...]] = {}
        self.pane_history: dict[str, tuple[str, ...]] = {}
        self.pane_activity: dict[str, int] = {}
        self.sessions: frozenset[str] = frozenset()
        # Read by the observer thread: replaced whole (never mutated), so reads are safe.
        # None: every session, until the first snapshot is drawn and the wall knows its tiles.
        self.followed: frozenset[str] | None = None
        self.deep: frozenset[str] = frozenset()
        self.tmux_error = ""
        self.cpu_percent: float | None = None
        self.marked_beads: set[str] = set()
        self._cpu_mark = (time.monotonic(), time.process_time())
        self._observer_started = False
        self._start_pending = config.start_screen not in ("", "main")
        self._observer_stopped = threading.Event()
        self._observer_stopped.set()  # nothing to wait for until the observer starts
        self._town_seen = asyncio.Event()
        self._panes_seen = asyncio.Event()
        if not config.live:
            self.animation_level = "none"

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if not self.config.live and isinstance(event.widget, Input):
            event.widget.cursor_blink = False  # a settled frame must not depend on the blink

    def on_load(self) -> None:
        # Before the screens compose and paint: the watch starts and takes over the town's
        # first read, which began as the app was made (model.prefetch).
        self.follow_town()
        if self.config.live:
            # The panes' first screens come in alongside: the first frame draws the tiles
            # with their output instead of waiting for a second round after the snapshot.
            self._observer_started = True
            self.observe_panes()

    def on_mount(self) -> None:
        if self.config.live:
            self.set_interval(CPU_INTERVAL, self._sample_cpu)

    async def wait_settled(self, timeout: float = 30.0) -> None:
        """Until the first snapshot and the first pane poll are on screen (tests, snapshots)."""
        await asyncio.wait_for(asyncio.gather(self._town_seen.wait(), self._panes_seen.wait()),
                               timeout)

    # ------------------------------------------------------------------ workers
    @work(group="town-watcher", exclusive=True, exit_on_error=False,
          description="Following the town directory")
    async def follow_town(self) -> None:
        if not self.config.live:
            self.post_message(TownChanged(await asyncio.to_thread(self.model.load)))
            await asyncio.to_thread(self.model.close)
            return
        async for snapshot in self.model.follow():
            self.post_message(TownChanged(snapshot))

    @work(thread=True, group="pane-observer", exit_on_error=False,
          description="Following the agents' panes")
    def observe_panes(self) -> None:
        worker = get_current_worker()
        self._observer_stopped.clear()
        source = self.config.observer_factory(self.town.root)
        tracker = PaneTracker()
        try:
            while not worker.is_cancelled:
                wait = self.config.poll_interval
                try:
                    updates, polled = tracker.tick(source, self.followed, self.deep)
                except GasTownError as exc:
                    updates, polled, wait = [], tracker.failed(exc.problem), POLL_RETRY
                if updates:
                    self.post_message(PanesUpdated(tuple(updates)))
                if polled is not None:
                    self.post_message(polled)
                if not self.config.live:
                    if polled is None:
                        self.post_message(PanesPolled(tracker.sessions or frozenset()))
                    return
                worker.cancelled_event.wait(wait)
        finally:
            source.close()
            self._observer_stopped.set()

    async def on_unmount(self) -> None:
        """Quit leaves no thread behind: stop the observer and wait for its tmux client."""
        for worker in self.workers:
            if worker.group == "pane-observer":
                worker.cancel()
        await asyncio.to_thread(self._observer_stopped.wait, 3.0)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        self.notify(f"{worker.description or worker.name} failed: {worker.error}",
                    severity="error", timeout=8)
        if self.config.live and worker.group == "town-watcher":
            self.set_timer(POLL_RETRY, self.follow_town)  # keep following; the model reloads
        elif self.config.live and worker.group == "pane-observer":
            self.set_timer(POLL_RETRY, self.observe_panes)
        elif not self.config.live:
            self._town_seen.set()
            self._panes_seen.set()

    # ------------------------------------------------------------------ handlers
    @on(TownChanged)
    def _town_changed(self, message: TownChanged) -> None:
        self.snapshot = message.snapshot
        with self.batch_update():
            for screen in self.screen_stack:
                if isinstance(screen, TownScreen) and screen.drawable:
                    screen.show_snapshot(message.snapshot)
                elif isinstance(screen, SlingModal):
                    screen.update_beads(message.snapshot.beads)
        if self._start_pending:
            self._start_pending = False
            self.open_screen(self.config.start_screen)
        if not self._observer_started:
            self._observer_started = True
            # After the first layout, so the wall knows which tiles are visible.
            self.call_after_refresh(self._start_observer)
        elif self.followed is None:
            self.call_after_refresh(self.follow_screen)  # from all panes to the ones shown
        self._town_seen.set()
        self.refresh_bindings()

    def _start_observer(self) -> None:
        self.follow_screen()
        self.observe_panes()

    @on(PanesUpdated)
    def _panes_updated(self, message: PanesUpdated) -> None:
        for update in message.updates:
            self._pane_updated(update)

    def _pane_updated(self, message: PaneUpdated) -> None:
        store = self.pane_history if message.history else self.pane_screens
        store[message.session] = message.lines
        self.pane_activity[message.session] = message.activity
        screen = self.screen  # only the active screen shows panes; others read the cache
        if isinstance(screen, TownScreen) and screen.drawable:
            screen.show_pane(message.session, message.lines, message.history, message.activity)

    @on(PanesPolled)
    def _panes_polled(self, message: PanesPolled) -> None:
        came_back = bool(self.tmux_error) and not message.error
        changed = message.sessions != self.sessions
        self.sessions = message.sessions
        self.tmux_error = message.error
        if self.config.live and (changed or came_back):
            self.model.poke()  # session liveness feeds the agents' states
        if self.snapshot is not None:
            for screen in self.screen_stack:
                if isinstance(screen, TownScreen) and screen.drawable:
                    screen.show_banners(self.banners(self.snapshot))
        self._panes_seen.set()

    @on(ActionFinished)
    def _action_finished(self, message: ActionFinished) -> None:
        self.notify(message.text, severity=message.severity,  # type: ignore[arg-type]
                    timeout=8 if message.severity == "error" else 4)

    # ------------------------------------------------------------------ helpers for screens
    def banners(self, snapshot: TownSnapshot) -> tuple[Banner, ...]:
        banners = snapshot.banners
        if self.tmux_error and not any(b.kind == "tmux_down" for b in banners):
            banners += (Banner(kind="tmux_down", message=self.tmux_error,
                               fix="live panes resume when the server is back"),)
        return banners

    def follow_screen(self) -> None:
        """Follow exactly the panes the active screen shows (others are not captured)."""
        if self.snapshot is None:
            return  # no tiles yet: keep following every pane until the first snapshot
        screen = self.screen
        if isinstance(screen, TownScreen):
            followed, deep = screen.followed_sessions()
        else:
            followed, deep = set(), set()
        self.followed, self.deep = frozenset(followed), frozenset(deep)

    def _sample_cpu(self) -> None:
        now, cpu = time.monotonic(), time.process_time()
        wall_then, cpu_then = self._cpu_mark
        self._cpu_mark = (now, cpu)
        if now > wall_then:
            self.cpu_percent = 100.0 * (cpu - cpu_then) / (now - wall_then)
            screen = self.screen
            if isinstance(screen, TownScreen) and screen.drawable:
                screen.show_cpu(self.cpu_percent)

    def now(self) -> datetime:
        return self.snapshot.taken_at if self.snapshot is not None else self.config.clock()

    @property
    def town_root(self) -> Path:
        return self.town.root
