"""The control room's theme, kept in the town's settings (settings/config.json,
control_room.theme) so a restart comes back in it. The names are Textual's themes: the CLI
checks them (this layer never imports Textual)."""

from __future__ import annotations

from gastown_tui.ops.town_config import load, set_value
from gastown_tui.town.errors import ValidationError
from gastown_tui.town.layout import Town

KEY = "control_room.theme"


def get_theme(town: Town) -> str:
    """The saved theme's name, '' when none is saved."""
    section = load(town).get("control_room")
    value = section.get("theme") if isinstance(section, dict) else None
    return value if isinstance(value, str) else ""


def set_theme(town: Town, name: str, *, known: list[str], actor: str = "overseer") -> str:
    if name not in known:
        raise ValidationError(f"unknown theme: {name}",
                              fix="use 'gt theme --list' to see the available themes")
    stored = set_value(town, KEY, name, actor=actor)
    return str(stored)


def clear_theme(town: Town, *, actor: str = "overseer") -> None:
    if get_theme(town):
        set_value(town, KEY, None, actor=actor)
