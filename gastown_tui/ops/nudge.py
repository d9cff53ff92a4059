"""`gt nudge`: text to a running agent, typed literally into its pane or queued for its next
prompt (reference §4). Never a shell string, never a key name read from user text."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gastown_tui.ops.agent_screen import read_agent, runtime_of
from gastown_tui.ops.sessions import host_of_agent, session_name, tmux_for
from gastown_tui.runtimes.presets import Runtime
from gastown_tui.runtimes.screen import Reading, ScreenSpec, read_screen
from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, parse_address

MODES = ("immediate", "wait-idle", "queue")
MAX_QUEUE = 50
TTL = {"normal": timedelta(minutes=30), "urgent": timedelta(hours=2)}


class NudgeError(GasTownError):
    code = "nudge"


@dataclass(frozen=True)
class NudgeResult:
    status: str  # delivered | queued | failed | skipped (DND)
    session: str
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {"status": self.status, "session": self.session, "detail": self.detail}


LOOP_ROLES = ("witness", "refinery", "deacon")


def resolve_target(town: Town, target: str) -> tuple[Address, str]:
    text = target.strip().rstrip("/")
    if text in ("witness", "refinery"):
        rig = os.environ.get("GT_RIG")
        if not rig:
            rigs = [r.name for r in town.rigs()]
            if len(rigs) != 1:  # one rig: there is no doubt which refinery is meant
                raise ValidationError(f"'{text}' needs a rig here (rigs: "
                                      f"{', '.join(rigs) or 'none'})", fix=f"use <rig>/{text}")
            rig = rigs[0]
        text = f"{rig}/{text}"
    addr = parse_address(text)
    if addr.role == "polecat" and "/polecats/" not in text and addr.rig:
        # short rig/name: a crew member of that name wins, as upstream
        crew = Address("crew", addr.rig, addr.name)
        if tmux_for(town).has_session(session_name(town, crew)):
            addr = crew
    return addr, session_name(town, addr)


def sender_label() -> str:
    role = os.environ.get("GT_ROLE") or os.environ.get("BD_ACTOR") or ""
    if not role:
        return "overseer"
    try:
        addr = parse_address(role)
    except GasTownError:
        return role[:64]
    return addr.mail_identity.rstrip("/") if addr.role in ("polecat", "crew", "mayor",
                                                          "deacon") else str(addr)


def queue_dir(town: Town, session: str) -> Path:
    return town.runtime_dir / "nudge_queue" / session


def enqueue(town: Town, session: str, message: str, *, sender: str,
            priority: str = "normal") -> Path:
    folder = safe_write.ensure_dir(queue_dir(town, session), within=town.root)
    pending = [p for p in folder.glob("*.json")]
    if len(pending) >= MAX_QUEUE:
        raise NudgeError(f"the nudge queue of {session} is full ({MAX_QUEUE} waiting)",
                         fix="wait for the agent to drain it, or nudge with --mode immediate")
    now = datetime.now(UTC)
    entry = {"sender": sender, "message": message, "priority": priority,
             "timestamp": now.isoformat(), "expires_at": (now + TTL[priority]).isoformat()}
    path = folder / f"{time.time_ns()}-{secrets.token_hex(4)}.json"
    safe_write.write_text(path, json.dumps(entry), within=town.root)
    return path


def drain(town: Town, session: str) -> list[dict[str, Any]]:
    """Take every queued nudge (rename to .claimed first, so two drainers never both get one)."""
    folder = queue_dir(town, session)
    if not folder.is_dir():
        return []
    out = []
    now = datetime.now(UTC)
    for path in sorted(folder.glob("*.json")):
        claimed = path.with_suffix(".claimed")
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            continue
        try:
            entry = json.loads(claimed.read_text())
            if datetime.fromisoformat(entry["expires_at"]) >= now:
                out.append(entry)
        except (OSError, ValueError, KeyError):
            pass  # a damaged entry is dropped after claiming so it cannot wedge the queue
        finally:
            claimed.unlink(missing_ok=True)
    return out


def format_for_injection(entries: list[dict[str, Any]]) -> str:
    urgent = [e for e in entries if e.get("priority") == "urgent"]
    head = (f"QUEUED NUDGE ({len(urgent)} urgent):" if urgent
            else f"QUEUED NUDGE ({len(entries)} message(s)):")
    lines = ["<system-reminder>", head, ""]
    for e in entries:
        tag = "URGENT from" if e.get("priority") == "urgent" else "from"
        lines.append(f"  [{tag} {e.get('sender', '?')}] {e.get('message', '')}")
    lines += ["", "Handle urgent nudges before continuing current work." if urgent else
              "This is a background notification. Continue current work unless the nudge is "
              "higher priority.", "</system-reminder>"]
    return "\n".join(lines)


def wait_idle(tmux, session: str, spec: ScreenSpec, timeout: float) -> Reading:
    """Wait until the screen reads `ready` on two polls in a row (a dialog or an exited
    program ends the wait at once); the last reading."""
    deadline = time.monotonic() + timeout
    streak = 0
    reading = Reading("unknown")
    while time.monotonic() < deadline:
        reading = read_screen(spec, tmux.capture(session))
        if reading.kind == "dialog":
            return reading
        streak = streak + 1 if reading.kind == "ready" else 0
        if streak >= 2:
            return reading
        time.sleep(0.2)
    return reading


def nudge(town: Town, target: str, message: str, *, mode: str = "wait-idle",
          sender: str | None = None, priority: str = "normal", timeout: float = 15.0,
          settle: float = 0.6, force: bool = True) -> NudgeResult:
    """`force=False` (gt nudge, gt broadcast) skips a target in Do Not Disturb (`gt dnd`), as
    upstream; the town's own machinery passes force."""
    if mode not in MODES:
        raise ValidationError(f"unknown nudge mode {mode!r}", fix=f"use {', '.join(MODES)}")
    if priority not in TTL:
        raise ValidationError(f"unknown priority {priority!r}", fix="use normal or urgent")
    if not message or not message.strip():
        raise ValidationError("nudge text is empty", fix="pass the message to send")
    addr, session = resolve_target(town, target)
    sender = sender or sender_label()
    if not force and _muted(town, addr):
        return NudgeResult("skipped", session, "DND enabled (muted); --force sends anyway")
    host = host_of_agent(town, addr)
    tmux = tmux_for(town, host)
    if not tmux.has_session(session):
        where = f" on host {host}" if host else ""
        raise NudgeError(f"{addr} is not running (no tmux session {session}{where})",
                         fix="start it first (gt up, gt sling), or send mail instead")

    shown = f"{host}:{session}" if host else session

    def put() -> None:  # queued where the agent drains it: here, or on its host
        _enqueue_at(town, host, session, message, sender=sender, priority=priority)

    if addr.role in LOOP_ROLES:
        mode = "queue"  # these roles are Python loops: no prompt to type into; they drain it
    runtime = runtime_of(town, session, addr.rig) if mode != "queue" else None
    reading = Reading("unknown")
    if mode != "queue":
        if runtime is not None:
            reading, _ = read_agent(town, session, runtime, host=host)
        elif any(s.name == session and s.pane_dead for s in tmux.list_sessions()):
            reading = Reading("exited")
        if reading.kind == "exited":
            raise NudgeError(f"{addr}'s program has exited"
                             + (f" ({reading.evidence})" if reading.evidence else ""),
                             fix=f"restart it (gt session restart {addr}) or nuke it")
    result: NudgeResult
    if mode == "queue":
        put()
        result = NudgeResult("queued", shown, "delivered at the agent's next prompt")
    elif reading.blocked:
        # Keys typed into a dialog answer it (Escape means "exit" in Claude's): never.
        put()
        result = NudgeResult("queued", shown, f"{reading.state} ({reading.evidence}); "
                             "queued for its next prompt")
    else:
        text = f"[from {sender}] {message}"
        escape = runtime.screen.escape_first if runtime is not None else True
        if mode == "wait-idle":
            if runtime is None or not runtime.screen.ready:
                reading = Reading("unknown")
            else:
                reading = wait_idle(tmux, session, runtime.screen, timeout)
            if reading.kind != "ready":
                put()
                why = (f"{reading.state} ({reading.evidence})" if reading.blocked else
                       "agent busy or without a ready prompt")
                result = NudgeResult("queued", shown, f"{why}; queued")
                log_event(town.root, "nudge", actor=sender,
                          payload={"target": str(addr), "mode": mode, "status": result.status})
                return result
            # What waited in the queue goes in with it: the agent is at its prompt now.
            text = format_for_injection([*drain(town, session),
                                         {"sender": sender, "message": message,
                                          "priority": priority}])
        elif reading.kind == "busy":
            escape = False  # Escape would interrupt the turn: the text waits in its input
        delivery = tmux.send_literal_text(
            session, text, settle=settle, escape=escape,
            paste=runtime.screen.paste if runtime is not None else False)
        result = NudgeResult("delivered" if delivery.delivered else "failed", shown,
                             delivery.detail)
    log_event(town.root, "nudge", actor=sender,
              payload={"target": str(addr), "mode": mode, "status": result.status})
    return result


def _enqueue_at(town: Town, host: str | None, session: str, message: str, *, sender: str,
                priority: str) -> None:
    """Queue the nudge where the agent drains it: the town's folder, or its host's."""
    if not host:
        enqueue(town, session, message, sender=sender, priority=priority)
        return
    from gastown_tui.hosts import rpc
    from gastown_tui.ops.sessions import ssh_for

    rpc.call(ssh_for(town, host), "enqueue", {"session": session, "message": message,
                                              "sender": sender, "priority": priority})


def pending(town: Town, session: str) -> int:
    folder = queue_dir(town, session)
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def _muted(town: Town, addr: Address) -> bool:
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.notify import muted

    try:
        store = open_store(town)
    except GasTownError:
        return False
    try:
        return muted(town, store, addr)
    finally:
        store.close_connection()


def deliver_queued(town: Town, session: str, runtime: Runtime | None, *,
                   sender: str = "gt", timeout: float = 1.0) -> NudgeResult | None:
    """Type the session's queued nudges into its agent when its screen reads ready (idle at
    its prompt): a runtime without a prompt hook (Gemini CLI, OpenCode, Codex) would
    otherwise never see them, and Claude Code only at a prompt someone else submits. The
    Witness and the Deacon call this on every patrol. None when nothing was delivered."""
    if runtime is None or not runtime.screen.ready or not pending(town, session):
        return None
    tmux = tmux_for(town)
    try:
        if wait_idle(tmux, session, runtime.screen, timeout).kind != "ready":
            return None
    except GasTownError:
        return None
    entries = drain(town, session)
    if not entries:
        return None
    delivery = tmux.send_literal_text(session, format_for_injection(entries),
                                      escape=runtime.screen.escape_first,
                                      paste=runtime.screen.paste)
    result = NudgeResult("delivered" if delivery.delivered else "failed", session,
                         f"{len(entries)} queued nudge(s); {delivery.detail}")
    log_event(town.root, "nudge", actor=sender,
              payload={"target": session, "mode": "queue-drain", "status": result.status,
                       "count": len(entries)})
    return result
