"""The live pane feed as one immutable value: every followed session's last screen, the
scrollback of those shown with history, their activity counters, which sessions exist, and
tmux's error when it is down. The app replaces it whole on every observer tick; screens and
widgets watch it (no Textual here: it is plain data)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class PaneUpdated:
    """A followed session's screen changed (`history`: it includes scrollback)."""

    session: str
    lines: tuple[str, ...]
    history: bool = False
    activity: int = 0


def _frozen(mapping: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class PaneFeed:
    screens: Mapping[str, tuple[str, ...]] = field(default_factory=_frozen)
    history: Mapping[str, tuple[str, ...]] = field(default_factory=_frozen)
    activity: Mapping[str, int] = field(default_factory=_frozen)
    sessions: frozenset[str] = frozenset()
    tmux_error: str = ""
    changed: tuple[PaneUpdated, ...] = ()  # what this value brought over the one before

    def with_updates(self, updates: Iterable[PaneUpdated]) -> PaneFeed:
        updates = tuple(updates)
        screens, history, activity = dict(self.screens), dict(self.history), dict(self.activity)
        for update in updates:
            (history if update.history else screens)[update.session] = update.lines
            activity[update.session] = update.activity
        return PaneFeed(_frozen(screens), _frozen(history), _frozen(activity), self.sessions,
                        self.tmux_error, updates)

    def with_sessions(self, sessions: frozenset[str], tmux_error: str) -> PaneFeed:
        return PaneFeed(self.screens, self.history, self.activity, sessions, tmux_error, ())


EMPTY_FEED = PaneFeed()
