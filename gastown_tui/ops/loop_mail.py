"""Mail and nudges for the roles that are plain loops here (witness, refinery, deacon).

Upstream's AI witness reads its inbox; ours is code, so this is its inbox reader: HELP mail
from a polecat becomes an escalation to the Mayor with the evidence the witness can gather,
and the sender is told; routine protocol mail (POLECAT_DONE, MERGE_FAILED, handoffs) is
acknowledged; anything else is forwarded to the Mayor, who can read it. Nothing is dropped:
every message is answered, forwarded or acknowledged, then archived, and leaves an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gastown_tui.ops import mail as mail_ops
from gastown_tui.ops.escalate import escalate
from gastown_tui.ops.nudge import drain
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

ROUTINE = ("POLECAT_DONE", "MERGE_FAILED", "MERGE_READY", "MERGED", "LIFECYCLE", "🤝 HANDOFF",
           "WAKE", "RECOVERY_NEEDED", "GUPP_VIOLATION")


@dataclass
class MailReport:
    escalated: list[str] = field(default_factory=list)  # escalation ids
    acknowledged: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    nudges: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def handle_inbox(town: Town, store: BeadStore, address: str, *,
                 evidence: Callable[[str], tuple[str, str]] | None = None) -> MailReport:
    """Read every unread message of `address` (a loop role) and deal with it.

    `evidence(sender)` gives (what the loop knows about the sender, the bead it works on)
    for HELP mail; the witness passes the polecat's state, hook and last pane lines."""
    report = MailReport()
    for msg in mail_ops.inbox(store, address, include_read=False):
        try:
            _handle(town, store, address, msg, evidence, report)
        except GasTownError as exc:  # one bad message must not stop the patrol
            report.problems.append(f"{msg['id']}: {exc.problem}")
            continue
        mail_ops.archive(town, store, address, [msg["id"]])
    return report


def _handle(town: Town, store: BeadStore, address: str, msg: dict, evidence,
            report: MailReport) -> None:
    subject, sender = msg["subject"], msg["from"] or "overseer"
    if subject.upper().startswith(("HELP", "BLOCKED")):
        known, bead = evidence(sender) if evidence else ("", "")
        reason = "\n\n".join(part for part in (msg["body"].strip(), known) if part)
        res = escalate(town, store, f"{sender} asks for help: {subject}", severity="high",
                       reason=reason, source=address, related=bead, escalated_by=address)
        report.escalated.append(res.id)
        mail_ops.send(town, store, sender, f"Re: {subject}",
                      f"The witness escalated this to the Mayor as {res.id} "
                      f"(severity high), with what it can see of you.\n"
                      "Carry on with what you can; if you cannot go on, end with "
                      "`gt done --status ESCALATED`.", sender=address, reply_to=msg["id"])
        log_event(town.root, "help_escalated", actor=address,
                  payload={"from": sender, "mail": msg["id"], "escalation": res.id})
    elif subject.startswith(ROUTINE) or subject.upper().startswith(ROUTINE):
        report.acknowledged.append(msg["id"])
        log_event(town.root, "mail_acknowledged", actor=address,
                  payload={"from": sender, "subject": subject, "mail": msg["id"]})
    else:
        fwd = mail_ops.send(town, store, "mayor/", f"Fwd ({address}): {subject}",
                            f"{address} is a loop here and cannot answer mail itself; "
                            f"{sender} wrote:\n\n{msg['body']}", sender=address)
        mail_ops.send(town, store, sender, f"Re: {subject}",
                      f"{address} is an automatic loop in this town; your message went to the "
                      f"Mayor ({fwd['id']}). For help use a subject starting with HELP:, or "
                      "`gt escalate`.", sender=address, reply_to=msg["id"])
        report.forwarded.append(msg["id"])
        log_event(town.root, "mail_forwarded", actor=address,
                  payload={"from": sender, "subject": subject, "mail": msg["id"],
                           "to": "mayor/", "forward": fwd["id"]})


def handle_nudges(town: Town, session: str, address: str,
                  say: Callable[[str], None] = lambda _line: None) -> list[str]:
    """Queued nudges of a loop's session (they cannot be typed into a Python loop): logged,
    shown in its pane, and returned so the loop can act on them."""
    texts = []
    for entry in drain(town, session):
        text = str(entry.get("message", ""))
        say(f"nudge from {entry.get('sender', '?')}: {text}")
        log_event(town.root, "nudge_received", actor=address,
                  payload={"from": entry.get("sender", ""), "message": text[:200]})
        texts.append(text)
    return texts
