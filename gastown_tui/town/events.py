"""The town's append-only activity log `.events.jsonl` (upstream's event shape)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from gastown_tui.town.safe_text import json_text

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any


def event_line(event: dict[str, Any]) -> bytes:
    """One log line: compact JSON, UTF-8, no raw control character, ending in a newline."""
    return (json_text(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
            + "\n").encode("utf-8")


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
    line = event_line(event)
    fd = _open_locked(Path(town_root) / ".events.jsonl")
    try:
        os.write(fd, line)
    finally:
        os.close(fd)  # closing releases the flock
    return event


def _open_locked(path: Path) -> int:
    """The log opened for appending, under its exclusive flock. If the file was replaced while
    we waited for the lock (`gt doctor --fix` moving bad lines out), open the new one: a line
    appended to the replaced file would be lost."""
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def bad_lines(data: bytes) -> list[tuple[int, str]]:
    """(line number, reason) of every line of an event log that is not one JSON object."""
    out = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.append((number, "not UTF-8"))
            continue
        except RecursionError:
            out.append((number, "nested too deeply"))
            continue
        except ValueError as exc:
            out.append((number, f"not JSON ({str(exc)[:60]})"))
            continue
        if not isinstance(event, dict):
            out.append((number, "not a JSON object"))
    return out


def quarantine_bad_lines(town_root: Path) -> list[tuple[int, str]]:
    """Move the lines that do not parse to `.events.corrupt.jsonl` and keep the rest, in order.

    Under the log's flock: the bad lines are appended (and synced) to the corrupt file first,
    the good ones written to a temporary file that then replaces the log in one rename, so a
    crash at any point loses nothing (at worst a bad line is in both files). Writers waiting
    for the lock notice the new file and append there."""
    root = Path(town_root)
    path = root / ".events.jsonl"
    if not path.exists():
        return []
    fd = _open_locked(path)
    try:
        data = path.read_bytes()
        bad = bad_lines(data)
        if not bad:
            return []
        numbers = {n for n, _ in bad}
        lines = data.split(b"\n")
        keep = [line for n, line in enumerate(lines, start=1) if n not in numbers]
        moved = b"".join(lines[n - 1] + b"\n" for n in sorted(numbers))
        corrupt = os.open(root / ".events.corrupt.jsonl",
                          os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _write_all(corrupt, moved)
            os.fsync(corrupt)
        finally:
            os.close(corrupt)
        tmp = root / f".events.jsonl.{os.getpid()}.tmp"
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.fchmod(out, os.fstat(fd).st_mode & 0o777)
            _write_all(out, b"".join(line + b"\n" for line in keep if line))
            os.fsync(out)
        finally:
            os.close(out)
        os.replace(tmp, path)
        return bad
    finally:
        os.close(fd)


def read_events(town_root: Path, *, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Events in order; a line that does not parse is yielded as a `corrupt` event, not dropped."""
    path = Path(town_root) / ".events.jsonl"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if limit and b"\r" not in data:  # (bytes.splitlines also splits at a CR: count it too)
        # Only the tail is parsed: splitting a 50,000-line log into lines to keep 200 was
        # most of the control room's first read of it. Line numbers stay exact.
        cut = len(data)
        for _ in range(limit + 1):
            cut = data.rfind(b"\n", 0, cut)
            if cut < 0:
                break
        head_lines = data.count(b"\n", 0, cut + 1) if cut >= 0 else 0
        lines = data[cut + 1:].splitlines()
        start = max(0, len(lines) - limit)
        first_number = head_lines + start + 1
        lines = lines[start:]
    else:
        lines = data.splitlines()
        first_number = max(0, len(lines) - limit) + 1 if limit else 1
        lines = lines[first_number - 1:]
    for number, raw in enumerate(lines, start=first_number):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):
            yield {"ts": "", "source": "gt", "type": "corrupt", "actor": "",
                   "payload": {"line": number, "text": raw[:200].decode("utf-8", "replace")},
                   "visibility": "audit"}
            continue
        yield event


def prune_events(town_root: Path, expired: Callable[[dict[str, Any]], bool], *,
                 min_retain: int = 0, dry_run: bool = False) -> dict[str, Any]:
    """Drop the log lines `expired` says are past their time (KRC), keeping at least the
    `min_retain` newest lines. Under the log's flock, written to a temporary file that
    replaces the log in one rename (as quarantine_bad_lines): a crash loses nothing, and
    writers waiting for the lock append to the new file. Lines that do not parse are kept."""
    root = Path(town_root)
    path = root / ".events.jsonl"
    result: dict[str, Any] = {"events_processed": 0, "events_pruned": 0,
                              "events_retained": 0, "bytes_before": 0, "bytes_after": 0,
                              "pruned_by_type": {}}
    if not path.exists():
        return result
    fd = _open_locked(path)
    try:
        data = path.read_bytes()
        lines = [line for line in data.split(b"\n") if line.strip()]
        verdicts: list[tuple[bytes, str | None]] = []  # (line, type when expired)
        for raw in lines:
            try:
                event = json.loads(raw)
            except (ValueError, RecursionError):
                verdicts.append((raw, None))
                continue
            kind = str(event.get("type", "")) if isinstance(event, dict) else ""
            drop = isinstance(event, dict) and expired(event)
            verdicts.append((raw, kind if drop else None))
        keep_flags = [kind is None for _, kind in verdicts]
        short = min_retain - sum(keep_flags)
        for index in range(len(verdicts) - 1, -1, -1):  # the newest expired come back first
            if short <= 0:
                break
            if not keep_flags[index]:
                keep_flags[index] = True
                short -= 1
        pruned: dict[str, int] = {}
        for (_raw, kind), keep in zip(verdicts, keep_flags, strict=True):
            if not keep and kind is not None:
                pruned[kind] = pruned.get(kind, 0) + 1
        out = b"".join(raw + b"\n" for (raw, _), keep in zip(verdicts, keep_flags, strict=True)
                       if keep)
        result.update(events_processed=len(lines), events_pruned=sum(pruned.values()),
                      events_retained=sum(keep_flags), bytes_before=len(data),
                      bytes_after=len(out), pruned_by_type=pruned)
        if dry_run or not pruned:
            return result
        tmp = root / f".events.jsonl.{os.getpid()}.tmp"
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.fchmod(handle, os.fstat(fd).st_mode & 0o777)
            _write_all(handle, out)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(tmp, path)
        return result
    finally:
        os.close(fd)
