"""HelpScreen: every key of the screen underneath, computed from that screen when `?` is
pressed: its verbs with the one answer about each (the same `verb_states` the palette lists),
then its other keys, then the app's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from gastown_tui.screens.base import TownScreen, VerbState
from gastown_tui.verbs.registry import VERB_ACTION

HINT = ("tab / shift+tab move between panes. A dim key cannot run on what is selected now; "
        "the text beside it says why. : or ctrl+p opens the command palette with every action "
        "and screen. esc closes.")


def help_rows(under: Screen, key_display: Callable[[Binding], str]
              ) -> list[tuple[str, str, str, bool]]:
    """(keys, label, tooltip or why not, available) for each key of `under`: its verbs first,
    then its other keys. Verbs hidden by --read-only are left out."""
    rows: list[tuple[str, str, str, bool]] = []
    if isinstance(under, TownScreen):
        for state in under.verb_states():
            if state.available is False:
                continue
            rows.append((verb_keys(state, key_display), state.verb.label,
                         state.why_not or state.verb.tooltip, bool(state.available)))
    others: dict[tuple[str, str], tuple[list[str], str, bool]] = {}
    for key, active in under.active_bindings.items():
        binding = active.binding
        # Our keys all carry an id; Textual's own scrolling keys would bury them.
        if not binding.description or not binding.id or binding.action.startswith(VERB_ACTION):
            continue
        keys, _, _ = others.setdefault((binding.action, binding.description),
                                       ([], active.tooltip or "", active.enabled))
        keys.append(key_display(Binding(key, binding.action, binding.description)))
    for (_, description), (keys, tooltip, enabled) in others.items():
        rows.append((" ".join(dict.fromkeys(keys)), description, tooltip, enabled))
    return rows


def verb_keys(state: VerbState, key_display: Callable[[Binding], str]) -> str:
    return key_display(Binding(state.key, "", state.verb.label))


def keys_table(rows: list[tuple[str, str, str, bool]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(style="dim", overflow="fold")
    for keys, label, note, available in rows:
        style = "" if available else "dim"
        table.add_row(Text(keys, style=style), Text(label, style=style),
                      Text(note, style="italic" if not available else ""))
    return table


class HelpScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_name("help.tcss")
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close", id="help-close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under
        self.rows: list[tuple[str, str, str, bool]] = []

    def compose(self) -> ComposeResult:
        name = getattr(self.under, "TITLE", "") or "main"
        self.rows = help_rows(self.under, self.app.get_key_display)
        read_only = getattr(getattr(self.app, "config", None), "read_only", False)
        with VerticalScroll(id="dialog"):
            yield Label(f"Keys — {name}" + (" (read-only)" if read_only else ""), id="title")
            yield Static(keys_table(self.rows), id="keys")
            yield Static(HINT, id="help-hint", classes="hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
