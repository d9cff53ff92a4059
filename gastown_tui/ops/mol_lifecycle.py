"""`gt mol burn|squash|attach|detach|attachment|dag` (upstream gastown's molecule_lifecycle.go,
molecule_attach.go, molecule_dag.go): the molecule attached to an agent's work.

Upstream keeps the attachment on a pinned handoff bead; here it is the hooked bead's
`attached_molecule` field (set by `gt sling`, which makes a root-only wisp of the formula), so
"the target's molecule" is the molecule attached to the bead on its hook."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town, now_rfc3339
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore


def attached_molecule(bead: dict[str, Any]) -> str:
    return parse_fields(bead.get("description", "")).get("attached_molecule", "")


def _hooked(store: BeadStore, addr: Address) -> dict[str, Any]:
    bead = hook_ops.hooked_for(store, str(addr)) or (
        hook_ops.hooked_for(store, "mayor/") if addr.role == "mayor" else None)
    if bead is None:
        raise ValidationError(f"{addr} has nothing on its hook",
                              fix="see gt hook; burn or squash needs attached work")
    return bead


def close_descendants(store: BeadStore, root: str, reason: str) -> int:
    """Close every open bead under `root` (children first); returns how many."""
    closed = 0
    for bead_id in reversed(store.descendants(root)):
        try:
            if store.get(bead_id)["status"] != "closed":
                store.set_status(bead_id, "closed", reason=reason, force=True)
                closed += 1
        except GasTownError:
            continue
    return closed


def _close_root(store: BeadStore, mol: str, reason: str) -> bool:
    try:
        if store.get(mol)["status"] != "closed":
            store.set_status(mol, "closed", reason=reason, force=True)
        return True
    except GasTownError:
        return False


def progress_of(town: Town, store: BeadStore, addr: Address, bead: dict[str, Any],
                mol: str) -> tuple[int, int]:
    """(done, total) steps: the molecule's step beads, else the inline formula's steps."""
    children = [store.get(c) for c in store.descendants(mol)] if store.exists(mol) else []
    steps = [c for c in children if c.get("issue_type") != "gate"]
    if steps:
        return sum(1 for c in steps if c["status"] == "closed"), len(steps)
    from gastown_tui.ops.prime import steps_done
    from gastown_tui.ops.step_gates import _formula_steps

    try:
        _, formula = _formula_steps(town, addr, bead)
    except GasTownError:
        formula = []
    done = set(steps_done(bead))
    return sum(1 for s in formula if s.id in done), len(formula)


def burn(town: Town, store: BeadStore, addr: Address) -> dict[str, Any]:
    """Discard the attached molecule: its steps and root closed, the attachment removed."""
    bead = _hooked(store, addr)
    mol = attached_molecule(bead)
    if not mol:
        return {"burned": "", "from": str(addr), "handoff_id": bead["id"],
                "children_closed": 0, "root_closed": False}
    children = close_descendants(store, mol, "burned") if store.exists(mol) else 0
    detach(town, store, bead["id"], operation="burn")
    root_closed = _close_root(store, mol, "burned")
    log_event(town.root, "mol_burned", actor=str(addr),
              payload={"molecule": mol, "bead": bead["id"], "children_closed": children})
    return {"burned": mol, "from": str(addr), "handoff_id": bead["id"],
            "children_closed": children, "root_closed": root_closed}


def squash(town: Town, store: BeadStore, addr: Address, *, summary: str = "",
           no_digest: bool = False, bead: dict[str, Any] | None = None) -> dict[str, Any]:
    """Condense the attached molecule into a digest bead (closed, ephemeral, label `digest`,
    aggregated by `gt patrol digest`, pruned by KRC), close it and detach it."""
    bead = bead or _hooked(store, addr)
    mol = attached_molecule(bead)
    out: dict[str, Any] = {"squashed": mol, "from": str(addr), "handoff_id": bead["id"],
                           "children_closed": 0, "digest_skipped": no_digest,
                           "root_closed": False, "digest": ""}
    if not mol:
        return out
    done, total = progress_of(town, store, addr, bead, mol)
    out["children_closed"] = close_descendants(store, mol, "squashed") if store.exists(mol) \
        else 0
    if not no_digest:
        out["digest"] = write_digest(store, f"Digest: {mol}", mol, str(addr), summary, done,
                                     total, prefix=mol.split("-", 1)[0])
    detach(town, store, bead["id"], operation="squash")
    out["root_closed"] = _close_root(store, mol, "squashed")
    log_event(town.root, "mol_squashed", actor=str(addr),
              payload={"molecule": mol, "bead": bead["id"], "digest": out["digest"]})
    return out


def write_digest(store: BeadStore, title: str, mol: str, agent: str, summary: str, done: int,
                 total: int, *, prefix: str = "hq", wisp_type: str = "") -> str:
    """One closed digest bead (upstream's shape): what ran, when, how far it got."""
    text = (f"Squashed molecule execution.\n\nmolecule: {mol}\nagent: {agent}\n"
            f"squashed_at: {now_rfc3339()}\n")
    if summary:
        text += f"\n## Summary\n{summary}\n"
    if total:
        text += (f"\n## Execution Summary\n- Steps: {done}/{total} completed\n"
                 f"- Status: {'complete' if done >= total else 'partial'}\n")
    fields = {"close_reason": "digest"}
    if wisp_type:
        fields["wisp_type"] = wisp_type
    digest = store.create(title, prefix=prefix, description=text, priority=4, ephemeral=True,
                          status="closed", labels=["gt:task", "digest"], fields=fields)
    return digest["id"]


# ---------------------------------------------------------------------------- attachments
def attach(town: Town, store: BeadStore, pinned: str, molecule: str) -> dict[str, Any]:
    store.get(molecule)
    bead = store.update(pinned, description_fields={"attached_molecule": molecule,
                                                    "attached_at": now_rfc3339()})
    log_event(town.root, "mol_attached", actor=store.actor,
              payload={"bead": pinned, "molecule": molecule})
    return attachment(store, bead["id"])


def detach(town: Town, store: BeadStore, pinned: str, *, operation: str = "detach"
           ) -> dict[str, Any]:
    bead = store.get(pinned)
    previous = attached_molecule(bead)
    if previous:
        store.update(pinned, description_fields={"attached_molecule": None, "attached_at": None})
        log_event(town.root, "mol_detached", actor=store.actor,
                  payload={"bead": pinned, "molecule": previous, "operation": operation})
    return {"issue_id": pinned, "detached": previous}


def attachment(store: BeadStore, pinned: str) -> dict[str, Any]:
    bead = store.get(pinned)
    fields = parse_fields(bead.get("description", ""))
    out = {"issue_id": bead["id"], "issue_title": bead["title"], "status": bead["status"]}
    if fields.get("attached_molecule"):
        out["attached_molecule"] = fields["attached_molecule"]
    if fields.get("attached_at"):
        out["attached_at"] = fields["attached_at"]
    return out


# ---------------------------------------------------------------------------- dag
def dag(store: BeadStore, root_id: str) -> dict[str, Any]:
    """A molecule's steps as tiers of a DAG (upstream's DAGInfo): tier 0 needs nothing, each
    later tier needs only earlier ones; the critical path is the longest chain."""
    root = store.get(root_id)
    ids = [i for i in store.descendants(root_id)]
    beads = {i: store.get(i) for i in ids}
    steps = {i: b for i, b in beads.items() if b.get("issue_type") != "gate"}
    deps: dict[str, list[str]] = {i: [] for i in steps}
    for sid in steps:
        for d in store.dependency_records(sid):
            if d["type"] in ("blocks", "conditional-blocks") and d["depends_on_id"] in steps:
                deps[sid].append(d["depends_on_id"])
    tier: dict[str, int] = {}

    def tier_of(node: str, path: frozenset[str] = frozenset()) -> int:
        if node in tier:
            return tier[node]
        if node in path:
            raise ValidationError(f"{root_id} has a dependency cycle through {node}",
                                  fix="bd dep cycles shows it; remove one edge")
        tier[node] = 0 if not deps[node] else 1 + max(tier_of(n, path | {node})
                                                     for n in deps[node])
        return tier[node]

    for sid in steps:
        tier_of(sid)
    nodes = {}
    for sid, bead in steps.items():
        nodes[sid] = {"id": sid, "title": bead["title"], "status": bead["status"],
                      "tier": tier[sid],
                      **({"dependencies": deps[sid]} if deps[sid] else {}),
                      **({"dependents": d} if (d := [o for o in steps if sid in deps[o]])
                         else {})}
    groups: list[list[str]] = []
    for sid in sorted(steps, key=lambda s: (tier[s], s)):
        while len(groups) <= tier[sid]:
            groups.append([])
        groups[tier[sid]].append(sid)
    critical: list[str] = []
    if steps:
        node = max(steps, key=lambda s: (tier[s], s))
        critical = [node]
        while deps[node]:
            node = max(deps[node], key=lambda s: tier[s])
            critical.append(node)
        critical.reverse()
    return {"root_id": root["id"], "root_title": root["title"], "total_nodes": len(steps),
            "tiers": len(groups), "critical_path": critical, "nodes": nodes,
            "tier_groups": groups}
