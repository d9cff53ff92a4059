"""NudgeModal: the text for one or more agents, typed literally into their panes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet

MODES = (("wait-idle", "when idle (wait for its prompt, else queue)"),
         ("immediate", "now (type it in at once)"),
         ("queue", "queue (delivered at its next prompt)"))


@dataclass(frozen=True)
class NudgeRequest:
    text: str
    mode: str


class NudgeModal(ModalScreen[NudgeRequest | None]):
    CSS_PATH = Path(__file__).with_name("nudge.tcss")
    BINDINGS = [Binding("escape", "cancel", "cancel", id="nudge-cancel")]

    def __init__(self, targets: list[str]) -> None:
        super().__init__()
        self.targets = targets

    def compose(self) -> ComposeResult:
        who = self.targets[0] if len(self.targets) == 1 else f"{len(self.targets)} agents"
        with Vertical(id="dialog"):
            yield Label(f"Nudge {who}", id="title")
            if len(self.targets) > 1:
                yield Label(", ".join(self.targets), classes="hint")
            yield Input(placeholder="message (sent as typed text, never as keys)",
                        id="nudge-text")
            with RadioSet(id="nudge-mode"):
                for index, (mode, label) in enumerate(MODES):
                    yield RadioButton(label, value=index == 0, name=mode)
            yield Label("enter sends · tab picks when · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#nudge-text", Input).focus()

    @property
    def mode(self) -> str:
        pressed = self.query_one(RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else MODES[0][0]

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(NudgeRequest(event.value, self.mode))
