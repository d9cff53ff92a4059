"""TownScreen: what every full screen of the control room shares (header, banners, footer).

A screen draws from the app's state by watching it, as Textual's own Header watches the
app's title: `snapshot` (the town), `panes` (the live pane feed) and `cpu_percent`. It owns
its selection, so the verbs that act on it (nudge, sling, nuke, attach, zoom, ...) are its
own actions (screens/verbs.py).
"""

from __future__ import annotations

from typing import cast

from textual.app import ComposeResult
from textual.screen import Screen

from gastown_tui.model.panes import PaneFeed
from gastown_tui.model.snapshot import AgentView, Banner, TownSnapshot
from gastown_tui.screens.room import ControlRoom
from gastown_tui.screens.verbs import VerbsMixin
from gastown_tui.widgets.footer import TownFooter
from gastown_tui.widgets.header import TownBanners, TownHeader


def banners_for(snapshot: TownSnapshot, feed: PaneFeed) -> tuple[Banner, ...]:
    """The snapshot's banners, and tmux's when the pane feed says it is down."""
    banners = snapshot.banners
    if feed.tmux_error and not any(b.kind == "tmux_down" for b in banners):
        banners += (Banner(kind="tmux_down", message=feed.tmux_error,
                           fix="live panes resume when the server is back"),)
    return banners


class TownScreen(VerbsMixin, Screen[None]):
    """A screen that draws from the app's current snapshot and says which panes it shows."""

    TITLE = ""

    @property
    def town_app(self) -> ControlRoom:
        return cast("ControlRoom", self.app)

    def compose_header(self) -> ComposeResult:
        yield TownHeader(self.TITLE, id="town-header")
        yield TownBanners(id="town-banners")

    def compose_footer(self) -> ComposeResult:
        yield TownFooter(compact=True)

    _drawable = False

    @property
    def drawable(self) -> bool:
        """Composed and mounted: a snapshot arriving earlier waits for on_mount; one arriving
        while the app quits (the observer thread may still post) is dropped."""
        if self._closing or self._closed or self._pruning:
            return False
        if not self._drawable:  # cached: asked for every message, and true for good once true
            self._drawable = self.is_mounted and bool(self.query(TownHeader))
        return self._drawable

    def on_mount(self) -> None:
        # Textual calls this and the subclass's on_mount (handlers run for each class).
        self.watch(self.app, "snapshot", self._snapshot_changed, init=False)
        self.watch(self.app, "panes", self._panes_changed, init=False)
        self.watch(self.app, "cpu_percent", self.show_cpu, init=False)
        self.redraw()

    def on_screen_resume(self) -> None:
        self.redraw()
        self.town_app.follow_screen()

    def redraw(self) -> None:
        snapshot = self.town_app.snapshot
        if snapshot is not None and self.drawable:
            self.show_snapshot(snapshot)

    def _snapshot_changed(self, snapshot: TownSnapshot | None) -> None:
        if snapshot is not None and self.drawable:
            self.show_snapshot(snapshot)

    def _panes_changed(self, old: PaneFeed, feed: PaneFeed) -> None:
        if not self.drawable:
            return
        snapshot = self.town_app.snapshot
        if snapshot is not None and (feed.tmux_error != old.tmux_error
                                     or feed.sessions != old.sessions):
            self.show_banners(banners_for(snapshot, feed))
        if feed.changed and self.app.screen is self:  # others read the feed when resumed
            for update in feed.changed:
                self.show_pane(update.session, update.lines, update.history, update.activity)

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        """Draw the parts of the snapshot this screen shows (subclasses extend this)."""
        self.query_one(TownHeader).show(snapshot, self.town_app.cpu_percent)
        self.query_one(TownBanners).show(banners_for(snapshot, self.town_app.panes))

    def show_banners(self, banners: tuple[Banner, ...]) -> None:
        self.query_one(TownBanners).show(banners)

    def show_cpu(self, cpu: float | None) -> None:
        if self.drawable:
            self.query_one(TownHeader).show(self.town_app.snapshot, cpu)

    def show_pane(self, session: str, lines: tuple[str, ...], history: bool,
                  activity: int) -> None:
        """A followed pane changed (screens that show panes override this)."""

    def followed_sessions(self) -> tuple[set[str], set[str]]:
        """(sessions whose screens are visible, sessions shown with scrollback)."""
        return set(), set()

    def selected_agent(self) -> AgentView | None:
        """The agent the agent keys (n, a, ctrl+d) act on, if any."""
        return None
