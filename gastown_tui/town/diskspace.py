"""How much room the disk under a path has left: a full disk is told apart from damage."""

from __future__ import annotations

import os
from pathlib import Path

# Below this, SQLite cannot grow its WAL or shared-memory index by a page or two, and a JSON
# file cannot be written whole: for our purposes the disk is full.
NEARLY_FULL = 256 * 1024


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the file system holding `path` (or its
    nearest existing parent); None when it cannot be told."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        st = os.statvfs(probe)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def disk_full(path: Path) -> bool:
    free = free_bytes(path)
    return free is not None and free < NEARLY_FULL


def describe_free(path: Path) -> str:
    free = free_bytes(path)
    if free is None:
        return "free space unknown"
    if free < 1024 * 1024:
        return f"{free // 1024} KB free"
    return f"{free / (1024 * 1024):.0f} MB free"
