"""`gt escalate`: an escalation bead plus the routes of settings/escalation.json (reference §8)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gastown_tui.ops import mail as mail_ops
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import format_fields
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town, now_rfc3339
from gastown_tui.town.store import BeadStore

SEVERITIES = ("low", "medium", "high", "critical")
PRIORITY = {"low": 3, "medium": 2, "high": 1, "critical": 0}


@dataclass
class EscalationResult:
    id: str
    severity: str
    actions: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def escalate(town: Town, store: BeadStore, description: str, *, severity: str = "medium",
             reason: str = "", source: str = "", related: str = "",
             escalated_by: str | None = None) -> EscalationResult:
    severity = severity.lower()  # upstream's prompts write -s HIGH
    if severity not in SEVERITIES:
        raise ValidationError(f"unknown severity {severity!r}", fix=f"use {', '.join(SEVERITIES)}")
    if not description.strip():
        raise ValidationError("say what needs attention", fix='gt escalate "what is wrong"')
    who = escalated_by or store.actor or "overseer"
    fields = {"severity": severity, "reason": reason, "source": source, "escalated_by": who,
              "escalated_at": now_rfc3339(), "acked_by": None, "related_bead": related or None}
    bead = store.create(description[:200], prefix="hq", priority=PRIORITY[severity],
                        ephemeral=True, labels=["gt:escalation", f"severity:{severity}"],
                        description=format_fields("", fields) + (f"\n\n{reason}" if reason else ""),
                        fields={"wisp_type": "escalation"})
    result = EscalationResult(bead["id"], severity, ["bead"])
    routes = (read_json(town.root / "settings" / "escalation.json", {}) or {}).get("routes") or {}
    for action in routes.get(severity, ["bead"]):
        if action.startswith("mail:"):
            try:
                mail_ops.send(town, store, action[5:], f"ESCALATION [{severity}]: {description[:120]}",
                              f"Escalation: {bead['id']}\nSeverity: {severity}\nFrom: {who}\n"
                              f"Related: {related or '-'}\n\n{reason}", sender=_sender(who),
                              msg_type="escalation", priority=PRIORITY[severity])
                result.actions.append(action)
            except GasTownError as exc:
                result.actions.append(f"{action} failed: {exc.problem}")
        elif action != "bead":
            # email/sms/slack need contacts this town has not configured; say so, lose nothing
            result.actions.append(f"{action} skipped (not configured)")
    log_event(town.root, "escalation", actor=who,
              payload={"id": bead["id"], "severity": severity, "related": related})
    return result


def _sender(who: str) -> str:
    return who if "/" in who or who in ("mayor", "deacon") else "overseer"


def open_escalations(store: BeadStore) -> list[dict[str, Any]]:
    return store.list_issues(labels=["gt:escalation"], include_infra=True, limit=0,
                             counts=False)


def acknowledge(town: Town, store: BeadStore, escalation_id: str, *, by: str) -> dict[str, Any]:
    bead = _escalation(store, escalation_id)
    updated = store.update(bead["id"], description_fields={"acked_by": by,
                                                          "acked_at": now_rfc3339()},
                           add_labels=["acked"])
    log_event(town.root, "escalation_acked", actor=by, payload={"id": bead["id"]})
    return updated


def close_escalation(town: Town, store: BeadStore, escalation_id: str, *, by: str,
                     reason: str = "") -> dict[str, Any]:
    bead = _escalation(store, escalation_id)
    closed = store.set_status(bead["id"], "closed", reason=reason or f"resolved by {by}",
                              force=True)
    log_event(town.root, "escalation_closed", actor=by, payload={"id": bead["id"],
                                                                 "reason": reason})
    return closed


def _escalation(store: BeadStore, escalation_id: str) -> dict[str, Any]:
    bead = store.get(escalation_id)
    if "gt:escalation" not in bead.get("labels", []):
        raise ValidationError(f"{escalation_id} is not an escalation",
                              fix="see 'gt escalate list'")
    return bead
