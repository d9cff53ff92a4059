"""Verbs on merge requests: retry and reject (the Refinery's admin verbs)."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from gastown_tui.verbs.base import Job, Outcome, Verb
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.target import Target

PICK_MR = "pick a merge request in the refinery queue (4) first"


class RetryMR(Verb):
    id, key, label, group = "retry-mr", "r", "retry MR", "merges"
    tooltip = "Put the selected merge request back in the queue"
    dangerous = True
    show = False

    def why_not(self, target: Target, room: Room) -> str | None:
        return None if target.mr else PICK_MR

    def perform(self, job: Job, target: Target, answer: Any) -> Outcome:
        from gastown_tui.refinery import admin

        assert target.mr
        admin.retry(job.town, job.store, target.mr)
        return Outcome(f"{target.mr}: retry done")


class RejectMR(Verb):
    id, key, label, group = "reject-mr", "x", "reject MR", "merges"
    tooltip = "Close the selected merge request with a reason its worker will read"
    dangerous = True
    show = False

    def why_not(self, target: Target, room: Room) -> str | None:
        return None if target.mr else PICK_MR

    def ask(self, target: Target, room: Room) -> Screen[Any]:
        from gastown_tui.dialogs.confirm import PromptModal

        return PromptModal(f"Reject {target.mr}: why?", "the reason its worker will read")

    def perform(self, job: Job, target: Target, answer: str) -> Outcome:
        from gastown_tui.refinery import admin

        assert target.mr
        admin.reject(job.town, job.store, target.mr, answer)
        return Outcome(f"{target.mr}: reject done")
