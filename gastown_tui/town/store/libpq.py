"""A small PostgreSQL client: libpq (the C library every PostgreSQL driver wraps) through ctypes.

Why not psycopg: `import psycopg` costs 100-140 ms here (its adapters, asyncio, logging,
importlib.metadata), and `bd show` / `gt hook` run as whole processes, hundreds of times an
hour, with a budget of 1.5x the SQLite figure (~70 ms): psycopg alone would make them 2.5x.
Loading libpq costs ~3 ms. What the store needs is small: connect with a timeout, run a
statement with positional parameters in text form, read rows, LISTEN/NOTIFY. Every value goes
over the wire as text; results come back as str, int, float or bool by their column's type.

Thread safety: one PgConn is used by one thread at a time (the store's connection wraps it in a
lock); libpq releases nothing on its own and ctypes drops the GIL during each call.
"""

from __future__ import annotations

import ctypes
import os
import select
from collections.abc import Iterator, Sequence

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

# libpq's enum values (libpq-fe.h)
CONNECTION_OK = 0
PGRES_EMPTY_QUERY, PGRES_COMMAND_OK, PGRES_TUPLES_OK = 0, 1, 2
PQTRANS_IDLE, PQTRANS_ACTIVE, PQTRANS_INTRANS, PQTRANS_INERROR, PQTRANS_UNKNOWN = range(5)
PG_DIAG_SQLSTATE = ord("C")

_INT_OIDS = frozenset({20, 21, 23, 26, 28})  # int8, int2, int4, oid, xid
_FLOAT_OIDS = frozenset({700, 701})
_BOOL_OID = 16
_NUMERIC_OID = 1700

_LIB: ctypes.CDLL | None = None


class PqError(Exception):
    """A server or connection error: sqlstate is PostgreSQL's five-character code ('' when the
    connection itself failed)."""

    def __init__(self, message: str, sqlstate: str = "") -> None:
        self.message = " ".join(message.split())  # libpq's messages span lines
        self.sqlstate = sqlstate
        super().__init__(self.message)


class _Notify(ctypes.Structure):
    _fields_ = [("relname", ctypes.c_char_p), ("be_pid", ctypes.c_int),
                ("extra", ctypes.c_char_p), ("next", ctypes.c_void_p)]


# libpq prints server notices (and a FATAL that ends a session) to stderr by default: a
# screen or a JSON answer must not get them. The store reports errors itself.
_NOTICE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
_SILENT = _NOTICE(lambda arg, message: None)


def _candidates() -> Iterator[str]:
    explicit = os.environ.get("GT_LIBPQ")
    if explicit:
        yield explicit
    yield "libpq.so.5"
    yield "libpq.5.dylib"
    # psycopg[binary]'s wheel carries its own libpq, for a host without the system library.
    try:
        import importlib.util

        spec = importlib.util.find_spec("psycopg_binary")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        base = os.path.dirname(next(iter(spec.submodule_search_locations)))
        libs = os.path.join(base, "psycopg_binary.libs")
        if os.path.isdir(libs):
            for name in sorted(os.listdir(libs)):
                if name.startswith("libpq"):
                    yield os.path.join(libs, name)


def lib() -> ctypes.CDLL:
    """libpq, loaded once (dlopen by soname: no ldconfig subprocess as find_library runs)."""
    global _LIB
    if _LIB is not None:
        return _LIB
    errors = []
    for name in _candidates():
        try:
            loaded = ctypes.CDLL(name)
            break
        except OSError as exc:
            errors.append(str(exc))
    else:
        raise PqError("libpq (the PostgreSQL client library) is not installed: "
                      "install it (Debian: apt-get install libpq5) or set GT_LIBPQ to its path")
    c_char_pp = ctypes.POINTER(ctypes.c_char_p)
    sig = {
        "PQconnectdbParams": ([c_char_pp, c_char_pp, ctypes.c_int], ctypes.c_void_p),
        "PQstatus": ([ctypes.c_void_p], ctypes.c_int),
        "PQerrorMessage": ([ctypes.c_void_p], ctypes.c_char_p),
        "PQfinish": ([ctypes.c_void_p], None),
        "PQexec": ([ctypes.c_void_p, ctypes.c_char_p], ctypes.c_void_p),
        "PQexecParams": ([ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p,
                          c_char_pp, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int],
                         ctypes.c_void_p),
        "PQresultStatus": ([ctypes.c_void_p], ctypes.c_int),
        "PQresultErrorMessage": ([ctypes.c_void_p], ctypes.c_char_p),
        "PQresultErrorField": ([ctypes.c_void_p, ctypes.c_int], ctypes.c_char_p),
        "PQntuples": ([ctypes.c_void_p], ctypes.c_int),
        "PQnfields": ([ctypes.c_void_p], ctypes.c_int),
        "PQfname": ([ctypes.c_void_p, ctypes.c_int], ctypes.c_char_p),
        "PQftype": ([ctypes.c_void_p, ctypes.c_int], ctypes.c_uint),
        "PQgetvalue": ([ctypes.c_void_p, ctypes.c_int, ctypes.c_int], ctypes.c_char_p),
        "PQgetisnull": ([ctypes.c_void_p, ctypes.c_int, ctypes.c_int], ctypes.c_int),
        "PQcmdTuples": ([ctypes.c_void_p], ctypes.c_char_p),
        "PQclear": ([ctypes.c_void_p], None),
        "PQconsumeInput": ([ctypes.c_void_p], ctypes.c_int),
        "PQnotifies": ([ctypes.c_void_p], ctypes.POINTER(_Notify)),
        "PQfreemem": ([ctypes.c_void_p], None),
        "PQsocket": ([ctypes.c_void_p], ctypes.c_int),
        "PQtransactionStatus": ([ctypes.c_void_p], ctypes.c_int),
        "PQbackendPID": ([ctypes.c_void_p], ctypes.c_int),
        "PQsetNoticeProcessor": ([ctypes.c_void_p, _NOTICE, ctypes.c_void_p], ctypes.c_void_p),
    }
    for fname, (argtypes, restype) in sig.items():
        fn = getattr(loaded, fname)
        fn.argtypes = argtypes
        fn.restype = restype
    _LIB = loaded
    return loaded


class Row:
    """A result row read like sqlite3.Row: by position, by column name, unpacked, or dict()."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple[Any, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=False))!r})"


class Result:
    """A statement's whole result (libpq hands it over complete), read like a sqlite3 cursor."""

    __slots__ = ("_pos", "rowcount", "rows")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self._pos = 0

    def fetchone(self) -> Row | None:
        if self._pos >= len(self.rows):
            return None
        self._pos += 1
        return self.rows[self._pos - 1]

    def fetchall(self) -> list[Row]:
        rest = self.rows[self._pos:]
        self._pos = len(self.rows)
        return rest

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


def _param(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bool):
        text = "1" if value else "0"  # PostgreSQL reads '1'/'0' as an integer and as a boolean
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise TypeError(f"cannot send a {type(value).__name__} to PostgreSQL")
    if "\x00" in text:
        raise PqError("text holds a NUL character, which PostgreSQL cannot store", "22021")
    return text.encode()


def _convert(oid: int, raw: bytes) -> Any:
    if oid in _INT_OIDS:
        return int(raw)
    if oid == _BOOL_OID:
        return raw == b"t"
    if oid in _FLOAT_OIDS:
        return float(raw)
    if oid == _NUMERIC_OID:
        text = raw.decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)
    return raw.decode("utf-8", "replace")


class PgConn:
    """One libpq connection."""

    def __init__(self, conninfo: str, **keywords: str) -> None:
        pq = lib()
        pairs = [("dbname", conninfo), *keywords.items()]
        keys = (ctypes.c_char_p * (len(pairs) + 1))(*[k.encode() for k, _ in pairs], None)
        values = (ctypes.c_char_p * (len(pairs) + 1))(*[str(v).encode() for _, v in pairs],
                                                        None)
        # expand_dbname=1: the first dbname (a postgresql:// URL) is parsed; later keywords win
        handle = pq.PQconnectdbParams(keys, values, 1)
        if not handle:
            raise PqError("out of memory connecting to PostgreSQL")
        if pq.PQstatus(handle) != CONNECTION_OK:
            message = (pq.PQerrorMessage(handle) or b"").decode("utf-8", "replace")
            pq.PQfinish(handle)
            raise PqError(message or "could not connect")
        pq.PQsetNoticeProcessor(handle, _SILENT, None)
        self._pq = pq
        self._h: int | None = handle
        self.pid = os.getpid()

    # ------------------------------------------------------------------ statements
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        pq = self._pq
        handle = self._handle()
        if params:
            values = (ctypes.c_char_p * len(params))(*[_param(p) for p in params])
            res = pq.PQexecParams(handle, sql.encode(), len(params), None, values, None, None, 0)
        else:
            res = pq.PQexecParams(handle, sql.encode(), 0, None, None, None, None, 0)
        return self._result(res)

    def execute_script(self, sql: str) -> None:
        """Several statements in one round trip (no parameters): the schema."""
        self._result(self._pq.PQexec(self._handle(), sql.encode()))

    def _result(self, res: int | None) -> Result:
        pq = self._pq
        if not res:
            raise PqError((pq.PQerrorMessage(self._h) or b"no result").decode("utf-8", "replace"))
        try:
            status = pq.PQresultStatus(res)
            if status not in (PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY):
                message = (pq.PQresultErrorMessage(res) or b"").decode("utf-8", "replace")
                state = (pq.PQresultErrorField(res, PG_DIAG_SQLSTATE) or b"").decode()
                raise PqError(message or "statement failed", state)
            rows: list[Row] = []
            if status == PGRES_TUPLES_OK:
                nfields = pq.PQnfields(res)
                index = {pq.PQfname(res, c).decode(): c for c in range(nfields)}
                oids = [pq.PQftype(res, c) for c in range(nfields)]
                getvalue, isnull = pq.PQgetvalue, pq.PQgetisnull
                for r in range(pq.PQntuples(res)):
                    values = []
                    for c in range(nfields):
                        raw = getvalue(res, r, c)
                        if not raw and isnull(res, r, c):
                            values.append(None)
                        else:
                            values.append(_convert(oids[c], raw or b""))
                    rows.append(Row(index, tuple(values)))
            affected = pq.PQcmdTuples(res) or b""
            rowcount = int(affected) if affected.isdigit() else (
                len(rows) if status == PGRES_TUPLES_OK else -1)
            return Result(rows, rowcount)
        finally:
            pq.PQclear(res)

    # ------------------------------------------------------------------ state
    def _handle(self) -> int:
        if self._h is None:
            raise PqError("the connection to PostgreSQL is closed")
        return self._h

    @property
    def broken(self) -> bool:
        return self._h is None or self._pq.PQstatus(self._h) != CONNECTION_OK

    @property
    def in_transaction(self) -> bool:
        return self._h is not None and self._pq.PQtransactionStatus(self._h) in (
            PQTRANS_INTRANS, PQTRANS_INERROR, PQTRANS_ACTIVE)

    @property
    def backend_pid(self) -> int:
        return self._pq.PQbackendPID(self._handle())

    # ------------------------------------------------------------------ notifications
    def notifications(self, timeout: float) -> list[tuple[str, str]]:
        """(channel, payload) pairs that arrived, waiting up to `timeout` seconds for one."""
        pq = self._pq
        handle = self._handle()
        out = self._drain(pq, handle)
        if out or timeout <= 0:
            return out
        sock = pq.PQsocket(handle)
        if sock < 0:
            raise PqError("the connection to PostgreSQL is closed")
        ready, _, _ = select.select([sock], [], [], timeout)
        if ready:
            if not pq.PQconsumeInput(handle):
                raise PqError((pq.PQerrorMessage(handle) or b"connection lost").decode(
                    "utf-8", "replace"))
            out = self._drain(pq, handle)
        return out

    @staticmethod
    def _drain(pq: ctypes.CDLL, handle: int) -> list[tuple[str, str]]:
        out = []
        pq.PQconsumeInput(handle)
        while True:
            note = pq.PQnotifies(handle)
            if not note:
                return out
            out.append((note.contents.relname.decode(),
                        (note.contents.extra or b"").decode("utf-8", "replace")))
            pq.PQfreemem(note)

    def close(self) -> None:
        if self._h is None:
            return
        handle, self._h = self._h, None
        if os.getpid() == self.pid:
            self._pq.PQfinish(handle)
        # In a forked child the socket is the parent's: finishing it would end the parent's
        # session (libpq sends Terminate). The child just forgets it.
