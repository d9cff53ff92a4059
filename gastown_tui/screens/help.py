"""HelpScreen: every key of the screen underneath, from its BINDINGS (so it never drifts)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static


def keys_table(screen: Screen, key_display) -> Table:
    """One row per action: all its keys, its description and tooltip; greyed if unavailable."""
    rows: dict[tuple[str, str], tuple[list[str], str, str, bool]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        # Our keys all carry an id; Textual's own scrolling keys would bury them.
        if not binding.description or not binding.id:
            continue
        slot = (binding.action, binding.description)
        keys, _, _, _ = rows.setdefault(slot, ([], binding.description, active.tooltip or "",
                                               active.enabled))
        keys.append(key_display(binding.__class__(key, binding.action, binding.description)))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(style="dim")
    for keys, description, tooltip, enabled in rows.values():
        style = "" if enabled else "dim strike"
        table.add_row(Text(" ".join(dict.fromkeys(keys)), style=style),
                      Text(description, style=style), tooltip)
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_name("help.tcss")
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close", id="help-close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        name = getattr(self.under, "TITLE", "") or type(self.under).__name__
        with VerticalScroll(id="dialog"):
            yield Label(f"Keys — {name}", id="title")
            yield Static(keys_table(self.under, self.app.get_key_display), id="keys")
            yield Label("tab / shift+tab move between panes. Struck-out keys need a selection "
                        "first. : or ctrl+p opens the command palette with every action and "
                        "screen. esc closes.", classes="hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
