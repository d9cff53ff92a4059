"""The command palette (`:` or ctrl+p): the verbs of the current screen (the same
`verb_states` the help screen lists, so the two agree), its other keys, every screen, and the
verbs for each agent and convoy by name. A verb that cannot run says why in its help line, and
choosing it says so again; verbs --read-only hides are not offered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from gastown_tui.screens.base import TownScreen
from gastown_tui.screens.registry import SCREEN_NAMES
from gastown_tui.verbs.registry import VERB_ACTION, VERBS
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.runner import availability
from gastown_tui.verbs.target import Target


class PaletteApp(Room, Protocol):
    """What the palette needs of the app (GasTownApp, which imports this module)."""

    def get_key_display(self, binding: Binding) -> str: ...
    def run_action(self, action: str, default_namespace: object = None) -> object: ...

SCREEN_HELP = {"main": "the five panes", "convoys": "every open and recently landed convoy",
               "beads": "work beads: mark, sling, group into convoys",
               "mail": "unread mail for the overseer", "events": "the town's event log"}
# The verbs offered by name for each agent, whatever the screen's selection.
AGENT_VERBS = ("zoom", "nudge", "attach", "watch", "nuke")


@dataclass(frozen=True)
class Command:
    title: str
    run: Callable[[], object]
    help: str = ""
    verb: str = ""  # the verb it runs, if it runs one
    available: bool = True


def town_commands(app: PaletteApp, screen: Screen) -> list[Command]:
    """The palette's commands for `screen` (the one the palette was opened on)."""
    commands: list[Command] = []
    if isinstance(screen, TownScreen):
        target = screen.target()
        for state in screen.verb_states():
            if state.available is False:
                continue
            key = app.get_key_display(Binding(state.key, "", state.verb.label))
            commands.append(Command(f"{state.verb.label} ({key})",
                                    partial(screen.run_verb, state.verb, target),
                                    f"unavailable: {state.why_not}" if state.why_not
                                    else state.verb.tooltip,
                                    verb=state.verb.id, available=state.available is True))
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if (not binding.description or not active.enabled or binding.action in seen
                or binding.action.startswith(VERB_ACTION)):
            continue
        seen.add(binding.action)
        commands.append(Command(f"{binding.description} ({app.get_key_display(binding)})",
                                partial(app.run_action, binding.action, active.node),
                                binding.tooltip))
    for name in SCREEN_NAMES:
        commands.append(Command(f":{name}", partial(app.open_screen, name),
                                f"open the {name} screen: {SCREEN_HELP[name]}"))
    snapshot = app.snapshot
    if snapshot is None or not isinstance(screen, TownScreen):
        return commands
    for agent in snapshot.agents:
        one = Target(agent=agent)
        for verb_id in AGENT_VERBS:
            verb = VERBS[verb_id]
            if availability(verb, one, app) is True:
                commands.append(Command(f"{verb.label} {agent.label}",
                                        partial(screen.run_verb, verb, one),
                                        f"{agent.state}: {agent.evidence}" if verb_id == "zoom"
                                        else verb.tooltip, verb=verb.id))
    for convoy in snapshot.convoys:
        commands.append(Command(f"convoy {convoy.id} {convoy.title}",
                                partial(app.open_screen, f"convoy:{convoy.id}"),
                                f"{convoy.completed}/{convoy.total} done"))
    start = VERBS["start-mayor"]
    if availability(start, Target(), app) is True:
        commands.append(Command("start the Mayor", partial(screen.run_verb, start, Target()),
                                start.tooltip, verb=start.id))
    return commands


class TownCommands(Provider):
    async def discover(self) -> Hits:
        for command in town_commands(cast("PaletteApp", self.app), self.screen):
            yield DiscoveryHit(command.title, command.run, help=command.help or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in town_commands(cast("PaletteApp", self.app), self.screen):
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run,
                          help=command.help or None)
