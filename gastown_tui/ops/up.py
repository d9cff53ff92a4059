"""`gt up` / `gt down` and `gt mayor start|stop`: the town's long-running sessions."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.ops.agent_screen import settle_new_agent
from gastown_tui.ops.rig_state import asleep
from gastown_tui.ops.sessions import (
    agent_env,
    agent_path,
    restart_remote,
    start_agent,
    tmux_for,
    write_heartbeat,
)
from gastown_tui.runtimes.presets import require_installed, resolve_runtime
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address
from gastown_tui.town.progress import Progress


@dataclass(frozen=True)
class SessionStep:
    address: str
    session: str
    action: str  # started | running | stopped | absent | skipped | kept | failed | manual
    detail: str = ""


def gt_argv(*args: str) -> list[str]:
    """The `gt` of this installation, so loops run the same code as the caller."""
    gt = Path(sys.executable).parent / "gt"
    return [str(gt), *args] if gt.exists() else [sys.executable, "-m", "gastown_tui", *args]


def start_mayor(town: Town, *, agent: str | None = None,
                say: Callable[[str], None] | None = None) -> SessionStep:
    tmux = tmux_for(town)
    addr = Address("mayor")
    if tmux.has_session("hq-mayor"):
        return SessionStep("mayor", "hq-mayor", "running")
    runtime = resolve_runtime(town, "mayor", None, agent)
    require_installed(runtime, agent_path())
    session, alias = start_agent(town, addr, town.mayor_dir, agent=agent)
    log_event(town.root, "session_start", actor="overseer", payload={"agent": "mayor",
                                                                      "runtime": alias})
    try:
        screen = settle_new_agent(town, session, runtime, "mayor", say)
    except GasTownError:
        tmux.kill_session(session)
        raise
    return SessionStep("mayor", session, "started", f"{alias}, {screen}" if screen else alias)


def _start_loop(town: Town, addr: Address, session: str, cwd: Path, argv: list[str]) -> SessionStep:
    tmux = tmux_for(town)
    if tmux.has_session(session):
        return SessionStep(str(addr), session, "running")
    env = agent_env(town, addr, session=session, alias="gt")
    tmux.new_session(session, cwd, argv, env)
    write_heartbeat(town, session, "started", agent=str(addr), runtime="gt")
    log_event(town.root, "session_start", actor="overseer", payload={"agent": str(addr)})
    return SessionStep(str(addr), session, "started", " ".join(argv[-3:]))


def start_deacon(town: Town) -> SessionStep:
    return _start_loop(town, Address("deacon"), "hq-deacon", town.root / "deacon",
                       gt_argv("deacon", "run"))


def up(town: Town, *, agent: str | None = None, polecats: bool = False,
       progress: Progress | None = None) -> list[SessionStep]:
    """Start the Mayor, each rig's refinery and witness, and the Deacon; with `polecats`, also
    every polecat that `gt down` stopped with work on its hook (its worktree still there).
    The town's own PostgreSQL (gt install --store postgres) starts first: everything needs it.
    In minimal mode nothing else starts: each step says what to run by hand."""
    from gastown_tui.ops import minimal

    rigs = town.rigs()
    deacon = importlib.util.find_spec("gastown_tui.patrol.deacon") is not None
    total = 1 + len(RIG_LOOPS) * len(rigs) + deacon  # the Mayor, the loops, the Deacon
    steps: list[SessionStep] = []

    def advance(new: list[SessionStep]) -> None:
        steps.extend(new)
        if progress is not None and new:
            progress.step("Starting sessions", min(len(steps), total), total,
                          detail=new[-1].session)

    store = store_step(town, start=True)
    if store is not None:
        total += 1
        advance([store])
    why = minimal.reason(town)
    if why:
        return steps + [SessionStep(who, "", "manual", f"minimal mode ({why}): {command}")
                        for who, command in minimal.loop_commands(town)]
    from gastown_tui.ops.settings_shape import check_settings

    try:
        check_settings(town)  # a broken settings file: one line naming it, not a crash
        advance([start_mayor(town, agent=agent)])
    except GasTownError as exc:  # the loops do not depend on the Mayor: start them anyway
        advance([SessionStep("mayor", "hq-mayor", "failed", str(exc))])
    # Paused polecats before the witnesses: a witness that starts first restarts a polecat
    # whose session is gone, and `gt up` then neither resumed nor reported it (seen under load).
    resumed = resume_polecats(town, progress=progress) if polecats else []
    for rig in rigs:
        advance(start_rig_loops(town, rig, skip_asleep=True))
    if deacon:
        advance([start_deacon(town)])
    return steps + resumed


RIG_LOOPS = {
    "refinery": ("gastown_tui.refinery.loop", ("refinery", "run")),
    "witness": ("gastown_tui.patrol.witness", ("witness", "run")),
}


def start_rig_loops(town: Town, rig, *, skip_asleep: bool = False,
                    roles: tuple[str, ...] = tuple(RIG_LOOPS)) -> list[SessionStep]:
    """The rig's refinery and witness sessions (or only `roles`); a parked or docked rig's
    stay stopped when `skip_asleep` (gt up, the Deacon)."""
    state = asleep(rig) if skip_asleep else ""
    steps = []
    for role, (module, verb) in RIG_LOOPS.items():
        if role not in roles:
            continue
        addr = Address(role, rig.name)
        session = addr.session_name(rig.prefix)
        if state:
            steps.append(SessionStep(str(addr), session, "skipped", f"rig {state}"))
            continue
        if importlib.util.find_spec(module) is None:
            steps.append(SessionStep(str(addr), session, "skipped", "not built yet"))
            continue
        cwd = rig.refinery_worktree if role == "refinery" else rig.path / "witness"
        steps.append(_start_loop(town, addr, session, cwd, gt_argv(*verb, rig.name)))
    return steps


def resume_polecats(town: Town, *, progress: Progress | None = None) -> list[SessionStep]:
    """Restart the session of every polecat that has hooked work and a worktree but no
    running session (what a pause leaves), in its worktree, on its branch."""
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.polecats import live_sessions, polecats

    sessions = live_sessions(town)
    store = open_store(town, "overseer")
    steps = []
    try:
        waiting = [info for info in polecats(town, store, sessions=sessions)
                   if not info.session_running and info.issue and info.worktree_exists]
        for number, info in enumerate(waiting, 1):
            if progress is not None:
                progress.step("Resuming polecats", number, len(waiting), detail=info.address)
            if info.state == "host unreachable":
                steps.append(SessionStep(info.address, info.session_address, "failed",
                                         f"host unreachable: {info.evidence}"))
                continue
            addr = Address("polecat", info.rig, info.name)
            try:
                if info.host:
                    restart_remote(town, addr, info.host, topic=info.issue, branch=info.branch)
                else:
                    tmux_for(town).kill_session(info.session_name)  # a dead pane, if left
                    start_agent(town, addr, Path(info.worktree), branch=info.branch,
                                topic_suffix=info.issue)
            except GasTownError as exc:
                steps.append(SessionStep(info.address, info.session_address, "failed",
                                         exc.problem))
                continue
            log_event(town.root, "session_start", actor="overseer",
                      payload={"agent": info.address, "bead": info.issue, "resumed": True})
            steps.append(SessionStep(info.address, info.session_address, "started",
                                     f"resumed {info.issue}"))
    finally:
        store.close_connection()
    return steps


def _is_polecat_session(town: Town, name: str) -> bool:
    for rig in town.rigs():
        prefix = f"{rig.prefix}-"
        if name.startswith(prefix):
            tail = name[len(prefix):]
            return tail not in ("witness", "refinery") and not tail.startswith("crew-")
    return False


def store_step(town: Town, *, start: bool) -> SessionStep | None:
    """Start or stop the town's own PostgreSQL cluster; None for a town without one."""
    from gastown_tui.ops import store_admin

    try:
        step = store_admin.start(town) if start else store_admin.stop(town)
    except GasTownError as exc:
        return SessionStep("store", "postgres", "failed", exc.problem)
    return None if step is None else SessionStep("store", "postgres", step.action, step.detail)


def down(town: Town, *, keep_polecats: bool = False, dry_run: bool = False,
         rest: bool = True) -> list[SessionStep]:
    """Pause the town: stop every session on its tmux server, polecats included unless
    `keep_polecats`. Worktrees, branches, hooks and beads stay, so `gt up --polecats` (or a
    new sling) brings the work back. Then (`rest`) a SQLite store is backed up and its WAL
    emptied; the town's own PostgreSQL stops last (not while polecats are kept: they use it)."""
    steps = _down_sessions(town, keep_polecats=keep_polecats, dry_run=dry_run)
    if not dry_run and rest:
        resting = rest_step(town)
        if resting is not None:
            steps.append(resting)
    if not dry_run and not keep_polecats:
        store = store_step(town, start=False)
        if store is not None:
            steps.append(store)
    return steps


def _down_sessions(town: Town, *, keep_polecats: bool, dry_run: bool) -> list[SessionStep]:
    tmux = tmux_for(town)
    steps: list[SessionStep] = []
    try:
        sessions = [s.name for s in tmux.list_sessions()]
    except GasTownError:
        sessions = []
    # Whoever restarts others goes first: the Deacon (loops, Mayor), the witnesses
    # (polecats), then the polecats, then the rest.
    def rank(name: str) -> int:
        if name == "hq-deacon":
            return 0
        if name.endswith("-witness"):
            return 1
        return 2 if _is_polecat_session(town, name) else 3

    order = sorted(sessions, key=rank)
    for name in order:
        if keep_polecats and _is_polecat_session(town, name):
            steps.append(SessionStep(name, name, "kept"))
            continue
        if dry_run:
            steps.append(SessionStep(name, name, "would stop"))
            continue
        tmux.kill_session(name)
        steps.append(SessionStep(name, name, "stopped"))
    if not keep_polecats:
        steps += _down_hosts(town, dry_run=dry_run)
    if not dry_run:
        log_event(town.root, "down", actor="overseer",
                  payload={"stopped": [s.session for s in steps if s.action == "stopped"]})
    return steps


def rest_step(town: Town) -> SessionStep | None:
    """With the agents gone the store is quiet: back it up and empty its WAL, so what is at
    rest lies in the main file (a damaged WAL loses its commits silently). None for a
    PostgreSQL store (the server keeps its own log)."""
    from gastown_tui.ops.store_care import rest_store

    rest = rest_store(town)
    if rest is None:
        return None
    return SessionStep("store", town.db_path.name, "failed" if rest.problems else "rested",
                       "; ".join([rest.line(), *rest.problems]))


def _down_hosts(town: Town, *, dry_run: bool) -> list[SessionStep]:
    """The town's polecats on its other hosts stop too (each host's gt ends their process
    trees); a host that does not answer is a failed step, its polecats left as they are."""
    from gastown_tui.hosts.observer import remote_sessions
    from gastown_tui.town.hostlist import load_hosts

    steps = []
    for name, record in load_hosts(town).items():
        tmux = tmux_for(town, name)
        try:
            found = remote_sessions(town, record)
            for session in sorted(found):
                if not _is_polecat_session(town, session):
                    continue
                where = f"{name}:{session}"
                if dry_run:
                    steps.append(SessionStep(where, where, "would stop"))
                    continue
                tmux.kill_session(session)
                steps.append(SessionStep(where, where, "stopped"))
        except GasTownError as exc:
            steps.append(SessionStep(f"host {name}", name, "failed", exc.problem))
    return steps


def stop_session(town: Town, session: str, *, host: str | None = None) -> SessionStep:
    tmux = tmux_for(town, host)
    where = f"{host}:{session}" if host else session
    if not tmux.has_session(session):
        return SessionStep(where, where, "absent")
    tmux.kill_session(session)
    log_event(town.root, "session_end", actor="overseer", payload={"session": where})
    return SessionStep(where, where, "stopped")
