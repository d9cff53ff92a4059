"""The token-usage ledger in the bead store: what the agents' runtimes reported, per hour.

Rows of `usage` sum one hour (UTC) of one conversation's messages for one working directory,
branch and model; `usage_files` remembers, per host and transcript file, how far it has been
read, so every message is counted exactly once however many processes refresh the ledger.
In the store (not a file of one machine) so a town whose agents run on several hosts sees
one spend; and kept after a runtime deletes its old transcripts.

Usage is not a bead: these writes do not bump the change sequence (the control room need not
re-read its beads for them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gastown_tui.town.errors import GasTownError

TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                 "cache_read_input_tokens")

# The tables are in schema.py (SQLite) and pg_schema.py (PostgreSQL) for new towns; a town
# made before them gets them from ensure_tables.


@dataclass(frozen=True, slots=True)
class UsageRow:
    hour: str  # 'YYYY-MM-DDTHH', UTC
    conversation: str
    cwd: str
    branch: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    messages: int = 0
    last_at: str = ""

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.hour, self.conversation, self.cwd, self.branch, self.model)


_ensured: set[str] = set()


def ensure_tables(conn: Any) -> None:
    """Create the ledger's tables in a store made before them (once per process)."""
    if conn.location in _ensured:
        return
    try:
        conn.read("SELECT 1 FROM usage_files LIMIT 1")
        conn.read("SELECT 1 FROM usage LIMIT 1")
    except GasTownError:  # either backend's "no such table"
        with conn.write() as db:
            if conn.kind == "postgres":
                from gastown_tui.town.store import pg_schema

                db.execute(f"SELECT pg_advisory_xact_lock({pg_schema.SCHEMA_LOCK})")
                ddl = pg_schema.USAGE_DDL
            else:
                from gastown_tui.town.store import schema

                ddl = schema.USAGE_DDL
            for statement in ddl.split(";"):
                if statement.strip():
                    db.execute(statement)
    _ensured.add(conn.location)


def file_states(conn: Any, host: str) -> dict[str, tuple[int, str]]:
    """path -> (bytes read, reader state as JSON) of every transcript this host has read."""
    ensure_tables(conn)
    return {str(r[0]): (int(r[1]), str(r[2]))
            for r in conn.read("SELECT path, read_to, state FROM usage_files WHERE host = ?",
                               (host,))}


def record(conn: Any, host: str, path: str, expect: int, read_to: int, state: str,
           rows: Iterable[UsageRow]) -> bool:
    """Add `rows` and move the file's mark from `expect` to `read_to`, in one transaction;
    False (nothing written) when another process moved the mark first."""
    ensure_tables(conn)
    with conn.write() as db:
        found = db.execute("SELECT read_to FROM usage_files WHERE host = ? AND path = ?",
                           (host, path)).fetchone()
        if (int(found[0]) if found else 0) != expect:
            return False
        db.execute("INSERT INTO usage_files(host, path, read_to, state) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT(host, path) DO UPDATE SET read_to = excluded.read_to, "
                   "state = excluded.state", (host, path, read_to, state))
        for row in rows:
            db.execute(
                "INSERT INTO usage(hour, conversation, cwd, branch, model, input_tokens, "
                "output_tokens, cache_creation_input_tokens, cache_read_input_tokens, "
                "messages, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(hour, conversation, cwd, branch, model) DO UPDATE SET "
                "input_tokens = usage.input_tokens + excluded.input_tokens, "
                "output_tokens = usage.output_tokens + excluded.output_tokens, "
                "cache_creation_input_tokens = usage.cache_creation_input_tokens "
                "+ excluded.cache_creation_input_tokens, "
                "cache_read_input_tokens = usage.cache_read_input_tokens "
                "+ excluded.cache_read_input_tokens, "
                "messages = usage.messages + excluded.messages, "
                "last_at = CASE WHEN excluded.last_at > usage.last_at THEN excluded.last_at "
                "ELSE usage.last_at END",
                (row.hour, row.conversation, row.cwd, row.branch, row.model, row.input_tokens,
                 row.output_tokens, row.cache_creation_input_tokens,
                 row.cache_read_input_tokens, row.messages, row.last_at))
    return True


def usage_rows(conn: Any, *, since_hour: str = "", until_hour: str = "",
               cwd_prefix: str = "") -> list[UsageRow]:
    """The ledger's rows in [since_hour, until_hour) (both optional), for working directories
    under `cwd_prefix` when given."""
    ensure_tables(conn)
    sql = ("SELECT hour, conversation, cwd, branch, model, input_tokens, output_tokens, "
           "cache_creation_input_tokens, cache_read_input_tokens, messages, last_at "
           "FROM usage WHERE 1 = 1")
    params: list[Any] = []
    if since_hour:
        sql += " AND hour >= ?"
        params.append(since_hour)
    if until_hour:
        sql += " AND hour < ?"
        params.append(until_hour)
    if cwd_prefix:
        sql += " AND (cwd = ? OR substr(cwd, 1, ?) = ?)"
        prefix = cwd_prefix.rstrip("/") + "/"
        params += [cwd_prefix.rstrip("/"), len(prefix), prefix]
    return [UsageRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]),
                     int(r[6]), int(r[7]), int(r[8]), int(r[9]), str(r[10]))
            for r in conn.read(sql, params)]


def sum_rows(rows: Sequence[UsageRow]) -> dict[str, int]:
    out = dict.fromkeys(TOKEN_COLUMNS, 0)
    for row in rows:
        for column in TOKEN_COLUMNS:
            out[column] += getattr(row, column)
    return out
