"""The scheduler's queue as the control room shows it: the beads waiting for a slot."""

from __future__ import annotations

from gastown_tui.ops.scheduler import contexts
from gastown_tui.town.store import BeadStore


def read_queue(store: BeadStore) -> tuple[str, ...]:
    """The work beads of the open sling contexts, oldest first."""
    return tuple(str(c["fields"]["work_bead_id"]) for c in contexts(store))
