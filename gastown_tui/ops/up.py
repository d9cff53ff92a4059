"""`gt up` / `gt down` and `gt mayor start|stop`: the town's long-running sessions."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.ops.sessions import start_agent, tmux_for, write_heartbeat
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address


@dataclass(frozen=True)
class SessionStep:
    address: str
    session: str
    action: str  # started | running | stopped | absent | skipped
    detail: str = ""


def gt_argv(*args: str) -> list[str]:
    """The `gt` of this installation, so loops run the same code as the caller."""
    gt = Path(sys.executable).parent / "gt"
    return [str(gt), *args] if gt.exists() else [sys.executable, "-m", "gastown_tui", *args]


def start_mayor(town: Town, *, agent: str | None = None) -> SessionStep:
    tmux = tmux_for(town)
    addr = Address("mayor")
    if tmux.has_session("hq-mayor"):
        return SessionStep("mayor", "hq-mayor", "running")
    session, alias = start_agent(town, addr, town.mayor_dir, agent=agent)
    log_event(town.root, "session_start", actor="overseer", payload={"agent": "mayor",
                                                                      "runtime": alias})
    return SessionStep("mayor", session, "started", alias)


def _start_loop(town: Town, addr: Address, session: str, cwd: Path, argv: list[str]) -> SessionStep:
    from gastown_tui.ops.sessions import agent_env

    tmux = tmux_for(town)
    if tmux.has_session(session):
        return SessionStep(str(addr), session, "running")
    env = agent_env(town, addr, session=session, alias="gt")
    tmux.new_session(session, cwd, argv, env)
    write_heartbeat(town, session, "started", agent=str(addr), runtime="gt")
    log_event(town.root, "session_start", actor="overseer", payload={"agent": str(addr)})
    return SessionStep(str(addr), session, "started", " ".join(argv[-3:]))


def up(town: Town, *, agent: str | None = None) -> list[SessionStep]:
    steps = [start_mayor(town, agent=agent)]
    loops = {
        "refinery": ("gastown_tui.refinery.loop", ("refinery", "run")),
        "witness": ("gastown_tui.patrol.witness", ("witness", "run")),
    }
    for rig in town.rigs():
        for role, (module, verb) in loops.items():
            addr = Address(role, rig.name)
            session = addr.session_name(rig.prefix)
            if importlib.util.find_spec(module) is None:
                steps.append(SessionStep(str(addr), session, "skipped", "not built yet"))
                continue
            cwd = rig.refinery_worktree if role == "refinery" else rig.path / "witness"
            steps.append(_start_loop(town, addr, session, cwd, gt_argv(*verb, rig.name)))
    if importlib.util.find_spec("gastown_tui.patrol.deacon") is not None:
        steps.append(_start_loop(town, Address("deacon"), "hq-deacon", town.root / "deacon",
                                 gt_argv("deacon", "run")))
    return steps


def down(town: Town, *, polecats: bool = False) -> list[SessionStep]:
    """Stop the town's sessions (not polecats unless asked); worktrees stay."""
    tmux = tmux_for(town)
    steps = []
    try:
        sessions = [s.name for s in tmux.list_sessions()]
    except GasTownError:
        return []
    keep_polecats = {f"{r.prefix}-" for r in town.rigs()} if not polecats else set()
    for name in sessions:
        is_town_role = name.startswith("hq-") or name.endswith(("-witness", "-refinery"))
        if not is_town_role and any(name.startswith(p) for p in keep_polecats):
            continue
        tmux.kill_session(name)
        steps.append(SessionStep(name, name, "stopped"))
    log_event(town.root, "down", actor="overseer", payload={"stopped": [s.session for s in steps]})
    return steps


def stop_session(town: Town, session: str) -> SessionStep:
    tmux = tmux_for(town)
    if not tmux.has_session(session):
        return SessionStep(session, session, "absent")
    tmux.kill_session(session)
    log_event(town.root, "session_end", actor="overseer", payload={"session": session})
    return SessionStep(session, session, "stopped")
