"""Convoys: town beads of type convoy that track work with `tracks` dependencies and land
(close, mail their owner) when every tracked bead is closed."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops import mail as mail_ops
from gastown_tui.town.errors import (
    ClosedBeadError,
    GasTownError,
    ValidationError,
)
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.names import is_bead_id
from gastown_tui.town.store import BeadStore

DONE_STATUSES = ("closed", "tombstone")


def tracked_id(depends_on_id: str) -> str:
    """`external:<prefix>:<id>` (upstream's cross-rig form) names the bead <id>."""
    if depends_on_id.startswith("external:"):
        return depends_on_id.rsplit(":", 1)[-1]
    return depends_on_id


def _convoy(store: BeadStore, convoy_id: str) -> dict[str, Any]:
    bead = store.get(convoy_id)
    if bead.get("issue_type") != "convoy":
        raise ValidationError(f"{convoy_id} is not a convoy (it is a {bead.get('issue_type')})",
                              fix="see 'gt convoy list' for convoy ids")
    return bead


def create(town: Town, store: BeadStore, name: str, issues: list[str], *, owner: str = "",
           notify: str = "", owned: bool = False, merge: str = "",
           summary: str | None = None) -> dict[str, Any]:
    issues = list(issues)
    if is_bead_id(name) and store.exists(name):
        issues.insert(0, name)
        name = store.get(name)["title"]
    for issue in issues:
        store.get(issue)
    owner = owner or store.actor or "mayor/"
    lines = [summary or f"Convoy tracking {len(issues)} issues", "", f"Owner: {owner}"]
    if notify:
        lines.append(f"Notify: {notify}")
    if merge:
        if merge not in ("direct", "mr", "local"):
            raise ValidationError(f"unknown merge strategy {merge!r}", fix="use direct, mr or local")
        lines.append(f"Merge: {merge}")
    convoy = store.create(name, prefix="hq", issue_type="convoy", description="\n".join(lines),
                          labels=["gt:owned"] if owned else [],
                          deps=[("tracks", i) for i in issues])
    log_event(town.root, "convoy_created", actor=store.actor,
              payload={"convoy": convoy["id"], "tracked": issues})
    return convoy


def add(town: Town, store: BeadStore, convoy_id: str, issues: list[str]) -> dict[str, Any]:
    convoy = _convoy(store, convoy_id)
    for issue in issues:
        store.get(issue)
    if convoy["status"] == "closed":
        store.set_status(convoy_id, "open", reason="tracked work added")
    for issue in issues:
        store.add_dependency(convoy_id, issue, "tracks", check_cycle=False)
    log_event(town.root, "convoy_add", actor=store.actor,
              payload={"convoy": convoy_id, "added": issues})
    return status(store, convoy_id)


def tracked(store: BeadStore, convoy_id: str,
            blocked: set[str] | None = None) -> list[dict[str, Any]]:
    """The beads a convoy tracks, in edge order. `blocked` (store.blocked_ids()) may be passed
    in when many convoys are read at once: it is one query over the whole store."""
    if blocked is None:
        blocked = store.blocked_ids()
    ids = [tracked_id(dep["depends_on_id"]) for dep in store.dependency_records(convoy_id)
           if dep["type"] == "tracks"]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):  # SQLite caps the parameters of one query
        found.update((bead["id"], bead) for bead in store.list_issues(
            ids=ids[start:start + 500], include_all=True, include_infra=True, limit=0,
            sort="id", counts=False))
    out = []
    for iid in ids:
        bead = found.get(iid)
        if bead is None:
            out.append({"id": iid, "title": "", "status": "missing", "dependency_type": "tracks",
                        "issue_type": "", "blocked": False, "assignee": "", "labels": [],
                        "worker": "", "worker_age": ""})
            continue
        assignee = bead.get("assignee") or ""
        out.append({
            "id": iid, "title": bead["title"], "status": bead["status"],
            "dependency_type": "tracks", "issue_type": bead.get("issue_type", "task"),
            "blocked": iid in blocked, "assignee": assignee, "labels": bead.get("labels", []),
            "worker": assignee if bead["status"] in ("hooked", "in_progress") else "",
            "worker_age": bead.get("updated_at", "") if assignee else "",
        })
    return out


def status(store: BeadStore, convoy_id: str) -> dict[str, Any]:
    convoy = _convoy(store, convoy_id)
    items = tracked(store, convoy_id)
    fields = parse_fields(convoy.get("description", ""))
    owned = "gt:owned" in convoy.get("labels", [])
    return {
        "id": convoy["id"], "title": convoy["title"], "status": convoy["status"], "owned": owned,
        "lifecycle": "caller-managed" if owned else "system-managed",
        "merge_strategy": fields.get("merge", ""),
        "tracked": items,
        "completed": sum(1 for i in items if i["status"] in DONE_STATUSES),
        "total": len(items),
    }


def list_convoys(store: BeadStore, *, include_all: bool = False,
                 status_filter: str | None = None) -> list[dict[str, Any]]:
    statuses = [status_filter] if status_filter else (None if include_all else ["open"])
    convoys = store.list_issues(issue_types=["convoy"], statuses=statuses,
                                include_all=include_all or bool(status_filter), limit=0,
                                sort="created", counts=False)
    out = []
    for convoy in convoys:
        items = tracked(store, convoy["id"])
        out.append({"id": convoy["id"], "title": convoy["title"], "status": convoy["status"],
                    "created_at": convoy["created_at"],
                    "tracked": [{"id": i["id"], "title": i["title"], "status": i["status"]}
                                for i in items],
                    "completed": sum(1 for i in items if i["status"] in DONE_STATUSES),
                    "total": len(items)})
    return out


def _land(town: Town, store: BeadStore, convoy: dict[str, Any]) -> None:
    store.set_status(convoy["id"], "closed", reason="All tracked issues completed", force=True)
    fields = parse_fields(convoy.get("description", ""))
    recipients: list[str] = []
    for key in ("owner", "notify", "watchers"):
        for addr in (fields.get(key) or "").split(","):
            addr = addr.strip()
            if addr and addr not in recipients:
                recipients.append(addr)
    for addr in recipients:
        try:
            mail_ops.send(town, store, addr, f"🚚 Convoy landed: {convoy['title']}",
                          f"Convoy {convoy['id']} has completed.\n\nAll tracked issues are now closed.",
                          sender="deacon/", msg_type="notification")
        except GasTownError:
            continue  # an owner address we cannot parse must not stop the landing
    log_event(town.root, "convoy_landed", actor=store.actor,
              payload={"convoy": convoy["id"], "title": convoy["title"], "notified": recipients})


def check(town: Town, store: BeadStore, convoy_id: str | None = None, *,
          dry_run: bool = False) -> list[dict[str, Any]]:
    """Land every open convoy (or the one given) whose tracked beads are all closed (0/0 never)."""
    if convoy_id:
        candidates = [_convoy(store, convoy_id)]
    else:
        candidates = store.list_issues(issue_types=["convoy"], statuses=["open"], limit=0,
                                       counts=False)
    landed = []
    for convoy in candidates:
        if convoy["status"] != "open":
            continue
        items = tracked(store, convoy["id"])
        if items and all(i["status"] in DONE_STATUSES for i in items):
            if not dry_run:
                _land(town, store, convoy)
            landed.append({"id": convoy["id"], "title": convoy["title"], "total": len(items)})
    return landed


def check_for_issues(town: Town, store: BeadStore, issue_ids: list[str]) -> list[dict[str, Any]]:
    """After closing beads: land the open convoys that track any of them."""
    convoy_ids: set[str] = set()
    for iid in issue_ids:
        for dep in store.dependent_records(iid):
            if dep["type"] == "tracks":
                convoy_ids.add(dep["issue_id"])
    landed = []
    for cid in sorted(convoy_ids):
        landed.extend(check(town, store, cid))
    return landed


def close(town: Town, store: BeadStore, convoy_id: str, *, reason: str = "",
          force: bool = False) -> dict[str, Any]:
    convoy = _convoy(store, convoy_id)
    if convoy["status"] == "closed":
        raise ClosedBeadError(f"convoy {convoy_id} is already closed",
                              fix="add work to reopen it with 'gt convoy add'")
    items = tracked(store, convoy_id)
    open_items = [i["id"] for i in items if i["status"] not in DONE_STATUSES]
    if open_items and not force:
        raise ValidationError(f"convoy {convoy_id} still tracks open work: {', '.join(open_items)}",
                              fix="finish it first, or pass --force")
    store.set_status(convoy_id, "closed", reason=reason or "Closed", force=True)
    log_event(town.root, "convoy_closed", actor=store.actor, payload={"convoy": convoy_id})
    return status(store, convoy_id)


def tracking_convoy(store: BeadStore, bead_id: str) -> str:
    """The open convoy that tracks the bead, or ''."""
    for dep in store.dependent_records(bead_id):
        if dep["type"] == "tracks":
            try:
                if store.get(dep["issue_id"])["status"] != "closed":
                    return dep["issue_id"]
            except GasTownError:
                continue
    return ""


def ensure_convoy(town: Town, store: BeadStore, bead: dict[str, Any], owner: str) -> str:
    """The bead's open convoy, or a new one tracking it (owned by the agent that slung it,
    else by the human: overseer)."""
    existing = tracking_convoy(store, bead["id"])
    if existing:
        return existing
    if "/" not in owner and owner not in ("mayor", "deacon"):
        owner = "overseer"
    convoy = create(town, store, f"Work: {bead['title']}", [bead["id"]], owner=owner,
                    summary=f"Auto-created convoy tracking {bead['id']}")
    return convoy["id"]
