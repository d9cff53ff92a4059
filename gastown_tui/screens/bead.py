"""BeadScreen: one bead in full (bd show), read from the store in a worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from gastown_tui.model.snapshot import TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.town.errors import GasTownError


class BeadLoaded(Message):
    def __init__(self, details: dict[str, Any] | None, error: str = "") -> None:
        super().__init__()
        self.details = details
        self.error = error


def bead_text(bead: dict[str, Any]) -> Text:
    text = Text.assemble((bead["id"], "bold cyan"), "  ", (bead.get("title", ""), "bold"), "\n")
    facts = [f"status {bead.get('status', '')}", f"P{bead.get('priority', 2)}",
             bead.get("issue_type", "task")]
    if bead.get("assignee"):
        facts.append(f"assignee {bead['assignee']}")
    if bead.get("labels"):
        facts.append("labels " + ", ".join(bead["labels"]))
    text.append(" · ".join(facts) + "\n", style="dim")
    text.append(f"created {bead.get('created_at', '')}  updated {bead.get('updated_at', '')}\n",
                style="dim")
    if bead.get("description"):
        text.append("\n" + bead["description"].rstrip() + "\n")
    for key, title in (("dependencies", "Depends on"), ("dependents", "Needed by")):
        if bead.get(key):
            text.append(f"\n{title}\n", style="bold")
            for other in bead[key]:
                text.append(f"  {other.get('dependency_type', '')}: ", style="dim")
                text.append(other["id"], style="cyan")
                text.append(f" [{other.get('status', '')}] {other.get('title', '')}\n")
    for comment in bead.get("comments", []) or []:
        text.append(f"\n{comment.get('author', '')} {comment.get('created_at', '')}\n",
                    style="dim")
        text.append(str(comment.get("text", "")) + "\n")
    return text


class BeadScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("bead.tcss")
    TITLE = "bead"
    BINDINGS = [Binding("escape", "app.pop_screen", "back", id="bead-back")]

    def __init__(self, bead_id: str) -> None:
        super().__init__()
        self.bead_id = bead_id
        self._seen_seq = -1

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with VerticalScroll(id="bead-scroll"):
            yield Static(Text(f"loading {self.bead_id}…", style="dim"), id="bead-body")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#bead-scroll").focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        if snapshot.store_seq != self._seen_seq:  # the store moved: the bead may have too
            self._seen_seq = snapshot.store_seq
            self.load()

    @work(thread=True, group="bead-load", exclusive=True, exit_on_error=False,
          description="Reading a bead")
    def load(self) -> None:
        from gastown_tui.ops.context import open_store

        try:
            store = open_store(self.room.town)
            try:
                details = store.details(self.bead_id)
            finally:
                store.close_connection()
        except GasTownError as exc:
            self.post_message(BeadLoaded(None, exc.problem))
            return
        self.post_message(BeadLoaded(details))

    @on(BeadLoaded)
    def _loaded(self, message: BeadLoaded) -> None:
        body = self.query_one("#bead-body", Static)
        if message.details is None:
            body.update(Text(message.error, style="bold red"))
        else:
            body.update(bead_text(message.details))
