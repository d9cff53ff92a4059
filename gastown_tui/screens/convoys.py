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
from gastown_tui.verbs.registry import VERBS, verb_bindings
from gastown_tui.verbs.target import Target
from gastown_tui.widgets.format import (
    GLYPH_STYLE,
    STAGE_STYLE,
    STATE_STYLE,
    age,
    progress_bar,
    short_agent,
    stage_label,
)
from gastown_tui.widgets.keyed_table import KeyedTable, Row

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

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield KeyedTable(LIST_COLUMNS, id="convoy-table")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(KeyedTable).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        self.query_one(KeyedTable).show_rows(
            {c.id: convoy_row(c, snapshot) for c in snapshot.convoys})

    def action_cursor(self, direction: str) -> None:
        table = self.query_one(KeyedTable)
        (table.action_cursor_down if direction == "down" else table.action_cursor_up)()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open" and self.query_one(KeyedTable).cursor_key is None:
            return None
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        convoy = self.query_one(KeyedTable).cursor_key
        if convoy is not None:
            self.room.open_screen(f"convoy:{convoy}")

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.room.open_screen(f"convoy:{event.row_key.value}")


class ConvoyScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("convoys.tcss")
    TITLE = "convoy"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="convoy-back"),
        *verb_bindings("open-bead"),
    ]

    def __init__(self, convoy_id: str) -> None:
        super().__init__()
        self.convoy_id = convoy_id

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(id="convoy-facts")
        yield KeyedTable(ITEM_COLUMNS, id="convoy-items")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(KeyedTable).focus()

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
        self.query_one(KeyedTable).show_rows(rows)

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

    def selection(self) -> Target:
        return Target(bead=self.query_one("#convoy-items", KeyedTable).cursor_key)

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.run_verb(VERBS["open-bead"], Target(bead=str(event.row_key.value)))
