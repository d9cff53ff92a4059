"""Small derivations the TownModel makes from parts it already holds (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from gastown_tui.model.snapshot import AgentView, AttentionItem, BeadView, MailView, MergeView
from gastown_tui.model.sources import bead_view
from gastown_tui.town.fields import parse_fields

HOOK_STATUSES = ("hooked", "in_progress")


def needs_agents(changed: Iterable[dict[str, Any]], polecats: Sequence[AgentView]) -> bool:
    """Whether changed beads can alter an agent's state: agent beads, and work going on, off
    or between hooks. A bead that stays on the same hook (a new title, say) does not."""
    holder = {a.hooked_bead: a.address for a in polecats if a.hooked_bead}
    for bead in changed:
        if bead.get("issue_type") == "agent" or "gt:agent" in bead.get("labels", ()):
            return True
        on_hook = bead.get("status") in HOOK_STATUSES
        if on_hook != (bead["id"] in holder):
            return True
        if on_hook and bead.get("assignee", "") != holder[bead["id"]]:
            return True
    return False


def patch_hook_titles(polecats: list[AgentView], changed: Iterable[dict[str, Any]]
                      ) -> list[AgentView]:
    titles = {b["id"]: b.get("title", "") for b in changed}
    return [replace(a, hooked_title=titles[a.hooked_bead])
            if a.hooked_bead in titles and titles[a.hooked_bead] != a.hooked_title else a
            for a in polecats]


def patch_beads(records: tuple[BeadView, ...], changed: Iterable[dict[str, Any]],
                blocked_before: set[str], blocked_now: set[str], skip_types: frozenset[str]
                ) -> tuple[BeadView, ...] | None:
    """The records with the changed beads' new fields, when readiness cannot have moved: the
    same blocked set, and every changed work bead already listed with the same status.
    None means "read the lists again"."""
    if blocked_before != blocked_now:
        return None
    by_id = {b.id: b for b in records}
    for bead in changed:
        if bead.get("issue_type") in skip_types or "gt:message" in bead.get("labels", ()):
            continue
        old = by_id.get(bead["id"])
        if old is None or old.status != bead.get("status"):
            return None
        by_id[old.id] = bead_view(bead, ready=old.ready, blocked=old.blocked)
    return tuple(by_id[b.id] for b in records)


# A merge request whose gates failed goes back to its worker with FIX_NEEDED: routine, until
# it has bounced this many times, when a person should decide (retry, reject, reassign).
FIX_RETRIES = 3
# Mail the loops send the overseer to keep it informed, needing no one (a convoy landed, a
# gate opened): it stays in the mail screen and never reaches Needs-you.
ROUTINE_SUBJECTS = ("🚚 Convoy landed", "Convoy landed", "GATE_OPEN")
LOOP_SENDERS = ("deacon", "witness", "refinery", "boot", "dogs")
POLECAT_STATES = ("stalled", "zombie", "blocked", "rate-limited")


def routine_mail(message: MailView) -> bool:
    """Mail that informs without asking: a notification from a loop role, or one of the
    loops' known notices, at normal or low priority. Tasks, escalations, replies, urgent or
    high mail, and anything a person, the Mayor or a polecat wrote are not routine."""
    if message.priority in ("urgent", "high") or message.msg_type != "notification":
        return False
    if message.subject.startswith(ROUTINE_SUBJECTS):
        return True
    sender = message.sender.rstrip("/")
    return sender.rsplit("/", 1)[-1] in LOOP_SENDERS


def _polecat_address(text: str) -> str:
    parts = text.strip().rstrip("/").split("/")
    if len(parts) == 3 and parts[1] == "polecats" and all(parts):
        return "/".join(parts)
    return ""


def attention(escalations: Sequence[dict[str, Any]], merge_queue: Sequence[MergeView],
              polecats: Sequence[AgentView], mail: Sequence[MailView],
              gates: Sequence[dict[str, Any]] = (), warrants: Sequence[dict[str, Any]] = ()
              ) -> tuple[AttentionItem, ...]:
    """What a person must act on, most urgent kind first: escalations nobody acknowledged,
    merge requests needing a decision (a conflict, gates failed FIX_RETRIES times), pending
    death warrants, stalled, zombie, dialog-blocked and rate-limited polecats, unreachable
    hosts, gates waiting for a person, then unread mail that is not routine."""
    items: list[AttentionItem] = []
    escalation_ids = set()
    for bead in escalations:
        fields = parse_fields(bead.get("description", "") or "")
        severity = fields.get("severity", "")
        tag = f"[{severity}] " if severity else ""
        escalation_ids.add(bead["id"])
        items.append(AttentionItem(kind="escalation", key=bead["id"],
                                   text=f"{tag}{bead.get('title', '')}",
                                   ts=bead.get("created_at", "") or "",
                                   agent=_polecat_address(fields.get("escalated_by", "")
                                                          or fields.get("source", ""))))
    for mr in merge_queue:
        worker = f"{mr.rig}/polecats/{mr.worker}" if mr.worker else ""
        if mr.stage == "conflict":
            items.append(AttentionItem(kind="conflict", key=mr.id,
                                       text=f"MR conflict {mr.id} ({mr.source_issue or mr.branch})",
                                       ts=mr.created_at, agent=worker))
        elif mr.stage == "failed" and mr.retries >= FIX_RETRIES:
            items.append(AttentionItem(kind="failed", key=mr.id,
                                       text=f"MR gates failed {mr.retries}× {mr.id} "
                                            f"({mr.source_issue})",
                                       ts=mr.created_at, agent=worker))
    for warrant in warrants:
        target = str(warrant.get("target", ""))
        items.append(AttentionItem(kind="warrant", key=target,
                                   text=f"warrant for {warrant.get('target', '?')}: "
                                        f"{warrant.get('reason', '')}",
                                   ts=str(warrant.get("filed_at", "")),
                                   agent=_polecat_address(target)))
    for agent in polecats:
        if agent.state in POLECAT_STATES:
            items.append(AttentionItem(kind=agent.state, key=agent.address,
                                       text=f"{agent.label} {agent.state}: {agent.evidence}",
                                       ts=agent.hooked_since, agent=agent.address))
        elif agent.state == "host unreachable":
            items.append(AttentionItem(kind="unreachable", key=agent.address,
                                       text=f"{agent.label} on {agent.host}: host "
                                            f"unreachable: {agent.evidence}",
                                       ts=agent.hooked_since, agent=agent.address))
    for gate in gates:
        held = gate.get("blocks") or ""
        items.append(AttentionItem(kind="gate", key=gate["id"],
                                   text=f"gate {gate['id']} waits for you"
                                        + (f" (holds {held})" if held else "")
                                        + ": bd gate resolve",
                                   ts=gate.get("created_at", "") or ""))
    for message in mail:
        if routine_mail(message) or _copy_of_escalation(message, escalation_ids):
            continue
        items.append(AttentionItem(kind="mail", key=message.id,
                                   text=f"mail from {message.sender}: {message.subject}",
                                   ts=message.timestamp))
    return tuple(items)


def _copy_of_escalation(message: MailView, listed: set[str]) -> bool:
    """An escalation routed to the overseer's mail is already listed as the escalation."""
    if message.msg_type != "escalation":
        return False
    first = message.body.split("\n", 1)[0]
    return first.startswith("Escalation: ") and first.removeprefix("Escalation: ") in listed


def worktree_update(facts: dict[str, Any]) -> dict[str, Any]:
    """An agent's worktree fields from pygit2's facts (none: the worktree is gone)."""
    if not facts:
        return {"ahead": 0, "dirty": 0, "dirty_paths": ()}
    update = dict(facts)
    if not update.get("branch"):
        update.pop("branch", None)  # keep the agent bead's branch for a detached worktree
    return update
