"""Molecules as beads (upstream beads' `bd mol pour|wisp|bond|squash|burn`, `bd cook`).

A formula becomes a molecule: a root bead (type molecule) with one child bead per step
(`parent-child`), `blocks` edges for the steps' `needs`, and a gate bead for each step that
has `[steps.gate]`. Poured molecules are persistent (`<prefix>-mol-*`), wisps are ephemeral
(`<prefix>-wisp-*`, kept out of exports, pruned by KRC when closed and old); a root-only wisp
has just the root, its steps shown inline by `gt prime` (how Gas Town runs polecat work).
Squashing condenses a molecule into a digest bead; burning removes it without a trace."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gastown_tui.town.durations import parse_duration, to_nanos
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import set_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

STEP_TYPES = {"task", "bug", "feature", "epic", "chore"}
BOND_TYPES = ("sequential", "parallel", "conditional")
_BOND_DEP = {"sequential": "blocks", "conditional": "conditional-blocks",
             "parallel": "parent-child"}


@dataclass
class SpawnResult:
    new_epic_id: str
    id_mapping: dict[str, str]
    created: int
    phase: str
    planned: list[dict[str, Any]] = field(default_factory=list)  # dry runs: what would be made

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.planned:
            out.pop("planned")
        return out


def resolve(town: Town, name: str, values: dict[str, str], *, rig: str | None = None,
            require_all: bool = True):
    from gastown_tui.formulas.resolve import FormulaLibrary  # lazy: pydantic, tomlkit

    return FormulaLibrary(town.root, rig).resolve(name, values, require_all=require_all)


def _plan(resolved, prefix: str, values: dict[str, str], *, ephemeral: bool, root_only: bool,
          assignee: str) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    infix = "wisp" if ephemeral else "mol"
    root_key = resolved.name
    # upstream: the root is titled {{title}} when the formula declares that var, else its name
    title = (values.get("title") or resolved.name) if "title" in resolved.vars else resolved.name
    root = {"key": root_key, "title": title, "prefix": prefix, "id_infix": infix,
            "issue_type": "molecule", "ephemeral": ephemeral, "assignee": assignee,
            "description": set_fields(resolved.description.strip(),
                                      {"source_formula": resolved.name}),
            "fields": {"source_formula": resolved.name, "mol_type": "work"}}
    nodes, edges = [root], []
    if root_only:
        return nodes, edges
    for step in resolved.steps:
        key = f"{resolved.name}.{step.id}"
        kind = step.type if step.type in STEP_TYPES else "task"
        nodes.append({"key": key, "title": step.title or step.id, "prefix": prefix,
                      "id_infix": infix, "issue_type": kind, "ephemeral": ephemeral,
                      "labels": list(step.labels),
                      "description": set_fields(step.description.strip(),
                                                {"molecule_step": step.id}),
                      "fields": {"source_formula": resolved.name}})
        edges.append((key, root_key, "parent-child"))
        for need in step.all_needs:
            edges.append((key, f"{resolved.name}.{need}", "blocks"))
        gate = step.parks_on
        if gate is not None:
            gate_key = f"{resolved.name}.gate-{step.id}"
            awaits = gate.awaits
            extra: dict[str, Any] = {"await_type": gate.type}
            if awaits:
                extra["await_id"] = awaits
            if gate.timeout:
                extra["timeout"] = to_nanos(parse_duration(gate.timeout, what="a gate's timeout"))
            nodes.append({"key": gate_key, "prefix": prefix, "id_infix": infix,
                          "title": f"Gate: {gate.type} {awaits}".rstrip(),
                          "issue_type": "gate", "ephemeral": ephemeral, "fields": extra,
                          "description": set_fields(f"Async gate for step {step.id}",
                                                    {"step": step.id})})
            edges.append((gate_key, root_key, "parent-child"))
            edges.append((key, gate_key, "blocks"))
    return nodes, edges


def spawn(town: Town, store: BeadStore, name: str, *, prefix: str,
          values: dict[str, str] | None = None, ephemeral: bool = False,
          root_only: bool = False, assignee: str = "", rig: str | None = None,
          dry_run: bool = False, attach_to: str = "", attach_type: str = "parent-child",
          require_all: bool = True) -> SpawnResult:
    """Instantiate formula `name` as a molecule in one transaction."""
    values = dict(values or {})
    resolved = resolve(town, name, values, rig=rig, require_all=require_all)
    if resolved.type != "workflow":
        raise ValidationError(f"{name} is a {resolved.type} formula, not a workflow",
                              fix="run convoy formulas with 'gt formula run'")
    nodes, edges = _plan(resolved, prefix, values, ephemeral=ephemeral, root_only=root_only,
                         assignee=assignee)
    if attach_to:
        store.get(attach_to)
        edges.append((resolved.name, attach_to, attach_type))
    phase = "vapor" if ephemeral else "liquid"
    if dry_run:
        return SpawnResult("", {}, 0, phase,
                           planned=[{"key": n["key"], "title": n["title"],
                                     "issue_type": n["issue_type"]} for n in nodes])
    mapping = store.create_graph(nodes, edges)
    root = mapping[resolved.name]
    log_event(town.root, "mol_spawned", actor=store.actor,
              payload={"formula": resolved.name, "molecule": root, "phase": phase,
                       "created": len(mapping)})
    return SpawnResult(root, mapping, len(mapping), phase)


def cook(town: Town, name: str, values: dict[str, str], *, rig: str | None = None,
         runtime: bool = False):
    """bd cook: the resolved formula (vars filled in runtime mode, kept in compile mode)."""
    from gastown_tui.formulas.resolve import FormulaLibrary  # lazy

    library = FormulaLibrary(town.root, rig)
    if runtime:
        return library.resolve(name, values)
    return library.resolve(name)


# ---------------------------------------------------------------------------- squash / burn
@dataclass
class SquashResult:
    molecule_id: str
    digest_id: str = ""
    squashed_ids: list[str] = field(default_factory=list)
    squashed_count: int = 0
    deleted_count: int = 0
    kept_children: bool = False
    wisp_squash: bool = False

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.wisp_squash:
            out.pop("wisp_squash")
        return out


def digest_text(root: dict[str, Any], children: list[dict[str, Any]]) -> str:
    """bd's generated digest: the steps, how they ended (when no summary was given)."""
    done = sum(1 for c in children if c["status"] == "closed")
    active = sum(1 for c in children if c["status"] == "in_progress")
    lines = ["## Molecule Execution Summary", "", f"**Molecule**: {root['title']}",
             f"**Steps**: {len(children)}", "", f"**Completed**: {done}/{len(children)}"]
    if active:
        lines.append(f"**In Progress**: {active}")
    lines += ["", "---", "", "### Steps", ""]
    for n, child in enumerate(children, start=1):
        lines.append(f"{n}. **[{child['status']}]** {child['title']}")
        desc = (child.get("description") or "").strip()
        if desc:
            lines.append(f"   {desc[:200]}{'...' if len(desc) > 200 else ''}")
        if child.get("close_reason"):
            lines.append(f"   *Outcome: {child['close_reason']}*")
        lines.append("")
    return "\n".join(lines)


def squash(town: Town, store: BeadStore, mol_id: str, *, summary: str = "",
           keep_children: bool = False, dry_run: bool = False) -> SquashResult:
    """bd mol squash: a permanent digest of the molecule's ephemeral steps; the steps are
    deleted (unless kept) and a wisp root is closed and made permanent."""
    root = store.get(mol_id)
    children = [store.get(c) for c in store.descendants(mol_id)]
    wisps = [c for c in children if c.get("ephemeral")]
    result = SquashResult(mol_id, squashed_ids=[c["id"] for c in wisps],
                          squashed_count=len(wisps), kept_children=keep_children)
    if not wisps or dry_run:
        return result
    prefix = mol_id.split("-", 1)[0]
    nodes = [{"key": "digest", "title": f"Digest: {root['title']}", "prefix": prefix,
              "description": summary or digest_text(root, wisps), "status": "closed",
              "priority": root.get("priority", 2), "labels": ["digest"],
              "fields": {"close_reason": f"Squashed from {len(wisps)} wisps"}}]
    mapping = store.create_graph(nodes, [("digest", mol_id, "parent-child")])
    result.digest_id = mapping["digest"]
    if not keep_children:
        result.deleted_count = len(store.delete_issues([c["id"] for c in wisps]))
    if root.get("ephemeral"):
        if root["status"] != "closed":
            store.set_status(mol_id, "closed", force=True,
                             reason=f"Squashed: {len(wisps)} steps → digest {result.digest_id}")
        store.update(mol_id, changes={"ephemeral": False})
        result.wisp_squash = True
    log_event(town.root, "mol_squashed", actor=store.actor,
              payload={"molecule": mol_id, "digest": result.digest_id,
                       "squashed": len(wisps)})
    return result


def burn(town: Town, store: BeadStore, mol_ids: list[str], *, dry_run: bool = False
         ) -> dict[str, Any]:
    """bd mol burn: delete molecules (root, steps and gates) without a digest."""
    results, total, failed = [], 0, 0
    for mol_id in mol_ids:
        try:
            store.get(mol_id)
        except GasTownError as exc:
            failed += 1
            results.append({"molecule_id": mol_id, "deleted_ids": [], "deleted_count": 0,
                            "error": exc.problem})
            continue
        ids = [mol_id, *store.descendants(mol_id)]
        deleted = ids if dry_run else store.delete_issues(ids)
        total += len(deleted)
        results.append({"molecule_id": mol_id, "deleted_ids": deleted,
                        "deleted_count": len(deleted)})
        if not dry_run:
            log_event(town.root, "mol_burned", actor=store.actor,
                      payload={"molecule": mol_id, "deleted": len(deleted)})
    return {"results": results, "total_deleted": total, "failed_count": failed,
            "dry_run": dry_run}


def bond(town: Town, store: BeadStore, a: str, b: str, *, bond_type: str = "sequential",
         values: dict[str, str] | None = None, ephemeral: bool | None = None,
         rig: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """bd mol bond: formula + molecule spawns the formula and attaches it (the spawned root
    waits on the molecule for `sequential`); molecule + molecule links B to A."""
    if bond_type not in BOND_TYPES:
        raise ValidationError(f"unknown bond type {bond_type!r}",
                              fix=f"use one of: {', '.join(BOND_TYPES)}")
    dep = _BOND_DEP[bond_type]
    a_bead, b_bead = store.exists(a), store.exists(b)
    if a_bead and b_bead:
        if not dry_run:
            store.add_dependency(b, a, dep)
            log_event(town.root, "mol_bonded", actor=store.actor,
                      payload={"a": a, "b": b, "type": bond_type})
        return {"result_id": a, "result_type": "compound_molecule", "bond_type": bond_type}
    if not a_bead and not b_bead:
        raise ValidationError(f"neither {a} nor {b} is a bead in this store",
                              fix="bond a formula to a molecule, or two molecules "
                                  "(see bd formula list, bd list --type molecule)")
    formula, mol = (b, a) if a_bead else (a, b)
    target = store.get(mol)
    phase_ephemeral = bool(target.get("ephemeral")) if ephemeral is None else ephemeral
    spawned = spawn(town, store, formula, prefix=mol.split("-", 1)[0], values=values,
                    ephemeral=phase_ephemeral, rig=rig, dry_run=dry_run, attach_to=mol,
                    attach_type=dep)
    return {"result_id": mol, "result_type": "compound_molecule", "bond_type": bond_type,
            "spawned": spawned.created, "id_mapping": spawned.id_mapping}


def wisps(store: BeadStore, *, include_closed: bool = False) -> dict[str, Any]:
    """bd mol wisp list: wisp molecules (roots), with those untouched for a day flagged."""
    from datetime import UTC, datetime, timedelta

    roots = store.list_issues(issue_types=["molecule"], include_all=include_closed,
                              limit=0, sort="updated", counts=False)
    cutoff = (datetime.now(UTC) - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S")
    items = []
    for bead in roots:
        if not bead.get("ephemeral"):
            continue
        old = bead.get("updated_at", "") < cutoff
        items.append({"id": bead["id"], "title": bead["title"], "status": bead["status"],
                      "priority": bead.get("priority", 2), "type": bead.get("issue_type"),
                      "labels": bead.get("labels", []), "created_at": bead["created_at"],
                      "updated_at": bead["updated_at"], **({"old": True} if old else {})})
    old_count = sum(1 for i in items if i.get("old"))
    return {"wisps": items, "count": len(items), **({"old_count": old_count} if old_count
                                                     else {})}
