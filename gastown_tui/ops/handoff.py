"""`gt handoff`: an agent saves where it is and restarts its session in place.

The note is mail to itself (subject `🤝 HANDOFF: ...`), its hook stays as it is, and its tmux
pane is respawned with a fresh runtime whose first `gt prime` shows the note. An older
handoff note still open is archived: the newest one says where things are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops import mail as mail_ops
from gastown_tui.ops.prime import HANDOFF_PREFIX, handoff_notes, identity
from gastown_tui.ops.sessions import (
    host_of_agent,
    restart_agent,
    session_address,
    session_name,
    tmux_for,
)
from gastown_tui.town.errors import ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.hostlist import placement
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, parse_address
from gastown_tui.town.store import BeadStore

LOOP_ROLES = ("witness", "refinery", "deacon")  # plain loops here: nothing to refresh


@dataclass(frozen=True)
class HandoffPlan:
    agent: str
    session: str
    mail: str  # the note's id ('' in a dry run)
    subject: str
    hooked: str  # the bead on the hook now
    restart: bool  # the session will be restarted in place
    cwd: str
    reason: str = ""  # why there is no restart, when there is none

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def agent_cwd(town: Town, addr: Address) -> Path:
    if addr.role == "polecat":
        return town.rig(str(addr.rig)).polecat_worktree(str(addr.name))
    if addr.role == "mayor":
        return town.mayor_dir
    if addr.role == "crew":
        return town.root / str(addr.rig) / "crew" / str(addr.name)
    if addr.rig:
        return town.root / addr.rig / addr.role
    return town.root / addr.role


def collect_state(store: BeadStore, addr: Address) -> str:
    """What the next session should know, gathered instead of written (--collect)."""
    hooked = hook_ops.hooked_for(store, str(addr))
    lines = [f"Hook: {hooked['id']} — {hooked['title']} [{hooked['status']}]" if hooked
             else "Hook: empty"]
    unread = mail_ops.inbox(store, addr.mail_identity, include_read=False)
    lines.append(f"Unread mail: {len(unread)}")
    lines += [f"  - {m['id']} from {m['from']}: {m['subject']}" for m in unread[:5]]
    mine = store.list_issues(assignee=str(addr), statuses=["in_progress"], limit=10,
                             counts=False)
    if mine:
        lines.append("In progress: " + ", ".join(f"{b['id']} ({b['title']})" for b in mine))
    return "\n".join(lines)


def handoff(town: Town, store: BeadStore, *, cwd: Path, subject: str = "", message: str = "",
            bead: str | None = None, target: str | None = None, collect: bool = False,
            restart: bool = True, dry_run: bool = False) -> HandoffPlan:
    """Write the handoff note (and hook `bead` first, when given); say whether and where the
    session restarts. The restart itself is `perform_restart`, the caller's last act: it ends
    the very process that runs this when an agent hands itself off."""
    addr = parse_address(target) if target else identity(town, cwd)
    if bead:
        if not dry_run:
            hook_ops.attach(town, store, bead, str(addr))
        subject = subject or f"🪝 HOOKED: {bead}"
    if collect:
        state = collect_state(store, addr)
        message = f"{message}\n\n---\n{state}" if message else state
    subject = subject.strip() or "session cycle"
    if not subject.startswith(HANDOFF_PREFIX):
        subject = f"{HANDOFF_PREFIX}: {subject}"
    session = session_name(town, addr)
    host = host_of_agent(town, addr)  # a polecat on another host restarts there
    if host:  # its worktree is a folder on that host: say which machine
        placed = placement(town.rig(str(addr.rig)), str(addr.name)) or {}
        where = f"{host}:{placed.get('worktree', '?')}"
    else:
        where = agent_cwd(town, addr)
    reason = ""
    if addr.role in LOOP_ROLES:
        restart, reason = False, f"the {addr.role} here is a loop (gt {addr.role} run): " \
                                 "it has no context to refresh"
    elif restart and not tmux_for(town, host).has_session(session):
        restart, reason = False, f"no session {session} is running; the next one will " \
                                 "find the note in gt prime"
    elif not restart:
        reason = "state saved only (--auto)"
    hooked = hook_ops.hooked_for(store, str(addr))
    mail_id = ""
    if not dry_run:
        older = handoff_notes(store, addr)
        note = mail_ops.send(town, store, addr.mail_identity, subject, message,
                             sender=addr.mail_identity)
        mail_id = note["id"]
        if older:
            mail_ops.archive(town, store, addr.mail_identity, [n["id"] for n in older])
        log_event(town.root, "handoff", actor=str(addr),
                  payload={"subject": subject, "mail": mail_id, "session": session,
                           "restart": restart})
    return HandoffPlan(agent=str(addr), session=session_address(host, session), mail=mail_id,
                       subject=subject,
                       hooked=hooked["id"] if hooked else "", restart=restart, cwd=str(where),
                       reason=reason)


def perform_restart(town: Town, plan: HandoffPlan) -> None:
    if not plan.restart:
        raise ValidationError(f"{plan.agent} is not restarted here: {plan.reason}",
                              fix="nothing to do; the note is saved")
    restart_agent(town, parse_address(plan.agent), Path(plan.cwd))
