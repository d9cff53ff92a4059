"""EventsScreen: the town's event log (.events.jsonl), newest last, live, every kind shown;
`/` filters it by rig, agent and kind (model/event_filter.EventFilter)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Log

from gastown_tui.model.event_filter import EventFilter
from gastown_tui.model.snapshot import EventView, TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.widgets.needs_you import event_line


class EventsScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("events.tcss")
    TITLE = "events"
    BINDINGS = [
        Binding("slash", "filter", "filter", tooltip="Filter: rig:NAME agent:NAME kind:KIND words",
                id="events-filter"),
        Binding("escape", "back", "back", id="events-back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._last: EventView | None = None
        self.filter = EventFilter()

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Input(placeholder="rig:NAME agent:NAME kind:KIND[,KIND] words (esc clears)",
                    id="events-filter-box", compact=True)
        yield Log(max_lines=2000, id="events-log")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(Log).focus()

    @property
    def shown_lines(self) -> tuple[str, ...]:
        return tuple(self.query_one(Log).lines)

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
        fresh = events[start:]
        if fresh:
            self._last = events[-1]
            shown = [event_line(e) for e in fresh if self.filter.matches(e)]
            if shown:
                log.write_lines(shown)

    def set_filter(self, text: str) -> None:
        """Show only the events matching `text`, from the start of what the town kept."""
        self.filter = EventFilter.parse(text)
        self.sub_title = self.filter.describe()
        self._last = None
        self.query_one(Log).clear()
        self.redraw()

    def action_filter(self) -> None:
        box = self.query_one("#events-filter-box", Input)
        box.add_class("-shown")
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#events-filter-box", Input)
        if box.has_class("-shown") or box.value:
            box.value = ""
            box.remove_class("-shown")
            self.set_filter("")
            self.query_one(Log).focus()
            return
        self.app.pop_screen()

    @on(Input.Changed, "#events-filter-box")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.set_filter(event.value)

    @on(Input.Submitted, "#events-filter-box")
    def _filter_done(self) -> None:
        self.query_one(Log).focus()
