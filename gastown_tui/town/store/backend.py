"""The store's backend boundary: a location names one, and `connect` opens it.

- a path (or 'sqlite:///abs/path'): SQLite, the default, one file on one machine
  (connection.py);
- 'postgresql://…' or 'postgres://…': a PostgreSQL server that many hosts share (pg.py, loaded
  only then, with libpq).

Both connections offer the same interface: write() (one transaction, read-modify-write safe),
read(), next_seq(), close(), and the backend specifics (integrity_problems, probe,
set_busy_timeout, size_bytes, advisory locks, listener)."""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

PG_SCHEMES = ("postgresql://", "postgres://")


def is_pg(location: Any) -> bool:
    return isinstance(location, str) and location.startswith(PG_SCHEMES)


def sqlite_path(location: str | Path) -> Path:
    text = str(location)
    if text.startswith("sqlite:///"):
        return Path(text[len("sqlite://"):])
    return Path(location)


def connect(location: str | Path, *, create: bool = False, full_disk_reads: bool = False) -> Any:
    """The connection for a store location (see the module's docstring). `full_disk_reads`
    only means something to SQLite (connection.py); a server's disk is the server's."""
    if is_pg(location):
        from gastown_tui.town.store.pg import PgConnection

        return PgConnection(str(location), create=create)
    from gastown_tui.town.store.connection import Connection

    return Connection(sqlite_path(location), create=create, full_disk_reads=full_disk_reads)


def display(location: str | Path) -> str:
    """The location as a user may see it (a URL's password left out)."""
    if is_pg(location):
        from gastown_tui.town.store.pg import describe

        return describe(str(location))
    return str(sqlite_path(location))
