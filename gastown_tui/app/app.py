"""GasTownApp: the control room. Two workers feed it; its state is three reactives that the
screens and widgets watch (as Textual's Header watches the app's title):

- `snapshot`: the town watcher (one async worker) runs `TownModel.follow()` and posts
  `TownChanged`; each becomes the new `snapshot`;
- `panes`: the pane observer (one thread worker, one tmux control client) posts one
  `PanesUpdated` per tick for the panes the current screen shows and `PanesPolled` when
  sessions come or go; each makes a new immutable PaneFeed;
- `cpu_percent`: the process's own CPU, every few seconds, for the header;
- `marks`: the beads and agents marked for a bulk verb (one Marks value, replaced whole).
The verbs (gastown_tui/verbs) run in thread workers on the app; their progress and results
come back as messages shown as flash messages, their effects through the same watch path as
every other change.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.command import Provider
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState, get_current_worker

from gastown_tui.app.config import AppConfig
from gastown_tui.app.messages import ActionFinished, PanesPolled, PanesUpdated, TownChanged
from gastown_tui.app.panes import PaneTracker
from gastown_tui.model.marks import NO_MARKS, Marks
from gastown_tui.model.panes import EMPTY_FEED, PaneFeed
from gastown_tui.model.snapshot import TownSnapshot
from gastown_tui.model.town_model import TownModel
from gastown_tui.screens.base import TownScreen
from gastown_tui.screens.main import MainScreen
from gastown_tui.town.errors import GasTownError
from gastown_tui.verbs.messages import VerbFinished, VerbProgress

POLL_RETRY = 2.0  # while tmux is down
WATCH_WITHOUT_PANES_S = 1.0  # the file watch waits this long at most for the panes' first tick
FIRST_TICK_WAIT_S = 1.0  # the observer's first tick waits this long at most for the tiles
GC_PAUSE_MAX_S = 3.0  # the cyclic GC resumes this long after mounting if no whole frame came
CPU_INTERVAL = 5.0  # each header repaint is a compositor pass over the whole screen


def town_commands_provider() -> type[Provider]:
    """The palette's provider, imported when the palette first opens, not before the first frame."""
    from gastown_tui.app.commands import TownCommands

    return TownCommands


class GasTownApp(App[str | None]):
    TITLE = "gastown-tui"
    # The main screen's layout with the app's: Textual loads a screen's own CSS_PATH when it
    # is pushed, not for the screen get_default_screen() returns.
    CSS_PATH = ["app.tcss", "../screens/main.tcss"]
    COMMANDS = App.COMMANDS | {town_commands_provider}
    BINDINGS = [
        Binding("colon", "command_palette", "command", tooltip="Every action and screen",
                id="command"),
        Binding("question_mark", "help", "help", tooltip="Keys of this screen", id="help"),
        Binding("q", "quit", "quit", tooltip="Quit (agents keep running)", id="quit"),
    ]
    # always_update: each value is new by construction, and comparing two snapshots (or two
    # pane feeds) field by field would cost more than drawing from them.
    snapshot: var[TownSnapshot | None] = var(None, always_update=True)
    panes: var[PaneFeed] = var(EMPTY_FEED, always_update=True)
    cpu_percent: var[float | None] = var(None)
    marks: var[Marks] = var(NO_MARKS)
    caption: var[str] = var("")  # the demo's caption line (only the demo sets it)

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self.config = config
        self.town = config.town
        self.model = TownModel(config.town.root, clock=config.clock, **config.model_options)
        if config.live:
            self.model.prefetch(config.first_read)
        # Read by the observer thread: replaced whole (never mutated), so reads are safe.
        # None: every session (a first tick that waited FIRST_TICK_WAIT_S for the tiles in vain).
        self.followed: frozenset[str] | None = None
        self.deep: frozenset[str] = frozenset()
        # Set once `followed` says what the first screen shows (or as the app quits): the
        # observer's first tick waits for it, up to FIRST_TICK_WAIT_S.
        self._tiles_known = threading.Event()
        self._follow_laid_out = False  # followed again after the first layout
        self._cpu_mark = (time.monotonic(), time.process_time())
        self._observer_started = False
        self._start_pending = config.start_screen not in ("", "main")
        self._observer_stopped = threading.Event()
        self._observer_stopped.set()  # nothing to wait for until the observer starts
        self._town_seen = asyncio.Event()
        self._first_frame_drawn = asyncio.Event()  # the town's file watch starts after it
        self._theme_lock = threading.Lock()
        self._story_told = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._panes_seen = asyncio.Event()
        if not config.live:
            self.animation_level = "none"

    def get_default_screen(self) -> MainScreen:
        # Not MODES: App awaits a mode's screen mounting inside its start-up batch, where the
        # screen's first (whole) frame is drawn and thrown away; the terminal then got only
        # the regions changed since, and the rest a frame later (16 ms on).
        return MainScreen()

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
        self._loop = asyncio.get_running_loop()
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        if self.config.live:
            self.set_interval(CPU_INTERVAL, self._sample_cpu)
        if self.config.gc_paused:
            self.set_timer(GC_PAUSE_MAX_S, self._resume_gc)

    def watch_theme(self, theme: str) -> None:
        """A theme picked in the palette is saved for the town (off the event loop), so the
        next start comes back in it; the one read at start is not written back."""
        if self.config.read_only or theme == self.config.theme:
            return
        self.config = replace(self.config, theme=theme)
        self.run_worker(self._save_theme, thread=True, group="save-theme",
                        exit_on_error=False, description="Saving the theme")

    def _save_theme(self) -> None:
        # Picks in quick succession start workers that may finish in any order: each one
        # writes the latest pick under the lock, so the last write is always the last pick.
        from gastown_tui.ops.theme import set_theme

        with self._theme_lock:
            theme = self.config.theme
            set_theme(self.town, theme, known=[theme])

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
        async for snapshot in self.model.follow(watch_after=self._first_frame_drawn):
            self.post_message(TownChanged(snapshot))

    @work(thread=True, group="pane-observer", exit_on_error=False,
          description="Following the agents' panes")
    def observe_panes(self) -> None:
        worker = get_current_worker()
        self._observer_stopped.clear()
        # The first tick captures only the panes the first screen shows. It starts with the
        # app, before anything says which those are; capturing every pane grew the first
        # frame with the town (100 agents: 72 ms of captures against 28 ms to list them).
        self._tiles_known.wait(FIRST_TICK_WAIT_S)
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
        self._tiles_known.set()  # an observer still waiting for its first tick ends now
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
    @property
    def _screens_gone(self) -> bool:
        """The app is shutting down: its screens may already be gone while the watcher's and
        the observer's last messages are still being handled (they would draw on no screen)."""
        return not self.is_running or not self.screen_stack

    def adopt_first_read(self) -> None:
        """Take the town's first read now if it has arrived (a screen about to draw asks):
        its TownChanged, still queued, then finds it drawn."""
        if self.snapshot is None and self.config.live:
            ready = self.model.prefetched_ready()
            if ready is not None:
                self.snapshot = ready

    @on(TownChanged)
    def _town_changed(self, message: TownChanged) -> None:
        if self._screens_gone:
            return
        if message.snapshot is not self.snapshot:  # (the first read may be adopted already)
            with self.batch_update():
                self.snapshot = message.snapshot  # every screen watching draws its part
        if self._start_pending:
            self._start_pending = False
            self.open_screen(self.config.start_screen)
        if not self._observer_started:
            self._observer_started = True
            # After the first layout, so the wall knows which tiles are visible.
            self.call_after_refresh(self._start_observer)
        elif not self._follow_laid_out:
            # The tiles are drawn: follow them now (the observer's first tick waits for
            # it), and again once laid out (before, the wall assumes the terminal's height).
            self._follow_laid_out = True
            self.follow_screen()
            self.call_after_refresh(self.follow_screen)
        self._town_seen.set()
        self._after_first_frame()
        self.refresh_bindings()
        if self.config.story is not None and not self._story_told:
            self._story_told = True
            # After this refresh: the first frame with the town is on screen before the demo
            # starts its agents (the convoy is seen at 0/N).
            self.call_after_refresh(self.config.story, self.show_caption)

    def _after_first_frame(self) -> None:
        """The town's file watch starts once the first whole frame (the town and the panes'
        first screens) is drawn, or WATCH_WITHOUT_PANES_S after the town's if the panes are
        slow: importing and starting it competed with that drawing (one GIL)."""
        if self._first_frame_drawn.is_set() or not self._town_seen.is_set():
            return
        if self._panes_seen.is_set():
            self.call_after_refresh(self._first_frame_done)
        elif not self._watch_timer_set:
            self._watch_timer_set = True
            self.set_timer(WATCH_WITHOUT_PANES_S, self._first_frame_done)

    _watch_timer_set = False

    def _first_frame_done(self) -> None:
        self._first_frame_drawn.set()
        self._resume_gc()

    _gc_resumed = False

    def _resume_gc(self) -> None:
        """The cyclic GC, paused by the CLI for start-up (its collections took ~40 ms before
        the first frame), runs again. What start-up made lives as long as the app: frozen,
        the collections to come skip it instead of walking it every time."""
        if self.config.gc_paused and not self._gc_resumed:
            self._gc_resumed = True
            gc.freeze()
            gc.enable()

    def show_caption(self, text: str) -> None:
        """Show the demo's caption; any thread may call it, and after the app ended it does
        nothing (the demo's thread may still be telling the story)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._set_caption, text)
        except RuntimeError:
            pass  # the loop closed between the check and the call

    def _set_caption(self, text: str) -> None:
        if not self._screens_gone:
            self.caption = text

    def _start_observer(self) -> None:
        self.follow_screen()
        self.observe_panes()

    @on(PanesUpdated)
    def _panes_updated(self, message: PanesUpdated) -> None:
        if self._screens_gone:
            return
        self.panes = self.panes.with_updates(message.updates)

    @on(PanesPolled)
    def _panes_polled(self, message: PanesPolled) -> None:
        if self._screens_gone:
            return
        came_back = bool(self.panes.tmux_error) and not message.error
        hosts = dict(message.hosts)
        changed = message.sessions != self.panes.sessions or hosts != dict(
            self.panes.host_errors)
        self.panes = self.panes.with_sessions(message.sessions, message.error, hosts)
        if self.config.live and (changed or came_back):
            self.model.poke()  # session liveness feeds the agents' states
        self._panes_seen.set()
        self._after_first_frame()

    @on(ActionFinished)
    @on(VerbProgress)
    @on(VerbFinished)
    def _flash(self, message: ActionFinished | VerbProgress | VerbFinished) -> None:
        if self._screens_gone:
            return
        self.notify(message.text, severity=message.severity,  # type: ignore[arg-type]
                    timeout=8 if message.severity == "error" else 4)

    # ------------------------------------------------------------------ the pane feed, by part
    @property
    def pane_screens(self):
        return self.panes.screens

    @property
    def pane_history(self):
        return self.panes.history

    @property
    def pane_activity(self):
        return self.panes.activity

    @property
    def sessions(self) -> frozenset[str]:
        return self.panes.sessions

    @property
    def tmux_error(self) -> str:
        return self.panes.tmux_error

    # ------------------------------------------------------------------ flash and screens
    def flash(self, text: str, severity: str = "information") -> None:
        self.post_message(ActionFinished(text, severity))

    def action_help(self) -> None:
        from gastown_tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def action_open(self, spec: str) -> None:
        self.open_screen(spec)

    def open_screen(self, spec: str) -> None:
        from gastown_tui.screens.registry import screen_for

        if spec == "main":
            while len(self.screen_stack) > 1:
                self.pop_screen()
            return
        screen = screen_for(spec, self.snapshot)
        if screen is None:
            self.flash(f"nothing to show for {spec!r}", "warning")
            return
        self.push_screen(screen)

    def follow_screen(self, screen: Screen[object] | None = None) -> None:
        """Follow exactly the panes the active screen (or `screen`, mounting) shows; the
        others are not captured."""
        if self.snapshot is None:
            return  # no tiles yet: keep following every pane until the first snapshot
        screen = self.screen if screen is None else screen
        if isinstance(screen, TownScreen):
            if not screen.drawable:
                return  # composing still (its on_mount follows it), or closing
            followed, deep = screen.followed_sessions()
        else:
            followed, deep = set(), set()
        self.followed, self.deep = frozenset(followed), frozenset(deep)
        self._tiles_known.set()

    def _sample_cpu(self) -> None:
        now, cpu = time.monotonic(), time.process_time()
        wall_then, cpu_then = self._cpu_mark
        self._cpu_mark = (now, cpu)
        if now > wall_then:
            self.cpu_percent = 100.0 * (cpu - cpu_then) / (now - wall_then)

    def now(self) -> datetime:
        return self.snapshot.taken_at if self.snapshot is not None else self.config.clock()

    @property
    def town_root(self) -> Path:
        return self.town.root

