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
SLINGABLE = ("task", "bug", "feature", "chore", "spike", "story")
AUTO_LANDED = "All tracked issues completed"


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
    store.set_status(convoy["id"], "closed", reason=AUTO_LANDED, force=True)
    notify_landed(town, store, convoy, reason=AUTO_LANDED)


def notify_landed(town: Town, store: BeadStore, convoy: dict[str, Any], *, reason: str) -> None:
    """Mail Owner, Notify and Watchers; nudge nudge_watchers (upstream's
    notifyConvoyCompletion)."""
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
    nudged = []
    for addr in _split(fields.get("nudge_watchers", "")):
        from gastown_tui.ops.nudge import nudge

        try:
            nudge(town, addr, f"🚚 Convoy landed: {convoy['title']}", mode="queue",
                  sender="deacon")
            nudged.append(addr)
        except GasTownError:
            continue
    log_event(town.root, "convoy_landed", actor=store.actor,
              payload={"convoy": convoy["id"], "title": convoy["title"], "notified": recipients,
                       **({"nudged": nudged} if nudged else {}),
                       **({"reason": reason} if reason != AUTO_LANDED else {})})


def _split(text: str) -> list[str]:
    return [a.strip() for a in (text or "").split(",") if a.strip()]


def watch(town: Town, store: BeadStore, convoy_id: str, address: str, *,
          nudge: bool = False) -> dict[str, Any]:
    """gt convoy watch: be told when the convoy lands (mail, or a nudge)."""
    convoy = _convoy(store, convoy_id)
    key = "nudge_watchers" if nudge else "Watchers"
    current = _split(parse_fields(convoy.get("description", "")).get(key.lower(), ""))
    out = {"convoy_id": convoy_id, "address": address, "watch_type": "nudge" if nudge else "mail"}
    if address in current:
        return {**out, "status": "already_watching"}
    store.update(convoy_id, description_fields={key: ",".join([*current, address])})
    log_event(town.root, "convoy_watch", actor=store.actor,
              payload={"convoy": convoy_id, "address": address, "type": out["watch_type"]})
    return {**out, "status": "subscribed"}


def unwatch(town: Town, store: BeadStore, convoy_id: str, address: str) -> dict[str, Any]:
    convoy = _convoy(store, convoy_id)
    fields = parse_fields(convoy.get("description", ""))
    changed: dict[str, str | None] = {}
    for key in ("Watchers", "nudge_watchers"):
        current = _split(fields.get(key.lower(), ""))
        if address in current:
            changed[key] = ",".join(a for a in current if a != address) or None
    if changed:
        store.update(convoy_id, description_fields=changed)
    return {"convoy_id": convoy_id, "address": address,
            "status": "unsubscribed" if changed else "not_watching"}


def stranded(town: Town, store: BeadStore) -> list[dict[str, Any]]:
    """Open convoys nobody is moving: ready work unassigned, stuck work, or nothing tracked
    (upstream's shape: ready = open, unassigned, unblocked, a slingable type)."""
    out = []
    for convoy in store.list_issues(issue_types=["convoy"], statuses=["open"], limit=0,
                                    sort="oldest", counts=False):
        items = tracked(store, convoy["id"])
        live = [i for i in items if i["status"] not in DONE_STATUSES]
        ready = [i["id"] for i in live if i["status"] == "open" and not i["assignee"]
                 and not i["blocked"] and i["issue_type"] in SLINGABLE]
        moving = any(i["status"] in ("hooked", "in_progress") for i in live)
        if ready or not items or (live and not moving):
            fields = parse_fields(convoy.get("description", ""))
            out.append({"id": convoy["id"], "title": convoy["title"],
                        "tracked_count": len(items), "ready_count": len(ready),
                        "ready_issues": ready, "created_at": convoy.get("created_at", ""),
                        **({"base_branch": fields["base_branch"]}
                           if fields.get("base_branch") else {})})
    return out


def land(town: Town, store: BeadStore, convoy_id: str, *, force: bool = False,
         keep_worktrees: bool = False, dry_run: bool = False) -> dict[str, Any]:
    """gt convoy land: the owner of a caller-managed (gt:owned) convoy lands it: its
    polecats' worktrees are cleaned up, the convoy closed and its watchers told."""
    convoy = _convoy(store, convoy_id)
    if "gt:owned" not in convoy.get("labels", []):
        raise ValidationError(f"convoy {convoy_id} is not an owned convoy",
                              fix="only convoys created with --owned are landed; use "
                                  "gt convoy close for the others")
    items = tracked(store, convoy_id)
    open_items = [i["id"] for i in items if i["status"] not in DONE_STATUSES]
    result = {"id": convoy_id, "title": convoy["title"], "tracked": len(items),
              "open": open_items, "worktrees": [], "dry_run": dry_run, "landed": False}
    if convoy["status"] == "closed":
        return {**result, "already_closed": True}
    if open_items and not force:
        raise ValidationError(f"convoy {convoy_id} has {len(open_items)} open issue(s): "
                              f"{', '.join(open_items)}", fix="finish them, or pass --force")
    polecats = sorted({i["assignee"] for i in items if "/polecats/" in (i["assignee"] or "")})
    if not keep_worktrees:
        result["worktrees"] = polecats
    if dry_run:
        return result
    if not keep_worktrees and polecats:
        from gastown_tui.ops.nuke import nuke

        cleaned = []
        for polecat in polecats:
            rig, _, name = polecat.partition("/polecats/")
            try:
                nuke(town, store, [f"{rig}/{name}"], force=True)
                cleaned.append(polecat)
            except GasTownError:
                continue  # already gone, or another rig's: the landing stands
        result["worktrees"] = cleaned
    store.set_status(convoy_id, "closed", reason="Landed by owner", force=True)
    notify_landed(town, store, store.get(convoy_id), reason="Landed by owner")
    return {**result, "landed": True}


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
