"""BeadsScreen: the work beads the snapshot holds (ready first), to mark, sling or group."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input

from gastown_tui.model.snapshot import BeadView, TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.widgets.format import short_agent
from gastown_tui.widgets.tables import Row, cursor_key, keyed_table, sync_table

COLUMNS = (("mark", ""), ("id", "bead"), ("priority", "P"), ("status", "status"),
           ("title", "title"), ("who", "assignee"))
STATUS_STYLE = {"open": "", "hooked": "cyan", "in_progress": "cyan", "blocked": "red"}


def bead_row(bead: BeadView, marked: bool) -> Row:
    status = "ready" if bead.ready else ("blocked" if bead.blocked else bead.status)
    style = "green" if bead.ready else STATUS_STYLE.get(status, "")
    return (Text("◆" if marked else " ", style="magenta"), Text(bead.id, style="cyan"),
            Text(f"P{bead.priority}"), Text(status, style=style), Text(bead.title),
            Text(short_agent(bead.assignee), style="dim"))


class BeadsScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("beads.tcss")
    TITLE = "beads"
    BINDINGS = [
        Binding("escape", "back", "back", id="beads-back"),
        Binding("space", "mark", "mark", id="beads-mark"),
        Binding("s", "sling", "sling", id="beads-sling"),
        Binding("c", "convoy_from_marked", "convoy", id="beads-convoy"),
        Binding("slash", "filter", "filter", id="beads-filter"),
        Binding("enter", "open", "open", id="beads-open"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, Row] = {}
        self.filter_text = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield keyed_table(COLUMNS, id="bead-table")
        yield Input(placeholder="filter beads", id="bead-filter", compact=True)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        text = self.filter_text.lower()
        marked = self.town_app.marked_beads
        beads = [b for b in snapshot.beads
                 if not text or text in f"{b.id} {b.title} {b.status}".lower()]
        rows = {b.id: bead_row(b, b.id in marked) for b in beads}
        self._rows = sync_table(self.query_one(DataTable), [k for k, _ in COLUMNS], rows,
                                self._rows)
        counts = snapshot.bead_counts
        ready = f"{counts.ready}{'+' if counts.ready_capped else ''}"
        self.query_one(DataTable).border_title = (
            f"{ready} ready · {counts.open} open · {counts.hooked + counts.in_progress} on hooks"
            f" · {counts.blocked} blocked")

    def _redraw(self) -> None:
        if self.town_app.snapshot is not None:
            self.show_snapshot(self.town_app.snapshot)
        self.app.refresh_bindings()

    def action_mark(self) -> None:
        key = cursor_key(self.query_one(DataTable))
        if key is not None:
            self.town_app.marked_beads.symmetric_difference_update({key})
            self._redraw()
            self.query_one(DataTable).action_cursor_down()

    def action_sling(self) -> None:
        key = cursor_key(self.query_one(DataTable))
        if not self.town_app.marked_beads and key is not None:
            self.town_app.marked_beads.add(key)  # no marks: sling the bead under the cursor
        self.action_sling()

    def action_open(self) -> None:
        key = cursor_key(self.query_one(DataTable))
        if key is not None:
            self.town_app.open_screen(f"bead:{key}")

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.town_app.open_screen(f"bead:{event.row_key.value}")

    def action_filter(self) -> None:
        box = self.query_one("#bead-filter", Input)
        box.add_class("-shown")
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#bead-filter", Input)
        if box.has_class("-shown"):
            box.value = ""
            box.remove_class("-shown")
            self.query_one(DataTable).focus()
        else:
            self.app.pop_screen()

    @on(Input.Changed, "#bead-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._redraw()

    @on(Input.Submitted, "#bead-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()
