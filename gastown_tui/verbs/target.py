"""Target: what a screen has selected, the one thing every verb is asked about."""

from __future__ import annotations

from dataclasses import dataclass

from gastown_tui.model.snapshot import AgentView


@dataclass(frozen=True, slots=True)
class Target:
    """The selection of a screen: the row under the cursor and the marked rows.

    A field is empty when the screen has nothing of that kind selected (the beads screen has
    no agent, the wall has no bead under a cursor)."""

    agent: AgentView | None = None
    marked_agents: tuple[AgentView, ...] = ()
    bead: str | None = None
    marked_beads: tuple[str, ...] = ()
    mr: str | None = None
    mail: str | None = None
    escalation: str | None = None  # the escalation under Needs-you's cursor
    pane: str = ""  # the pane (or list) the selection comes from: needs, queue, mail, …
    text: str = ""  # a line typed on the screen (the Mayor input)

    @property
    def agents(self) -> tuple[AgentView, ...]:
        """The agents a bulk verb acts on: the marked ones, else the one selected."""
        if self.marked_agents:
            return self.marked_agents
        return (self.agent,) if self.agent is not None else ()

    @property
    def beads(self) -> tuple[str, ...]:
        """The beads a bulk verb acts on: the marked ones, else the one under the cursor."""
        if self.marked_beads:
            return self.marked_beads
        return (self.bead,) if self.bead else ()


NOTHING = Target()
