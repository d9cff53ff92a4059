"""NukeModal: what destroying a polecat would lose, and a refusal unless it is clean or forced.

The reasons come from `ops.nuke.check_safety`, run in a worker when the dialog opens. With
findings the Nuke button stays disabled until the operator types "force"; the verb itself
refuses again if anything changed meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from gastown_tui.ops.context import open_store
from gastown_tui.ops.nuke import check_safety
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import Town

FORCE_WORD = "force"


@dataclass(frozen=True)
class NukeRequest:
    force: bool


@dataclass
class SafetyChecked(Message):
    reasons: list[str]
    error: str = ""


def findings_text(reasons: list[str], error: str) -> Text:
    if error:
        return Text(error, style="bold red")
    if not reasons:
        return Text("✓ Nothing would be lost: no uncommitted files, no unmerged commits, no open "
                    "merge request, nothing on its hook.", style="green")
    text = Text("Refusing: this polecat would lose\n", style="bold red")
    for reason in reasons:
        text.append(f"  ✗ {reason}\n", style="red")
    text.append(f'Type "{FORCE_WORD}" to nuke anyway (its work is kept in the graveyard).',
                style="italic")
    return text


class NukeModal(ModalScreen[NukeRequest | None]):
    CSS_PATH = Path(__file__).with_name("nuke.tcss")
    BINDINGS = [Binding("escape", "cancel", "cancel", id="nuke-cancel")]

    def __init__(self, town: Town, rig: str, name: str) -> None:
        super().__init__()
        self.town = town
        self.rig = rig
        self.name_ = name
        self.reasons: list[str] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Nuke {self.rig}/{self.name_}?", id="title")
            yield Label("Stops its session, removes its worktree and branch, unhooks its work.",
                        classes="hint")
            yield Static(Text("checking what would be lost…", style="dim"), id="findings")
            yield Input(placeholder=f'type "{FORCE_WORD}" to override', id="force-word",
                        compact=True)
            with Horizontal(id="buttons"):
                yield Button("nuke", variant="error", id="nuke-go", disabled=True)
                yield Button("cancel", id="nuke-no")

    def on_mount(self) -> None:
        self.query_one("#nuke-no", Button).focus()
        self.check()

    @work(thread=True, group="nuke-check", exit_on_error=False, description="Nuke safety check")
    def check(self) -> None:
        try:
            store = open_store(self.town)
            try:
                reasons = check_safety(self.town, store, self.rig, self.name_)
            finally:
                store.close_connection()
        except GasTownError as exc:
            self.post_message(SafetyChecked([], f"cannot check: {exc}"))
            return
        self.post_message(SafetyChecked(reasons))

    @on(SafetyChecked)
    def _checked(self, message: SafetyChecked) -> None:
        self.query_one("#findings", Static).update(findings_text(message.reasons, message.error))
        if message.error:
            return
        self.reasons = message.reasons
        if message.reasons:
            # The refusal names the way past it: what is typed now goes into the box (on the
            # cancel button it vanished, and enter cancelled).
            box = self.query_one("#force-word", Input)
            box.add_class("-shown")
            box.focus()
        else:
            go = self.query_one("#nuke-go", Button)
            go.disabled = False

    @on(Input.Changed, "#force-word")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#nuke-go", Button).disabled = event.value.strip() != FORCE_WORD

    @on(Input.Submitted, "#force-word")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == FORCE_WORD and self.reasons is not None:
            self.dismiss(NukeRequest(force=True))

    @on(Button.Pressed, "#nuke-go")
    def _go(self) -> None:
        if self.reasons is not None:
            self.dismiss(NukeRequest(force=bool(self.reasons)))

    @on(Button.Pressed, "#nuke-no")
    def action_cancel(self) -> None:
        self.dismiss(None)
