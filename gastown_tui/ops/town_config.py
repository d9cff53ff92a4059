"""`gt config get|set|unset|show` and `gt config default-agent`: the town's settings
(settings/config.json) by dot-notation key, as upstream's `gt config set scheduler.max_polecats
5`. A value that reads as JSON (a number, true/false, a list) is stored as that, else as
text; a write that would leave the file in a shape the verbs cannot read is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gastown_tui.ops.settings_shape import settings_problem
from gastown_tui.town.errors import ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}(\.[A-Za-z_][A-Za-z0-9_-]{0,63}){0,5}\Z")


def _parts(key: str) -> list[str]:
    if not _KEY.match(key or ""):
        raise ValidationError(f"invalid setting key {key!r}",
                              fix="dot-notation names: scheduler.max_polecats, default_agent")
    return key.split(".")


def settings_path(town: Town, rig: str | None = None) -> Path:
    """The town's settings/config.json, or a rig's own (<rig>/settings/config.json: its
    scheduler cap, its agents)."""
    return town.rig(rig).path / "settings" / "config.json" if rig else town.settings_json


def load(town: Town, rig: str | None = None) -> dict[str, Any]:
    data = read_json(settings_path(town, rig), {})
    return data if isinstance(data, dict) else {}


def get(town: Town, key: str, rig: str | None = None) -> Any:
    value: Any = load(town, rig)
    for part in _parts(key):
        if not isinstance(value, dict) or part not in value:
            raise ValidationError(f"{key} is not set", fix=f"gt config set {key} <value>")
        value = value[part]
    return value


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def set_value(town: Town, key: str, text: str | None, *, actor: str = "overseer",
              rig: str | None = None) -> Any:
    """Set (or, with None, remove) `key`; returns the value stored."""
    parts = _parts(key)
    data = load(town, rig)
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ValidationError(f"{part} holds a {type(child).__name__}, not settings",
                                  fix=f"gt config unset {part} first")
        node = child
    value = None if text is None else parse_value(text)
    if text is None:
        if parts[-1] not in node:
            raise ValidationError(f"{key} is not set", fix="nothing to unset")
        node.pop(parts[-1])
    else:
        node[parts[-1]] = value
    problem = settings_problem(data)
    if problem:
        raise ValidationError(f"{key}={text!r} would break settings/config.json: {problem}",
                              fix="give it the shape the town reads")
    write_json(settings_path(town, rig), data, within=town.root)
    log_event(town.root, "config_set", actor=actor,
              payload={"key": key, "value": value, "rig": rig or ""})
    return value
