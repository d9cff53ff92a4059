"""ConvoysScreen (every open and recently landed convoy) and ConvoyScreen (one convoy's beads,
their polecats and their merge requests)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from gastown_tui.model.snapshot import ConvoyView, TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.widgets.format import (
    GLYPH_STYLE,
    STAGE_STYLE,
    STATE_STYLE,
    age,
    progress_bar,
    short_agent,
    stage_label,
)
from gastown_tui.widgets.tables import Row, keyed_table, sync_table

LIST_COLUMNS = (("id", "convoy"), ("title", "title"), ("progress", "progress"),
                ("status", "status"), ("age", "age"))
ITEM_COLUMNS = (("glyph", ""), ("id", "bead"), ("title", "title"), ("status", "status"),
                ("worker", "polecat"), ("state", "state"), ("mr", "MR"), ("stage", "stage"))


def convoy_row(convoy: ConvoyView, snapshot: TownSnapshot) -> Row:
    bar = Text.assemble(f"{convoy.completed}/{convoy.total} ",
                        (progress_bar(convoy.completed, convoy.total, 10), "green"))
    status = Text("landed", style="green") if convoy.landed else Text(convoy.status)
    return (Text(convoy.id, style="cyan"), Text(convoy.title, style="bold"), bar, status,
            Text(age(convoy.created_at, snapshot.taken_at), style="dim"))


class ConvoysScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("convoys.tcss")
    TITLE = "convoys"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="convoys-back"),
        Binding("enter", "open", "open", id="convoys-open"),
        Binding("j", "cursor('down')", "next", show=False, id="convoys-next"),
        Binding("k", "cursor('up')", "previous", show=False, id="convoys-previous"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, Row] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield keyed_table(LIST_COLUMNS, id="convoy-table")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        rows = {c.id: convoy_row(c, snapshot) for c in snapshot.convoys}
        self._rows = sync_table(self.query_one(DataTable), [k for k, _ in LIST_COLUMNS], rows,
                                self._rows)

    def action_cursor(self, direction: str) -> None:
        table = self.query_one(DataTable)
        (table.action_cursor_down if direction == "down" else table.action_cursor_up)()

    def action_open(self) -> None:
        self.query_one(DataTable).action_select_cursor()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.town_app.open_screen(f"convoy:{event.row_key.value}")


class ConvoyScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("convoys.tcss")
    TITLE = "convoy"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="convoy-back"),
        Binding("enter", "open", "open bead", id="convoy-open"),
    ]

    def __init__(self, convoy_id: str) -> None:
        super().__init__()
        self.convoy_id = convoy_id
        self._rows: dict[str, Row] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(id="convoy-facts")
        yield keyed_table(ITEM_COLUMNS, id="convoy-items")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        convoy = snapshot.convoy(self.convoy_id)
        facts = self.query_one("#convoy-facts", Static)
        if convoy is None:
            facts.update(Text(f"convoy {self.convoy_id} is not open or recently landed",
                              style="yellow"))
            rows: dict[str, Row] = {}
        else:
            facts.update(Text.assemble(
                (convoy.id, "cyan"), " ", (convoy.title, "bold"), "  ",
                f"{convoy.completed}/{convoy.total} ",
                (progress_bar(convoy.completed, convoy.total, 20), "green"),
                ("  landed" if convoy.landed else f"  {convoy.status}", "dim")))
            rows = {item.id: self._item_row(item, snapshot) for item in convoy.tracked}
        self._rows = sync_table(self.query_one(DataTable), [k for k, _ in ITEM_COLUMNS], rows,
                                self._rows)

    @staticmethod
    def _item_row(item, snapshot: TownSnapshot) -> Row:
        polecat = next((a for a in snapshot.polecats if a.hooked_bead == item.id), None)
        worker = polecat.label if polecat else short_agent(item.worker)
        mr = next((m for m in snapshot.merge_queue if m.source_issue == item.id), None)
        state = Text(polecat.state, style=STATE_STYLE.get(polecat.state, "")) if polecat \
            else Text("")
        stage = Text(stage_label(mr.stage), style=STAGE_STYLE.get(mr.stage, "green")) if mr \
            else Text("")
        return (Text(item.glyph, style=GLYPH_STYLE.get(item.glyph, "")),
                Text(item.id, style="cyan"), Text(item.title),
                Text("blocked" if item.blocked else item.status,
                     style="red" if item.blocked else ""),
                Text(worker), state, Text(mr.id if mr else ""), stage)

    def action_open(self) -> None:
        self.query_one(DataTable).action_select_cursor()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.town_app.open_screen(f"bead:{event.row_key.value}")
