"""Feeding convoys: the tracked beads that became ready start on their own (the Deacon calls
this each patrol, `gt convoy feed` by hand). Apart from convoy.py because it slings, and
sling makes convoys."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops.convoy import list_convoys, tracked
from gastown_tui.ops.gates import gate_ready_molecules
from gastown_tui.ops.sling import sling
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import Town
from gastown_tui.town.names import bead_prefix
from gastown_tui.town.store import BeadStore


def feed(town: Town, store: BeadStore, convoy_id: str | None = None) -> list[dict[str, Any]]:
    """Sling the tracked beads that became ready (open, unassigned, unblocked) to their rig:
    how a molecule's later steps start once the steps they need have merged."""
    ids = [convoy_id] if convoy_id else [c["id"] for c in list_convoys(store)]
    fed = []
    for cid in ids:
        if "gt:owned" in store.get(cid).get("labels", []):
            continue  # caller-managed convoys are fed by whoever owns them
        for item in tracked(store, cid):
            if item["status"] != "open" or item["assignee"] or item["blocked"]:
                continue
            rig = town.rig_for_prefix(item["id"].split("-", 1)[0])
            if rig is None:
                continue
            for res in sling(town, store, [item["id"]], rig.name, no_convoy=True):
                fed.append({"convoy": cid, "bead": res.bead, "agent": res.agent})
    return fed


def dispatch_gated(town: Town, store: BeadStore) -> list[dict[str, str]]:
    """Sling the ready step of each gate-ready molecule to its rig (the Deacon's
    dispatch-gated-molecules step); steps of convoy-tracked runs are the convoy feed's."""
    out = []
    for mol in gate_ready_molecules(store):
        step = mol["ready_step"]
        if step.get("assignee"):
            continue
        rig = town.rig_for_prefix(bead_prefix(step["id"]))
        if rig is None:
            continue
        try:
            for res in sling(town, store, [step["id"]], rig.name, no_convoy=True):
                out.append({"molecule": mol["molecule_id"], "step": res.bead,
                            "agent": res.agent, "gate": mol["closed_gate"]["id"]})
        except GasTownError as exc:
            out.append({"molecule": mol["molecule_id"], "step": step["id"],
                        "agent": "", "error": exc.problem})
    return out
