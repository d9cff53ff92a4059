"""`gt formula run`: instantiate a formula as beads in a rig (reference §10.2).

A workflow becomes a tracking convoy and one bead per step, with `blocks` dependencies from
`needs`; its root steps are slung at once and later steps as their blockers close (the
Deacon feeds convoys). A convoy formula becomes one bead per leg, slung to fresh polecats, and
a synthesis bead that waits for every leg."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import format_fields, parse_fields
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.store import BeadStore


@dataclass
class PlannedBead:
    key: str  # step or leg id
    title: str
    description: str
    needs: list[str] = field(default_factory=list)
    bead: str = ""
    slung_to: str = ""
    gate: dict[str, str] | None = None  # the step's [steps.gate], as type/await_id/timeout
    gate_bead: str = ""


@dataclass
class RunResult:
    formula: str
    type: str
    rig: str
    convoy: str
    beads: list[PlannedBead]
    dry_run: bool

    def as_json(self) -> dict[str, Any]:
        return {"formula": self.formula, "type": self.type, "rig": self.rig,
                "convoy": self.convoy, "dry_run": self.dry_run,
                "beads": [asdict(b) for b in self.beads]}


def plan(town: Town, rig: RigInfo, name: str, values: dict[str, str]):
    from gastown_tui.formulas.resolve import FormulaLibrary  # lazy: pydantic, tomlkit

    resolved = FormulaLibrary(town.root, rig.name).resolve(name, values)
    planned: list[PlannedBead] = []
    if resolved.type == "workflow":
        for step in resolved.steps:
            gate = None if step.parks_on is None else {
                "type": step.parks_on.type, "await_id": step.parks_on.awaits,
                "timeout": step.parks_on.timeout}
            planned.append(PlannedBead(step.id, step.title or step.id, step.description.strip(),
                                       list(step.all_needs), gate=gate))
    elif resolved.type == "convoy":
        for leg in resolved.legs:
            prompt = resolved.leg_prompt(leg.id, {"review_target": _target(values),
                                                  "output_path": f".reviews/{leg.id}.md"})
            planned.append(PlannedBead(leg.id, f"{resolved.name}: {leg.title or leg.id}",
                                       prompt.strip() or leg.description.strip()))
        if resolved.synthesis is not None:
            synth = resolved.synthesis
            needs = list(synth.depends_on) or [leg.id for leg in resolved.legs]
            planned.append(PlannedBead("synthesis", synth.title or f"{resolved.name}: synthesis",
                                       synth.description.strip(), needs))
    else:
        raise ValidationError(f"{name} is an {resolved.type} formula: it composes into others",
                              fix="run a workflow or convoy formula")
    return resolved, planned


def _target(values: dict[str, str]) -> str:
    for key in ("pr", "branch", "files"):
        if values.get(key):
            return f"{key} {values[key]}"
    return "the change"


def run(town: Town, store: BeadStore, rig: RigInfo, name: str, values: dict[str, str], *,
        dry_run: bool = False, sling_roots: bool = True) -> RunResult:
    resolved, planned = plan(town, rig, name, values)
    label = values.get("feature") or values.get("version") or values.get("title") or ""
    result = RunResult(formula=resolved.name, type=str(resolved.type), rig=rig.name, convoy="",
                       beads=planned, dry_run=dry_run)
    if dry_run:
        return result
    convoy = convoy_ops.create(town, store, f"{resolved.name}{': ' + label if label else ''}", [],
                               owner=_owner(store), summary=f"Molecule of formula {resolved.name}")
    store.update(convoy["id"], description_fields={"Molecule": resolved.name})
    result.convoy = convoy["id"]
    ids: dict[str, str] = {}
    for item in planned:
        fields = {"formula": resolved.name, "molecule": convoy["id"], "molecule_step": item.key}
        description = format_fields("", fields) + ("\n\n" + item.description if item.description
                                                   else "")
        deps = [("blocks", ids[need]) for need in item.needs if need in ids]
        bead = store.create(item.title, prefix=rig.prefix, description=description, deps=deps,
                            labels=["gt:molecule-step"])
        item.bead = ids[item.key] = bead["id"]
        if item.gate is not None:  # the step parks on its gate until the gate opens
            from gastown_tui.ops.gates import create as create_gate

            item.gate_bead = create_gate(
                town, store, bead["id"], gate_type=item.gate["type"],
                await_id=item.gate["await_id"], timeout=item.gate["timeout"],
                step=item.key, molecule=convoy["id"])["id"]
    convoy_ops.add(town, store, convoy["id"], [item.bead for item in planned])
    log_event(town.root, "formula_run", actor=store.actor,
              payload={"formula": resolved.name, "convoy": convoy["id"], "rig": rig.name,
                       "beads": [i.bead for i in planned]})
    roots = [item for item in planned if not item.needs and not item.gate_bead]
    if sling_roots and roots:
        from gastown_tui.ops.sling import sling

        for res in sling(town, store, [i.bead for i in roots], rig.name, no_convoy=True):
            for item in roots:
                if item.bead == res.bead:
                    item.slung_to = res.agent
    return result


def _owner(store: BeadStore) -> str:
    return store.actor if "/" in store.actor or store.actor in ("mayor", "deacon") else "overseer"


def _open_gate(store: BeadStore, bead_id: str) -> bool:
    try:
        bead = store.get(bead_id)
    except GasTownError:
        return False
    return bead.get("issue_type") == "gate" and bead["status"] != "closed"


def molecule_progress(store: BeadStore, convoy_id: str):
    """The molecule as a checklist (formulas.progress), from its step beads' statuses."""
    from gastown_tui.formulas.model import Step
    from gastown_tui.formulas.progress import molecule_progress as progress

    steps, statuses, by_bead = [], {}, {}
    tracked = convoy_ops.tracked(store, convoy_id)
    beads = {t["id"]: store.get(t["id"]) for t in tracked if t["status"] != "missing"}
    for bead_id, bead in beads.items():
        by_bead[bead_id] = parse_fields(bead.get("description", "")).get("molecule_step") or bead_id
    for bead_id, bead in beads.items():
        needs = tuple(by_bead[d["depends_on_id"]] for d in store.dependency_records(bead_id)
                      if d["type"] == "blocks" and d["depends_on_id"] in by_bead)
        steps.append(Step(id=by_bead[bead_id], title=bead["title"], needs=needs))
        gated = bead["status"] == "open" and any(
            d["type"] == "blocks" and d["depends_on_id"] not in by_bead
            and _open_gate(store, d["depends_on_id"]) for d in store.dependency_records(bead_id))
        statuses[by_bead[bead_id]] = "gated" if gated else bead["status"]
    return progress(steps, statuses)
