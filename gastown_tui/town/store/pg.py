"""The bead store on a PostgreSQL server: the same SQL as SQLite's connection, the same
transaction shape, the same errors.

- Every write transaction starts by locking the one change-sequence row (SELECT … FOR UPDATE):
  writers queue on it exactly as SQLite's BEGIN IMMEDIATE makes them queue, so every
  read-modify-write in the store stays safe and the sequence's order is the commit order
  ("changes since N" never misses a row, which a SEQUENCE would not promise).
- A transaction that bumped the sequence NOTIFYs it before COMMIT (delivered at commit).
- One connection per process and URL, shared by every BeadStore of the process under one lock
  and closed at exit (no pool, no connection per query: upstream's storms came from those).
- Each session sets lock_timeout (the busy timeout), idle_session_timeout (a client that
  vanished is dropped by the server) and TCP keepalives; connecting times out after
  GT_STORE_CONNECT_TIMEOUT seconds with a one-line error, never a hang.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from gastown_tui.town.errors import (
    GasTownError,
    StoreCorruptError,
    StoreLockedError,
    StoreUnavailableError,
    ValidationError,
)
from gastown_tui.town.store import pg_schema
from gastown_tui.town.store.libpq import PgConn, PqError, Result, Row
from gastown_tui.town.store.sql import to_pg

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

IDLE_SESSION_TIMEOUT = "15min"  # longer than any loop's round; the loops beat every few seconds


def busy_timeout_ms() -> int:
    try:
        return max(0, int(os.environ.get("GT_STORE_BUSY_TIMEOUT_MS", "30000")))
    except ValueError:
        return 30000


def connect_timeout_s() -> int:
    try:
        return max(2, int(os.environ.get("GT_STORE_CONNECT_TIMEOUT", "5")))
    except ValueError:
        return 5


def describe(url: str) -> str:
    """The URL without its password: safe to print."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = (query.get("host") or [parts.hostname or "localhost"])[0]
    port = (query.get("port") or [str(parts.port or 5432)])[0]
    db = (query.get("dbname") or [parts.path.lstrip("/") or "?"])[0]
    user = (query.get("user") or [parts.username or ""])[0]
    who = f"{user}@" if user else ""
    return f"postgresql://{who}{host}:{port}/{db}"


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a lock's name."""
    import hashlib  # here: bd show and gt hook, whole processes, take no advisory lock

    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


# ---------------------------------------------------------------------------- shared sessions
class _Shared:
    """The process's one connection to a URL, its lock, and how many stores use it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        self.conn: PgConn | None = None
        self.users = 0
        self.pid = os.getpid()
        self.busy_ms = busy_timeout_ms()
        self.depth = 0  # write() nesting: a write inside a write joins the outer transaction
        self.bumped: int | None = None  # the sequence number the open transaction took

    def connection(self) -> PgConn:
        if self.conn is None or self.conn.broken:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            self.conn = _connect(self.url)
            self._settings(self.conn)
        return self.conn

    def _settings(self, conn: PgConn) -> None:
        conn.execute_script(
            "SET client_min_messages = warning;"
            f"SET lock_timeout = {int(self.busy_ms)};"
            f"SET idle_session_timeout = '{IDLE_SESSION_TIMEOUT}';"
            "SET application_name = 'gastown';")

    def set_busy(self, ms: int) -> None:
        self.busy_ms = ms
        if self.conn is not None and not self.conn.broken:
            self.conn.execute_script(f"SET lock_timeout = {int(ms)};")

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


_SESSIONS: dict[str, _Shared] = {}
_SESSIONS_LOCK = threading.Lock()


def _shared(url: str) -> _Shared:
    with _SESSIONS_LOCK:
        shared = _SESSIONS.get(url)
        if shared is None or shared.pid != os.getpid():
            if shared is not None and shared.conn is not None:
                shared.conn.close()  # a forked child: forgets the parent's socket
            shared = _Shared(url)
            _SESSIONS[url] = shared
        return shared


@atexit.register
def close_all() -> None:
    """Every connection this process opened, closed (at exit, or by a test)."""
    with _SESSIONS_LOCK:
        for shared in _SESSIONS.values():
            if shared.pid == os.getpid():
                with shared.lock:
                    shared.drop()
        _SESSIONS.clear()


def _connect(url: str) -> PgConn:
    try:
        return PgConn(url, connect_timeout=str(connect_timeout_s()), keepalives="1",
                      keepalives_idle="30", keepalives_interval="10", keepalives_count="3",
                      tcp_user_timeout="60000")
    except PqError as exc:
        raise unavailable(url, exc) from exc


def unavailable(url: str, exc: PqError) -> StoreUnavailableError:
    reason = exc.message.removeprefix("connection to server ").split(" Is the server")[0]
    reason = reason.strip()
    if len(reason) > 160:
        reason = reason[:157] + "..."
    return StoreUnavailableError(
        f"the bead store's PostgreSQL server {describe(url)} is not answering ({reason})",
        fix="start the town's own server with 'gt up', or check the server; 'gt doctor' "
            "checks it")


_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03", "57P05")
_LOCK_STATES = ("55P03", "40P01", "40001", "57014")


def translate(exc: PqError, url: str) -> GasTownError:
    state = exc.sqlstate
    where = describe(url)
    if not state or state.startswith(_CONNECTION_STATES):
        return unavailable(url, exc)
    if state in _LOCK_STATES:
        return StoreLockedError(
            f"the bead store {where} is locked by another process ({exc.message})",
            fix="retry in a moment; if it persists, 'gt doctor' finds the stuck process")
    if state == "42P01":
        return StoreCorruptError(f"no bead store in {where} (its tables are missing)",
                                 fix="create it with 'gt install --store URL' or "
                                     "'gt store migrate --to URL'")
    if state == "22021":
        return ValidationError(exc.message, fix="remove the NUL character from the text")
    return StoreCorruptError(f"bead store error on {where}: {exc.message}",
                             fix="run 'gt doctor' to check the store")


# ---------------------------------------------------------------------------- the connection
class Session:
    """What a write transaction's body uses: execute(sql, params) like a sqlite3 connection."""

    def __init__(self, conn: PgConn, owner: PgConnection) -> None:
        self._conn = conn
        self._owner = owner

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Result:
        return self._conn.execute(to_pg(sql), list(params))


class PgConnection:
    """The bead store's connection to PostgreSQL (the interface of connection.Connection)."""

    kind = "postgres"

    def __init__(self, url: str, *, create: bool = False) -> None:
        self.url = url
        self.location = url
        self.path = describe(url)  # what messages name (never the password)
        self._shared = _shared(url)
        self._closed = False
        with self._shared.lock:
            self._shared.users += 1
            try:
                self._shared.connection()
                if create:
                    self._ensure_schema()
            except BaseException:
                self._shared.users -= 1
                raise

    # ------------------------------------------------------------------ schema
    def _ensure_schema(self) -> None:
        conn = self._shared.connection()
        try:
            conn.execute("BEGIN")
            conn.execute(f"SELECT pg_advisory_xact_lock({pg_schema.SCHEMA_LOCK})")
            conn.execute_script(pg_schema.DDL)
            conn.execute_script(pg_schema.SEED)
            conn.execute("COMMIT")
        except PqError as exc:
            self._rollback(conn)
            raise translate(exc, self.url) from exc

    @staticmethod
    def _rollback(conn: PgConn) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except PqError:
            pass

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction holding the change-sequence row lock from its start (see above)."""
        shared = self._shared
        with shared.lock:
            if shared.depth:  # a write inside a write joins the outer transaction
                shared.depth += 1
                try:
                    yield Session(shared.connection(), self)
                finally:
                    shared.depth -= 1
                return
            conn = self._begin()
            shared.depth = 1
            shared.bumped = None
            try:
                yield Session(conn, self)
            except PqError as exc:
                self._rollback(conn)
                raise translate(exc, self.url) from exc
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                shared.depth = 0
            try:
                if shared.bumped is not None:
                    conn.execute("SELECT pg_notify($1, $2)",
                                 [pg_schema.CHANNEL, str(shared.bumped)])
                conn.execute("COMMIT")
            except PqError as exc:
                self._rollback(conn)
                raise translate(exc, self.url) from exc

    def _begin(self) -> PgConn:
        started = time.monotonic()
        for attempt in (1, 2):
            conn = self._shared.connection()
            try:
                conn.execute("BEGIN")
                conn.execute("SELECT value FROM meta WHERE key = 'seq' FOR UPDATE")
                return conn
            except PqError as exc:
                self._rollback(conn)
                lost = not exc.sqlstate or exc.sqlstate.startswith(_CONNECTION_STATES)
                if lost and attempt == 1:
                    # the server dropped an idle session, or restarted: one fresh connection
                    self._shared.drop()
                    continue
                error = translate(exc, self.url)
                if isinstance(error, StoreLockedError):
                    error = StoreLockedError(
                        f"the bead store {self.path} is locked by another process "
                        f"(waited {time.monotonic() - started:.1f}s)", fix=error.fix)
                raise error from exc
        raise AssertionError("unreachable")

    def next_seq(self) -> int:
        """Bump the change sequence inside the current write transaction (its row is ours)."""
        conn = self._shared.connection()
        try:
            row = conn.execute("UPDATE meta SET value = (value::bigint + 1)::text "
                               "WHERE key = 'seq' RETURNING value").fetchone()
        except PqError as exc:
            raise translate(exc, self.url) from exc
        assert row is not None
        self._shared.bumped = int(row[0])
        return self._shared.bumped

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        shared = self._shared
        with shared.lock:
            for attempt in (1, 2):
                conn = shared.connection()
                try:
                    return conn.execute(to_pg(sql), list(params)).rows
                except PqError as exc:
                    lost = not exc.sqlstate or exc.sqlstate.startswith(_CONNECTION_STATES)
                    if lost and attempt == 1 and not shared.depth:
                        shared.drop()
                        continue
                    if not shared.depth:
                        self._rollback(conn)
                    raise translate(exc, self.url) from exc
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ backend specifics
    def set_busy_timeout(self, ms: int) -> None:
        with self._shared.lock:
            try:
                self._shared.set_busy(ms)
            except PqError as exc:
                raise translate(exc, self.url) from exc

    def integrity_problems(self) -> list[str]:
        """What the server says is wrong with the store (it checks its own pages)."""
        rows = self.read("SELECT count(*) FROM information_schema.tables WHERE table_name IN "
                         "('meta', 'issues', 'dependencies', 'labels', 'comments', 'events') "
                         "AND table_schema = current_schema()")
        missing = 6 - int(rows[0][0])
        return [f"{missing} of the store's tables are missing"] if missing else []

    def probe(self, timeout_ms: int) -> None:
        """Raise the store's error if it cannot be read within timeout_ms (a short wait)."""
        self.read("SELECT 1")

    def size_bytes(self) -> int:
        return int(self.read("SELECT pg_database_size(current_database())")[0][0])

    # ------------------------------------------------------------------ advisory locks
    def try_advisory_lock(self, name: str) -> bool:
        """Take the session advisory lock `name` now, or answer False (someone holds it)."""
        rows = self.read("SELECT pg_try_advisory_lock(?)", (lock_key(name),))
        return bool(rows[0][0])

    def advisory_unlock(self, name: str) -> None:
        try:
            self.read("SELECT pg_advisory_unlock(?)", (lock_key(name),))
        except GasTownError:
            pass  # the session is gone, and its locks with it

    def advisory_held(self, names: Sequence[str]) -> set[str]:
        """Which of these advisory locks some session (on any host) holds now."""
        if not names:
            return set()
        keys = {lock_key(n): n for n in names}
        rows = self.read(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
            "WHERE locktype = 'advisory' AND objsubid = 1 AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        held = set()
        for (raw,) in rows:
            key = raw - (1 << 64) if raw >= (1 << 63) else raw
            if key in keys:
                held.add(keys[key])
        return held

    # ------------------------------------------------------------------ presence
    def beat(self, session: str, host: str, pid: int, state: str, info: str, at: str) -> None:
        """A loop's heartbeat row (autocommit: no change-sequence lock, no change feed)."""
        self.read("INSERT INTO presence(session, host, pid, state, info, beat_at) "
                  "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session) DO UPDATE SET "
                  "host = excluded.host, pid = excluded.pid, state = excluded.state, "
                  "info = excluded.info, beat_at = excluded.beat_at",
                  (session, host, pid, state, info, at))

    def presence_rows(self) -> list[dict[str, Any]]:
        """Every heartbeat row, with `alive`: its session lock is held (on any host)."""
        rows = [dict(r) for r in self.read("SELECT * FROM presence ORDER BY session")]
        held = self.advisory_held([f"presence:{r['session']}" for r in rows])
        for row in rows:
            row["alive"] = f"presence:{row['session']}" in held
        return rows

    # ------------------------------------------------------------------ notifications
    def listener(self) -> Listener:
        return Listener(self.url)

    def close(self) -> None:
        """This store is done with the process's connection; the last one out leaves it open
        for the next store of the process (closed at exit), unless it is broken."""
        if self._closed:
            return
        self._closed = True
        with self._shared.lock:
            self._shared.users -= 1
            if self._shared.conn is not None and self._shared.conn.broken:
                self._shared.drop()


class Listener:
    """A dedicated LISTEN connection (the control room's only second connection): wait() hands
    back the change sequence numbers committed since the last call."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: PgConn | None = None

    def _connection(self) -> PgConn:
        if self._conn is None or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            conn = _connect(self.url)
            try:
                conn.execute_script("SET client_min_messages = warning;"
                                    "SET application_name = 'gastown-listen';"
                                    f"LISTEN {pg_schema.CHANNEL};")
            except PqError as exc:
                conn.close()
                raise translate(exc, self.url) from exc
            self._conn = conn
        return self._conn

    def wait(self, timeout: float) -> list[int]:
        conn = self._connection()
        try:
            notes = conn.notifications(timeout)
        except PqError as exc:
            self.close()
            raise translate(exc, self.url) from exc
        out = []
        for channel, payload in notes:
            if channel == pg_schema.CHANNEL and payload.isdigit():
                out.append(int(payload))
        return out

    def keepalive(self) -> None:
        """A round trip now and then, so the idle-session timeout never drops the listener."""
        try:
            self._connection().execute("SELECT 1")
        except PqError as exc:
            self.close()
            raise translate(exc, self.url) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
