"""`gt mol`: the molecule on an agent's hook and its progress, step by step.

Two kinds, as upstream: a formula attached to the hooked bead (`attached_formula`, steps shown
inline by `gt prime`, progress kept in the bead's `steps_done` field), and a formula run (each
step a bead, tracked by the run's convoy, progress from the step beads' statuses).
"""

from __future__ import annotations

import re

from gastown_tui.ops import hook as hook_ops
from gastown_tui.town.errors import (
    BeadNotFoundError,
    ConflictError,
    GasTownError,
    ValidationError,
)
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town, now_rfc3339
from gastown_tui.town.names import Address, parse_address
from gastown_tui.town.store import BeadStore

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

    from gastown_tui.formulas.progress import MoleculeProgress

_MOLECULE_FIELD = re.compile(r"^\s*(attached_molecule|molecule_id|molecule|bead)\s*:\s*(\S+)",
                             re.IGNORECASE | re.MULTILINE)


def _agent_bead(town: Town | None, addr: Address) -> str:
    try:
        prefix = town.rig(addr.rig).prefix if (town is not None and addr.rig) else None
        return addr.agent_bead_id(prefix)
    except (GasTownError, ValueError):
        return ""


def _next_action(view: MoleculeView) -> str:
    if view.hooked is None:
        return "check your mail: gt mail inbox"
    parked = [g for g in view.gates if g["status"] != "closed"]
    if parked and view.progress is not None and view.progress.current is None:
        return f"parked on gate {parked[0]['id']} ({parked[0]['state']}): wait for GATE_OPEN"
    if view.progress is None:
        return f"work on {view.hooked['id']}, then gt done"
    if view.progress.complete:
        return "all steps done: gt done"
    return f"step {view.progress.current}: see gt prime"


class MoleculeView:
    """The molecule on an agent's hook. A plain class: `gt hook` runs constantly and the
    `dataclasses` import (inspect, ast, dis) alone costs it ~8 ms."""

    def __init__(self, agent: str, hooked: dict[str, Any] | None, town: Town | None = None,
                 formula: str = "", convoy: str = "",
                 progress: MoleculeProgress | None = None, notes: list[str] | None = None,
                 gates: list[dict[str, Any]] | None = None) -> None:
        self.agent = agent
        self.hooked = hooked
        self.town = town
        self.formula = formula
        self.convoy = convoy  # the formula run's convoy, for a molecule of step beads
        self.progress = progress
        self.notes: list[str] = [] if notes is None else notes
        self.gates: list[dict[str, Any]] = [] if gates is None else gates  # parked steps

    def as_json(self) -> dict[str, Any]:
        """Upstream's MoleculeStatusInfo (gt hook --json, gt mol status --json), with the
        steps and our own names (`agent`, `bead`) added."""
        bead = self.hooked
        fields = parse_fields(bead.get("description", "")) if bead else {}
        addr = parse_address(self.agent)
        progress = self.progress
        info: dict[str, Any] = {
            "target": self.agent, "role": addr.role, "agent_bead_id": _agent_bead(self.town,
                                                                                   addr),
            "has_work": bead is not None, "pinned_bead": bead,
            "attached_molecule": fields.get("attached_molecule", "") or self.convoy,
            "attached_formula": self.formula or fields.get("attached_formula", ""),
            "attached_at": fields.get("attached_at", ""),
            "attached_args": fields.get("attached_args", ""),
            "attached_vars": [v for v in fields.get("formula_vars", "").split(",") if v],
            "is_wisp": bool(bead and bead.get("ephemeral")),
            "agent": self.agent, "bead": bead, "convoy": self.convoy,
        }
        if progress is not None:
            from gastown_tui.formulas.progress import StepState

            items = progress.items
            info["progress"] = {
                "root_id": bead["id"] if bead else "", "root_title": bead["title"] if bead else "",
                "molecule_id": info["attached_molecule"], "total_steps": progress.total,
                "done_steps": progress.done,
                "in_progress_steps": sum(1 for i in items if i.state is StepState.ACTIVE),
                "ready_steps": [i.id for i in items if i.state is StepState.READY],
                "blocked_steps": [i.id for i in items
                                  if i.state in (StepState.BLOCKED, StepState.WAITING,
                                                 StepState.GATED)],
                "percent_complete": int(100 * progress.fraction), "complete": progress.complete,
                "steps": [{"id": i.id, "title": i.title, "state": i.state.value} for i in items],
            }
        info["gates"] = self.gates
        info["next_action"] = _next_action(self)
        return info

    def text(self) -> str:
        if self.hooked is None:
            return f"{self.agent}: nothing on the hook"
        head = f"{self.agent}: {self.hooked['id']} — {self.hooked['title']} " \
               f"[{self.hooked['status']}]"
        if self.progress is None:
            return head + "\n  (no molecule attached)"
        from gastown_tui.formulas.progress import format_checklist

        kind = f"formula {self.formula}" if self.formula else f"formula run {self.convoy}"
        text = f"{head}\n  {kind}: {self.progress.done}/{self.progress.total} steps done\n" + \
            "\n".join("  " + line for line in format_checklist(self.progress).splitlines())
        for gate in self.gates:
            if gate["status"] != "closed":
                text += f"\n  ⏸ step {gate['step']} parked on gate {gate['id']}: {gate['state']}"
        return text


def _run_convoy(store: BeadStore, bead_id: str) -> str:
    """The formula run (its convoy) this step bead belongs to, if any."""
    return parse_fields(store.get(bead_id).get("description", "")).get("molecule", "")


def view(town: Town, store: BeadStore, addr: Address) -> MoleculeView:
    bead = hook_ops.hooked_for(store, str(addr))
    out = MoleculeView(agent=str(addr), hooked=bead, town=town)
    if bead is None:
        return out
    # `gt hook` (agents call it constantly) mostly finds no bead, or one without a formula:
    # the formula machinery (step_gates, prime; pydantic, tomlkit) is imported only for one.
    name, steps = "", []
    if parse_fields(bead.get("description", "")).get("attached_formula", ""):
        from gastown_tui.ops.step_gates import _formula_steps

        name, steps = _formula_steps(town, addr, bead)
    if name:
        from gastown_tui.formulas.progress import molecule_progress
        from gastown_tui.ops.prime import steps_done
        from gastown_tui.ops.step_gates import step_gates

        out.formula = name
        statuses = {s: "closed" for s in steps_done(bead)}
        out.gates = step_gates(store, bead["id"])
        for gate in out.gates:
            if gate["status"] != "closed" and gate["step"] not in statuses:
                statuses[gate["step"]] = "gated"
        out.progress = molecule_progress(steps, statuses)
        return out
    convoy = _run_convoy(store, bead["id"])
    if convoy:
        from gastown_tui.ops.formula_run import molecule_progress as run_progress

        out.convoy = convoy
        out.progress = run_progress(store, convoy)
    return out


def step_done(town: Town, store: BeadStore, addr: Address, step: str) -> MoleculeView:
    """Mark one step done: a step bead is closed; a step of the hooked bead's formula is
    recorded in its `steps_done`. Returns the molecule with what comes next."""
    # Here, not at the top: `gt hook` (agents call it constantly) needs only view()'s start.
    from gastown_tui.ops import gates as gates_ops
    from gastown_tui.ops.formula_run import molecule_progress as run_progress
    from gastown_tui.ops.prime import steps_done
    from gastown_tui.ops.step_gates import _formula_steps, park_gated_steps

    if store.exists(step):
        bead = store.get(step)
        if bead["status"] != "closed":
            store.set_status(step, "closed", reason=f"step done ({addr})")
        log_event(town.root, "mol_step_done", actor=str(addr), payload={"step": step})
        result = view(town, store, addr)
        if result.progress is None:
            convoy = _run_convoy(store, step)
            if convoy:
                result.convoy = convoy
                result.progress = run_progress(store, convoy)
        return result
    hooked = hook_ops.hooked_for(store, str(addr))
    if hooked is None:
        raise BeadNotFoundError(f"no bead or step {step!r}: your hook is empty",
                                fix="see gt mol status")
    name, steps = _formula_steps(town, addr, hooked)
    ids = [s.id for s in steps]
    if step not in ids:
        known = ", ".join(ids) or "none"
        raise ValidationError(f"{step!r} is not a step of {name or 'your hooked bead'} "
                              f"(steps: {known})", fix="see gt mol status")
    spec = next(s for s in steps if s.id == step)
    if spec.parks_on is not None:  # a gated step is done only after its gate opened
        gate = gates_ops.step_gate(store, hooked["id"], step)
        if gate is None:
            made = park_gated_steps(town, store, addr, hooked, steps)
            gate = next((g for g in made if parse_fields(g.get("description", "")).get("step")
                         == step), None)
        if gate is None:
            raise ConflictError(f"step {step} is not reached yet: it waits on a "
                                f"{spec.parks_on.type} gate after {', '.join(spec.all_needs)}",
                                fix="finish the steps before it first; see gt mol status")
        if gate["status"] != "closed":
            raise ConflictError(f"step {step} is parked on gate {gate['id']} "
                                f"({gates_ops.describe(gate)})",
                                fix="wait for GATE_OPEN, you are nudged; or a person runs "
                                    f"'bd gate resolve {gate['id']}'")
    done = steps_done(hooked)
    if step not in done:
        store.update(hooked["id"], description_fields={"steps_done": ",".join([*done, step])})
    log_event(town.root, "mol_step_done", actor=str(addr),
              payload={"bead": hooked["id"], "formula": name, "step": step})
    park_gated_steps(town, store, addr, store.get(hooked["id"]), steps)
    return view(town, store, addr)


def attach_from_mail(town: Town, store: BeadStore, addr: Address, mail_ref: str
                     ) -> dict[str, Any]:
    """Read a message for the molecule it names (`attached_molecule: <id>`, `molecule: <id>`,
    `bead: <id>`) and attach it: to the bead on the hook when there is one (its
    `attached_molecule`), else by hooking the molecule itself. The message is marked read."""
    from gastown_tui.ops import mail as mail_ops

    msg_id = mail_ops.resolve(store, addr.mail_identity, mail_ref)
    body = store.get(msg_id).get("description", "")
    found = _MOLECULE_FIELD.search(body)
    if found is None:
        raise ValidationError(f"message {msg_id} names no molecule",
                              fix="its body needs a line 'attached_molecule: <bead id>'")
    molecule = found.group(2)
    store.get(molecule)  # it must exist
    hooked = hook_ops.hooked_for(store, str(addr))
    if hooked is not None and hooked["id"] != molecule and \
            "gt:message" not in hooked.get("labels", []):
        store.update(hooked["id"], description_fields={"attached_molecule": molecule,
                                                       "attached_at": now_rfc3339()})
        target = hooked["id"]
    else:
        hook_ops.attach(town, store, molecule, str(addr))
        target = molecule
    mail_ops.mark_read(store, addr.mail_identity, [msg_id])
    log_event(town.root, "mol_attached", actor=str(addr),
              payload={"mail": msg_id, "molecule": molecule, "hook": target})
    return {"mail": msg_id, "molecule": molecule, "hook": target}
