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
from gastown_tui.verbs.registry import verb_bindings
from gastown_tui.verbs.target import Target
from gastown_tui.widgets.format import age
from gastown_tui.widgets.keyed_table import KeyedTable, Row

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
        *verb_bindings("read-mail", "read-all-mail"),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield KeyedTable(COLUMNS, id="mail-table")
        yield Static(id="mail-body")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(KeyedTable).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        table = self.query_one(KeyedTable)
        table.show_rows({m.id: mail_row(m, snapshot) for m in snapshot.mail})
        table.border_title = f"{len(snapshot.mail)} unread for the overseer"
        self._preview(snapshot)

    def _preview(self, snapshot: TownSnapshot) -> None:
        key = self.query_one(KeyedTable).cursor_key
        message = next((m for m in snapshot.mail if m.id == key), None)
        body = self.query_one("#mail-body", Static)
        if message is None:
            body.update(Text("no unread mail", style="dim"))
            return
        body.update(Text.assemble((message.subject, "bold"), "\n",
                                  (f"from {message.sender} · {message.timestamp}", "dim"),
                                  "\n\n", message.body))

    def selection(self) -> Target:
        return Target(mail=self.query_one("#mail-table", KeyedTable).cursor_key, pane="mail")

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        if self.room.snapshot is not None:
            self._preview(self.room.snapshot)
        self.refresh_bindings()
