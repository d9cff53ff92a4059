"""Rig lifecycle: park/unpark (a pause), dock/undock (the same, meant to last), start/stop (its
witness and refinery now), and per-rig settings (`gt rig config`).

A parked or docked rig takes no new work (`gt sling` refuses), and neither `gt up` nor the
Deacon starts its loops; its worktrees, branches and beads stay as they are.
"""

from __future__ import annotations

from typing import Any

from gastown_tui.ops.sessions import tmux_for
from gastown_tui.town.errors import ConflictError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.names import Address

STATES = ("parked", "docked")


def _config_path(rig: RigInfo):
    return rig.path / "config.json"


def rig_config(rig: RigInfo) -> dict[str, Any]:
    return read_json(_config_path(rig), {}) or {}


def asleep(rig: RigInfo) -> str:
    """'parked' or 'docked' when the rig takes no work and runs no loops; '' when awake."""
    cfg = rig_config(rig)
    return next((state for state in ("docked", "parked") if cfg.get(state)), "")


def refuse_if_asleep(rig: RigInfo) -> None:
    state = asleep(rig)
    if state:
        verb = "undock" if state == "docked" else "unpark"
        raise ConflictError(f"rig {rig.name} is {state}: it takes no new work",
                            fix=f"wake it first: gt rig {verb} {rig.name}")


def loop_sessions(rig: RigInfo) -> list[str]:
    return [Address(role, rig.name).session_name(rig.prefix) for role in ("witness", "refinery")]


def stop_loops(town: Town, rig: RigInfo) -> list[str]:
    tmux = tmux_for(town)
    return [s for s in loop_sessions(rig) if tmux.kill_session(s)]


def set_state(town: Town, rig: RigInfo, state: str, on: bool) -> dict[str, Any]:
    if state not in STATES:
        raise ValidationError(f"unknown rig state {state!r}", fix="park or dock")
    cfg = rig_config(rig)
    was = bool(cfg.get(state))
    if on:
        cfg[state] = True
    else:
        cfg.pop(state, None)
    write_json(_config_path(rig), cfg)
    stopped = stop_loops(town, rig) if on else []
    log_event(town.root, f"rig_{'' if on else 'un'}{state[:-2]}", actor="overseer",
              payload={"rig": rig.name, "stopped": stopped})
    return {"rig": rig.name, "state": state if on else "active", "changed": was != on,
            "stopped": stopped}


def config_set(rig: RigInfo, key: str, value: str) -> dict[str, Any]:
    if not key.replace("_", "").replace("-", "").isalnum():
        raise ValidationError(f"invalid setting name {key!r}", fix="use letters, digits and _")
    cfg = rig_config(rig)
    parsed: Any = {"true": True, "false": False}.get(value.lower(), value)
    cfg.setdefault("settings", {})[key] = parsed
    write_json(_config_path(rig), cfg)
    return {"rig": rig.name, "key": key, "value": parsed}
