"""The live pane feed as one immutable value: every followed session's last screen, the
scrollback of those shown with history, their activity counters, which sessions exist, and
tmux's error when it is down. The app replaces it whole on every observer tick; screens and
widgets watch it (no Textual here: it is plain data)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from gastown_tui.model.snapshot import AgentView, AttentionItem, TownSnapshot
from gastown_tui.runtimes.screen import ScreenSpec, read_screen, screen_state, work_lines


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
    host_errors: Mapping[str, str] = field(default_factory=_frozen)  # host -> why unfollowed

    def with_updates(self, updates: Iterable[PaneUpdated]) -> PaneFeed:
        updates = tuple(updates)
        screens, history, activity = dict(self.screens), dict(self.history), dict(self.activity)
        for update in updates:
            (history if update.history else screens)[update.session] = update.lines
            activity[update.session] = update.activity
        return PaneFeed(_frozen(screens), _frozen(history), _frozen(activity), self.sessions,
                        self.tmux_error, updates, self.host_errors)

    def with_sessions(self, sessions: frozenset[str], tmux_error: str,
                      host_errors: Mapping[str, str] | None = None) -> PaneFeed:
        hosts = self.host_errors if host_errors is None else _frozen(host_errors)
        return PaneFeed(self.screens, self.history, self.activity, sessions, tmux_error, (),
                        hosts)


EMPTY_FEED = PaneFeed()


# A pane's screen is read once per (screen, spec), not once per asker: the header, Needs-you
# and the wall each ask about every agent on every tick, and a screen only changes when its
# pane does. Keyed by the screen's id; the entry holds the screen, so the id is not reused.
_HELD: dict[int, tuple[Sequence[str], ScreenSpec, tuple[str, str] | None]] = {}
_HELD_KEPT = 256


def _held_on(spec: ScreenSpec, screen: Sequence[str]) -> tuple[str, str] | None:
    hit = _HELD.get(id(screen))
    if hit is not None and hit[0] is screen and (hit[1] is spec or hit[1] == spec):
        return hit[2]
    held = screen_state(read_screen(spec, screen))
    _HELD[id(screen)] = (screen, spec, held)
    while len(_HELD) > _HELD_KEPT:
        _HELD.pop(next(iter(_HELD)), None)  # the oldest first
    return held


def as_seen(agent: AgentView, screen: Sequence[str]) -> AgentView:
    """The agent as its live screen shows it: a dialog or a rate limit on screen wins over the
    state the snapshot derived (`working` is never shown for an agent held by a dialog)."""
    if agent.screen is None or not agent.session_running or not screen:
        return agent
    held = _held_on(agent.screen, screen)
    if held is None:
        return agent
    return replace(agent, state=held[0], evidence=held[1])


def needs_you_seen(snapshot: TownSnapshot, screens: Mapping[str, Sequence[str]]
                   ) -> tuple[AttentionItem, ...]:
    """Needs-you as the wall sees it: the snapshot reads no panes, so an agent held by a
    dialog or a rate limit on its live screen joins the list here (beside the other held
    polecats, before gates and mail), and the header, the list and the wall agree."""
    items = list(snapshot.needs_you)
    listed = {item.agent or item.key for item in items}
    held = []
    for agent in snapshot.agents:
        if agent.address in listed or agent.screen is None or not agent.session_running:
            continue
        seen = as_seen(agent, screens.get(agent.session, ()))
        if seen is not agent and seen.state in ("blocked", "rate-limited"):
            held.append(AttentionItem(kind=seen.state, key=agent.address,
                                      text=f"{agent.label} {seen.state}: {seen.evidence}",
                                      ts=agent.hooked_since, agent=agent.address))
    if not held:
        return snapshot.needs_you
    at = next((i for i, item in enumerate(items) if item.kind in ("gate", "mail")), len(items))
    return tuple(items[:at] + held + items[at:])


def agent_lines(agent: AgentView, screen: Sequence[str], count: int) -> list[str]:
    """The last `count` lines of the agent's own work: its CLI's input box, footer and hints
    skipped, so a tile shows what it last did and said."""
    lines = work_lines(agent.screen, screen) if agent.screen is not None else list(screen)
    return [line for line in lines if line.strip()][-count:]
