"""Notification levels (`gt notify`, `gt dnd`): upstream keeps each agent's level in its
agent bead (`notification_level: verbose | normal | muted`); muted is Do Not Disturb, and a
nudge (or a broadcast) to a muted agent is skipped unless forced (internal/cmd/dnd.go,
notify.go, nudge.go:shouldNudgeTarget)."""

from __future__ import annotations

from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore

LEVELS = ("verbose", "normal", "muted")
DESCRIBE = {"verbose": "All notifications: mail, convoy events, status updates",
            "normal": "Important notifications: convoy landed, escalations",
            "muted": "Silent mode: nudges and broadcasts skipped (Do Not Disturb)"}


def _prefix(town: Town, addr: Address) -> str | None:
    return town.rig(addr.rig).prefix if addr.rig else None


def level(town: Town, store: BeadStore, addr: Address) -> str:
    """The agent's level; normal when it has no agent bead or none set."""
    try:
        bead = store.get(addr.agent_bead_id(_prefix(town, addr)))
    except GasTownError:
        return "normal"
    return parse_fields(bead.get("description", "")).get("notification_level") or "normal"


def set_level(town: Town, store: BeadStore, addr: Address, value: str) -> str:
    if value not in LEVELS:
        raise ValidationError(f"invalid level {value!r}: use verbose, normal, or muted",
                              fix="gt notify verbose|normal|muted")
    prefix = _prefix(town, addr)
    bead = ensure_agent_bead(store, addr, prefix)
    store.update(bead["id"], description_fields={"notification_level": value})
    log_event(town.root, "notify_level", actor=str(addr), payload={"level": value})
    return value


def muted(town: Town, store: BeadStore, addr: Address) -> bool:
    return level(town, store, addr) == "muted"
