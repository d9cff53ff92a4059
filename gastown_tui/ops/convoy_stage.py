"""`gt convoy stage|launch` (upstream gastown's convoy_stage.go, convoy_launch.go): plan a
batch of work as waves before any of it starts, then start the first wave.

Staging reads an epic (its slingable descendants), a list of beads, or a staged convoy;
builds the DAG of their `blocks` edges; and sorts it into waves (wave 1 needs nothing, each
later wave only earlier ones). Errors (a cycle, a bead no rig owns) stage nothing. Warnings
(a task held by a non-slingable bead such as a gate or an epic, a parked rig) stage the convoy
as `staged_warnings`; a clean plan is `staged_ready`. Launching opens the convoy and slings
wave 1; the Deacon's convoy feed slings each later task as its blockers close."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.ops.rig_state import asleep
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.names import bead_prefix
from gastown_tui.town.store import BeadStore

STAGED = ("staged_ready", "staged_warnings")


@dataclass
class Plan:
    nodes: dict[str, dict[str, Any]]
    waves: list[list[str]] = field(default_factory=list)
    gated: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _finding(category: str, ids: list[str], message: str, fix: str = "") -> dict[str, Any]:
    return {"category": category, "bead_ids": ids, "message": message,
            **({"suggested_fix": fix} if fix else {})}


def _inputs(store: BeadStore, ids: list[str]) -> tuple[str, list[str], dict[str, Any] | None]:
    """(kind, bead ids to plan, the epic or convoy given)."""
    if not ids:
        raise ValidationError("gt convoy stage needs at least one bead id",
                              fix="gt convoy stage <epic-id | task-id... | convoy-id>")
    beads = [store.get(i) for i in ids]
    if len(beads) == 1 and beads[0].get("issue_type") == "epic":
        epic = beads[0]
        return "epic", [d for d in store.descendants(epic["id"])], epic
    if len(beads) == 1 and beads[0].get("issue_type") == "convoy":
        return "convoy", [t["id"] for t in convoy_ops.tracked(store, ids[0])
                          if t["status"] != "missing"], beads[0]
    kinds = {b.get("issue_type") for b in beads}
    if kinds & {"epic", "convoy"}:
        raise ValidationError("stage one epic, one convoy, or tasks, not a mix",
                              fix="gt convoy stage <epic-id> | <convoy-id> | <task-id>...")
    return "tasks", ids, None


def plan(town: Town, store: BeadStore, ids: list[str]) -> Plan:
    nodes: dict[str, dict[str, Any]] = {}
    for bead_id in ids:
        bead = store.get(bead_id)
        if bead["status"] in convoy_ops.DONE_STATUSES or \
                bead.get("issue_type") not in convoy_ops.SLINGABLE:
            continue
        rig = town.rig_for_prefix(bead_prefix(bead_id))
        nodes[bead_id] = {"id": bead_id, "title": bead["title"],
                          "type": bead.get("issue_type", "task"), "status": bead["status"],
                          "rig": rig.name if rig else "", "blocked_by": [], "gated_by": []}
    result = Plan(nodes)
    for bead_id, node in nodes.items():
        for dep in store.dependency_records(bead_id):
            if dep["type"] not in ("blocks", "conditional-blocks"):
                continue
            target = dep["depends_on_id"]
            if target in nodes:
                node["blocked_by"].append(target)
                continue
            try:
                other = store.get(target)
            except GasTownError:
                continue
            if other["status"] not in convoy_ops.DONE_STATUSES:
                node["gated_by"].append(target)  # an open blocker outside the plan
        if not node["rig"]:
            result.errors.append(_finding("no-rig", [bead_id],
                                          f"no rig owns the prefix of {bead_id}",
                                          "file it inside a rig (bd create --rig <rig>)"))
        elif asleep(town.rig(node["rig"])):
            state = asleep(town.rig(node["rig"]))
            verb = "undock" if state == "docked" else "unpark"
            result.warnings.append(_finding("parked-rig", [bead_id],
                                            f"rig {node['rig']} is {state}",
                                            f"gt rig {verb} {node['rig']}"))
    remaining = {i for i, n in nodes.items() if not n["gated_by"]}
    placed: set[str] = set()
    while remaining:
        wave = sorted(i for i in remaining if all(b in placed for b in nodes[i]["blocked_by"]))
        if not wave:
            break
        result.waves.append(wave)
        placed.update(wave)
        remaining -= set(wave)
    held = [i for i, n in nodes.items() if n["gated_by"]]
    stuck = sorted(remaining)
    cyclic = [i for i in stuck if not _reaches_held(nodes, i, set(held))]
    if cyclic:
        result.errors.append(_finding("cycle", cyclic, "these tasks block each other in a "
                                      "cycle", "bd dep cycles shows it; remove one edge"))
    for bead_id in sorted(set(held) | (set(stuck) - set(cyclic))):
        result.gated.append({"id": bead_id, "title": nodes[bead_id]["title"],
                             "type": nodes[bead_id]["type"],
                             "gated_by": sorted(nodes[bead_id]["gated_by"])})
        result.warnings.append(_finding(
            "gated", [bead_id], f"task {bead_id} is gated by non-slingable blocker(s): "
            f"{', '.join(nodes[bead_id]['gated_by']) or '(transitively)'}",
            "close or resolve the blockers to include it in the waves"))
    if not nodes:
        result.errors.append(_finding("empty", ids, "nothing slingable to stage",
                                      "stage open tasks, bugs or features"))
    return result


def _reaches_held(nodes: dict[str, dict[str, Any]], start: str, held: set[str]) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node in held:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(nodes[node]["blocked_by"])
    return False


def _waves_json(p: Plan) -> list[dict[str, Any]]:
    return [{"number": n, "tasks": [{"id": t, "title": p.nodes[t]["title"],
                                     "type": p.nodes[t]["type"], "rig": p.nodes[t]["rig"],
                                     **({"blocked_by": p.nodes[t]["blocked_by"]}
                                        if p.nodes[t]["blocked_by"] else {})}
                                    for t in wave]}
            for n, wave in enumerate(p.waves, start=1)]


def stage(town: Town, store: BeadStore, ids: list[str], *, title: str = "",
          launch_now: bool = False, force: bool = False) -> dict[str, Any]:
    kind, planned_ids, given = _inputs(store, ids)
    p = plan(town, store, planned_ids)
    status = "error" if p.errors else ("staged_warnings" if p.warnings else "staged_ready")
    out: dict[str, Any] = {"status": status, "convoy_id": "", "restaged": False,
                           "errors": p.errors, "warnings": p.warnings, "waves": _waves_json(p),
                           **({"gated": p.gated} if p.gated else {}),
                           "tree": [{"id": i, "title": n["title"], "type": n["type"],
                                     "status": n["status"], "rig": n["rig"]}
                                    for i, n in p.nodes.items()]}
    if p.errors:
        return out
    members = [t for wave in p.waves for t in wave] + [g["id"] for g in p.gated]
    if kind == "convoy" and given is not None and given["status"] in STAGED:
        convoy_id = given["id"]
        store.update(convoy_id, changes={"status": status})
        out["restaged"] = True
    else:
        rigs = {p.nodes[t]["rig"] for t in members}
        name = title or (given["title"] if kind == "epic" and given else
                         f"Staged: {len(members)} beads across {len(rigs)} rigs")
        convoy = convoy_ops.create(town, store, name, members,
                                   summary=f"Staged convoy of {len(members)} beads in "
                                           f"{len(p.waves)} wave(s)")
        convoy_id = convoy["id"]
        store.update(convoy_id, changes={"status": status})
    out["convoy_id"] = convoy_id
    log_event(town.root, "convoy_staged", actor=store.actor,
              payload={"convoy": convoy_id, "status": status, "waves": len(p.waves)})
    if launch_now:
        out["launch"] = launch(town, store, convoy_id, force=force)
    return out


def launch(town: Town, store: BeadStore, convoy_id: str, *, force: bool = False
           ) -> dict[str, Any]:
    """Staged → open, and wave 1 slung to its rigs (one fresh polecat each)."""
    from gastown_tui.ops.sling import sling

    convoy = convoy_ops._convoy(store, convoy_id)
    status = convoy["status"]
    if status == "open":
        raise ValidationError(f"convoy {convoy_id} is already launched",
                              fix=f"gt convoy status {convoy_id}")
    if status == "closed":
        raise ValidationError(f"convoy {convoy_id} is closed", fix="stage the work again")
    if status == "staged_warnings" and not force:
        raise ValidationError(f"convoy {convoy_id} has warnings",
                              fix="see gt convoy stage --json, or launch with --force")
    if status not in STAGED:
        raise ValidationError(f"convoy {convoy_id} has unexpected status {status!r}",
                              fix="stage it with gt convoy stage")
    ids = [t["id"] for t in convoy_ops.tracked(store, convoy_id) if t["status"] != "missing"]
    p = plan(town, store, ids)
    store.update(convoy_id, changes={"status": "open"})
    dispatched = []
    for task in (p.waves[0] if p.waves else []):
        rig = p.nodes[task]["rig"]
        try:
            res = sling(town, store, [task], rig, no_convoy=True)[0]
            dispatched.append({"bead": task, "rig": rig, "success": True, "agent": res.agent})
        except GasTownError as exc:
            dispatched.append({"bead": task, "rig": rig, "success": False,
                               "error": exc.problem})
    log_event(town.root, "convoy_launched", actor=store.actor,
              payload={"convoy": convoy_id, "dispatched": [d["bead"] for d in dispatched]})
    return {"convoy_id": convoy_id, "status": "open", "waves": len(p.waves),
            "dispatched": dispatched}
