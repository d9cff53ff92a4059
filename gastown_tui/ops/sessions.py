"""Starting an agent's tmux session: its environment, beacon, runtime files and heartbeat."""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path

from gastown_tui.runtimes.presets import Runtime, resolve_alias, runtime_named
from gastown_tui.town.jsonfile import write_json
from gastown_tui.town.layout import Town, now_rfc3339
from gastown_tui.town.names import Address

ROLE_SENDER = {"mayor": ("human", "cold-start"), "deacon": ("daemon", "patrol"),
               "witness": ("deacon", "patrol"), "refinery": ("deacon", "patrol"),
               "polecat": ("witness", "assigned"), "crew": ("human", "cold-start")}


def tmux_for(town: Town):
    from gastown_tui.tmux.server import TownTmux

    return TownTmux.for_town(town.root)


def session_name(town: Town, addr: Address) -> str:
    prefix = town.rig(addr.rig).prefix if addr.rig else None
    return addr.session_name(prefix)


def agent_env(town: Town, addr: Address, *, session: str, alias: str,
              branch: str = "", worktree: Path | None = None,
              runtime: Runtime | None = None) -> dict[str, str]:
    """Gas Town's agent environment (reference §11.3): real agents' gt/bd calls depend on it."""
    role = str(addr)
    env = {
        "GT_ROOT": str(town.root), "GT_TOWN_ROOT": str(town.root), "GT_ROLE": role,
        "BD_ACTOR": role, "GT_AGENT": alias, "GT_SESSION": session, "GT_RUN": str(uuid.uuid4()),
        "GIT_CEILING_DIRECTORIES": str(town.root),
        "GIT_AUTHOR_NAME": addr.name if addr.role in ("polecat", "crew") else role,
        "GIT_AUTHOR_EMAIL": f"{(addr.name or addr.role)}@gastown.local",
        "GIT_COMMITTER_NAME": addr.name if addr.role in ("polecat", "crew") else role,
        "GIT_COMMITTER_EMAIL": f"{(addr.name or addr.role)}@gastown.local",
        "CLAUDECODE": "", "NODE_OPTIONS": "", "BD_BACKUP_ENABLED": "false",
        # gt and bd must be on PATH inside the session, whichever venv started the town.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                 os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")]),
    }
    if os.environ.get("GT_TMUX_SOCKET"):
        env["GT_TMUX_SOCKET"] = os.environ["GT_TMUX_SOCKET"]
    if addr.rig:
        env["GT_RIG"] = addr.rig
    if addr.role == "polecat":
        env.update({"GT_POLECAT": addr.name or "", "BEADS_AGENT_NAME": f"{addr.rig}/{addr.name}",
                    "GT_BRANCH": branch, "GT_POLECAT_PATH": str(worktree or "")})
    if addr.role == "crew":
        env.update({"GT_CREW": addr.name or "", "BEADS_AGENT_NAME": f"{addr.rig}/{addr.name}"})
    if runtime is not None:
        env["GT_PROCESS_NAMES"] = ",".join(runtime.process_names)
        env.update(runtime.env)
    return env


def beacon(addr: Address, topic_suffix: str = "") -> str:
    sender, topic = ROLE_SENDER.get(addr.role, ("human", "cold-start"))
    who = addr.role if addr.role in ("mayor", "deacon") else f"{addr.role} {addr.name or ''}".strip()
    rig = f" (rig: {addr.rig})" if addr.rig else ""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M")
    topic = f"{topic}:{topic_suffix}" if topic_suffix else topic
    text = f"[GAS TOWN] {who}{rig} <- {sender} • {stamp} • {topic}"
    if addr.role == "polecat":
        return text + "\n\nRun `gt prime --hook` and begin work on your hook."
    return (text + "\n\nCheck your hook and mail, then act on the hook if present: "
            "1. `gt hook` 2. `gt mail inbox` 3. act.")


CLAUDE_SETTINGS = {
    "hooks": {
        "SessionStart": [{"matcher": "", "hooks": [{"type": "command",
                                                    "command": "gt prime --hook"}]}],
        "PreCompact": [{"matcher": "", "hooks": [{"type": "command",
                                                  "command": "gt prime --hook"}]}],
        "UserPromptSubmit": [{"matcher": "", "hooks": [{"type": "command",
                                                        "command": "gt nudge --drain"}]}],
    }
}


def settings_dir(town: Town, addr: Address) -> Path:
    """RoleSettingsDir: <rig>/polecats for polecats, <rig>/<role> for rig roles, cwd for town."""
    if addr.role == "polecat":
        return town.root / str(addr.rig) / "polecats"
    if addr.rig:
        return town.root / str(addr.rig) / ("crew" if addr.role == "crew" else addr.role)
    return town.root / addr.role


def write_runtime_files(town: Town, addr: Address, runtime: Runtime) -> str | None:
    """A Claude Code settings file whose SessionStart hook runs `gt prime --hook`, so a real
    Claude polecat finds its hook unaided. Returns the path to pass with --settings."""
    if runtime.hooks_provider != "claude":
        return None
    path = settings_dir(town, addr) / ".claude" / "settings.json"
    if not path.exists():
        write_json(path, CLAUDE_SETTINGS)
    return str(path)


def write_heartbeat(town: Town, session: str, state: str, **extra: str) -> None:
    if not town.town_json.is_file():  # never re-create the folders of a town that was removed
        return
    write_json(town.runtime_dir / "heartbeats" / f"{session}.json",
               {"session": session, "ts": now_rfc3339(), "state": state, **extra})


def read_heartbeat(town: Town, session: str) -> dict | None:
    path = town.runtime_dir / "heartbeats" / f"{session}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def start_agent(town: Town, addr: Address, cwd: Path, *, agent: str | None = None,
                branch: str = "", topic_suffix: str = "") -> tuple[str, str]:
    """Start the agent's session; returns (session name, runtime alias)."""
    tmux = tmux_for(town)
    session = session_name(town, addr)
    alias = resolve_alias(town, addr.role, addr.rig, agent)
    runtime = runtime_named(town, alias, addr.rig)
    settings = write_runtime_files(town, addr, runtime)
    env = agent_env(town, addr, session=session, alias=alias, branch=branch,
                    worktree=cwd if addr.role == "polecat" else None, runtime=runtime)
    argv = runtime.argv(beacon(addr, topic_suffix), settings_file=settings)
    tmux.new_session(session, cwd, argv, env)
    write_heartbeat(town, session, "started", agent=str(addr), runtime=alias)
    return session, alias
