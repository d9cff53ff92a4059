"""`gt status`: the town at a glance, from disk, the store and one tmux call; --json in
upstream's TownStatus shape (name, location, overseer, tmux, agents, rigs, summary) plus ours."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops import mail as mail_ops
from gastown_tui.ops.polecats import live_sessions
from gastown_tui.ops.sessions import session_name, tmux_for
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.names import parse_address
from gastown_tui.town.store import BeadStore


def town_status(town: Town, store: BeadStore) -> dict[str, Any]:
    cfg = town.config()
    agents = store.list_issues(labels=["gt:agent"], include_infra=True, include_all=True,
                               limit=0, sort="id", counts=False)
    hooks = {h["agent"]: h for h in hook_ops.all_hooks(store)}
    unread: dict[str, int] = {}
    for msg in store.list_issues(labels=["gt:message"], statuses=["open"], include_infra=True,
                                 limit=0, counts=False):
        if "read" not in msg.get("labels", []):
            unread[msg.get("assignee", "")] = unread.get(msg.get("assignee", ""), 0) + 1

    sessions = live_sessions(town)

    def agent_view(bead: dict[str, Any]) -> dict[str, Any]:
        fields = parse_fields(bead.get("description", ""))
        address = bead.get("assignee", "")
        hook = hooks.get(address)
        try:
            mail_id = mail_ops.normalize_mail_address(address) if address else ""
        except Exception:  # a malformed agent bead must not break status
            mail_id = address
        session = _session_of(town, address)
        return {"name": address.rstrip("/").rsplit("/", 1)[-1] if address else bead["id"],
                "address": address, "session": session, "role": fields.get("role_type", ""),
                "running": sessions.get(session, False), "acp": False,
                "state": fields.get("agent_state", ""), "has_work": hook is not None,
                "hook_bead": hook["bead"] if hook else "",
                "work_title": hook["title"] if hook else "",
                "notification_level": fields.get("notification_level", ""),
                "unread_mail": unread.get(mail_id, 0), "bead": bead["id"]}

    views = [agent_view(b) for b in agents]
    blocked = store.blocked_ids()
    rigs = []
    for rig in town.rigs():
        rig_agents = [v for v in views if v["address"].startswith(rig.name + "/")]
        mrs = store.list_issues(labels=["gt:merge-request"], prefixes=[rig.prefix],
                                include_infra=True, limit=0, counts=False)
        polecats = sorted(v["name"] for v in rig_agents if v["role"] == "polecat"
                          and v["state"] != "nuked")
        crews = sorted(v["name"] for v in rig_agents if v["role"] == "crew")
        pending = sum(1 for m in mrs if m["status"] == "open" and m["id"] not in blocked)
        in_flight = sum(1 for m in mrs if m["status"] == "in_progress")
        waiting = sum(1 for m in mrs if m["status"] == "open" and m["id"] in blocked)
        rigs.append({
            "name": rig.name, "prefix": rig.prefix,
            "polecats": polecats, "polecat_count": len(polecats),
            "crews": crews, "crew_count": len(crews),
            "has_witness": any(v["role"] == "witness" for v in rig_agents),
            "has_refinery": any(v["role"] == "refinery" for v in rig_agents),
            "hooks": [{"agent": a, "role": _role_of(a), "has_work": True, "bead": h["bead"],
                       "molecule": h.get("molecule", ""), "title": h["title"]}
                      for a, h in hooks.items() if a.startswith(rig.name + "/")],
            "agents": rig_agents,
            # a blocked MR is an open one waiting on an open blocker (its conflict task)
            "mq": {"pending": pending, "in_flight": in_flight, "blocked": waiting,
                   "state": "processing" if in_flight else ("blocked" if waiting and not pending
                                                            else "idle"),
                   "health": "healthy" if mrs else "empty"},
        })
    town_agents = [v for v in views if v["role"] in ("mayor", "deacon")]
    tmux = tmux_for(town)
    overseer_mail = unread.get("overseer", 0)
    return {
        "name": cfg.get("name", town.root.name), "location": str(town.root),
        "owner": cfg.get("owner", ""), "root": str(town.root),
        "overseer": {"name": cfg.get("owner", "") or "overseer", "email": cfg.get("owner", ""),
                     "source": "town.json", "unread_mail": overseer_mail},
        "tmux": {"socket": tmux.socket, "socket_path": str(tmux.socket_path()),
                 "running": bool(sessions), "session_count": len(sessions)},
        "store": store_facts(town),
        "agents": town_agents,
        "rigs": rigs,
        "summary": {"rig_count": len(rigs),
                    "polecat_count": sum(r["polecat_count"] for r in rigs),
                    "crew_count": sum(r["crew_count"] for r in rigs),
                    "witness_count": sum(1 for r in rigs if r["has_witness"]),
                    "refinery_count": sum(1 for r in rigs if r["has_refinery"]),
                    "active_hooks": len(hooks)},
        "convoys": convoy_ops.list_convoys(store),
        "beads": {"open": len(store.list_issues(statuses=["open"], limit=0, counts=False)),
                  "ready": len(store.ready(limit=0))},
    }


def _role_of(address: str) -> str:
    try:
        return parse_address(address).role
    except GasTownError:
        return ""


def _session_of(town: Town, address: str) -> str:
    try:
        return session_name(town, parse_address(address)) if address else ""
    except (GasTownError, ValueError):
        return ""


def store_facts(town: Town) -> dict[str, Any]:
    """Where the beads live: SQLite's path, or the PostgreSQL server (no password)."""
    from gastown_tui.town.store.backend import display, is_pg

    location = town.store_location
    if is_pg(location):
        from gastown_tui.town.presence import presence

        try:
            loops = presence(town)
        except GasTownError:
            loops = []
        return {"backend": "postgres", "url": display(location),
                "presence": [{"session": p["session"], "host": p["host"], "pid": p["pid"],
                              "state": p["state"], "beat_at": p["beat_at"],
                              "alive": p["alive"]} for p in loops]}
    return {"backend": "sqlite", "path": str(town.db_path)}
