"""Verbs on what Needs-you lists: acknowledge or close an escalation (upstream's `gt escalate
ack|close`), and go to the polecat an item concerns."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from gastown_tui.ops import escalate as escalate_ops
from gastown_tui.verbs.base import Job, Outcome, Verb
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.target import Target

PICK_ESCALATION = "pick an escalation in Needs-you (5) first"
OVERSEER = "overseer"


class EscalationVerb(Verb):
    """A verb on the escalation under Needs-you's cursor."""

    dangerous = True

    def why_not(self, target: Target, room: Room) -> str | None:
        return None if target.escalation else PICK_ESCALATION


class AckEscalation(EscalationVerb):
    id, key, label, group = "ack-escalation", "A", "ack", "escalations"
    tooltip = "Acknowledge the escalation: you are on it (it leaves Needs-you)"

    def perform(self, job: Job, target: Target, answer: Any) -> Outcome:
        assert target.escalation
        escalate_ops.acknowledge(job.town, job.store, target.escalation, by=OVERSEER)
        return Outcome(f"{target.escalation} acknowledged")


class CloseEscalation(EscalationVerb):
    id, key, label, group = "close-escalation", "X", "close", "escalations"
    tooltip = "Close the escalation as resolved, saying how"

    def ask(self, target: Target, room: Room) -> Screen[Any]:
        from gastown_tui.dialogs.confirm import PromptModal

        return PromptModal(f"Close {target.escalation}: how was it resolved?",
                           "the reason, kept on the escalation")

    def perform(self, job: Job, target: Target, answer: str) -> Outcome:
        assert target.escalation
        escalate_ops.close_escalation(job.town, job.store, target.escalation, by=OVERSEER,
                                      reason=answer)
        return Outcome(f"{target.escalation} closed")


class GoToPolecat(Verb):
    id, key, label, group = "goto-polecat", "p", "go to", "agents"
    tooltip = "Open the polecat the Needs-you item is about"
    in_thread = False

    def why_not(self, target: Target, room: Room) -> str | None:
        agent = target.agent
        if target.pane != "needs":
            return "pick an item in Needs-you (5) first (on the wall, enter zooms)"
        if agent is None:
            return "the item under the cursor names no polecat"
        if agent.role != "polecat":
            return f"{agent.label} is the {agent.role}, not a polecat"
        return None

    def act(self, room: Room, target: Target, answer: Any) -> None:
        assert target.agent is not None
        room.open_screen(f"polecat:{target.agent.address}")
