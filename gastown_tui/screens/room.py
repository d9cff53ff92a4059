"""What the screens use of the control room app, as a Protocol: screens sit below the app in the
layers, so they name what they need instead of importing GasTownApp."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gastown_tui.model.panes import PaneFeed
from gastown_tui.model.snapshot import TownSnapshot
from gastown_tui.town.layout import Town


class RoomConfig(Protocol):
    read_only: bool
    live: bool


class ControlRoom(Protocol):
    """What the screens use of the app (GasTownApp), without importing the layer above."""

    config: RoomConfig
    town: Town
    snapshot: TownSnapshot | None
    panes: PaneFeed
    cpu_percent: float | None
    marked_beads: set[str]

    def open_screen(self, spec: str) -> None: ...
    def follow_screen(self) -> None: ...
    def flash(self, text: str, severity: str = "information") -> None: ...
    def run_verb(self, label: str, verb: Callable[[], tuple[str, str] | str]) -> object: ...
