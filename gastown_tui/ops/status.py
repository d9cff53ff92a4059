"""`gt status`: the town at a glance, from disk and the store (no tmux needed)."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops import mail as mail_ops
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town
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

    def agent_view(bead: dict[str, Any]) -> dict[str, Any]:
        fields = parse_fields(bead.get("description", ""))
        address = bead.get("assignee", "")
        hook = hooks.get(address)
        try:
            mail_id = mail_ops.normalize_mail_address(address) if address else ""
        except Exception:  # a malformed agent bead must not break status
            mail_id = address
        return {"name": address.rsplit("/", 1)[-1] if address else bead["id"],
                "address": address, "role": fields.get("role_type", ""),
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
        rigs.append({
            "name": rig.name, "prefix": rig.prefix,
            "polecats": sum(1 for v in rig_agents if v["role"] == "polecat"),
            "crews": sum(1 for v in rig_agents if v["role"] == "crew"),
            "has_witness": any(v["role"] == "witness" for v in rig_agents),
            "has_refinery": any(v["role"] == "refinery" for v in rig_agents),
            "hooks": [{"agent": a, "bead": h["bead"], "title": h["title"]}
                      for a, h in hooks.items() if a.startswith(rig.name + "/")],
            "agents": rig_agents,
            # a blocked MR is an open one waiting on an open blocker (its conflict task)
            "mq": {"pending": sum(1 for m in mrs if m["status"] == "open"
                                  and m["id"] not in blocked),
                   "in_flight": sum(1 for m in mrs if m["status"] == "in_progress"),
                   "blocked": sum(1 for m in mrs if m["status"] == "open"
                                  and m["id"] in blocked)},
        })
    return {
        "name": cfg.get("name", town.root.name), "owner": cfg.get("owner", ""),
        "root": str(town.root),
        "agents": [v for v in views if v["role"] in ("mayor", "deacon")],
        "rigs": rigs,
        "convoys": convoy_ops.list_convoys(store),
        "beads": {"open": len(store.list_issues(statuses=["open"], limit=0, counts=False)),
                  "ready": len(store.ready(limit=0))},
    }
