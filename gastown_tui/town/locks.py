"""Process locks shared by the verbs and loops: a non-blocking flock, and whether a pid lives."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gastown_tui.town.errors import ConflictError


@contextmanager
def try_lock(path: Path, *, busy: str, fix: str) -> Iterator[None]:
    """Hold an exclusive flock on `path` or fail at once with ConflictError(busy, fix).

    flock is released when the process dies, so a crash never leaves a stale lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConflictError(busy, fix=fix) from exc
        yield


@contextmanager
def hold_lock(path: Path) -> Iterator[None]:
    """Wait for an exclusive flock on `path` (short read-modify-writes of a small file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
