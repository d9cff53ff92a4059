"""The gates of a formula's steps when the formula is attached to a hooked bead (steps shown
inline by `gt prime`, not beads): a step with `[steps.gate]` parks the work on a gate bead that
blocks the hooked bead, made when the molecule reaches that step."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops import gates as gates_ops
from gastown_tui.ops.prime import formula_vars, steps_done
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore


def _formula_steps(town: Town, addr: Address, bead: dict[str, Any]):
    # Lazy, as every formulas import here: pydantic and tomlkit cost `gt hook` (which agents
    # call constantly) ~130 ms, and only a hook with a formula attached needs them.
    name = parse_fields(bead.get("description", "")).get("attached_formula", "")
    if not name:
        return "", []
    from gastown_tui.formulas.resolve import FormulaLibrary

    resolved = FormulaLibrary(town.root, addr.rig).resolve(name, formula_vars(town, addr, bead),
                                                           require_all=False)
    return name, list(resolved.steps)


def step_gates(store: BeadStore, bead_id: str) -> list[dict[str, Any]]:
    """The gates made for the steps of a bead's attached formula (open and opened)."""
    out = []
    for gate in gates_ops.gates_on(store, bead_id, open_only=False):
        step = parse_fields(gate.get("description", "")).get("step", "")
        if step:
            out.append({"id": gate["id"], "step": step, "await_type": gate.get("await_type", ""),
                        "status": gate["status"], "state": gates_ops.describe(gate)})
    return out


def park_gated_steps(town: Town, store: BeadStore, addr: Address, bead: dict[str, Any],
                     steps: list | None = None) -> list[dict[str, Any]]:
    """Make the gate of each step the molecule has just reached (its needs done, it has a
    `[steps.gate]`, no gate yet), blocking the hooked bead with the agent as its waiter: the
    step parks there until the gate opens. Timers count from here."""
    if steps is None:
        _, steps = _formula_steps(town, addr, bead)
    done = set(steps_done(bead))
    made = []
    previous_done = True
    for step in steps:
        reached = all(n in done for n in step.all_needs) if step.all_needs else previous_done
        previous_done = step.id in done
        if step.id in done or step.parks_on is None or not reached:
            continue
        if gates_ops.step_gate(store, bead["id"], step.id) is not None:
            continue
        made.append(gates_ops.create(
            town, store, bead["id"], gate_type=step.parks_on.type,
            await_id=step.parks_on.awaits, timeout=step.parks_on.timeout, waiters=[str(addr)], step=step.id,
            molecule=bead["id"], reason=f"step {step.id} of {bead['id']} waits here"))
    return made
