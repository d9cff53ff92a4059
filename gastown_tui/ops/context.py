"""Shared plumbing for verbs: open the town's store as an actor, resolve prefixes."""

from __future__ import annotations

import os
from pathlib import Path

from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore


def default_actor() -> str:
    """bd's actor: BEADS_ACTOR, then BD_ACTOR, then GT_ROLE, then the user name."""
    for var in ("BEADS_ACTOR", "BD_ACTOR", "GT_ROLE"):
        value = os.environ.get(var)
        if value:
            return value
    return os.environ.get("USER") or "overseer"


def open_store(town: Town, actor: str | None = None, *, short_lived: bool = False) -> BeadStore:
    """The town's store (SQLite file or PostgreSQL server, as its settings say) as `actor`.
    `short_lived` (one CLI call): on a full disk a SQLite store still reads (connection.py)."""
    return BeadStore(town.store_location, actor=actor if actor is not None else default_actor(),
                     full_disk_reads=short_lived)


def store_path(town_root: Path) -> Path:
    return Path(town_root) / ".beads" / "beads.db"
