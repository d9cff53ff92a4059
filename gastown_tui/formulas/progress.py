"""Molecule progress: a formula's steps as a checklist, given each step bead's status.

The UI and `gt prime --hook` show a molecule as a checklist; this module decides, from bead
statuses alone, which steps are done, which one is current, and which wait on others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from gastown_tui.formulas.model import Step

DONE_STATUSES = frozenset({"closed", "tombstone"})
ACTIVE_STATUSES = frozenset({"in_progress", "hooked", "pinned"})


class StepState(StrEnum):
    DONE = "done"
    ACTIVE = "active"  # its bead is in progress or hooked
    READY = "ready"  # not started, everything it needs is done
    WAITING = "waiting"  # not started, waits on steps not done yet
    BLOCKED = "blocked"  # its bead says blocked
    GATED = "gated"  # parked on an open gate (a timer, a person, a CI run, another bead)
    DEFERRED = "deferred"


class ChecklistItem(NamedTuple):
    id: str
    title: str
    state: StepState


class MoleculeProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    done: int
    total: int
    current: str | None  # the step to work on now: the first active one, else the first ready
    items: tuple[ChecklistItem, ...]

    @property
    def complete(self) -> bool:
        return self.done == self.total

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def checklist(self) -> list[tuple[str, str, str]]:
        """`(step id, title, state)` triples, in step order."""
        return [(item.id, item.title, item.state.value) for item in self.items]


_MARKS = {
    StepState.DONE: "[x]",
    StepState.ACTIVE: "[>]",
    StepState.READY: "[ ]",
    StepState.WAITING: "[ ]",
    StepState.BLOCKED: "[!]",
    StepState.GATED: "[⏸]",
    StepState.DEFERRED: "[-]",
}


def molecule_progress(
    steps: Sequence[Step | str | tuple[str, str]], statuses: Mapping[str, str]
) -> MoleculeProgress:
    """Progress of `steps` (in order) given `statuses`: step id -> bead status.

    Steps may be `Step` models (their `needs` decide readiness) or bare ids / `(id, title)`
    pairs, which are taken as a sequence: each waits on the one before. A step with no status
    has not started.
    """
    rows: list[tuple[str, str, tuple[str, ...] | None]] = []
    for step in steps:
        if isinstance(step, Step):
            rows.append((step.id, step.display_title, step.all_needs))
        elif isinstance(step, str):
            rows.append((step, step, None))
        else:
            rows.append((step[0], step[1] or step[0], None))
    done_ids = {sid for sid, _, _ in rows if statuses.get(sid, "") in DONE_STATUSES}
    items: list[ChecklistItem] = []
    previous_done = True
    for sid, title, needs in rows:
        status = statuses.get(sid, "")
        if sid in done_ids:
            state = StepState.DONE
        elif status in ACTIVE_STATUSES:
            state = StepState.ACTIVE
        elif status == "blocked":
            state = StepState.BLOCKED
        elif status == "gated":  # the caller's word for "an open gate blocks this step"
            state = StepState.GATED
        elif status == "deferred":
            state = StepState.DEFERRED
        else:
            met = previous_done if needs is None else all(n in done_ids for n in needs)
            state = StepState.READY if met else StepState.WAITING
        items.append(ChecklistItem(sid, title, state))
        previous_done = sid in done_ids
    current = next((i.id for i in items if i.state is StepState.ACTIVE), None)
    if current is None:
        current = next((i.id for i in items if i.state is StepState.READY), None)
    return MoleculeProgress(
        done=len(done_ids), total=len(rows), current=current, items=tuple(items)
    )


def format_checklist(progress: MoleculeProgress) -> str:
    """Plain-text checklist, one line per step, with the current step marked."""
    lines = [f"Progress: {progress.done}/{progress.total} steps done"]
    for item in progress.items:
        pointer = "  <- current" if item.id == progress.current else ""
        lines.append(f"{_MARKS[item.state]} {item.id}: {item.title}{pointer}")
    return "\n".join(lines)
