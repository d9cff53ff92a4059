"""TownScreen: what every full screen of the control room shares (header, banners, footer).

A screen draws from the app's state by watching it, as Textual's own Header watches the
app's title: `snapshot` (the town) and `panes` (the live pane feed); its header and banners
watch the app themselves. It owns
its selection, so the verbs that act on it (nudge, sling, nuke, attach, zoom, ...) are its
own actions (screens/verbs.py).
"""

from __future__ import annotations

from typing import cast

from textual.app import ComposeResult
from textual.screen import Screen

from gastown_tui.model.panes import PaneFeed
from gastown_tui.model.snapshot import AgentView, TownSnapshot
from gastown_tui.screens.room import ControlRoom
from gastown_tui.screens.verbs import VerbsMixin
from gastown_tui.widgets.footer import TownFooter
from gastown_tui.widgets.header import TownBanners, TownHeader


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

    def _panes_changed(self, feed: PaneFeed) -> None:
        if feed.changed and self.drawable and self.is_active:  # others read the feed
            for update in feed.changed:
                self.show_pane(update.session, update.lines, update.history, update.activity)

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        """Draw the parts of the snapshot this screen shows (the header and the banners
        follow the app by themselves; subclasses draw the rest)."""

    def show_pane(self, session: str, lines: tuple[str, ...], history: bool,
                  activity: int) -> None:
        """A followed pane changed (screens that show panes override this)."""

    def followed_sessions(self) -> tuple[set[str], set[str]]:
        """(sessions whose screens are visible, sessions shown with scrollback)."""
        return set(), set()

    def selected_agent(self) -> AgentView | None:
        """The agent the agent keys (n, a, ctrl+d) act on, if any."""
        return None
