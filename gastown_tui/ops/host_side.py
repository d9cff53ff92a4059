"""What a host's own gt does when the town asks (`gt host serve-op --root DIR OP`, JSON in and
out): keep its satellite town folder in step with the town, make a polecat's worktree and
start its session there, end process trees, queue nudges, scan and bury a polecat's work.

It runs the same functions a one-machine town runs for its own polecats, on the host's
folders, tmux server and process table; only the store is shared (PostgreSQL, reached with
the URL the town gave the host).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gastown_tui import __version__
from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.jsonfile import write_json
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, validate_agent_name, validate_rig_name

_FORMULA_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.formula\.toml\Z")
_SESSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,120}\Z")


def _program_version(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else ""


def probe(root: str, _request: dict[str, Any]) -> dict[str, Any]:
    """What the town checks before it trusts a host: versions, tmux, git, the client address
    the host sees (the town's address from there), its home folder."""
    from gastown_tui.tmux.socket import socket_name

    client = (os.environ.get("SSH_CONNECTION") or "").split(" ")[0]
    out = {"version": __version__, "python": platform.python_version(),
           "tmux": _program_version(["tmux", "-V"]), "git": _program_version(["git",
                                                                               "--version"]),
           "home": os.path.expanduser("~"), "client_address": client,
           "gt": str(Path(sys.executable).parent / "gt"), "user": _user()}
    if root and root != "-":
        out["socket"] = socket_name(Path(root))
        out["root_exists"] = (Path(root) / "mayor" / "town.json").is_file()
    return out


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return ""


def prepare(root: str, request: dict[str, Any]) -> dict[str, Any]:
    """Write (or refresh) the satellite town: town.json marked as a satellite, the town's
    settings with the store URL this host uses, the rigs and their settings, the town's
    formula overrides, and an empty bare repository per rig for the town to push into."""
    from gastown_tui.tmux.socket import socket_name

    base = Path(root)
    if not base.is_absolute():
        raise ValidationError(f"the host's town path {root!r} is not absolute",
                              fix="give --town-path as an absolute path")
    marker = base / "mayor" / "town.json"
    if base.exists() and any(base.iterdir()) and not marker.is_file():
        raise ValidationError(f"{base} on this host exists and is not a Gas Town folder",
                              fix="choose another --town-path")
    town_json = dict(request.get("town_json") or {})
    town_json["satellite"] = dict(request.get("satellite") or {})
    base.mkdir(parents=True, exist_ok=True)  # the satellite's root: what bounds its writes
    write_json(marker, town_json, within=base)
    settings = dict(request.get("settings") or {})
    write_json(base / "settings" / "config.json", settings)
    for name in ("escalation.json",):
        if isinstance(request.get(name), dict):
            write_json(base / "settings" / name, request[name])
    write_json(base / "mayor" / "rigs.json", request.get("rigs_json") or {"version": 1,
                                                                          "rigs": {}})
    for rig_name, files in (request.get("rigs") or {}).items():
        validate_rig_name(rig_name)
        rig_dir = base / rig_name
        write_json(rig_dir / "config.json", files.get("config") or {})
        write_json(rig_dir / "settings" / "config.json", files.get("settings") or {})
        safe_write.ensure_dir(rig_dir / "polecats")
        bare = rig_dir / ".repo.git"
        if not (bare / "HEAD").is_file():
            import pygit2

            pygit2.init_repository(str(bare), bare=True)
    for file_name, text in (request.get("formulas") or {}).items():
        if not _FORMULA_FILE.match(file_name) or not isinstance(text, str):
            raise ValidationError(f"not a formula file name: {file_name!r}",
                                  fix="town formula overrides are <name>.formula.toml")
        folder = base / "formulas"
        safe_write.write_text(folder / file_name, text)
    for folder in ("deacon", ".runtime"):
        safe_write.ensure_dir(base / folder)
    return {"root": str(base), "socket": socket_name(base), "store": _store_check(Town(base))}


def _store_check(town: Town) -> str:
    """'' when the host reaches the town's store, else why not (one line)."""
    from gastown_tui.town.store import BeadStore

    try:
        store = BeadStore(town.store_location, actor="host-check")
        try:
            store.current_seq()
        finally:
            store.close_connection()
    except GasTownError as exc:
        return exc.problem
    return ""


def _town(root: str) -> Town:
    town = Town(Path(root))
    if not town.town_json.is_file():
        raise ValidationError(f"no satellite town at {root} on this host",
                              fix="run gt host check <name> from the town to make it")
    return town


def _polecat(town: Town, request: dict[str, Any]):
    rig = town.rig(validate_rig_name(str(request.get("rig") or "")))
    name = validate_agent_name(str(request.get("name") or ""))
    return rig, name, Address("polecat", rig.name, name)


def spawn(root: str, request: dict[str, Any]) -> dict[str, Any]:
    """A polecat's worktree (on the branch the town chose, from the default branch the town
    just pushed) and its session on this host's tmux server, started and settled."""
    from gastown_tui.ops.agent_screen import settle_new_agent
    from gastown_tui.ops.sessions import agent_path, start_agent, tmux_for
    from gastown_tui.ops.worktrees import create_polecat_worktree, remove_worktree
    from gastown_tui.runtimes.presets import require_installed, resolve_runtime

    town = _town(root)
    rig, name, addr = _polecat(town, request)
    bead = str(request.get("bead") or "")
    branch = str(request.get("branch") or "")
    agent = request.get("agent") or None
    runtime = resolve_runtime(town, "polecat", rig.name, agent)
    require_installed(runtime, agent_path())
    safe_write.ensure_dir(rig.polecats_dir / name)
    path, branch = create_polecat_worktree(rig, name, bead or None, runtime.instructions_file,
                                           branch=branch or None)
    try:
        session, alias = start_agent(town, addr, path, agent=agent, branch=branch,
                                     topic_suffix=bead)
        try:
            screen = settle_new_agent(town, session, runtime, f"polecat {name}")
        except BaseException:
            tmux_for(town).kill_session(session)
            raise
    except BaseException:
        remove_worktree(rig, name, branch)
        raise
    return {"worktree": str(path), "branch": branch, "session": session, "runtime": alias,
            "screen": screen}


def restart(root: str, request: dict[str, Any]) -> dict[str, Any]:
    """Start the polecat's session again in its worktree (a dead pane is cleared first); with
    `in_place`, respawn a running one (a fresh context, as gt handoff does)."""
    from gastown_tui.ops.sessions import restart_agent, start_agent, tmux_for

    town = _town(root)
    rig, name, addr = _polecat(town, request)
    path = rig.polecat_worktree(name)
    if not (path / ".git").exists():
        raise ValidationError(f"{addr} has no worktree on this host ({path})",
                              fix="nuke it from the town and sling the work again")
    tmux = tmux_for(town)
    session = addr.session_name(rig.prefix)
    topic = str(request.get("topic") or "")
    if request.get("in_place") and tmux.has_session(session):
        session, alias = restart_agent(town, addr, path, topic_suffix=topic or "restart")
        return {"session": session, "runtime": alias, "action": "respawned"}
    tmux.kill_session(session)  # a dead pane left by remain-on-exit, if any
    session, alias = start_agent(town, addr, path, branch=str(request.get("branch") or ""),
                                 topic_suffix=topic)
    return {"session": session, "runtime": alias, "action": "started"}


def kill(root: str, request: dict[str, Any]) -> dict[str, Any]:
    from gastown_tui.tmux.server import TownTmux

    session = str(request.get("session") or "")
    if not _SESSION.match(session):
        raise ValidationError(f"invalid session name {session!r}", fix="name a tmux session")
    grace = float(request.get("grace") or 2.0)
    return {"killed": TownTmux.for_town(Path(root)).kill_session(session, grace=grace)}


def kill_server(root: str, request: dict[str, Any]) -> dict[str, Any]:
    from gastown_tui.tmux.server import TownTmux

    grace = float(request.get("grace") or 2.0)
    return {"killed": TownTmux.for_town(Path(root)).kill_server(grace=grace)}


def enqueue(root: str, request: dict[str, Any]) -> dict[str, Any]:
    from gastown_tui.ops.nudge import enqueue as put

    town = _town(root)
    session = str(request.get("session") or "")
    if not _SESSION.match(session):
        raise ValidationError(f"invalid session name {session!r}", fix="name a tmux session")
    path = put(town, session, str(request.get("message") or ""),
               sender=str(request.get("sender") or "overseer"),
               priority=str(request.get("priority") or "normal"))
    return {"queued": path.name}


def scan(root: str, request: dict[str, Any]) -> dict[str, Any]:
    """What a nuke would lose there (no object written)."""
    from gastown_tui.ops import graveyard

    town = _town(root)
    rig, name, _ = _polecat(town, request)
    state = graveyard.scan(rig, name, branch_hint=str(request.get("branch_hint") or ""))
    return {"exists": state.exists, "branch": state.branch, "head": state.head,
            "changed": list(state.changed), "unmerged": state.unmerged,
            "worktree": str(rig.polecat_worktree(name))}


def nuke(root: str, request: dict[str, Any]) -> dict[str, Any]:
    """Everything nuke does on the polecat's own machine: its work saved in a grave first
    (and again if it wrote while being stopped), the session's process tree ended, the
    worktree, the local branch and the name's folder removed. The town fetches the graves."""
    from gastown_tui.ops import graveyard
    from gastown_tui.ops.sessions import tmux_for
    from gastown_tui.ops.worktrees import remove_worktree

    town = _town(root)
    rig, name, addr = _polecat(town, request)
    hint = str(request.get("branch_hint") or "")
    bead = str(request.get("bead") or "")
    state = graveyard.scan(rig, name, branch_hint=hint)
    if state.would_lose and not request.get("force"):
        raise ValidationError(f"{addr} has unsaved work on this host",
                              fix="nuke it with --force to keep it in the graveyard")
    graves: list[str] = []
    actions: list[str] = []
    if state.would_lose:
        grave = graveyard.save(rig, name, bead=bead, reason="nuke --force", branch_hint=hint)
        if grave is not None:
            graves.append(grave.ref)
    if tmux_for(town).kill_session(addr.session_name(rig.prefix)):
        actions.append("killed session")
    final = graveyard.scan(rig, name, branch_hint=hint)
    if final.would_lose and not (graves and graveyard.same_state(
            rig, graveyard.find_grave(rig, graves[-1]), final)):
        grave = graveyard.save(rig, name, bead=bead, reason="changed while being nuked",
                               branch_hint=hint)
        if grave is not None:
            graves.append(grave.ref)
    branch = final.branch or state.branch
    keep_branch = not branch or branch == rig.default_branch
    remove_worktree(rig, name, None if keep_branch else branch)
    shutil.rmtree(rig.polecats_dir / name, ignore_errors=True)
    actions.append("removed worktree")
    return {"graves": graves, "branch": branch, "actions": actions,
            "files": list(state.changed)}


OPS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "probe": probe, "prepare": prepare, "spawn": spawn, "restart": restart, "kill": kill,
    "kill-server": kill_server, "enqueue": enqueue, "scan": scan, "nuke": nuke,
}


def serve(root: str, op: str, request: dict[str, Any]) -> dict[str, Any]:
    handler = OPS.get(op)
    if handler is None:
        raise ValidationError(f"unknown host operation {op!r}",
                              fix="the town and this host run different gt versions: update "
                                  "the host")
    return {"ok": True, **handler(root, request)}
