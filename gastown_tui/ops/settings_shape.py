"""The shapes of the town's settings files: what every reader of them assumes (objects where
objects are read, text where names are), checked in one place so `gt doctor` names what is wrong
and a verb refuses with one line instead of crashing somewhere inside."""

from __future__ import annotations

from typing import Any

from gastown_tui.town.errors import StoreCorruptError
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town


def objects_problem(data: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = data.get(key)
        if value is not None and not isinstance(value, dict):
            return f"{key!r} holds a {type(value).__name__}, not an object"
    return ""


def settings_problem(data: dict[str, Any]) -> str:
    shape = objects_problem(data, "agents", "role_agents", "convoy", "merge_queue", "namepool",
                           "workflow", "witness", "control_room")
    if shape:
        return shape
    for alias, cfg in (data.get("agents") or {}).items():
        if not isinstance(cfg, dict):
            return f"agent {alias!r} holds a {type(cfg).__name__}, not an object"
        for key, kind in (("args", list), ("env", dict), ("tmux", dict)):
            if cfg.get(key) is not None and not isinstance(cfg[key], kind):
                return f"agent {alias!r}: {key!r} must be a{'n object' if kind is dict else ' list'}"
    for key in ("default_agent", "agent"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"{key!r} must be a runtime name (text)"
    return ""


def escalation_problem(data: dict[str, Any]) -> str:
    shape = objects_problem(data, "routes", "contacts")
    if shape:
        return shape
    for severity, actions in (data.get("routes") or {}).items():
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            return f"route {severity!r} must be a list of actions"
    return ""


def rig_config_problem(data: dict[str, Any]) -> str:
    shape = objects_problem(data, "beads")
    if shape:
        return shape
    prefix = (data.get("beads") or {}).get("prefix")
    if prefix is not None and not isinstance(prefix, str):
        return "beads.prefix must be text"
    return ""




def check_settings(town: Town, rig: str | None = None) -> None:
    """Raise a one-line error naming the file when the town's (or the rig's) settings would
    break a verb that reads them."""
    paths = [town.settings_json] + ([town.root / rig / "settings" / "config.json"] if rig else [])
    for path in paths:
        data = read_json(path, None)  # not JSON, not UTF-8, not an object: one line already
        problem = settings_problem(data) if data is not None else ""
        if problem:
            raise StoreCorruptError(f"{path}: {problem}",
                                    fix="fix the file by hand; 'gt doctor' lists what is wrong")
