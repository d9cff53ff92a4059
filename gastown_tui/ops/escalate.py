"""`gt escalate`: an escalation bead plus the routes of settings/escalation.json (reference §8)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gastown_tui.ops import mail as mail_ops
from gastown_tui.town.errors import ConflictError, GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import format_fields, parse_fields
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


# ---------------------------------------------------------------------------- stale
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
NEXT = {"low": "medium", "medium": "high", "high": "critical", "critical": "critical"}


def parse_duration(text: str, default: float) -> float:
    """Seconds in a Go duration ("4h", "90m", "1h30m", "45s"); `default` when unreadable, as
    upstream's GetStaleThreshold."""
    text = (text or "").strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return default
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def _config(town: Town) -> dict[str, Any]:
    return read_json(town.root / "settings" / "escalation.json", {}) or {}


def stale_threshold(town: Town) -> float:
    return parse_duration(str(_config(town).get("stale_threshold") or ""), 4 * 3600)


def stale_escalations(town: Town, store: BeadStore) -> list[dict[str, Any]]:
    """Open escalations nobody acknowledged, older than the stale threshold (default 4h,
    settings/escalation.json `stale_threshold`), oldest first."""
    cutoff = datetime.now(UTC) - timedelta(seconds=stale_threshold(town))
    out = []
    for bead in store.list_issues(labels=["gt:escalation"], statuses=["open"],
                                  include_infra=True, limit=0, counts=False, sort="oldest"):
        if "acked" in bead.get("labels", []):
            continue
        try:
            created = datetime.fromisoformat(bead["created_at"].replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue  # upstream skips what it cannot date
        if created < cutoff:
            out.append(bead)
    return out


@dataclass
class Reescalation:
    """Upstream's ReescalationResult (Go field names, as its --json prints them)."""
    ID: str
    Title: str
    OldSeverity: str
    NewSeverity: str = ""
    ReescalationNum: int = 0
    Skipped: bool = False
    SkipReason: str = ""


def reescalate_stale(town: Town, store: BeadStore, *, by: str, dry_run: bool = False
                     ) -> list[Reescalation]:
    """Bump each stale escalation one severity (to at most critical, at most
    `max_reescalations` times, default 2) and mail the new severity's route (upstream's
    `gt escalate stale`)."""
    config = _config(town)
    limit = config.get("max_reescalations")
    limit = 2 if not isinstance(limit, int) or isinstance(limit, bool) else limit
    routes = config.get("routes") or {}
    results = []
    for bead in stale_escalations(town, store):
        fields = parse_fields(bead.get("description", ""))
        old = fields.get("severity") or "medium"
        count = int(fields.get("reescalation_count") or 0) \
            if (fields.get("reescalation_count") or "0").isdigit() else 0
        res = Reescalation(bead["id"], bead["title"], old)
        if limit > 0 and count >= limit:
            res.Skipped, res.SkipReason = True, f"already at max reescalations ({limit})"
        elif old == "critical":
            res.Skipped, res.SkipReason = True, "already at critical severity"
            res.NewSeverity = "critical"
        else:
            res.NewSeverity, res.ReescalationNum = NEXT.get(old, "critical"), count + 1
        results.append(res)
        if dry_run or res.Skipped:
            continue
        new = res.NewSeverity
        try:
            store.update(bead["id"], changes={"priority": PRIORITY[new]}, guard=_still_unacked,
                         description_fields={
                             "severity": new, "reescalation_count": str(count + 1),
                             "original_severity": fields.get("original_severity") or old,
                             "last_reescalated_at": now_rfc3339(), "last_reescalated_by": by},
                         add_labels=[f"severity:{new}"], remove_labels=[f"severity:{old}"])
        except ConflictError:  # acknowledged meanwhile: no longer stale
            res.Skipped, res.SkipReason, res.NewSeverity = True, "acknowledged meanwhile", ""
            continue
        targets = [a[5:] for a in routes.get(new, ["bead", "mail:mayor"]) if a.startswith("mail:")]
        for target in targets:
            try:
                mail_ops.send(town, store, target,
                              f"[{old.upper()}→{new.upper()}] Re-escalated: {bead['title'][:120]}",
                              f"Escalation ID: {bead['id']}\nSeverity: {old} → {new}\n"
                              f"Reescalation: {count + 1}\nReescalated by: {by}\n\n"
                              "Nobody acknowledged it within the stale threshold.",
                              sender=_sender(by), msg_type="escalation", priority=PRIORITY[new])
            except GasTownError:
                continue  # the bead carries the new severity; a bad route loses nothing
        log_event(town.root, "escalation_sent", actor=by,
                  payload={"escalation_id": bead["id"], "reescalated": True,
                           "old_severity": old, "new_severity": new,
                           "reescalation_num": count + 1, "targets": ",".join(targets)})
    return results


def _still_unacked(bead: dict[str, Any]) -> None:
    if "acked" in bead.get("labels", []) or bead.get("status") != "open":
        raise ConflictError(f"{bead['id']} was acknowledged", fix="nothing to re-escalate")
