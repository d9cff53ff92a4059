"""`gt remember`, `gt memories`, `gt forget`: what agents keep across sessions.

Memories are shared by every agent of the town and shown by the Mayor's `gt prime`. They are
a small JSON file (mayor/memories.json) rewritten whole under a lock, so two agents
remembering at once both keep their entry.
"""

from __future__ import annotations

import re
from typing import Any

from gastown_tui.town.errors import BeadNotFoundError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town, now_rfc3339
from gastown_tui.town.locks import hold_lock

TYPES = ("feedback", "project", "user", "reference", "general")
_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\Z")


def _path(town: Town):
    return town.mayor_dir / "memories.json"


def _load(town: Town) -> list[dict[str, Any]]:
    data = read_json(_path(town), None) or {}
    items = data.get("memories") if isinstance(data, dict) else None
    return [m for m in items or [] if isinstance(m, dict) and m.get("key")]


def _slug(text: str, taken: set[str]) -> str:
    base = "-".join(re.findall(r"[a-z0-9]+", text.lower())[:5])[:40].strip("-") or "memory"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def remember(town: Town, text: str, *, key: str | None = None, kind: str = "general",
             actor: str = "") -> dict[str, Any]:
    text = text.strip()
    if not text:
        raise ValidationError("nothing to remember", fix='gt remember "what to keep"')
    if kind not in TYPES:
        raise ValidationError(f"unknown memory type {kind!r}", fix=f"use one of {', '.join(TYPES)}")
    if key is not None and not _KEY.match(key):
        raise ValidationError(f"invalid memory key {key!r}",
                              fix="use lowercase letters, digits and '-' (e.g. my-slug)")
    with hold_lock(town.runtime_dir / "locks" / "memories.lock"):
        items = _load(town)
        taken = {m["key"] for m in items}
        key = key or _slug(text, taken)
        entry = {"key": key, "type": kind, "text": text, "by": actor, "at": now_rfc3339()}
        items = [m for m in items if m["key"] != key] + [entry]
        write_json(_path(town), {"version": 1, "memories": items})
    log_event(town.root, "remember", actor=actor or "overseer", payload={"key": key, "type": kind})
    return entry


def list_memories(town: Town, term: str | None = None) -> list[dict[str, Any]]:
    items = _load(town)
    if term:
        needle = term.lower()
        items = [m for m in items if needle in m["key"] or needle in str(m.get("text", "")).lower()]
    return items


def forget(town: Town, key: str, *, actor: str = "") -> dict[str, Any]:
    with hold_lock(town.runtime_dir / "locks" / "memories.lock"):
        items = _load(town)
        gone = [m for m in items if m["key"] == key]
        if not gone:
            raise BeadNotFoundError(f"no memory with key {key!r}", fix="see 'gt memories'")
        write_json(_path(town), {"version": 1, "memories": [m for m in items if m["key"] != key]})
    log_event(town.root, "forget", actor=actor or "overseer", payload={"key": key})
    return gone[0]
