"""The town's append-only activity log `.events.jsonl` (upstream's event shape)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def log_event(town_root: Path, event_type: str, *, actor: str = "", payload: dict[str, Any] | None = None,
              source: str = "gt", visibility: str = "feed") -> dict[str, Any]:
    """Append one event line. O_APPEND plus an exclusive flock keeps lines whole across processes."""
    event = {
        "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "source": source,
        "type": event_type,
        "actor": actor,
        "payload": payload or {},
        "visibility": visibility,
    }
    line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    path = Path(town_root) / ".events.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.write(fd, line)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    return event


def read_events(town_root: Path, *, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Events in order; a line that does not parse is yielded as a `corrupt` event, not dropped."""
    path = Path(town_root) / ".events.jsonl"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    lines = data.splitlines()
    start = max(0, len(lines) - limit) if limit else 0
    for number, raw in enumerate(lines[start:], start=start + 1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except ValueError:
            yield {"ts": "", "source": "gt", "type": "corrupt", "actor": "",
                   "payload": {"line": number, "text": raw[:200].decode("utf-8", "replace")},
                   "visibility": "audit"}
            continue
        yield event
