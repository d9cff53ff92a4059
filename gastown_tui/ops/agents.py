"""Agent beads: `<prefix>-<rig>-<role>[-<name>]` with `key: value` state lines (label gt:agent)."""

from __future__ import annotations

from typing import Any

from gastown_tui.town.errors import BeadNotFoundError
from gastown_tui.town.fields import format_fields
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore

AGENT_FIELDS = ("role_type", "rig", "agent_state", "hook_bead", "cleanup_status", "active_mr",
                "notification_level")


def agent_title(addr: Address) -> str:
    if addr.role == "mayor":
        return "Mayor - global coordinator of the town."
    if addr.role == "deacon":
        return "Deacon - town supervisor."
    if addr.role in ("witness", "refinery"):
        return f"{addr.role.capitalize()} for {addr.rig}."
    return f"{addr.role.capitalize()} {addr.name} in {addr.rig}."


def ensure_agent_bead(store: BeadStore, addr: Address, prefix: str | None,
                      state: str = "idle", **extra: str) -> dict[str, Any]:
    bead_id = addr.agent_bead_id(prefix)
    fields: dict[str, str | None] = {
        "role_type": addr.role, "rig": addr.rig, "agent_state": state, "hook_bead": None,
        "cleanup_status": None, "active_mr": None, "notification_level": None, **extra,
    }
    try:
        existing = store.get(bead_id)
    except BeadNotFoundError:
        # Type agent (as upstream's legacy agent beads) keeps them out of bd list/ready/export;
        # the gt:agent label is what Gas Town keys on.
        return store.create(agent_title(addr), prefix=prefix or "hq", bead_id=bead_id,
                            issue_type="agent",
                            description=format_fields(agent_title(addr), fields),
                            labels=["gt:agent"], assignee=str(addr))
    return existing


def set_agent_fields(store: BeadStore, bead_id: str, **updates: str | None) -> dict[str, Any]:
    return store.update(bead_id, description_fields=dict(updates))
