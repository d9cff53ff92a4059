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


class ReadAllMail(Verb):
    id, key, label, group = "read-all-mail", "R", "all read", "mail"
    tooltip = "Mark every unread message to the overseer read"
    dangerous = True

    def why_not(self, target: Target, room: Room) -> str | None:
        snapshot = room.snapshot
        if snapshot is None or not snapshot.mail:
            return "no unread mail"
        if target.pane not in ("needs", "mail"):
            return "focus Needs-you (5) or open the mail screen first"
        return None

    def perform(self, job: Job, target: Target, answer: Any) -> Outcome:
        unread = [m["id"] for m in mail_ops.inbox(job.store, OVERSEER, include_read=False)]
        if not unread:
            return Outcome("no unread mail left")
        done = mail_ops.mark_read(job.store, OVERSEER, unread)
        return Outcome(f"{len(done)} message{'' if len(done) == 1 else 's'} marked read")
