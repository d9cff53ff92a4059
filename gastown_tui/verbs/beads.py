"""Verbs on beads: sling, convoy from the marked beads, mark, open."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from gastown_tui.verbs.base import Job, Outcome, Verb
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.target import Target

if TYPE_CHECKING:
    from gastown_tui.dialogs.sling import SlingRequest


class Sling(Verb):
    id, key, label, group = "sling", "s", "sling", "beads"
    tooltip = "Hang beads on a new polecat in their rig, or on a running agent"
    dangerous = True
    clears_marks = True

    def why_not(self, target: Target, room: Room) -> str | None:
        if room.snapshot is None:
            return "the town is still loading"
        if not room.snapshot.rigs and not any(a.session_running for a in room.snapshot.agents):
            return "the town has no rig to sling to (gt rig add first)"
        return None

    def ask(self, target: Target, room: Room) -> Screen[Any]:
        from gastown_tui.dialogs.sling import SlingModal, sling_targets

        snapshot = room.snapshot
        assert snapshot is not None
        # Never the selected agent as the default: a busy polecat collected six beads that way.
        return SlingModal(snapshot.beads, sling_targets(snapshot), preselected=target.beads,
                          rigs=snapshot.rigs)

    def perform(self, job: Job, target: Target, answer: SlingRequest) -> Outcome:
        from gastown_tui.ops.sling import sling

        results = sling(job.town, job.store, answer.beads, answer.target)
        return Outcome("slung " + "; ".join(f"{r.bead} → {r.agent} ({r.session})"
                                            for r in results))


class Convoy(Verb):
    id, key, label, group = "convoy", "c", "convoy", "beads"
    tooltip = "Create a convoy tracking the marked beads"
    dangerous = True
    clears_marks = True

    def why_not(self, target: Target, room: Room) -> str | None:
        if not target.marked_beads:
            return "mark beads with space on the beads screen (:beads) first"
        return None

    def ask(self, target: Target, room: Room) -> Screen[Any]:
        from gastown_tui.dialogs.confirm import PromptModal

        return PromptModal(f"Convoy of {len(target.marked_beads)} beads: its name?",
                           "e.g. Auth rework")

    def perform(self, job: Job, target: Target, answer: str) -> Outcome:
        from gastown_tui.ops import convoy as convoy_ops

        beads = list(target.marked_beads)
        convoy = convoy_ops.create(job.town, job.store, answer, beads, owner="overseer")
        return Outcome(f"convoy {convoy['id']} tracks {', '.join(beads)}")


class MarkBead(Verb):
    id, key, label, group = "mark-bead", "space", "mark", "beads"
    tooltip = "Mark the bead under the cursor for sling or convoy"
    in_thread = False

    def why_not(self, target: Target, room: Room) -> str | None:
        return None if target.bead else "no bead under the cursor"

    def act(self, room: Room, target: Target, answer: Any) -> None:
        assert target.bead
        room.marks = room.marks.toggled_bead(target.bead)


class OpenBead(Verb):
    id, key, label, group = "open-bead", "enter", "open", "beads"
    tooltip = "The bead in full: description, dependencies, comments"
    in_thread = False

    def why_not(self, target: Target, room: Room) -> str | None:
        return None if target.bead else "no bead under the cursor"

    def act(self, room: Room, target: Target, answer: Any) -> None:
        room.open_screen(f"bead:{target.bead}")
