"""Marks: the rows the operator picked with space for a bulk verb, as one immutable value.

The app holds the one current value (a reactive, `app.marks`); the beads screen and the polecat
wall draw from it and the verbs read it, so a mark set on one screen is the same mark on
another, and marking is replacing the value (watchers run), never mutating a shared set."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Marks:
    beads: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()  # agent addresses

    def toggled_bead(self, bead_id: str) -> Marks:
        return replace(self, beads=self.beads ^ {bead_id})

    def toggled_agent(self, address: str) -> Marks:
        return replace(self, agents=self.agents ^ {address})

    def without_beads(self) -> Marks:
        return replace(self, beads=frozenset())

    def without_agents(self) -> Marks:
        return replace(self, agents=frozenset())


NO_MARKS = Marks()
