"""The bead store: SQLite in WAL mode, bd's fields, ids, dependencies and readiness rules."""

from gastown_tui.town.store.core import BeadStore

__all__ = ["BeadStore"]
