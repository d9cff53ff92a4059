"""MailScreen: the overseer's unread mail; enter reads a message (marks it read)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from gastown_tui.model.snapshot import MailView, TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.widgets.format import age
from gastown_tui.widgets.tables import Row, cursor_key, keyed_table, sync_table

COLUMNS = (("from", "from"), ("subject", "subject"), ("type", "type"), ("age", "age"))


def mail_row(message: MailView, snapshot: TownSnapshot) -> Row:
    urgent = message.priority in ("urgent", "high")
    return (Text(message.sender, style="bold"),
            Text(message.subject, style="bold yellow" if urgent else ""),
            Text(message.msg_type, style="dim"),
            Text(age(message.timestamp, snapshot.taken_at), style="dim"))


class MailScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("mail.tcss")
    TITLE = "mail"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="mail-back"),
        Binding("r", "read", "mark read", id="mail-read"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, Row] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield keyed_table(COLUMNS, id="mail-table")
        yield Static(id="mail-body")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        rows = {m.id: mail_row(m, snapshot) for m in snapshot.mail}
        table = self.query_one(DataTable)
        self._rows = sync_table(table, [k for k, _ in COLUMNS], rows, self._rows)
        table.border_title = f"{len(rows)} unread for the overseer"
        self._preview(snapshot)

    def _preview(self, snapshot: TownSnapshot) -> None:
        key = cursor_key(self.query_one(DataTable))
        message = next((m for m in snapshot.mail if m.id == key), None)
        body = self.query_one("#mail-body", Static)
        if message is None:
            body.update(Text("no unread mail", style="dim"))
            return
        body.update(Text.assemble((message.subject, "bold"), "\n",
                                  (f"from {message.sender} · {message.timestamp}", "dim"),
                                  "\n\n", message.body))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        if self.town_app.snapshot is not None:
            self._preview(self.town_app.snapshot)

    def action_read(self) -> None:
        key = cursor_key(self.query_one(DataTable))
        if key is None or self.town_app.config.read_only:
            return
        town = self.town_app.town

        def read() -> str:
            from gastown_tui.ops import mail as mail_ops
            from gastown_tui.ops.context import open_store

            store = open_store(town)
            try:
                mail_ops.read(store, "overseer", key)
            finally:
                store.close_connection()
            return f"{key} marked read"

        self.town_app.run_verb("read mail", read)
