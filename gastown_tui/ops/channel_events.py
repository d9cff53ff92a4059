"""File events on named channels (upstream gastown's internal/channelevents and `gt mol step
emit-event|await-event`): JSON files in `<town>/events/<channel>/*.event`, each a
{type, channel, timestamp, payload}, picked up by whoever waits on the channel.

Waiting backs off when nothing comes (base × mult^idle cycles, capped), and an agent bead
remembers its idle cycles in an `idle:<n>` label and the end of its current wait in
`backoff-until:<unix>`, so a restarted wait resumes its window (as upstream)."""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from gastown_tui.town.durations import parse_duration
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.layout import Town
from gastown_tui.town.safe_write import ensure_dir, write_text
from gastown_tui.town.store import BeadStore

_CHANNEL = re.compile(r"^[a-zA-Z0-9_-]+\Z")
_seq = count(1)
POLL = 0.5


def channel_dir(town: Town, channel: str) -> Path:
    if not _CHANNEL.match(channel or ""):
        raise ValidationError(f"invalid channel name {channel!r}: must match [a-zA-Z0-9_-]",
                              fix="use a plain name such as refinery")
    return town.root / "events" / channel


def emit(town: Town, channel: str, event_type: str, payload: list[str]) -> Path:
    if not event_type.strip():
        raise ValidationError("the event type is empty", fix="pass --type, e.g. MERGE_READY")
    folder = ensure_dir(channel_dir(town, channel))
    data = {}
    for pair in payload:
        key, sep, value = pair.partition("=")
        if sep:
            data[key] = value
    event = {"type": event_type, "channel": channel,
             "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "payload": data}
    path = folder / f"{time.time_ns()}-{next(_seq)}-{os.getpid()}.event"
    write_text(path, json.dumps(event, indent=2))  # atomic: a reader never sees half a file
    return path


def pending(town: Town, channel: str) -> list[dict[str, Any]]:
    folder = channel_dir(town, channel)
    out = []
    try:
        names = sorted(p for p in os.listdir(folder) if p.endswith(".event"))
    except FileNotFoundError:
        return []
    for name in names:
        path = folder / name
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append({"path": str(path), "content": content})
    return out


def _labels(store: BeadStore, bead_id: str) -> dict[str, str]:
    out = {}
    for label in store.labels_of(bead_id):
        key, sep, value = label.partition(":")
        if sep:
            out[key] = value
    return out


def _set_label(store: BeadStore, bead_id: str, key: str, value: str | None) -> None:
    old = [f"{key}:{v}" for k, v in _labels(store, bead_id).items() if k == key]
    store.update(bead_id, remove_labels=old,
                 add_labels=[f"{key}:{value}"] if value is not None else [])


def timeout_for(idle: int, timeout: str, base: str, mult: int, cap: str) -> float:
    if not base:
        return parse_duration(timeout, what="--timeout")
    seconds = parse_duration(base, what="--backoff-base")
    limit = parse_duration(cap, what="--backoff-max") if cap else 0.0
    for _ in range(idle):
        if limit and seconds >= limit:
            return limit
        seconds *= max(1, mult)
    return min(seconds, limit) if limit else seconds


def await_events(town: Town, store: BeadStore, channel: str, *, timeout: str = "60s",
                 backoff_base: str = "", backoff_mult: int = 2, backoff_max: str = "",
                 agent_bead: str = "", cleanup: bool = False) -> dict[str, Any]:
    ensure_dir(channel_dir(town, channel))
    idle, until = 0, 0.0
    if agent_bead:
        try:
            labels = _labels(store, agent_bead)
            idle = int(labels.get("idle", "0") or 0)
            until = float(labels.get("backoff-until", "0") or 0)
        except (GasTownError, ValueError):
            agent_bead = ""  # no such bead: wait without remembering
    wait = timeout_for(idle, timeout, backoff_base, backoff_mult, backoff_max)
    now = time.time()
    if agent_bead and until > now and until - now <= wait:
        wait = until - now  # resume the window a killed wait left
    if agent_bead:
        _set_label(store, agent_bead, "backoff-until", str(int(now + wait)))
    started = time.monotonic()
    events = pending(town, channel)
    while not events and time.monotonic() - started < wait:
        time.sleep(min(POLL, max(0.0, wait - (time.monotonic() - started))))
        events = pending(town, channel)
    reason = "event" if events else "timeout"
    if agent_bead:
        idle = idle + 1 if reason == "timeout" else 0
        _set_label(store, agent_bead, "idle", str(idle))
        _set_label(store, agent_bead, "backoff-until", None)
    if cleanup:
        for event in events:
            try:
                os.remove(event["path"])
            except OSError:
                pass
    return {"reason": reason, "elapsed": int((time.monotonic() - started) * 1e9),
            "events": events, "idle_cycles": idle,
            "effort_level": "full" if reason == "event" or idle == 0 else "abbreviated"}
