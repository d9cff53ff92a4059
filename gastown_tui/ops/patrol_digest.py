"""Patrol digests (upstream gastown's cmd/patrol.go): each patrol cycle that does something
leaves an ephemeral digest bead ("Digest: mol-<role>-patrol", label `digest`, wisp_type
patrol); once a day they are aggregated into one permanent "Patrol Report YYYY-MM-DD" bead
(type event, event kind patrol.digest, the cycles as its payload) and the per-cycle digests
are deleted. KRC prunes per-cycle digests nobody aggregated."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from gastown_tui.ops.mol_lifecycle import write_digest
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

ROLES = ("deacon", "witness", "refinery")


def record_cycle(town: Town, store: BeadStore, role: str, summary: str, *, steps: str = "",
                 agent: str = "", log: bool = True) -> str:
    """One cycle's digest (what `gt patrol report` and the loops write; the loops do not log
    it on the feed, where their actions already are)."""
    mol = f"mol-{role}-patrol"
    text = summary + (f"\n\nSteps: {steps}" if steps else "")
    digest = write_digest(store, f"Digest: {mol}", mol, agent or role, text, 0, 0,
                          prefix="hq", wisp_type="patrol")
    if log:
        log_event(town.root, "patrol_report", actor=agent or role,
                  payload={"role": role, "summary": summary[:200], "digest": digest})
    return digest


def record_loop_cycle(town: Town, store: BeadStore, role: str, actions: list[str]) -> str:
    """A loop's cycle digest, written only when the cycle did something; never raises."""
    if not actions:
        return ""
    try:
        return record_cycle(town, store, role, f"{len(actions)} action(s)",
                            steps=", ".join(actions[:40]), agent=role, log=False)
    except GasTownError:
        return ""


def _role_of(title: str) -> str:
    body = title.removeprefix("Digest: ")
    if body.startswith("mol-") and body.endswith("-patrol"):
        return body[4:-7]
    return "patrol"


def cycles_on(store: BeadStore, day: str) -> list[dict[str, Any]]:
    """The per-cycle patrol digests created on `day` (UTC, YYYY-MM-DD)."""
    beads = store.list_issues(labels=["digest"], statuses=["closed"], include_infra=True,
                              limit=0, sort="oldest", counts=False)
    out = []
    for bead in beads:
        if not bead.get("ephemeral") or not bead["title"].startswith("Digest: mol-"):
            continue
        if not bead["created_at"].startswith(day):
            continue
        out.append({"id": bead["id"], "role": _role_of(bead["title"]), "title": bead["title"],
                    "description": bead.get("description", ""),
                    "created_at": bead["created_at"], "closed_at": bead.get("closed_at", "")})
    return out


def existing_report(store: BeadStore, day: str) -> str:
    title = f"Patrol Report {day}"
    for bead in store.list_issues(issue_types=["event"], include_all=True, include_infra=True,
                                  limit=0, counts=False):
        if bead["title"] == title:
            return bead["id"]
    return ""


def target_day(*, yesterday: bool = False, date: str = "", now: datetime | None = None) -> str:
    if date:
        try:
            return datetime.strptime(date, "%Y-%m-%d").strftime("%Y-%m-%d")
        except ValueError as exc:
            raise ValidationError(f"invalid date {date!r}", fix="use YYYY-MM-DD") from exc
    if yesterday:
        return ((now or datetime.now(UTC)) - timedelta(days=1)).strftime("%Y-%m-%d")
    raise ValidationError("which day?", fix="pass --yesterday or --date YYYY-MM-DD")


def digest(town: Town, store: BeadStore, day: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Aggregate `day`'s cycle digests into its Patrol Report (once: idempotent)."""
    existing = existing_report(store, day)
    if existing:
        return {"date": day, "existing": existing, "created": False, "total_cycles": 0,
                "by_role": {}, "deleted": 0}
    cycles = cycles_on(store, day)
    by_role: dict[str, int] = {}
    for cycle in cycles:
        by_role[cycle["role"]] = by_role.get(cycle["role"], 0) + 1
    out = {"date": day, "total_cycles": len(cycles), "by_role": by_role, "cycles": cycles,
           "created": False, "deleted": 0, "dry_run": dry_run}
    if not cycles or dry_run:
        return out
    lines = [f"Daily patrol aggregate for {day}.", "", f"**Total Cycles:** {len(cycles)}", "",
             "## By Role"] + [f"- {role}: {n} cycles" for role, n in sorted(by_role.items())]
    payload = json.dumps({"date": day, "total_cycles": len(cycles), "by_role": by_role,
                          "cycles": cycles}, separators=(",", ":"))
    report = store.create(f"Patrol Report {day}", prefix="hq", issue_type="event",
                          description="\n".join(lines), status="closed",
                          fields={"event_kind": "patrol.digest", "payload": payload,
                                  "close_reason": "daily patrol digest"})
    out["report"] = report["id"]
    out["created"] = True
    out["deleted"] = len(store.delete_issues([c["id"] for c in cycles]))
    log_event(town.root, "patrol_digest", actor=store.actor,
              payload={"date": day, "report": report["id"], "cycles": len(cycles)})
    return out


def daily(town: Town, store: BeadStore) -> dict[str, Any] | None:
    """Yesterday's report, if there is none yet (the Deacon calls it every patrol)."""
    day = target_day(yesterday=True)
    if existing_report(store, day) or not cycles_on(store, day):
        return None
    return digest(town, store, day)
