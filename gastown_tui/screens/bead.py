"""BeadScreen: one bead in full (bd show), read from the store in a worker."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from gastown_tui.model.snapshot import BeadDetail, TownSnapshot
from gastown_tui.model.sources import read_bead_detail
from gastown_tui.screens.base import TownScreen
from gastown_tui.town.errors import GasTownError


class BeadLoaded(Message):
    def __init__(self, detail: BeadDetail | None, error: str = "") -> None:
        super().__init__()
        self.detail = detail
        self.error = error


def bead_text(bead: BeadDetail) -> Text:
    text = Text.assemble((bead.id, "bold cyan"), "  ", (bead.title, "bold"), "\n")
    facts = [f"status {bead.status}", f"P{bead.priority}", bead.issue_type]
    if bead.assignee:
        facts.append(f"assignee {bead.assignee}")
    if bead.labels:
        facts.append("labels " + ", ".join(bead.labels))
    text.append(" · ".join(facts) + "\n", style="dim")
    text.append(f"created {bead.created_at}  updated {bead.updated_at}\n", style="dim")
    if bead.description:
        text.append("\n" + bead.description.rstrip() + "\n")
    for others, title in ((bead.dependencies, "Depends on"), (bead.dependents, "Needed by")):
        if others:
            text.append(f"\n{title}\n", style="bold")
            for other in others:
                text.append(f"  {other.dependency_type}: ", style="dim")
                text.append(other.id, style="cyan")
                text.append(f" [{other.status}] {other.title}\n")
    for comment in bead.comments:
        text.append(f"\n{comment.author} {comment.created_at}\n", style="dim")
        text.append(comment.text + "\n")
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
        try:
            detail = read_bead_detail(self.room.town, self.bead_id)
        except GasTownError as exc:
            self.post_message(BeadLoaded(None, exc.problem))
            return
        self.post_message(BeadLoaded(detail))

    @on(BeadLoaded)
    def _loaded(self, message: BeadLoaded) -> None:
        body = self.query_one("#bead-body", Static)
        if message.detail is None:
            body.update(Text(message.error, style="bold red"))
        else:
            body.update(bead_text(message.detail))
