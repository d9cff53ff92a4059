"""TownScreen: what every full screen of the control room shares (header, banners, footer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen

from gastown_tui.model.snapshot import AgentView, Banner, TownSnapshot
from gastown_tui.widgets.footer import TownFooter
from gastown_tui.widgets.header import TownBanners, TownHeader

if TYPE_CHECKING:
    from gastown_tui.app.app import GasTownApp


class TownScreen(Screen[None]):
    """A screen that draws from the app's current snapshot and says which panes it shows."""

    TITLE = ""

    @property
    def town_app(self) -> GasTownApp:
        return cast("GasTownApp", self.app)

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
        self.redraw()

    def on_screen_resume(self) -> None:
        self.redraw()
        self.town_app.follow_screen()

    def redraw(self) -> None:
        snapshot = self.town_app.snapshot
        if snapshot is not None and self.drawable:
            self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        """Draw the parts of the snapshot this screen shows (subclasses extend this)."""
        self.query_one(TownHeader).show(snapshot, self.town_app.cpu_percent)
        self.query_one(TownBanners).show(self.town_app.banners(snapshot))

    def show_banners(self, banners: tuple[Banner, ...]) -> None:
        self.query_one(TownBanners).show(banners)

    def show_cpu(self, cpu: float | None) -> None:
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
