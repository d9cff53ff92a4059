"""Messages the control room's workers post to the app: facts, newest superseding older ones.

Thread workers only post these; the handlers on the app own every state change."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from gastown_tui.model.panes import PaneUpdated
from gastown_tui.model.snapshot import TownSnapshot

__all__ = ["ActionFinished", "PaneUpdated", "PanesPolled", "PanesUpdated", "TownChanged"]


@dataclass
class TownChanged(Message, bubble=False):
    """A new snapshot of the town. A queued older one is useless once this one exists."""

    snapshot: TownSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TownChanged)


@dataclass
class PanesUpdated(Message, bubble=False):
    """One observer tick's PaneUpdated news, posted as one message: each post from the thread
    wakes the event loop, and thirty printing panes made that a cost of its own."""

    updates: tuple[PaneUpdated, ...]

    def can_replace(self, message: Message) -> bool:
        if not isinstance(message, PanesUpdated):
            return False
        covered = {(u.session, u.history) for u in self.updates}
        return all((u.session, u.history) in covered for u in message.updates)


@dataclass
class PanesPolled(Message, bubble=False):
    """One observer tick finished: which sessions have panes, and tmux's error if it failed;
    `hosts`: (host, why it is not followed, '' when it is) for each of the town's hosts."""

    sessions: frozenset[str]
    error: str = ""
    hosts: tuple[tuple[str, str], ...] = ()

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PanesPolled)


@dataclass
class ActionFinished(Message, bubble=False):
    """An action's result, shown as a flash message (severity: information|warning|error)."""

    text: str
    severity: str = "information"
