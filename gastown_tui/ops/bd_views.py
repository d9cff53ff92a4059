"""The read-mostly bd verbs agents use (upstream beads' dep tree/cycles, count, status/stats,
epic, ready --explain, close --continue/--suggest-next, doctor), over the town's one store."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.store import BeadStore
from gastown_tui.town.store.records import BLOCKING_DEP_TYPES

BLOCKING = (*BLOCKING_DEP_TYPES, "waits-for")


# ---------------------------------------------------------------------------- dep tree / cycles
def tree(store: BeadStore, root: str, *, direction: str = "down", max_depth: int = 50,
         status: str = "", all_paths: bool = False) -> list[dict[str, Any]]:
    """bd dep tree: TreeNodes (the issue, depth, parent_id, edge_from_parent, truncated),
    depth first from the root; `down` follows what it depends on, `up` what depends on it."""
    if direction not in ("down", "up", "both"):
        raise ValidationError(f"unknown direction {direction!r}", fix="use down, up or both")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(bead_id: str, depth: int, parent: str, edge: str, going: str) -> None:
        try:
            issue = store.get(bead_id)
        except GasTownError:
            issue = {"id": bead_id, "title": "", "status": "missing", "priority": 2}
        truncated = depth >= max_depth
        if not status or issue.get("status") == status or depth == 0:
            out.append({**issue, "depth": depth, "parent_id": parent,
                        **({"edge_from_parent": edge} if edge else {}),
                        "truncated": truncated})
        if truncated or (bead_id in seen and not all_paths):
            return
        seen.add(bead_id)
        if going == "down":
            nxt = [(d["depends_on_id"], d["type"]) for d in store.dependency_records(bead_id)]
        else:
            nxt = [(d["issue_id"], d["type"]) for d in store.dependent_records(bead_id)]
        for other, kind in nxt:
            if other.startswith("external:") or (other in seen and not all_paths):
                continue
            visit(other, depth + 1, bead_id, kind, going)

    store.get(root)
    for going in (("down", "up") if direction == "both" else (direction,)):
        seen.clear()
        visit(root, 0, "", "", going)
    return out


def mermaid(nodes: list[dict[str, Any]]) -> str:
    lines = ["flowchart TD"]
    for node in nodes:
        label = (node.get("title") or node["id"]).replace('"', "'")
        lines.append(f'  {node["id"].replace("-", "_")}["{node["id"]}: {label}"]')
    for node in nodes:
        if node["parent_id"]:
            lines.append(f"  {node['parent_id'].replace('-', '_')} --> "
                         f"{node['id'].replace('-', '_')}")
    return "\n".join(lines)


def cycles(store: BeadStore) -> list[list[str]]:
    """bd dep cycles: every cycle over blocking edges (DFS, each cycle reported once)."""
    graph: dict[str, list[str]] = {}
    for src, dst, _ in store.edges(BLOCKING_DEP_TYPES):
        graph.setdefault(src, []).append(dst)
    found: list[list[str]] = []
    keys: set[tuple[str, ...]] = set()
    color: dict[str, int] = {}
    stack: list[str] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

    def dfs(node: str) -> None:
        color[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if color.get(nxt, 0) == 0:
                dfs(nxt)
            elif color[nxt] == 1:
                cycle = stack[stack.index(nxt):]
                low = cycle.index(min(cycle))
                key = tuple(cycle[low:] + cycle[:low])
                if key not in keys:
                    keys.add(key)
                    found.append(list(key))
        stack.pop()
        color[node] = 2

    for node in sorted(graph):
        if color.get(node, 0) == 0:
            dfs(node)
    return found


# ---------------------------------------------------------------------------- stats
def statistics(store: BeadStore, prefixes: list[str] | None) -> dict[str, Any]:
    """bd status/stats: upstream's Statistics over work beads (infra and wisps left out)."""
    where = ["issue_type NOT IN ('agent', 'rig', 'role', 'message', 'gate', 'merge-request', "
             "'convoy', 'molecule', 'event')", "ephemeral = 0"]
    params: list[Any] = []
    if prefixes:
        where.append(f"prefix IN ({','.join('?' * len(prefixes))})")
        params.extend(prefixes)
    by_status = store.count_by("status", " AND ".join(where), params)
    ready = store.ready(prefixes=prefixes, limit=0)
    blocked_ids = store.blocked_ids()
    blocked = [b for b in store.list_issues(prefixes=prefixes, limit=0, counts=False)
               if b["id"] in blocked_ids]
    epics = epic_status(store, prefixes, eligible_only=True)
    closed = store.list_issues(prefixes=prefixes, statuses=["closed"], limit=0, counts=False)
    leads = []
    for bead in closed:
        try:
            start = datetime.fromisoformat(bead["created_at"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(bead["closed_at"].replace("Z", "+00:00"))
            leads.append((end - start).total_seconds() / 3600)
        except (KeyError, ValueError, AttributeError):
            continue
    return {"total_issues": sum(by_status.values()),
            "open_issues": by_status.get("open", 0),
            "in_progress_issues": by_status.get("in_progress", 0)
            + by_status.get("hooked", 0),
            "closed_issues": by_status.get("closed", 0),
            "blocked_issues": len(blocked) + by_status.get("blocked", 0),
            "deferred_issues": by_status.get("deferred", 0),
            "ready_issues": len(ready), "pinned_issues": by_status.get("pinned", 0),
            "epics_eligible_for_closure": len(epics),
            "average_lead_time_hours": round(sum(leads) / len(leads), 2) if leads else 0.0}


def recent_activity(store: BeadStore, hours: int = 24) -> dict[str, Any]:
    """What the store's own event table says happened in the last day (upstream reads git)."""
    since = datetime.now(UTC).timestamp() - hours * 3600
    counts = {"created": 0, "closed": 0, "updated": 0, "reopened": 0}
    total = 0
    for kind, created in store.recent_events():
        try:
            when = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
        if when < since:
            break
        total += 1
        if kind in counts:
            counts[kind] += 1
    return {"hours_tracked": hours, "commit_count": 0, "issues_created": counts["created"],
            "issues_closed": counts["closed"], "issues_updated": counts["updated"],
            "issues_reopened": counts["reopened"], "total_changes": total}


def epic_status(store: BeadStore, prefixes: list[str] | None, *, eligible_only: bool = False
                ) -> list[dict[str, Any]]:
    out = []
    for epic in store.list_issues(prefixes=prefixes, issue_types=["epic"], limit=0,
                                  counts=False):
        children = [store.get(c) for c in store.descendants(epic["id"])]
        direct = [c for c in children
                  if any(d["type"] == "parent-child" and d["depends_on_id"] == epic["id"]
                         for d in store.dependency_records(c["id"]))]
        closed = sum(1 for c in direct if c["status"] == "closed")
        eligible = bool(direct) and closed == len(direct)
        if eligible_only and not eligible:
            continue
        out.append({"epic": epic, "total_children": len(direct), "closed_children": closed,
                    "eligible_for_close": eligible})
    return out


# ---------------------------------------------------------------------------- ready --explain
def explain(store: BeadStore, prefixes: list[str] | None) -> dict[str, Any]:
    ready = store.ready(prefixes=prefixes, limit=0)
    blocked = store.blocked(prefixes=prefixes)
    ready_items = []
    for issue in ready:
        deps = store.dependency_records(issue["id"])
        resolved = [d["depends_on_id"] for d in deps if d["type"] in BLOCKING]
        parent = next((d["depends_on_id"] for d in deps if d["type"] == "parent-child"), None)
        ready_items.append({**issue, "reason": f"{len(resolved)} blocker(s) resolved" if resolved
                            else "no blocking dependencies", "resolved_blockers": resolved,
                            **({"parent": parent} if parent else {})})
    blocked_items = []
    for issue in blocked:
        infos = []
        for blocker in issue["blocked_by"]:
            try:
                b = store.get(blocker)
                infos.append({"id": blocker, "title": b["title"], "status": b["status"],
                              "priority": b.get("priority", 2)})
            except GasTownError:
                infos.append({"id": blocker, "title": "", "status": "", "priority": 0})
        blocked_items.append({**issue, "blocked_by": infos})
    found = cycles(store)
    return {"ready": ready_items, "blocked": blocked_items,
            **({"cycles": found} if found else {}),
            "summary": {"total_ready": len(ready_items), "total_blocked": len(blocked_items),
                        "cycle_count": len(found)}}


# ---------------------------------------------------------------------------- after a close
def newly_unblocked(store: BeadStore, closed_id: str) -> list[dict[str, Any]]:
    """Beads that depended on the closed one and are ready now (bd close --suggest-next)."""
    waiting = [d["issue_id"] for d in store.dependent_records(closed_id)
               if d["type"] in BLOCKING]
    if not waiting:
        return []
    ready = {b["id"]: b for b in store.ready(limit=0, include_ephemeral=True)}
    return [ready[i] for i in waiting if i in ready]


def advance(store: BeadStore, closed_id: str, *, claim: bool) -> dict[str, Any] | None:
    """bd close --continue: the next ready step of the closed step's molecule (claimed unless
    --no-auto); None when the bead is no molecule's step."""
    closed = store.get(closed_id)
    parent = next((d["depends_on_id"] for d in store.dependency_records(closed_id)
                   if d["type"] == "parent-child"), None)
    if parent is None:
        return None
    steps = [store.get(c) for c in store.descendants(parent)]
    steps = [s for s in steps if s.get("issue_type") != "gate"]
    result: dict[str, Any] = {"closed_step": closed, "auto_advanced": False,
                              "molecule_complete": all(s["status"] == "closed" for s in steps),
                              "molecule_id": parent}
    if result["molecule_complete"]:
        return result
    ready = {b["id"] for b in store.ready(limit=0, include_ephemeral=True)}
    nxt = next((s for s in steps if s["id"] in ready), None)
    if nxt is None:
        return result
    if claim:
        try:
            nxt = store.update(nxt["id"], claim=True)
            result["auto_advanced"] = True
        except GasTownError:
            pass  # someone else took it first: show it, do not steal it
    result["next_step"] = nxt
    return result


# ---------------------------------------------------------------------------- doctor
def doctor(store: BeadStore, *, fix: bool = False) -> list[dict[str, Any]]:
    """bd doctor for the SQLite store: integrity, the closed_at invariant, edges to beads
    that are gone, labels and comments of beads that are gone, blocking cycles."""
    checks: list[dict[str, Any]] = []

    def check(name: str, problems: list[str], fix_text: str, repair=None) -> None:
        if problems and fix and repair is not None:
            repair()
            checks.append({"name": name, "status": "ok", "category": "data",
                           "message": f"fixed {len(problems)}: {', '.join(problems[:5])}"})
        elif problems:
            checks.append({"name": name, "status": "warning", "category": "data",
                           "message": f"{len(problems)} found: {', '.join(problems[:5])}",
                           "fix": fix_text})
        else:
            checks.append({"name": name, "status": "ok", "category": "data",
                           "message": "none"})

    integrity = store.integrity_check()
    checks.append({"name": "store integrity", "category": "core",
                   "status": "error" if integrity else "ok",
                   "message": "; ".join(integrity[:5]) or "ok", "detail": "sqlite (WAL)",
                   **({"fix": "restore from a bd export (bd import)"} if integrity else {})})
    dangling = [f"{a}→{b}" for a, b in store.dangling_dependencies()]

    def drop_dangling() -> None:
        for pair in dangling:
            src, dst = pair.split("→")
            store.remove_dependency(src, dst)

    check("dependencies on missing beads", dangling,
          "bd doctor --fix removes them (or bd dep remove <a> <b>)", drop_dangling)
    orphans = store.orphan_records()
    check("labels/comments of missing beads", orphans, "bd doctor --fix removes them",
          store.purge_orphans)
    found = cycles(store)
    checks.append({"name": "dependency cycles", "category": "data",
                   "status": "warning" if found else "ok",
                   "message": f"{len(found)}: " + "; ".join(" → ".join(c) for c in found[:3])
                   if found else "none",
                   **({"fix": "bd dep remove one edge of each (bd dep cycles)"} if found
                      else {})})
    return checks
