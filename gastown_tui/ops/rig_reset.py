"""`gt rig reset`: upstream's reset of a role's leftovers: its handoff notes, its mail, and
the rig's in_progress beads whose polecat has no session any more (back to open, unassigned).

One divergence, on purpose: upstream's --mail closes every open message in the town; here
it archives the inbox of the role being reset (a reset of one role should not read away
everyone's mail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gastown_tui.ops import mail as mail_ops
from gastown_tui.ops.polecats import live_sessions
from gastown_tui.ops.prime import handoff_notes
from gastown_tui.ops.sessions import session_name
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, parse_address
from gastown_tui.town.store import BeadStore


@dataclass
class ResetReport:
    role: str
    dry_run: bool
    handoff_cleared: list[str] | None = None  # None: not asked for
    mail_archived: list[str] | None = None
    stale_reset: list[dict[str, str]] | None = None
    stale_skipped: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "dry_run": self.dry_run,
                "handoff_cleared": self.handoff_cleared, "mail_archived": self.mail_archived,
                "stale_reset": self.stale_reset, "stale_skipped": self.stale_skipped}


def rig_reset(town: Town, store: BeadStore, addr: Address, prefix: str, *, handoff: bool,
              mail: bool, stale: bool, dry_run: bool = False) -> ResetReport:
    report = ResetReport(role=str(addr), dry_run=dry_run)
    if handoff:
        notes = [n["id"] for n in handoff_notes(store, addr)]
        if notes and not dry_run:
            mail_ops.archive(town, store, addr.mail_identity, notes)
        report.handoff_cleared = notes
    if mail:
        open_mail = [m["id"] for m in mail_ops.inbox(store, addr.mail_identity)
                     if m["id"] not in (report.handoff_cleared or [])]
        if open_mail and not dry_run:
            mail_ops.archive(town, store, addr.mail_identity, open_mail)
        report.mail_archived = open_mail
    if stale:
        report.stale_reset = []
        sessions = live_sessions(town)
        for bead in store.list_issues(prefixes=[prefix], statuses=["in_progress"], limit=0,
                                      counts=False):
            who = bead.get("assignee") or ""
            try:
                owner = parse_address(who)
                session = session_name(town, owner)
            except (GasTownError, ValueError, KeyError):
                continue  # a person, or an address of no agent here: nobody to check
            if owner.role not in ("polecat", "crew") or session in sessions:
                continue
            entry = {"id": bead["id"], "assignee": who, "session": session}
            if owner.role == "crew":  # a persistent identity: its work waits for it
                report.stale_skipped.append(entry)
                continue
            if not dry_run:
                store.update(bead["id"], changes={"status": "open", "assignee": ""},
                             expect_status=("in_progress",))
            report.stale_reset.append(entry)
    if not dry_run:
        log_event(town.root, "rig_reset", actor="overseer", payload=report.as_json())
    return report
