"""Process locks shared by the verbs and loops: a non-blocking flock, and whether a pid lives.

A town whose store is PostgreSQL may have processes on several hosts: its town-wide locks
(sling of a bead, nuke of a polecat, one refinery/witness/deacon loop each) are then also
session advisory locks in the store, which the server releases the moment the holder's
connection ends (a crash, a kill -9, a lost host), as flock is released with its process."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gastown_tui.town import safe_write
from gastown_tui.town.errors import ConflictError


@contextmanager
def try_lock(path: Path, *, busy: str, fix: str, town_root: Path | None = None,
             name: str | None = None) -> Iterator[None]:
    """Hold an exclusive flock on `path` or fail at once with ConflictError(busy, fix).

    flock is released when the process dies, so a crash never leaves a stale lock. With
    `town_root`, a town on PostgreSQL also holds the advisory lock `name` (default: the
    path inside the town), so the lock holds across hosts."""
    with _open(path) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConflictError(busy, fix=fix) from exc
        if town_root is None:
            yield
            return
        if name is None:
            try:
                name = "lock:" + str(path.resolve().relative_to(Path(town_root).resolve()))
            except ValueError:
                name = "lock:" + str(path)
        with store_lock(town_root, name, busy=busy, fix=fix):
            yield


@contextmanager
def store_lock(town_root: Path, name: str, *, busy: str, fix: str) -> Iterator[None]:
    """The advisory lock `name` in the town's PostgreSQL store, held for the duration, or
    ConflictError at once; nothing for a SQLite town (its flocks are the whole truth)."""
    from gastown_tui.town.layout import Town
    from gastown_tui.town.store.backend import connect, is_pg

    location = Town(Path(town_root)).store_location
    if not is_pg(location):
        yield
        return
    conn = connect(location)
    try:
        if not conn.try_advisory_lock(name):
            raise ConflictError(f"{busy} (it holds the town-wide lock, maybe on another host)",
                                fix=fix)
        try:
            yield
        finally:
            conn.advisory_unlock(name)
    finally:
        conn.close()


@contextmanager
def hold_lock(path: Path) -> Iterator[None]:
    """Wait for an exclusive flock on `path` (short read-modify-writes of a small file)."""
    with _open(path) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _open(path: Path):
    """The lock file (created when missing), never through a symbolic link."""
    return os.fdopen(safe_write.open_file(path, os.O_RDWR | os.O_CREAT), "a+")


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
