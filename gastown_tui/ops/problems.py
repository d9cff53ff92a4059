"""What is wrong right now, for a script or an operator over SSH (`gt feed --problems`,
`gt health`, `gt agents`, `gt vitals`): the agents that need someone (stalled, blocked,
rate-limited, zombie, hooked work with no session, a dead pane), the rig loops that are not
running on an awake rig, the escalations nobody acknowledged; and the town's vital signs."""

from __future__ import annotations

import os
import time
from typing import Any

from gastown_tui.ops.polecats import live_sessions, polecats
from gastown_tui.ops.rig_state import asleep
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

NEEDS_SOMEONE = ("stalled", "blocked", "rate-limited", "zombie")
SEVERITY = {"zombie": "high", "dead": "high", "missing": "high", "loop-down": "high",
            "rate-limited": "medium", "blocked": "medium", "stalled": "medium",
            "escalation": "medium"}


def problems(town: Town, store: BeadStore, rig: str | None = None, *,
             screens: bool = True) -> list[dict[str, Any]]:
    """Each problem once: {kind, severity, rig, agent, session, detail}; the worst first."""
    rigs = [town.rig(rig)] if rig else town.rigs()
    alive = live_sessions(town)
    out: list[dict[str, Any]] = []

    def add(kind: str, rig_name: str, agent: str, session: str, detail: str) -> None:
        out.append({"kind": kind, "severity": SEVERITY.get(kind, "medium"), "rig": rig_name,
                    "agent": agent, "session": session, "detail": detail})

    for info in rigs:
        for p in polecats(town, store, info, alive, screens=screens):
            if p.session_name in alive and not alive[p.session_name]:
                add("dead", p.rig, p.address, p.session_name,
                    "the pane's process exited (gt session restart)")
            elif p.state in NEEDS_SOMEONE:
                add(p.state, p.rig, p.address, p.session_name, p.evidence)
            elif p.issue and not p.session_running and p.state != "done":
                add("missing", p.rig, p.address, p.session_name,
                    f"hooked {p.issue} but no session (gt session start {p.address})")
        if not asleep(info) and alive:  # a town that is down is not a problem
            for role in ("witness", "refinery"):
                from gastown_tui.town.names import Address

                session = Address(role, info.name).session_name(info.prefix)
                if not alive.get(session):
                    add("loop-down", info.name, f"{info.name}/{role}", session,
                        f"the {role} is not running (gt {role} start {info.name})")
    for bead in store.list_issues(labels=["gt:escalation"], statuses=["open"],
                                  include_infra=True, limit=0, counts=False):
        if "acked" in bead.get("labels", []):
            continue
        fields = parse_fields(bead.get("description", ""))
        source = fields.get("escalated_by", "") or ""
        if rig and not source.startswith(rig + "/"):
            continue
        add("escalation", source.split("/", 1)[0] if "/" in source else "", source,
            bead["id"], f"[{fields.get('severity', '?')}] {bead['title']} (gt escalate ack "
            f"{bead['id']})")
    order = {"high": 0, "medium": 1, "low": 2}
    out.sort(key=lambda p: (order.get(p["severity"], 3), p["rig"], p["agent"]))
    return out


def agents(town: Town, store: BeadStore) -> list[dict[str, Any]]:
    """Every agent session of the town with its role and state (upstream's `gt agents list`)."""
    from gastown_tui.ops.quota import address_of

    alive = live_sessions(town)
    states = {p.session_name: p for p in polecats(town, store, None, alive)}
    out = []
    for session, running in sorted(alive.items()):
        addr = address_of(town, session)
        if addr is None:
            continue
        cat = states.get(session)
        out.append({"session": session, "address": str(addr), "role": addr.role,
                    "rig": addr.rig or "", "running": running,
                    "state": cat.state if cat else ("running" if running else "dead"),
                    "issue": cat.issue if cat else ""})
    return out


def vitals(town: Town, store: BeadStore) -> dict[str, Any]:
    """The town's vital signs: the store (backend, counts, last write), its backup's
    freshness, the processes (sessions, orphans), the event log's last entry."""
    from gastown_tui.ops.shutdown import orphan_processes
    from gastown_tui.ops.status import store_facts

    now = time.time()
    facts = store_facts(town)
    issues = store.list_issues(include_all=True, include_infra=True, limit=0, counts=False)
    db = {"backend": facts["backend"], "issues": len(issues),
          "open_issues": sum(1 for i in issues if i["status"] != "closed"),
          "wisps": sum(1 for i in issues if i.get("ephemeral")),
          "open_wisps": sum(1 for i in issues if i.get("ephemeral") and i["status"] != "closed")}
    if facts["backend"] == "sqlite":
        db["path"] = facts["path"]
        size = sum(_size(town.db_path.with_name(town.db_path.name + ext))
                   for ext in ("", "-wal", "-shm"))
        db["disk_usage_bytes"] = size
        db["disk_usage_human"] = _human(size)
    backup_dir = town.root / ".beads" / "backup"
    newest = max((p.stat().st_mtime for p in backup_dir.glob("*") if p.is_file()),
                 default=None) if backup_dir.is_dir() else None
    backups = {"jsonl_age_seconds": int(now - newest) if newest else None,
               "jsonl_stale": newest is None or now - newest > 3600}
    alive = live_sessions(town)
    try:
        orphans = [p.pid for p in orphan_processes(town)]
    except GasTownError:
        orphans = []
    events = town.events_path
    return {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "store": db, "backups": backups,
            "processes": {"sessions": len(alive), "dead_panes": sum(1 for a in alive.values()
                                                                      if not a),
                          "orphan_count": len(orphans), "orphan_pids": orphans},
            "events": {"last_event_age_seconds": int(now - events.stat().st_mtime)
                       if events.exists() else None},
            "load": {"load1": round(os.getloadavg()[0], 2), "cpus": os.cpu_count() or 1}}


def _size(path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
