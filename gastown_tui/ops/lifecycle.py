"""Bouncing one part of the town (upstream's internal/cmd/rig.go, witness.go, refinery.go,
deacon.go, mayor.go, session.go): a role's loop started, stopped or restarted on its own; a
rig's status, boot, reboot and shutdown; the town's sessions listed and checked.

Stopping a session never loses work: a polecat's worktree, branch and hook stay, and
`gt session start` or `gt up --polecats` resumes it."""

from __future__ import annotations

from typing import Any

from gastown_tui.ops.polecats import live_sessions, polecats
from gastown_tui.ops.rig_state import asleep, refuse_if_asleep
from gastown_tui.ops.sessions import read_heartbeat, restart_agent, tmux_for
from gastown_tui.ops.up import (
    SessionStep,
    start_deacon,
    start_mayor,
    start_rig_loops,
    stop_session,
)
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore

RIG_ROLES = ("witness", "refinery")


def role_session(town: Town, role: str, rig: RigInfo | None) -> tuple[Address, str]:
    if role in RIG_ROLES:
        if rig is None:
            raise ValidationError(f"which rig's {role}?", fix=f"gt {role} <verb> <rig>")
        addr = Address(role, rig.name)
        return addr, addr.session_name(rig.prefix)
    if role in ("deacon", "mayor"):
        return Address(role), f"hq-{role}"
    raise ValidationError(f"unknown role {role!r}", fix="witness, refinery, deacon or mayor")


def start_role(town: Town, role: str, rig: RigInfo | None = None, *,
               agent: str | None = None) -> SessionStep:
    role_session(town, role, rig)  # a known role, and its rig named
    if role == "deacon":
        return start_deacon(town)
    if role == "mayor":
        return start_mayor(town, agent=agent)
    assert rig is not None
    refuse_if_asleep(rig)
    return start_rig_loops(town, rig, roles=(role,))[0]


def stop_role(town: Town, role: str, rig: RigInfo | None = None) -> SessionStep:
    _, session = role_session(town, role, rig)
    step = stop_session(town, session)
    log_event(town.root, "role_stop", actor="overseer",
              payload={"role": role, "rig": rig.name if rig else "", "action": step.action})
    return step


def restart_role(town: Town, role: str, rig: RigInfo | None = None) -> list[SessionStep]:
    """Stop then start. The Mayor, an agent with a conversation, restarts in place instead:
    a fresh context in the same pane (gt mayor restart)."""
    if role == "mayor":
        addr, session = role_session(town, role, rig)
        if not tmux_for(town).has_session(session):
            return [start_mayor(town)]
        restart_agent(town, addr, town.mayor_dir, topic_suffix="restart")
        return [SessionStep("mayor", session, "restarted")]
    return [stop_role(town, role, rig), start_role(town, role, rig)]


# ---------------------------------------------------------------------------- rigs
def _loop_state(town: Town, rig: RigInfo, alive: dict[str, bool]) -> dict[str, Any]:
    out = {}
    for role in RIG_ROLES:
        _, session = role_session(town, role, rig)
        beat = read_heartbeat(town, session) or {}
        out[role] = {"session": session, "running": alive.get(session, False),
                     "state": beat.get("state", ""), "heartbeat": beat.get("ts", "")}
    return out


def rig_status(town: Town, store: BeadStore, rig: RigInfo) -> dict[str, Any]:
    """Upstream's `gt rig status`: the rig, its witness and refinery, its polecats, its
    merge queue."""
    alive = live_sessions(town)
    loops = _loop_state(town, rig, alive)
    cats = polecats(town, store, rig, alive)
    queue = store.list_issues(labels=["gt:merge-request"], statuses=["open", "in_progress"],
                              include_infra=True, limit=0, counts=False)
    queue = [b for b in queue if b["id"].startswith(rig.prefix + "-")]
    return {"name": rig.name, "path": str(rig.path), "beads_prefix": rig.prefix,
            "state": asleep(rig) or "active", "witness": loops["witness"],
            "refinery": {**loops["refinery"], "queue": len(queue)},
            "polecats": [{"name": p.name, "state": p.state, "issue": p.issue,
                          "session_running": p.session_running, "evidence": p.evidence}
                         for p in cats]}


def rig_boot(town: Town, rig: RigInfo) -> list[SessionStep]:
    refuse_if_asleep(rig)
    return start_rig_loops(town, rig)


def rig_reboot(town: Town, rig: RigInfo) -> list[SessionStep]:
    refuse_if_asleep(rig)
    steps = [stop_role(town, role, rig) for role in RIG_ROLES]
    return steps + start_rig_loops(town, rig)


def rig_shutdown(town: Town, store: BeadStore, rig: RigInfo) -> list[SessionStep]:
    """Every session of the rig stopped: polecats first (the Witness would restart a dead
    one), then the refinery and the witness. Worktrees, branches and hooks stay."""
    alive = live_sessions(town)
    steps = [stop_session(town, p.session_name)
             for p in polecats(town, store, rig, alive) if p.session_name in alive]
    crew = [s for s in alive if s.startswith(f"{rig.prefix}-crew-")]
    steps += [stop_session(town, s) for s in crew]
    steps += [stop_role(town, role, rig) for role in reversed(RIG_ROLES)]
    log_event(town.root, "rig_shutdown", actor="overseer",
              payload={"rig": rig.name, "stopped": [s.session for s in steps
                                                    if s.action == "stopped"]})
    return steps


# ---------------------------------------------------------------------------- sessions
def session_list(town: Town, rig: str | None = None) -> list[dict[str, Any]]:
    """Every session of the town with the agent it belongs to (upstream's SessionListItem:
    rig, polecat, session_id, running; plus role and address)."""
    from gastown_tui.ops.quota import address_of

    if rig:
        town.rig(rig)
    out = []
    for session, alive in sorted(live_sessions(town).items()):
        addr = address_of(town, session)
        if addr is None or (rig and addr.rig != rig):
            continue
        out.append({"rig": addr.rig or "", "polecat": addr.name or "", "session_id": session,
                    "running": alive, "role": addr.role, "address": str(addr)})
    return out


def session_check(town: Town, store: BeadStore, rig: str | None = None
                  ) -> list[dict[str, Any]]:
    """Upstream's `gt session check`: each polecat's session health: ok, or what is wrong
    (hooked work with no session, a dead pane, a session whose worktree is gone)."""
    rigs = [town.rig(rig)] if rig else town.rigs()
    alive = live_sessions(town)
    out = []
    for info in rigs:
        for p in polecats(town, store, info, alive):
            if p.session_name in alive and not alive[p.session_name]:
                status, why = "dead", "the pane's process exited (remain-on-exit)"
            elif p.zombie:
                status, why = "zombie", p.evidence
            elif p.issue and not p.session_running:
                status, why = "missing", f"hooked {p.issue} but no session (gt session start)"
            elif p.session_running:
                status, why = "ok", p.state
            else:
                status, why = "idle", "no session, no hooked work"
            out.append({"rig": p.rig, "polecat": p.name, "session_id": p.session_name,
                        "status": status, "detail": why})
    return out


def inject(town: Town, target: str, message: str) -> str:
    """Type `message` into the agent's pane and press Enter, at once (upstream's session
    inject; gt nudge waits for the agent to be idle and is usually what you want)."""
    from gastown_tui.ops.nudge import resolve_target

    if not message.strip():
        raise ValidationError("nothing to inject", fix="pass -m 'text' or -f FILE")
    addr, session = resolve_target(town, target)
    tmux = tmux_for(town)
    if not tmux.has_session(session):
        raise GasTownError(f"{addr} is not running (no session {session})",
                           fix=f"gt session start {target}")
    delivery = tmux.send_literal_text(session, message)
    if not delivery.delivered:
        raise GasTownError(f"could not type into {session}: {delivery.detail}",
                           fix=f"gt session status {target}")
    log_event(town.root, "session_inject", actor="overseer",
              payload={"agent": str(addr), "chars": len(message)})
    return session
