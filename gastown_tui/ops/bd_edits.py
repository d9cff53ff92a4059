"""bd writes beyond one field: moving a bead under another parent, metadata keys, deferring,
deleting with bd's rules for the beads that depended on the deleted ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from gastown_tui.town.durations import parse_duration
from gastown_tui.town.errors import ConflictError, ValidationError
from gastown_tui.town.store import BeadStore


def reparent(store: BeadStore, bead_id: str, parent: str) -> dict[str, Any]:
    """bd update --parent P: the bead's one parent-child edge now points at P ('' removes)."""
    if parent:
        store.get(parent)
        if parent == bead_id:
            raise ValidationError(f"{bead_id} cannot be its own parent", fix="pick another")
        if bead_id in [parent, *store.descendants(bead_id)]:
            raise ValidationError(f"{parent} is under {bead_id}: that would make a loop",
                                  fix="pick a parent outside its own subtree")
    for dep in store.dependency_records(bead_id):
        if dep["type"] == "parent-child" and dep["depends_on_id"] != parent:
            store.remove_dependency(bead_id, dep["depends_on_id"])
    if parent:
        store.add_dependency(bead_id, parent, "parent-child", check_cycle=False)
    return store.get(bead_id)


def merged_metadata(bead: dict[str, Any], sets: tuple[str, ...], unsets: tuple[str, ...]
                    ) -> dict[str, Any]:
    data = bead.get("metadata") or {}
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = {}
    data = dict(data) if isinstance(data, dict) else {}
    for pair in sets:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--set-metadata {pair!r} is not key=value",
                                  fix="e.g. --set-metadata team=core")
        if key.startswith(("bd:", "_")):
            raise ValidationError(f"metadata key {key!r} is reserved",
                                  fix="keys starting bd: or _ belong to bd")
        data[key.strip()] = value
    for key in unsets:
        data.pop(key, None)
    return data


def when(text: str, *, now: datetime | None = None) -> str:
    """bd's --until: +2h, +3d, tomorrow, an RFC3339 time or a date (YYYY-MM-DD)."""
    now = now or datetime.now(UTC)
    raw = (text or "").strip()
    if raw.startswith("+"):
        return (now + timedelta(seconds=parse_duration(raw[1:], what="--until"))).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    if raw == "tomorrow":
        day = (now + timedelta(days=1)).date()
        return f"{day.isoformat()}T00:00:00Z"
    if len(raw) == 10 and raw[4] == "-":
        return f"{raw}T00:00:00Z"
    return raw  # an RFC3339 time: the store validates it


def defer(store: BeadStore, ids: list[str], until: str = "") -> list[dict[str, Any]]:
    changes: dict[str, Any] = {"status": "deferred"}
    if until:
        changes["defer_until"] = when(until)
    return [store.update(i, changes=changes) for i in ids]


def undefer(store: BeadStore, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for bead_id in ids:
        bead = store.get(bead_id)
        if bead["status"] != "deferred" and not bead.get("defer_until"):
            raise ConflictError(f"{bead_id} is not deferred", fix="nothing to undo")
        out.append(store.update(bead_id, changes={"status": "open", "defer_until": None}))
    return out


def delete(store: BeadStore, ids: list[str], *, cascade: bool = False, force: bool = False,
           dry_run: bool = False) -> dict[str, Any]:
    """bd delete: without --force a preview naming the dependents that would be orphaned;
    with --force the beads go (--cascade takes their dependents along)."""
    for bead_id in ids:
        store.get(bead_id)
    targets = list(dict.fromkeys(ids))
    if cascade:
        frontier = list(targets)
        while frontier:
            nxt = []
            for bead_id in frontier:
                for dep in store.dependent_records(bead_id):
                    if dep["issue_id"] not in targets:
                        targets.append(dep["issue_id"])
                        nxt.append(dep["issue_id"])
            frontier = nxt
    outside: list[str] = []
    links = 0
    for bead_id in targets:
        deps = store.dependency_records(bead_id)
        rdeps = store.dependent_records(bead_id)
        links += len(deps) + len(rdeps)
        outside += [d["issue_id"] for d in rdeps if d["issue_id"] not in targets]
    outside = sorted(set(outside))
    preview = {"deleted": targets, "deleted_count": len(targets), "dependencies_removed": links,
               "orphaned_issues": outside}
    if dry_run or not force:
        return {**preview, "dry_run": True}
    removed = store.delete_issues(targets)  # dependents outside the set lose the edge
    return {**preview, "deleted": removed, "deleted_count": len(removed)}
