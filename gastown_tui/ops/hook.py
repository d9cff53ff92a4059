"""The hook: a bead with status `hooked` and the agent's address as assignee (upstream §3.1)."""

from __future__ import annotations

import os

from gastown_tui.town.errors import ClosedBeadError, ConflictError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.names import parse_address
from gastown_tui.town.store import BeadStore

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

HOOK_STATUSES = ("hooked", "in_progress")


def self_address() -> str:
    role = os.environ.get("GT_ROLE") or os.environ.get("BD_ACTOR") or _worker_here()
    if not role:
        raise ValidationError("no agent identity here (GT_ROLE is not set)",
                              fix="name the agent, e.g. 'gt hook <bead> gastown/polecats/toast'")
    return canonical_agent(role)


def _worker_here() -> str:
    """The polecat or crew member whose workspace this is (someone working it by hand, as in
    minimal mode, has no GT_ROLE), or ""."""
    from pathlib import Path

    from gastown_tui.town.errors import GasTownError

    try:
        town = Town.find()
        cwd = Path.cwd().resolve()
        rig = town.rig_at(cwd)
        rel = cwd.relative_to(rig.path.resolve()).parts if rig is not None else ()
    except (GasTownError, OSError, ValueError):
        return ""
    if len(rel) > 1 and rel[0] in ("polecats", "crew"):
        return f"{rig.name}/{rel[0]}/{rel[1]}"
    return ""


def canonical_agent(text: str) -> str:
    """The long form the hook keeps: rig/polecats/name, rig/crew/name, rig/witness, mayor."""
    addr = parse_address(text)
    return "mayor/" if str(addr) == "mayor" and text.endswith("/") else str(addr)


def attach(town: Town, store: BeadStore, bead_id: str, target: str | None = None, *,
           force: bool = False) -> dict[str, Any]:
    agent = canonical_agent(target) if target else self_address()

    def may_hook(bead: dict[str, Any]) -> None:
        if bead["status"] in ("closed", "tombstone"):
            raise ClosedBeadError(f"{bead_id} is closed",
                                  fix=f"reopen it first: 'bd reopen {bead_id}'")
        holder = bead.get("assignee") or ""
        if bead["status"] in ("hooked", "in_progress", "pinned") and holder and holder != agent \
                and not force:
            raise ConflictError(f"{bead_id} is already hooked by {holder}",
                                fix="pass --force to move it")

    bead = store.get(bead_id)
    may_hook(bead)
    if bead["status"] == "hooked" and (bead.get("assignee") or "") == agent:
        return bead
    allowed = tuple(s for s in ("open", "in_progress", "hooked", "blocked", "deferred", "pinned")
                    if force or s not in ("pinned",))
    # The check runs again under the store's write lock: two agents hooking the same open bead
    # at once both pass the first one, and only one of them may win.
    updated = store.update(bead_id, changes={"status": "hooked", "assignee": agent},
                           expect_status=allowed, guard=may_hook)
    log_event(town.root, "hook", actor=store.actor, payload={"bead": bead_id, "agent": agent})
    return updated


def detach(town: Town, store: BeadStore, bead_id: str) -> dict[str, Any]:
    bead = store.get(bead_id)
    if bead["status"] not in HOOK_STATUSES:
        raise ValidationError(f"{bead_id} is not on a hook (status {bead['status']})",
                              fix="nothing to detach")
    updated = store.update(bead_id, changes={"status": "open", "assignee": ""},
                           expect_status=HOOK_STATUSES)
    log_event(town.root, "unhook", actor=store.actor,
              payload={"bead": bead_id, "agent": bead.get("assignee", "")})
    return updated


def hooked_for(store: BeadStore, agent: str) -> dict[str, Any] | None:
    """The agent's hook: status hooked first, then in_progress (upstream's lookup order);
    hooked mail (`gt mail hook`) only when no work bead is there."""
    mail = None
    for status in HOOK_STATUSES:
        beads = store.list_issues(assignee=agent, statuses=[status], limit=5, include_infra=True,
                                  sort="updated", counts=False)
        work = [b for b in beads if "gt:message" not in b.get("labels", [])]
        if work:
            return work[0]
        if status == "hooked" and mail is None:
            mail = next((b for b in beads if "gt:hooked-mail" in b.get("labels", [])), None)
    return mail


def all_hooks(store: BeadStore) -> list[dict[str, Any]]:
    beads = store.list_issues(statuses=list(HOOK_STATUSES), limit=0, include_infra=True,
                              sort="id", counts=False)
    return [{"agent": b.get("assignee", ""), "bead": b["id"], "title": b["title"],
             "status": b["status"]} for b in beads
            if b.get("assignee") and "gt:agent" not in b.get("labels", [])
            and "gt:message" not in b.get("labels", [])]


def one_line(agent: str, bead: dict[str, Any] | None) -> str:
    if bead is None:
        return f"{agent}: (empty)"
    return f"{agent}: {bead['id']} {bead['title']!r} [{bead['status']}]"
