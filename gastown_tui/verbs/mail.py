"""Verbs on the overseer's mail."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops import mail as mail_ops
from gastown_tui.verbs.base import Job, Outcome, Verb
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.target import Target

OVERSEER = "overseer"


class ReadMail(Verb):
    id, key, label, group = "read-mail", "r", "mark read", "mail"
    tooltip = "Mark the message under the cursor read"
    dangerous = True

    def why_not(self, target: Target, room: Room) -> str | None:
        return None if target.mail else "no unread message under the cursor"

    def perform(self, job: Job, target: Target, answer: Any) -> Outcome:
        assert target.mail
        mail_ops.read(job.store, OVERSEER, target.mail)
        return Outcome(f"{target.mail} marked read")
