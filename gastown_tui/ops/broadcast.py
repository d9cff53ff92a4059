"""`gt broadcast`: one nudge to every running worker (polecats and crew; with --all every
agent), skipping the sender and agents in Do Not Disturb (internal/cmd/broadcast.go)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from gastown_tui.ops.nudge import nudge
from gastown_tui.ops.polecats import live_sessions
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town

WORKERS = ("polecat", "crew")


@dataclass
class BroadcastReport:
    targets: list[str] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # DND
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def targets(town: Town, *, rig: str | None = None, everyone: bool = False) -> list[str]:
    from gastown_tui.ops.quota import address_of

    sender = os.environ.get("BD_ACTOR") or os.environ.get("GT_ROLE") or ""
    if rig:
        town.rig(rig)
    out = []
    for session, alive in sorted(live_sessions(town).items()):
        addr = address_of(town, session)
        if addr is None or not alive or (rig and addr.rig != rig):
            continue
        if not everyone and addr.role not in WORKERS:
            continue
        if str(addr) == sender:
            continue
        out.append(str(addr))
    return out


def broadcast(town: Town, message: str, *, rig: str | None = None, everyone: bool = False,
              dry_run: bool = False, sender: str | None = None) -> BroadcastReport:
    if not message.strip():
        raise ValidationError("message cannot be empty", fix="gt broadcast \"<message>\"")
    report = BroadcastReport(targets=targets(town, rig=rig, everyone=everyone))
    if dry_run:
        return report
    for agent in report.targets:
        try:
            res = nudge(town, agent, message, mode="wait-idle", timeout=3, sender=sender,
                        force=False)
        except GasTownError as exc:
            report.failed.append({"agent": agent, "error": exc.problem})
            continue
        {"delivered": report.delivered, "queued": report.queued,
         "skipped": report.skipped}.get(res.status, report.delivered).append(agent)
    log_event(town.root, "broadcast", actor=sender or "overseer",
              payload={"message": message[:200], "rig": rig or "", "targets": len(report.targets),
                       "skipped": report.skipped, "failed": len(report.failed)})
    return report
