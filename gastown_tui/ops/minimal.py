"""Minimal mode (upstream's "Minimal Mode (No Tmux)"): Gas Town tracks the work (hooks, beads,
convoys, the merge queue) and a person runs the agents by hand.

It is on when tmux is not installed, when GT_MINIMAL=1, or when the town's
settings/config.json has "mode": "minimal" (GT_MINIMAL=0 overrides the setting, not a missing
tmux). Then `gt sling` still makes the polecat's worktree, branch, agent bead and hook but
starts no session: it writes `<town>/.runtime/manual/<session>.sh` (the agent's environment,
its directory and its runtime's command line) and says to run it. `gt up` starts nothing and
lists the loops to run by hand; the Deacon keeps nothing alive; witnesses leave sessionless
polecats alone."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from gastown_tui.ops.sessions import agent_command, write_heartbeat
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address
from gastown_tui.town.safe_write import write_text

ON = ("1", "true", "yes", "on")
OFF = ("0", "false", "no", "off")


def reason(town: Town) -> str:
    """Why this town is in minimal mode, or "" when it is not."""
    from gastown_tui.tmux.server import TownTmux

    if not TownTmux.available():
        return "tmux is not installed"
    flag = os.environ.get("GT_MINIMAL", "").strip().lower()
    if flag in ON:
        return "GT_MINIMAL is set"
    if flag in OFF:
        return ""
    try:
        settings = read_json(town.settings_json, {}) or {}
    except (GasTownError, OSError):
        return ""  # a broken settings file is gt doctor's to name, not a mode
    if isinstance(settings, dict) and settings.get("mode") == "minimal":
        return "settings/config.json has mode minimal"
    return ""


def active(town: Town) -> bool:
    return bool(reason(town))


def script_path(town: Town, session: str) -> Path:
    return town.runtime_dir / "manual" / f"{session}.sh"


def write_manual_start(town: Town, addr: Address, cwd: Path, *, agent: str | None = None,
                       branch: str = "", topic_suffix: str = "") -> tuple[str, str, Path]:
    """The agent's runtime files and a script that starts it by hand, in the foreground of
    whoever runs it: (session name it would have had, runtime alias, script path)."""
    session, alias, argv, env = agent_command(town, addr, cwd, agent=agent, branch=branch,
                                              topic_suffix=topic_suffix)
    lines = ["#!/bin/sh", f"# {addr}: started by hand (Gas Town minimal mode)", "set -e"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items())
              if value != "" or key in os.environ]
    lines += [f"cd {shlex.quote(str(cwd))}", "exec " + shlex.join(argv), ""]
    path = script_path(town, session)
    write_text(path, "\n".join(lines), mode=0o755)
    write_heartbeat(town, session, "manual", agent=str(addr), runtime=alias)
    return session, alias, path


def loop_commands(town: Town) -> list[tuple[str, str]]:
    """(who, command) for each loop a person may run by hand in minimal mode."""
    out = [("mayor", f"cd {shlex.quote(str(town.mayor_dir))} && <your agent runtime>")]
    for rig in town.rigs():
        out.append((f"{rig.name}/refinery",
                    f"gt refinery run {rig.name}   (or gt refinery run {rig.name} --once "
                    "after each gt done)"))
    out.append(("deacon", "gt deacon run   (or gt deacon run --once: lands convoys, opens "
                          "gates)"))
    return out
