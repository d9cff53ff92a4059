"""MayorChat: the Mayor's live screen with scrollback, and a line to type to the Mayor."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from gastown_tui.model.snapshot import AgentView
from gastown_tui.widgets.format import STATE_STYLE
from gastown_tui.widgets.pane_view import PaneView


def mayor_status(agent: AgentView | None, read_only: bool) -> Text:
    if agent is None or not agent.session_running:
        text = Text("● not running", style="dim")
        if not read_only:
            text.append("  — M starts it", style="italic")
        return text
    text = Text("● running", style=STATE_STYLE["running"])
    text.append(f"  {agent.session}", style="dim")
    if agent.pending_nudges:
        text.append(f"  ✉{agent.pending_nudges} queued", style="cyan")
    return text


class MayorChat(Vertical):
    """Typing a line and pressing enter posts `Said`; the app nudges the Mayor with it."""

    DEFAULT_CSS = """
        MayorChat #mayor-status {
            height: 1;
        }

        MayorChat #mayor-screen {
            height: 1fr;
        }

        MayorChat #mayor-input {
            height: 1;
            border: none;
        }
    """

    class Said(Message):
        def __init__(self, chat: MayorChat, text: str) -> None:
            super().__init__()
            self.chat = chat
            self.text = text

        @property
        def control(self) -> MayorChat:
            return self.chat

    def __init__(self, *, read_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.read_only = read_only
        self._status: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static(mayor_status(None, self.read_only), id="mayor-status")
        yield PaneView(placeholder="(no Mayor screen yet)", wrap=True, id="mayor-screen")
        yield Input(placeholder="read-only" if self.read_only else "type to the Mayor ⏎",
                    disabled=self.read_only, id="mayor-input", compact=True)

    def show_agent(self, agent: AgentView | None) -> None:
        status = mayor_status(agent, self.read_only)
        if status != self._status:
            self._status = status
            self.query_one("#mayor-status", Static).update(status)

    def show_screen(self, lines: tuple[str, ...]) -> None:
        self.query_one(PaneView).show(lines)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            event.input.value = ""
            self.post_message(self.Said(self, text))
