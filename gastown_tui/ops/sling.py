"""`gt sling`: hang a bead on an agent's hook and make sure someone works it (operations.md).

Guards first; then spawn a polecat (name, worktree, agent bead), hook the bead, start the
session, track it in a convoy. Any failure rolls back everything the call created."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.ops import minimal
from gastown_tui.ops.agent_screen import settle_new_agent
from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.ops.convoy import ensure_convoy as _ensure_convoy
from gastown_tui.ops.convoy import tracking_convoy as _tracking_convoy
from gastown_tui.ops.namepool import allocate
from gastown_tui.ops.placement import choose
from gastown_tui.ops.rig_state import refuse_if_asleep
from gastown_tui.ops.sessions import (
    agent_path,
    host_of_agent,
    session_address,
    session_name,
    start_agent,
    tmux_for,
    write_heartbeat,
)
from gastown_tui.ops.settings_shape import check_settings
from gastown_tui.ops.worktrees import branch_name, create_polecat_worktree, remove_worktree
from gastown_tui.runtimes.presets import require_installed, resolve_alias, resolve_runtime
from gastown_tui.town.errors import ClosedBeadError, ConflictError, GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.hostlist import LOCAL, get_host, write_placement
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import RigInfo, Town, now_rfc3339
from gastown_tui.town.locks import try_lock
from gastown_tui.town.names import (
    Address,
    bead_prefix,
    parse_address,
    validate_bead_id,
    validate_rig_name,
)
from gastown_tui.town.store import BeadStore

WORK_SLUNG = ("Work slung: {bead}. Start working on it now - run `gt hook` to see the hook, "
              "then begin.")


@dataclass(frozen=True)
class SlingResult:
    bead: str
    agent: str
    session: str
    spawned: bool
    convoy: str = ""
    branch: str = ""
    worktree: str = ""
    formula: str = ""
    screen: str = ""  # what the new agent's screen showed once started: ready, busy, blocked…
    queued: str = ""  # the sling context it waits in when the scheduler has no slot yet
    manual: str = ""  # minimal mode: the script that starts the agent by hand
    host: str = ""  # the host it runs on ('' = the town's own machine); session is host:name

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.manual:
            out.pop("manual")
        return out


@contextmanager
def _bead_lock(town: Town, bead_id: str):
    with try_lock(town.runtime_dir / "locks" / "sling" / f"{bead_id}.flock",
                  busy=f"{bead_id} is being slung by another process",
                  fix="wait a moment and check 'gt hook show'", town_root=town.root):
        yield


def _guard_caller() -> None:
    role = os.environ.get("GT_ROLE", "")
    if "/polecats/" in role:
        raise ValidationError("polecats cannot sling work",
                              fix="ask the Mayor: gt mail send mayor/ -s 'HELP: ...'")


def _guard_bead(store: BeadStore, bead_id: str, agent: str | None, force: bool) -> dict[str, Any]:
    bead = store.get(bead_id)
    if bead["status"] in ("closed", "tombstone"):
        raise ClosedBeadError(f"{bead_id} is closed", fix=f"reopen it first: bd reopen {bead_id}")
    if bead["status"] == "deferred" and not force:
        raise ValidationError(f"{bead_id} is deferred", fix="pass --force to sling it anyway")
    holder = bead.get("assignee") or ""
    if bead["status"] in ("hooked", "in_progress", "pinned") and holder and not force:
        if agent is not None and holder == agent:
            return bead
        raise ConflictError(f"{bead_id} is already hooked by {holder}",
                            fix="pass --force to take it back and re-sling")
    return bead


def _formula_for(town: Town, rig: RigInfo | None, formula: str | None) -> str:
    name = formula
    if name is None and rig is not None:
        settings = read_json(rig.path / "settings" / "config.json", {}) or {}
        name = (settings.get("workflow") or {}).get("default_formula") or "mol-polecat-work"
    if not name:
        return ""
    from gastown_tui.formulas.resolve import FormulaLibrary  # lazy: pydantic, tomlkit

    FormulaLibrary(town.root, rig.name if rig else None).find(name)
    return name


def _attach(store: BeadStore, bead_id: str, agent: str, formula: str, dispatched_by: str,
            previous: tuple[str, ...], molecule: str = "") -> None:
    fields = {"dispatched_by": dispatched_by, "attached_at": now_rfc3339()}
    if formula:
        fields["attached_formula"] = formula
    if molecule:
        fields["attached_molecule"] = molecule
    store.update(bead_id, changes={"status": "hooked", "assignee": agent},
                 description_fields=fields, expect_status=previous)


def sling(town: Town, store: BeadStore, bead_ids: list[str], target: str, *,
          force: bool = False, formula: str | None = None, agent: str | None = None,
          no_convoy: bool = False, on_progress: Callable[[str], None] | None = None,
          account: str | None = None, schedule: bool = True,
          host: str | None = None) -> list[SlingResult]:
    """Sling one or more beads to a rig (one fresh polecat each) or to a running agent.
    `account`: the Claude account new polecats run on (ops/accounts.py). With the scheduler
    on (ops/scheduler.py) beads for a rig queue and start as slots free; `schedule=False` is
    the dispatcher's own sling. `host`: where new polecats run (else the rig's or town's
    `hosts` setting decides, placement.py; without one, the town's own machine)."""
    _guard_caller()
    if account:
        from gastown_tui.ops.accounts import resolve

        resolve(town, account)  # an unknown handle fails before anything is made
    if not bead_ids:
        raise ValidationError("nothing to sling", fix="name at least one bead")
    for bead_id in bead_ids:
        validate_bead_id(bead_id)  # before it names a lock file under .runtime/locks/sling
    say = on_progress or (lambda _msg: None)
    target = target.strip().rstrip("/")
    dispatched_by = os.environ.get("GT_ROLE") or store.actor or "overseer"
    if "/" not in target and target not in ("mayor", "deacon"):
        rig = town.rig(validate_rig_name(target))
        check_settings(town, rig.name)  # one line naming a broken file, not a crash later
        refuse_if_asleep(rig)
        if host and host != LOCAL:
            get_host(town, host)  # an unknown host is refused before anything is looked at
        for bead_id in bead_ids:
            if bead_prefix(bead_id) != rig.prefix:
                raise ValidationError(
                    f"{bead_id} belongs to prefix {bead_prefix(bead_id)!r}, not rig {rig.name} "
                    f"({rig.prefix})", fix=f"create the bead inside {rig.name} (cd into it; bd create)")
            _guard_bead(store, bead_id, None, force)
        formula_name = _formula_for(town, rig, formula)
        if host and host != LOCAL and account:
            raise ValidationError("--account picks a Claude account of this machine; a polecat "
                                  f"on host {host} runs with that host's",
                                  fix="drop --account, or --host")
        if schedule and not (host and host != LOCAL):  # a named host has its own capacity
            from gastown_tui.ops import scheduler

            if scheduler.config(town).deferred(rig.name):
                return _scheduled(town, store, bead_ids, rig, formula_name, agent, account,
                                  no_convoy, force, dispatched_by, say)
        batch_convoy = ""
        if len(bead_ids) > 1 and not no_convoy:
            untracked = [b for b in bead_ids if not _tracking_convoy(store, b)]
            if untracked:
                batch_convoy = convoy_ops.create(
                    town, store, f"Batch: {len(untracked)} beads to {rig.name}", untracked,
                    owner=_owner(dispatched_by))["id"]
        results = []
        for bead_id in bead_ids:
            where = choose(town, rig, host)  # again per bead: each one takes room
            say(f"slinging {bead_id} to {rig.name}" + (f" on host {where}" if where else ""))
            common = {"force": force, "formula": formula_name, "agent": agent,
                      "dispatched_by": dispatched_by,
                      "make_convoy": not no_convoy and not batch_convoy, "say": say}
            if where:
                results.append(_sling_to_host(town, store, bead_id, rig, where, **common))
            else:
                results.append(_sling_to_rig(town, store, bead_id, rig, account=account,
                                             **common))
        if batch_convoy:
            results = [SlingResult(**{**r.as_json(), "convoy": r.convoy or batch_convoy})
                       for r in results]
        return results
    if host:
        raise ValidationError("--host places a new polecat; it goes with a rig as the target",
                              fix=f"gt sling <bead> <rig> --host {host}")
    addr = parse_address(target)
    return [_sling_to_agent(town, store, b, addr, force=force, formula=formula,
                            dispatched_by=dispatched_by, make_convoy=not no_convoy)
            for b in bead_ids]


def _scheduled(town: Town, store: BeadStore, bead_ids: list[str], rig: RigInfo,
               formula: str, agent: str | None, account: str | None, no_convoy: bool,
               force: bool, dispatched_by: str, say: Callable[[str], None]
               ) -> list[SlingResult]:
    """Queue the beads with the scheduler, then dispatch what the free slots allow."""
    from gastown_tui.ops import scheduler

    contexts = scheduler.schedule(town, store, bead_ids, rig, formula=formula, agent=agent,
                                  account=account, no_convoy=no_convoy, force=force,
                                  dispatched_by=dispatched_by,
                                  guard=lambda b: _guard_bead(store, b, None, force))
    report = scheduler.dispatch(town, store, actor=dispatched_by, say=say, start=sling)
    started = {d["bead"]: d for d in report.dispatched}
    out = []
    for bead_id, ctx in zip(bead_ids, contexts, strict=True):
        if bead_id in started and started[bead_id].get("result"):
            result = started[bead_id]["result"]
            out.append(SlingResult(**{**result, "convoy": result["convoy"]
                                      or _tracking_convoy(store, bead_id)}))
        else:
            say(f"{bead_id} queued for {rig.name} ({report.reason or 'waiting'})")
            out.append(SlingResult(bead=bead_id, agent="", session="", spawned=False,
                                   convoy=_tracking_convoy(store, bead_id), formula=formula,
                                   queued=ctx))
    return out


def _wisp_for(town: Town, store: BeadStore, addr: Address, bead: dict[str, Any],
              formula: str) -> str:
    """Upstream's `bd mol wisp <formula> --root-only`: the molecule the work runs under, one
    ephemeral root whose steps gt prime shows inline; gt done squashes it into a digest."""
    if not formula or not addr.rig:
        return ""
    from gastown_tui.ops.mol_spawn import spawn
    from gastown_tui.ops.prime import formula_vars

    rig = town.rig(addr.rig)
    return spawn(town, store, formula, prefix=rig.prefix, ephemeral=True, root_only=True,
                 values=formula_vars(town, addr, bead), assignee=str(addr), rig=rig.name,
                 require_all=False).new_epic_id


def _park_first_steps(town: Town, store: BeadStore, addr: Address, bead_id: str,
                      formula: str) -> list[str]:
    """A formula whose first step has a gate parks there at once (its timer starts now)."""
    if not formula:
        return []
    from gastown_tui.ops.step_gates import park_gated_steps

    return [g["id"] for g in park_gated_steps(town, store, addr, store.get(bead_id))]


def _unpark(store: BeadStore, gate_id: str) -> None:
    store.set_status(gate_id, "closed", reason="sling rolled back", force=True)
    store.update(gate_id, description_fields={"woken": "nobody (sling rolled back)"})


def _owner(dispatched_by: str) -> str:
    """Convoys are owned by the agent that slung them, else by the human (overseer)."""
    if "/" in dispatched_by or dispatched_by in ("mayor", "deacon"):
        return dispatched_by
    return "overseer"


def _sling_to_rig(town: Town, store: BeadStore, bead_id: str, rig: RigInfo, *, force: bool,
                  formula: str, agent: str | None, dispatched_by: str, make_convoy: bool,
                  say: Callable[[str], None], account: str | None = None) -> SlingResult:
    with _bead_lock(town, bead_id):
        bead = _guard_bead(store, bead_id, None, force)
        previous = (bead["status"],)
        runtime = resolve_runtime(town, "polecat", rig.name, agent)
        require_installed(runtime, agent_path())
        undo: list[Callable[[], None]] = []
        try:
            name = allocate(rig)
            undo.append(lambda: remove_worktree(rig, name, None))
            addr = Address("polecat", rig.name, name)
            say(f"  polecat {name}: creating worktree")
            path, branch = create_polecat_worktree(rig, name, bead_id, runtime.instructions_file)
            undo[-1] = lambda: remove_worktree(rig, name, branch)
            agent_bead = ensure_agent_bead(store, addr, rig.prefix, state="spawning")
            store.update(agent_bead["id"], description_fields={
                "agent_state": "spawning", "hook_bead": bead_id, "branch": branch,
                "cleanup_status": "clean", "active_mr": None})
            undo.append(lambda: store.update(agent_bead["id"], description_fields={
                "agent_state": "nuked", "hook_bead": None}))
            # The formula's molecule: a root-only wisp, its steps inlined by gt prime.
            molecule = _wisp_for(town, store, addr, bead, formula)
            if molecule:
                undo.append(lambda: store.delete_issues([molecule]))
            # Hook before the session starts, so the agent's first `gt prime --hook` sees it.
            _attach(store, bead_id, str(addr), formula, dispatched_by, previous, molecule)
            undo.append(lambda: store.update(bead_id, changes={
                "status": previous[0], "assignee": bead.get("assignee") or ""}))
            for gate in _park_first_steps(town, store, addr, bead_id, formula):
                undo.append(lambda g=gate: _unpark(store, g))
            manual, screen = "", ""
            if minimal.active(town):  # no session: a person starts the agent by hand
                _, _, script = minimal.write_manual_start(town, addr, path, agent=agent,
                                                          branch=branch, topic_suffix=bead_id)
                session, manual = "", str(script)
                say(f"  polecat {name}: minimal mode ({minimal.reason(town)}): "
                    f"no session; start {runtime.name} by hand: sh {script}")
            else:
                say(f"  polecat {name}: starting {runtime.name} session")
                session, alias = start_agent(town, addr, path, agent=agent, branch=branch,
                                             topic_suffix=bead_id, account=account)
                undo.append(lambda: tmux_for(town).kill_session(session))
                screen = settle_new_agent(town, session, runtime, f"polecat {name}", say)
            convoy_id = _ensure_convoy(town, store, bead, dispatched_by) if make_convoy else ""
            store.update(agent_bead["id"], description_fields={"agent_state": "working"})
        except BaseException:
            _roll_back(undo)
            raise
    log_event(town.root, "sling", actor=dispatched_by,
              payload={"bead": bead_id, "target": str(addr), "rig": rig.name, "formula": formula})
    if session:
        _poke_witness(town, rig, name)
    return SlingResult(bead=bead_id, agent=str(addr), session=session, spawned=True,
                       convoy=convoy_id, branch=branch, worktree=str(path), formula=formula,
                       screen=screen, manual=manual)


def _sling_to_host(town: Town, store: BeadStore, bead_id: str, rig: RigInfo, host: str, *,
                   force: bool, formula: str, agent: str | None, dispatched_by: str,
                   make_convoy: bool, say: Callable[[str], None]) -> SlingResult:
    """A fresh polecat on another host (sling_remote.py): the name claimed here, its folder
    holding `.host.json` (so every verb knows where it runs), the host prepared, the agent
    recorded and the bead hooked, then the host's gt makes the worktree and starts the
    session there. Any failure rolls back what was made, on both machines."""
    from gastown_tui.ops.sling_remote import prepare_host, remove_on_host, spawn_on_host

    record = get_host(town, host)
    with _bead_lock(town, bead_id):
        bead = _guard_bead(store, bead_id, None, force)
        previous = (bead["status"],)
        alias = resolve_alias(town, "polecat", rig.name, agent)
        undo: list[Callable[[], object]] = []
        try:
            name = allocate(rig)
            undo.append(lambda: shutil.rmtree(rig.polecats_dir / name, ignore_errors=True))
            write_placement(rig, name, {"host": host, "state": "spawning", "at": now_rfc3339()})
            addr = Address("polecat", rig.name, name)
            branch = branch_name(name, bead_id)
            say(f"  polecat {name}: host {host}: its town folder and {rig.default_branch}")
            ssh = prepare_host(town, record, rig)
            agent_bead = ensure_agent_bead(store, addr, rig.prefix, state="spawning")
            store.update(agent_bead["id"], description_fields={
                "agent_state": "spawning", "hook_bead": bead_id, "branch": branch,
                "cleanup_status": "clean", "active_mr": None, "host": host})
            undo.append(lambda: store.update(agent_bead["id"], description_fields={
                "agent_state": "nuked", "hook_bead": None, "host": None}))
            # Hook before the session starts, so the agent's first `gt prime --hook` sees it.
            _attach(store, bead_id, str(addr), formula, dispatched_by, previous)
            undo.append(lambda: store.update(bead_id, changes={
                "status": previous[0], "assignee": bead.get("assignee") or ""}))
            say(f"  polecat {name}: starting {alias} on host {host}")
            spawned = spawn_on_host(ssh, rig, name, bead_id, branch, agent)
            undo.append(lambda: remove_on_host(ssh, rig, name))
            session, alias = str(spawned["session"]), str(spawned.get("runtime") or alias)
            write_placement(rig, name, {"host": host, "worktree": spawned["worktree"],
                                        "branch": branch, "session": session,
                                        "runtime": alias, "at": now_rfc3339()})
            write_heartbeat(town, session, "started", agent=str(addr), runtime=alias,
                            host=host)
            convoy_id = _ensure_convoy(town, store, bead, dispatched_by) if make_convoy else ""
            store.update(agent_bead["id"], description_fields={"agent_state": "working"})
        except BaseException:
            _roll_back(undo)
            raise
    log_event(town.root, "sling", actor=dispatched_by,
              payload={"bead": bead_id, "target": str(addr), "rig": rig.name,
                       "formula": formula, "host": host})
    _poke_witness(town, rig, name)
    return SlingResult(bead=bead_id, agent=str(addr), session=session_address(host, session),
                       spawned=True, convoy=convoy_id, branch=branch,
                       worktree=str(spawned["worktree"]), formula=formula,
                       screen=str(spawned.get("screen") or ""), host=host)


def _roll_back(undo: list[Callable[[], object]]) -> None:
    for step in reversed(undo):
        try:
            step()
        except Exception:  # rollback is best effort; the original error matters
            pass


def _poke_witness(town: Town, rig: RigInfo, name: str) -> None:
    from gastown_tui.ops.nudge import nudge

    try:
        nudge(town, f"{rig.name}/witness", f"Polecat dispatched - {name} check for work",
              mode="queue", sender="mayor")
    except GasTownError:
        pass  # no witness running yet: the dispatch stands on its own


def _sling_to_agent(town: Town, store: BeadStore, bead_id: str, addr: Address, *, force: bool,
                    formula: str | None, dispatched_by: str, make_convoy: bool) -> SlingResult:
    from gastown_tui.ops.nudge import nudge

    agent = str(addr)
    rig = town.rig(addr.rig) if addr.rig else None
    session = session_name(town, addr)
    host = host_of_agent(town, addr)
    minimal_mode = minimal.active(town)
    running = not minimal_mode and tmux_for(town, host).has_session(session)
    if not running and not minimal_mode:  # minimal mode: the hook is the assignment
        if addr.role == "polecat" and rig is not None:
            # A dead polecat target gets a fresh polecat in its rig, as upstream.
            return sling(town, store, [bead_id], rig.name, force=force, formula=formula,
                         no_convoy=not make_convoy)[0]
        if addr.role == "crew" and rig is not None:
            from gastown_tui.ops.crew import crew_path

            if not crew_path(rig, str(addr.name)).is_dir():
                raise ValidationError(f"no crew {addr.name} in {rig.name}",
                                      fix=f"gt crew add {addr.name} --rig {rig.name}")
            # A person may work a crew clone without a session: the hook is the assignment.
        else:
            raise ValidationError(f"{agent} is not running (no session {session})",
                                  fix="start it first (gt up / gt mayor start)")
    with _bead_lock(town, bead_id):
        bead = _guard_bead(store, bead_id, agent, force)
        formula_name = _formula_for(town, rig, formula) if formula else ""
        if not (bead["status"] == "hooked" and bead.get("assignee") == agent):
            molecule = _wisp_for(town, store, addr, bead, formula_name)
            _attach(store, bead_id, agent, formula_name, dispatched_by, (bead["status"],),
                    molecule)
            _park_first_steps(town, store, addr, bead_id, formula_name)
        convoy_id = _ensure_convoy(town, store, bead, dispatched_by) if make_convoy else ""
    log_event(town.root, "sling", actor=dispatched_by, payload={"bead": bead_id, "target": agent})
    if running:
        try:
            nudge(town, agent, WORK_SLUNG.format(bead=bead_id), mode="wait-idle",
                  sender=dispatched_by, timeout=5)
        except GasTownError:
            pass  # the hook is set; the agent finds it at its next prompt
    return SlingResult(bead=bead_id, agent=agent,
                       session=session_address(host, session) if running else "",
                       spawned=False, convoy=convoy_id, formula=formula_name,
                       host=host or "")
