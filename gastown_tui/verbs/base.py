"""Verb: one thing the operator can do from the control room, and Job: what a verb's thread
worker is given (the town, one store opened on first use and closed after, progress lines)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from textual.message import Message
from textual.screen import Screen

from gastown_tui.ops.context import open_store
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore
from gastown_tui.verbs.messages import VerbProgress
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.target import Target

Group = Literal["agents", "beads", "merges", "mail", "escalations"]


@dataclass(frozen=True)
class Outcome:
    """What a verb did, in one line for the operator."""

    text: str
    severity: str = "information"


@dataclass
class Job:
    """A verb's run in its worker thread: opens the store once, for the whole verb."""

    town: Town
    verb: str
    post: Callable[[Message], object]
    _store: BeadStore | None = field(default=None, repr=False)

    @property
    def store(self) -> BeadStore:
        if self._store is None:
            self._store = open_store(self.town)
        return self._store

    def progress(self, text: str, severity: str = "information") -> None:
        self.post(VerbProgress(self.verb, text, severity))

    def close(self) -> None:
        if self._store is not None:
            self._store.close_connection()
            self._store = None


class Verb:
    """A verb of the control room. Subclasses set the class attributes, say `why_not`, and
    either `perform` (a thread worker: ops calls, tmux, git) or, with `in_thread = False`,
    `act` (the event loop: open a screen, hand the terminal to tmux)."""

    id: ClassVar[str]
    key: ClassVar[str]  # the key screens bind it to (Textual's key names)
    label: ClassVar[str]
    group: ClassVar[Group]
    tooltip: ClassVar[str] = ""
    dangerous: ClassVar[bool] = False  # changes the town: hidden with --read-only
    in_thread: ClassVar[bool] = True
    show: ClassVar[bool] = True  # in the footer (help and palette list every verb)
    clears_marks: ClassVar[bool] = False  # the marks it used are spent once it runs

    def why_not(self, target: Target, room: Room) -> str | None:
        """Why this verb cannot run on `target` now (one line), or None when it can."""
        return None

    def ask(self, target: Target, room: Room) -> Screen[Any] | None:
        """The dialog that asks what the verb needs (its answer goes to perform/act); None
        runs it at once."""
        return None

    def perform(self, job: Job, target: Target, answer: Any) -> Outcome:
        """The work, in a thread worker: raise GasTownError for a one-line failure."""
        raise NotImplementedError(self.id)

    def act(self, room: Room, target: Target, answer: Any) -> None:
        """The work on the event loop (for verbs with `in_thread = False`)."""
        raise NotImplementedError(self.id)

    def __repr__(self) -> str:
        return f"<verb {self.id}>"
