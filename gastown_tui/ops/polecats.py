"""Polecats as the town sees them, with their state derived from disk, store and tmux."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops.sessions import read_heartbeat, tmux_for
from gastown_tui.runtimes.screen import Reading, screen_state
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.hostlist import placement
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore


@dataclass(frozen=True)
class PolecatInfo:
    rig: str
    name: str
    address: str
    session_name: str
    session_running: bool
    state: str  # working | idle | stalled | zombie | done | blocked | rate-limited
    issue: str
    issue_title: str
    agent_state: str
    branch: str
    worktree: str
    worktree_exists: bool
    heartbeat: str
    active_mr: str
    evidence: str
    runtime: str = ""  # the runtime its session was started with (claude, codex, sim, …)
    parked_on: str = ""  # the open gate its hooked work waits on (it is not stuck)
    host: str = ""  # the host it runs on ('' = the town's own machine)

    @property
    def zombie(self) -> bool:
        return self.state == "zombie"

    @property
    def session_address(self) -> str:
        """`host:session` on another host, the session's name here."""
        return f"{self.host}:{self.session_name}" if self.host else self.session_name

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "zombie": self.zombie}


UNREACHABLE = "host unreachable"


class HostSessions:
    """Each host's sessions, asked once per listing (over the control room's link to the
    host, else one ssh); a host that does not answer is remembered with its evidence."""

    def __init__(self, town: Town) -> None:
        self.town = town
        self._found: dict[str, dict[str, bool] | GasTownError] = {}

    def get(self, host: str) -> dict[str, bool] | GasTownError:
        if host not in self._found:
            from gastown_tui.hosts.observer import remote_sessions
            from gastown_tui.town.hostlist import get_host

            try:
                self._found[host] = remote_sessions(self.town, get_host(self.town, host))
            except GasTownError as exc:
                self._found[host] = exc
        return self._found[host]


def live_sessions(town: Town) -> dict[str, bool]:
    """session name -> pane alive; an absent tmux or server means nothing is running."""
    try:
        return {s.name: not s.pane_dead for s in tmux_for(town).list_sessions()}
    except GasTownError:
        return {}


def derive_state(*, worktree_exists: bool, running: bool, hooked: dict[str, Any] | None,
                 agent_state: str, active_mr: str, reading: Reading | None = None
                 ) -> tuple[str, str]:
    """(state, evidence) in upstream's order: hooked work first, then the session; a screen
    that holds the agent (a dialog, a rate limit) wins over `working`."""
    if running and not worktree_exists:
        return "zombie", "session running but the worktree is gone"
    held = screen_state(reading) if running else None
    if held is not None:
        return held
    if hooked is not None and not parse_fields(hooked.get("description", "")).get("merge_request"):
        if running:
            return "working", f"hooked {hooked['id']}, session alive"
        return "stalled", f"hooked {hooked['id']} but no live session"
    if agent_state in ("idle", "done") and active_mr:
        return "done", f"submitted {active_mr}"
    if agent_state == "stuck":
        return "stalled", "agent reported stuck"
    if not worktree_exists and not running:
        return "idle", ("no worktree: a sling that died half-way left this directory "
                        "('gt doctor --fix' removes it)")
    return "idle", "no work on its hook"


def read_screens(town: Town, sessions: dict[str, bool], names: list[tuple[str, str]],
                 host: str | None = None) -> dict[str, Reading]:
    """session -> what its screen shows, for the (session, rig) pairs whose pane is alive."""
    from gastown_tui.ops.agent_screen import read_agent, runtime_of

    out: dict[str, Reading] = {}
    for session, rig in names:
        if not sessions.get(session):
            continue
        runtime = runtime_of(town, session, rig)
        if runtime is None or not runtime.screen.dialogs:
            continue
        try:
            out[session] = read_agent(town, session, runtime, host=host)[0]
        except GasTownError:
            continue
        if runtime.hooks_provider == "claude" and out[session].kind in ("ready", "unknown"):
            # Claude's retries spent, its screen may no longer say "limit": its transcript does
            from gastown_tui.ops.quota import limit_reading

            info = town.rig(rig)
            found = limit_reading(town, session,
                                  info.polecat_worktree(session[len(info.prefix) + 1:]))
            if found is not None:
                out[session] = found
    return out


def polecats(town: Town, store: BeadStore, rig: RigInfo | None = None,
             sessions: dict[str, bool] | None = None, *, screens: bool = False,
             hosts: HostSessions | None = None) -> list[PolecatInfo]:
    """`sessions` (session -> pane alive) when the caller has just listed them; `screens`
    reads each live pane too (a capture each), so a dialog or a rate limit shows. Polecats
    on other hosts are read from their host's sessions (`hosts`, asked once per host)."""
    if sessions is None:
        sessions = live_sessions(town)
    hosts = hosts or HostSessions(town)
    out = []
    rigs = [rig] if rig is not None else town.rigs()
    for r in rigs:
        names = set()
        if r.polecats_dir.is_dir():
            names = {p.name for p in r.polecats_dir.iterdir()
                     if p.is_dir() and not p.name.startswith(".")}
        # sessions named like this rig's polecats but without a directory are zombies too
        for session in sessions:
            if session.startswith(f"{r.prefix}-"):
                tail = session[len(r.prefix) + 1:]
                if tail not in ("witness", "refinery") and not tail.startswith("crew-"):
                    names.add(tail)
        readings = (read_screens(town, sessions, [(Address("polecat", r.name, n)
                                                    .session_name(r.prefix), r.name)
                                                   for n in names]) if screens else {})
        for name in sorted(names):
            try:
                where = placement(r, name)
            except GasTownError as exc:
                where = {"host": "?", "error": exc.problem}
            if where is not None:
                out.append(_remote_info(town, store, r, name, where, hosts, screens))
            else:
                out.append(_info(town, store, r, name, sessions, readings))
    return out


def _remote_info(town: Town, store: BeadStore, rig: RigInfo, name: str,
                 where: dict[str, Any], hosts: HostSessions, screens: bool) -> PolecatInfo:
    """A polecat on another host: alive or not from that host's sessions. A host that does
    not answer makes it `host unreachable` with ssh's words: never stalled, never a zombie,
    so nothing restarts or removes work that may well be running there."""
    addr = Address("polecat", rig.name, name)
    session = addr.session_name(rig.prefix)
    host = str(where.get("host") or "?")
    fields: dict[str, str] = {}
    try:
        fields = parse_fields(store.get(addr.agent_bead_id(rig.prefix)).get("description", ""))
    except GasTownError:
        pass
    hooked = hook_ops.hooked_for(store, str(addr))
    found = hosts.get(host) if "error" not in where else GasTownError(where["error"])
    beat = read_heartbeat(town, session) or {}
    base = dict(rig=rig.name, name=name, address=str(addr), session_name=session,
                issue=hooked["id"] if hooked else "",
                issue_title=hooked["title"] if hooked else "",
                agent_state=fields.get("agent_state", ""), branch=fields.get("branch", "")
                or str(where.get("branch") or ""), worktree=str(where.get("worktree") or ""),
                worktree_exists=bool(where.get("worktree")), heartbeat=str(beat.get("ts", "")),
                active_mr=fields.get("active_mr", ""), runtime=str(beat.get("runtime", "")),
                host=host)
    if isinstance(found, GasTownError):
        evidence = getattr(found, "evidence", "") or found.problem
        return PolecatInfo(**base, session_running=False, state=UNREACHABLE,
                           evidence=evidence)
    running = found.get(session, False)
    reading = None
    if screens and running:
        reading = read_screens(town, {session: True}, [(session, rig.name)], host=host
                               ).get(session)
    state, evidence = derive_state(worktree_exists=True, running=running, hooked=hooked,
                                   agent_state=fields.get("agent_state", ""),
                                   active_mr=fields.get("active_mr", ""), reading=reading)
    if state == "stalled" and not running and session in found:
        evidence += " (its pane on the host exited)"
    return PolecatInfo(**base, session_running=running, state=state, evidence=evidence)


def _info(town: Town, store: BeadStore, rig: RigInfo, name: str,
          sessions: dict[str, bool], readings: dict[str, Reading]) -> PolecatInfo:
    addr = Address("polecat", rig.name, name)
    session = addr.session_name(rig.prefix)
    worktree = rig.polecat_worktree(name)
    exists = (worktree / ".git").exists()
    fields: dict[str, str] = {}
    try:
        fields = parse_fields(store.get(addr.agent_bead_id(rig.prefix)).get("description", ""))
    except GasTownError:
        pass
    hooked = hook_ops.hooked_for(store, str(addr))
    running = sessions.get(session, False)
    state, evidence = derive_state(worktree_exists=exists, running=running, hooked=hooked,
                                   agent_state=fields.get("agent_state", ""),
                                   active_mr=fields.get("active_mr", ""),
                                   reading=readings.get(session))
    parked = ""
    if hooked is not None and state == "working":
        from gastown_tui.ops.gates import describe, gates_on

        gates = gates_on(store, hooked["id"])
        if gates:
            parked = gates[0]["id"]
            evidence = f"hooked {hooked['id']}, parked on gate {parked} ({describe(gates[0])})"
    beat = read_heartbeat(town, session) or {}
    return PolecatInfo(rig=rig.name, name=name, address=str(addr), session_name=session,
                       session_running=running, state=state,
                       issue=hooked["id"] if hooked else "",
                       issue_title=hooked["title"] if hooked else "",
                       agent_state=fields.get("agent_state", ""), branch=fields.get("branch", ""),
                       worktree=str(worktree), worktree_exists=exists,
                       heartbeat=str(beat.get("ts", "")), active_mr=fields.get("active_mr", ""),
                       evidence=evidence, runtime=str(beat.get("runtime", "")),
                       parked_on=parked)
