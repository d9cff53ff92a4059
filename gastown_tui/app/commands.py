"""The command palette (`:` or ctrl+p): every action of the current screen, every screen, and
the verbs for each agent and convoy by name."""

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
from gastown_tui.screens.room import ControlRoom


class PaletteApp(ControlRoom, Protocol):
    """What the palette needs of the app (GasTownApp, which imports this module)."""

    def get_key_display(self, binding: Binding) -> str: ...
    def run_action(self, action: str, default_namespace: object = None) -> object: ...

SCREEN_HELP = {"main": "the five panes", "convoys": "every open and recently landed convoy",
               "beads": "work beads: mark, sling, group into convoys",
               "mail": "unread mail for the overseer", "events": "the town's event log"}


@dataclass(frozen=True)
class Command:
    title: str
    run: Callable[[], object]
    help: str = ""


def town_commands(app: PaletteApp, screen: Screen) -> list[Command]:
    """The palette's commands for `screen` (the one the palette was opened on)."""
    commands: list[Command] = []
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or not active.enabled or binding.action in seen:
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
    writable = not app.config.read_only
    for agent in snapshot.agents:
        if agent.role == "polecat":
            commands.append(Command(f"zoom {agent.label}",
                                    partial(app.open_screen, f"polecat:{agent.address}"),
                                    f"{agent.state}: {agent.evidence}"))
            if writable:
                commands.append(Command(f"nuke {agent.label}",
                                        partial(screen.nuke_agent, agent), "asks first"))
        if agent.session_running:
            if writable:
                commands.append(Command(f"nudge {agent.label}",
                                        partial(screen.nudge_agent, agent.address)))
            commands.append(Command(f"attach {agent.label}", partial(screen.attach_agent, agent),
                                    f"tmux session {agent.session}"))
    for convoy in snapshot.convoys:
        commands.append(Command(f"convoy {convoy.id} {convoy.title}",
                                partial(app.open_screen, f"convoy:{convoy.id}"),
                                f"{convoy.completed}/{convoy.total} done"))
    mayor = snapshot.agent("mayor")
    if writable and (mayor is None or not mayor.session_running):
        commands.append(Command("start the Mayor", screen.action_start_mayor))
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
