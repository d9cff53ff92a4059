"""BeadsScreen: the work beads the snapshot holds (ready first), to mark, sling or group.

The rows keep their order while the screen is open: the town re-sorts its beads as they are
slung, hooked or closed, and a list that moved under the cursor while someone marks rows
makes them mark the wrong bead. So, as lazygit's lists do, the row under the cursor stays the
same bead and rows change in place; a bead that appears joins at the bottom, one that leaves
goes (the cursor stays on its bead, or the row after a removed one). The list is sorted again
(ready first) when the screen opens and on `R` (refresh), keeping the cursor on its bead."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input

from gastown_tui.model.marks import Marks
from gastown_tui.model.snapshot import BeadView, TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.verbs.base import Verb
from gastown_tui.verbs.registry import VERBS, verb_bindings
from gastown_tui.verbs.target import Target
from gastown_tui.widgets.format import short_agent
from gastown_tui.widgets.keyed_table import KeyedTable, Row

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
        *verb_bindings("mark-bead", "sling", "convoy"),
        Binding("slash", "filter", "filter", id="beads-filter"),
        Binding("R", "resort", "re-sort", tooltip="Sort the list again: ready first",
                id="beads-resort"),
        *verb_bindings("open-bead"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self._order: list[str] | None = None  # the rows' order since the last sort

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield KeyedTable(COLUMNS, id="bead-table")
        yield Input(placeholder="filter beads", id="bead-filter", compact=True)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(KeyedTable).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        text = self.filter_text.lower()
        marked = self.room.marks.beads
        by_id = {b.id: b for b in snapshot.beads}
        if self._order is None:
            order = list(by_id)  # the snapshot's order: ready first
        else:
            kept = [key for key in self._order if key in by_id]
            seen = set(kept)
            order = kept + [key for key in by_id if key not in seen]
        self._order = order
        beads = [by_id[key] for key in order]
        shown = [b for b in beads if not text or text in f"{b.id} {b.title} {b.status}".lower()]
        table = self.query_one(KeyedTable)
        cursor = table.cursor_key
        table.show_rows({b.id: bead_row(b, b.id in marked) for b in shown})
        if cursor is not None and cursor in table.rows_shown and table.cursor_key != cursor:
            table.move_cursor(row=table.get_row_index(cursor), animate=False)
        counts = snapshot.bead_counts
        ready = f"{counts.ready}{'+' if counts.ready_capped else ''}"  # ready rows, not convoys
        table.border_title = (
            f"{ready} ready · {counts.open} open · {counts.hooked + counts.in_progress} on hooks"
            f" · {counts.blocked} blocked" + (f" · {len(marked)} marked" if marked else ""))

    def action_resort(self) -> None:
        """Sort the rows again (ready first), the cursor kept on its bead."""
        self._order = None
        self.redraw()

    def show_marks(self, marks: Marks) -> None:
        self.redraw()

    def selection(self) -> Target:
        return Target(bead=self.query_one("#bead-table", KeyedTable).cursor_key,
                      marked_beads=tuple(sorted(self.room.marks.beads)))

    def verb_pressed(self, verb: Verb, target: Target) -> None:
        if verb.id == "mark-bead" and target.bead:
            self.query_one(KeyedTable).action_cursor_down()

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.run_verb(VERBS["open-bead"], Target(bead=str(event.row_key.value)))

    def action_filter(self) -> None:
        box = self.query_one("#bead-filter", Input)
        box.add_class("-shown")
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#bead-filter", Input)
        if box.has_class("-shown"):
            box.value = ""
            box.remove_class("-shown")
            self.query_one(KeyedTable).focus()
        else:
            self.app.pop_screen()

    @on(Input.Changed, "#bead-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.redraw()

    @on(Input.Submitted, "#bead-filter")
    def _filter_done(self) -> None:
        self.query_one(KeyedTable).focus()
