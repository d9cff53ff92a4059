"""Room: what the verbs (and the screens) use of the control room app, as a Protocol. The
verbs sit below the app in the layers, so they name what they need instead of importing
GasTownApp; the app satisfies it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker

from gastown_tui.model.marks import Marks
from gastown_tui.model.panes import PaneFeed
from gastown_tui.model.snapshot import TownSnapshot
from gastown_tui.town.layout import Town


class RoomConfig(Protocol):
    read_only: bool
    live: bool
    story: Any  # the demo's story hook (AppConfig.story), None outside the demo


class Room(Protocol):
    """The control room as the verbs and screens see it."""

    config: RoomConfig
    town: Town
    snapshot: TownSnapshot | None
    panes: PaneFeed
    cpu_percent: float | None
    marks: Marks

    def open_screen(self, spec: str) -> None: ...
    def follow_screen(self, screen: Screen[Any] | None = None) -> None: ...
    def adopt_first_read(self) -> None: ...
    def flash(self, text: str, severity: str = "information") -> None: ...
    def post_message(self, message: Message) -> bool: ...
    def push_screen(self, screen: Screen[Any], callback: Callable[[Any], None] | None = None
                    ) -> Any: ...
    def suspend(self) -> AbstractContextManager[None]: ...
    def refresh(self, *, repaint: bool = True, layout: bool = False) -> Any: ...
    def run_worker(self, work: Callable[[], Any], name: str | None = "", group: str = "default",
                   description: str = "", exit_on_error: bool = True, start: bool = True,
                   exclusive: bool = False, thread: bool = False) -> Worker[Any]: ...
