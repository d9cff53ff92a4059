"""EventsScreen: the town's event log (.events.jsonl), newest last, live."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Log

from gastown_tui.model.snapshot import EventView, TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.widgets.needs_you import event_line


class EventsScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("events.tcss")
    TITLE = "events"
    BINDINGS = [Binding("escape", "app.pop_screen", "back", id="events-back")]

    def __init__(self) -> None:
        super().__init__()
        self._last: EventView | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Log(max_lines=2000, id="events-log")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(Log).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        log = self.query_one(Log)
        events = snapshot.events
        start = 0
        if self._last is not None:
            try:
                start = len(events) - events[::-1].index(self._last)
            except ValueError:
                log.clear()
        if events[start:]:
            log.write_lines([event_line(e) for e in events[start:]])
            self._last = events[-1]
