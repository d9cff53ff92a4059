"""The SQLite backend (the default: one file, one machine): opening the file and running write
transactions safely from many processes. pg.py is the PostgreSQL backend with the same
interface; backend.py picks one from the town's settings."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gastown_tui.town.diskspace import describe_free, disk_full
from gastown_tui.town.errors import DiskFullError, StoreCorruptError, StoreLockedError
from gastown_tui.town.store.schema import DDL, SCHEMA_VERSION


def busy_timeout_ms() -> int:
    try:
        return max(0, int(os.environ.get("GT_STORE_BUSY_TIMEOUT_MS", "30000")))
    except ValueError:
        return 30000


def translate(exc: sqlite3.Error, path: Path, waited: float = 0.0) -> Exception:
    text = str(exc).lower()
    name = getattr(exc, "sqlite_errorname", "") or ""
    if "locked" in text or "busy" in text:
        return StoreLockedError(
            f"the bead store {path} is locked by another process (waited {waited:.1f}s)",
            fix="retry in a moment; if it persists, 'gt doctor' finds the stuck process",
        )
    # A full disk is not damage: SQLite says SQLITE_FULL when a write cannot grow the file,
    # and only "disk I/O error" when it cannot even size its shared-memory index.
    if name == "SQLITE_FULL" or "disk is full" in text or (
            (name.startswith("SQLITE_IOERR") or "disk i/o error" in text) and disk_full(path)):
        return DiskFullError(
            f"the disk holding the bead store {path} is full ({describe_free(path)}); the "
            "store is not damaged",
            fix="free some space and retry; nothing was written")
    if "malformed" in text or "not a database" in text or "disk image" in text:
        return StoreCorruptError(
            f"the bead store {path} is damaged ({exc})",
            fix="'gt doctor' says what is lost; 'bd backup restore' brings back the last "
                "backup; nothing was written",
        )
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        return StoreCorruptError(f"the bead store {path} could not be read or written ({exc})",
                                 fix="check the disk (dmesg), then run 'gt doctor'")
    return StoreCorruptError(f"bead store error on {path}: {exc}",
                             fix="run 'gt doctor' to check the store")


class Connection:
    """One SQLite connection in autocommit mode; writes go through `write()` (BEGIN IMMEDIATE).

    `full_disk_reads`: when the disk is full SQLite cannot create its shared-memory index and
    every open fails; a short-lived reader (one CLI call) then opens in EXCLUSIVE locking mode,
    which keeps that index in memory, so `bd list` and `gt status` still answer. Never for a
    long-lived connection: it would hold the lock against every writer."""

    kind = "sqlite"

    def __init__(self, path: Path, *, create: bool = False, full_disk_reads: bool = False) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.exclusive = False
        if not create and not self.path.exists():
            raise StoreCorruptError(f"no bead store at {self.path}",
                                    fix="run 'gt install' to create the town's store")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = self._open(create, exclusive=False)
        except sqlite3.Error as exc:
            if not (full_disk_reads and not create and disk_full(self.path)):
                raise translate(exc, self.path) from exc
            try:
                self.db = self._open(False, exclusive=True)
                self.exclusive = True
            except sqlite3.Error:
                raise translate(exc, self.path) from exc

    def _open(self, create: bool, *, exclusive: bool) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), isolation_level=None,
                             timeout=busy_timeout_ms() / 1000, check_same_thread=False)
        try:
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
            if exclusive:
                db.execute("PRAGMA locking_mode=EXCLUSIVE")
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=OFF")
            self.db = db
            if create:
                self._ensure_schema()
        except BaseException:
            db.close()
            raise
        return db

    def _ensure_schema(self) -> None:
        with self.write():
            # executescript() would commit our transaction; run the statements one by one.
            for statement in DDL.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),))
            self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('seq', '0')")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front, so read-modify-write is safe."""
        started = time.monotonic()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate(exc, self.path, time.monotonic() - started) from exc
        try:
            yield self.db
        except BaseException:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise translate(exc, self.path, time.monotonic() - started) from exc

    def read(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    def next_seq(self) -> int:
        """Bump the change sequence inside the current write transaction."""
        row = self.db.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'seq' RETURNING value"
        ).fetchone()
        return int(row[0])

    # ------------------------------------------------------------------ backend specifics
    def set_busy_timeout(self, ms: int) -> None:
        self.db.execute(f"PRAGMA busy_timeout={int(ms)}")

    def integrity_problems(self) -> list[str]:
        return [r[0] for r in self.read("PRAGMA integrity_check") if r[0] != "ok"]

    def probe(self, timeout_ms: int) -> None:
        """Raise StoreLockedError if the file cannot be read within timeout_ms: a throwaway
        connection with that short timeout asks (this one may wait 30 s on a lock)."""
        try:
            probe = sqlite3.connect(f"{self.path.as_uri()}?mode=rw", uri=True,
                                    timeout=timeout_ms / 1000)
            try:
                probe.execute("PRAGMA schema_version").fetchone()
            finally:
                probe.close()
        except sqlite3.Error as exc:
            raise translate(exc, self.path, timeout_ms / 1000) from exc

    def size_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    # Town-wide locks are flocks on one machine: no lock lives in the store.
    def try_advisory_lock(self, name: str) -> bool:
        return True

    def advisory_unlock(self, name: str) -> None:
        return None

    def advisory_held(self, names) -> set[str]:
        return set()

    # Presence on one machine is the heartbeat files and the tmux sessions (ops/sessions.py).
    def beat(self, session: str, host: str, pid: int, state: str, info: str, at: str) -> None:
        return None

    def presence_rows(self) -> list:
        return []

    def listener(self) -> None:
        """No push from SQLite: the control room watches the file (watchfiles) instead."""
        return None

    def close(self) -> None:
        self.db.close()
