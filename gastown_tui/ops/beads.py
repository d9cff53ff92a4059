"""Bead verbs with Gas Town side effects: closing a bead may land the convoys tracking it."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore


def close(town: Town, store: BeadStore, ids: list[str], *, reasons: list[str] | None = None,
          force: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Close each bead (bd's guards unless force); returns (closed beads, landed convoys)."""
    closed = []
    for index, bead_id in enumerate(ids):
        reason = None
        if reasons:
            reason = reasons[index] if index < len(reasons) else reasons[-1]
        closed.append(store.set_status(bead_id, "closed", reason=reason, force=force))
    for bead in closed:
        log_event(town.root, "bead_closed", actor=store.actor,
                  payload={"bead": bead["id"], "reason": bead.get("close_reason", "")})
    landed = convoy_ops.check_for_issues(town, store, [b["id"] for b in closed])
    gates = [b["id"] for b in closed if b.get("issue_type") == "gate"]
    if gates:  # a gate closed by hand opens like a resolved one: its waiters are told now
        from gastown_tui.ops.gates import wake

        for gate_id in gates:
            wake(town, store, gate_id)
    return closed, landed


def reopen(town: Town, store: BeadStore, ids: list[str], *, reason: str | None = None
           ) -> list[dict[str, Any]]:
    out = [store.set_status(bead_id, "open", reason=reason) for bead_id in ids]
    for bead in out:
        log_event(town.root, "bead_reopened", actor=store.actor, payload={"bead": bead["id"]})
    return out
