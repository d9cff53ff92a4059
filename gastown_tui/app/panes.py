"""Live pane screens: what the pane-observer worker asks tmux each tick, and what it posts.

The worker holds one PaneObserver (one tmux control-mode client). Each tick is one
`poll_changes` (a `list-panes` plus a capture of the panes that moved); `PaneTracker` turns the
result into messages for the sessions the screens currently show. A screen that did not change
posts nothing, so it causes no refresh. Sessions that need scrollback (the Mayor's chat, a
zoomed polecat) get one extra capture with history when they changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gastown_tui.app.messages import PanesPolled, PaneUpdated
from gastown_tui.tmux.observer import PaneState

HISTORY_LINES = 1000


class PaneSource(Protocol):
    """The part of `gastown_tui.tmux.observer.PaneObserver` the control room uses."""

    @property
    def panes(self) -> dict[str, PaneState]: ...

    def poll_changes(self, lines: int | None = None, colours: bool = False,
                     join: bool = True, only: Iterable[str] | None = None
                     ) -> dict[str, list[str]]: ...

    def capture(self, pane_or_session: str, lines: int | None = None, colours: bool = False,
                join: bool = True) -> list[str]: ...

    def close(self) -> None: ...


ObserverFactory = Callable[[Path], PaneSource]


def town_observer(root: Path) -> PaneSource:
    """The real observer: the town's tmux socket, and one control-mode client per host of
    the town over ssh (each connects on first use)."""
    from gastown_tui.hosts.observer import TownObserver

    return TownObserver(root)


@dataclass
class PaneTracker:
    """What the observer worker remembers between ticks. Used by one thread at a time."""

    latest: dict[str, tuple[str, ...]] = field(default_factory=dict)
    posted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deep_posted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sessions: frozenset[str] | None = None
    error: str = ""
    hosts: tuple[tuple[str, str], ...] = ()

    def tick(self, source: PaneSource, followed: Iterable[str] | None, deep: Iterable[str],
             history_lines: int = HISTORY_LINES
             ) -> tuple[list[PaneUpdated], PanesPolled | None]:
        """`followed` None follows every session (before the screens know what they show)."""
        deep = set(deep)
        # Only the panes on screen are captured; the rest are just listed (idle CPU budget).
        changed = source.poll_changes(
            colours=True, only=None if followed is None else set(followed) | deep)
        panes = source.panes
        session_of: dict[str, str] = {}
        activity: dict[str, int] = {}
        for pane_id, state in sorted(panes.items()):
            if state.session not in activity:  # a session's first pane stands for it
                session_of[pane_id] = state.session
                activity[state.session] = state.activity
        moved = set()
        for pane_id, lines in changed.items():
            session = session_of.get(pane_id)
            if session is not None:
                self.latest[session] = tuple(lines)
                moved.add(session)
        alive = frozenset(activity)
        shown = set(alive if followed is None else followed)
        for gone in set(self.latest) - alive:
            self.latest.pop(gone)
            self.posted.pop(gone, None)
            self.deep_posted.pop(gone, None)
        updates = []
        for session in sorted(shown):
            screen = self.latest.get(session)
            if screen is not None and self.posted.get(session) != screen:
                self.posted[session] = screen
                updates.append(PaneUpdated(session, screen, activity=activity.get(session, 0)))
        for session in list(self.deep_posted):
            if session not in deep:  # asked again later, it is captured again
                del self.deep_posted[session]
        for session in sorted(deep & alive):
            if session in moved or session not in self.deep_posted:
                lines = tuple(source.capture(session, lines=history_lines, colours=True))
                if self.deep_posted.get(session) != lines:
                    self.deep_posted[session] = lines
                    updates.append(PaneUpdated(session, lines, history=True,
                                               activity=activity.get(session, 0)))
        polled = None
        # Other hosts: one that stopped answering is reported, its sessions kept (unknown).
        hosts = tuple(sorted(getattr(source, "host_errors", {}).items()))
        if alive != self.sessions or self.error or hosts != self.hosts:
            polled = PanesPolled(alive, hosts=hosts)
        self.sessions, self.error, self.hosts = alive, "", hosts
        return updates, polled

    def failed(self, error: str) -> PanesPolled | None:
        """tmux did not answer; report it once, and forget the screens (they may be gone)."""
        first = error != self.error
        self.error = error
        self.sessions = frozenset()
        self.latest.clear()
        self.posted.clear()
        self.deep_posted.clear()
        return PanesPolled(frozenset(), error) if first else None
