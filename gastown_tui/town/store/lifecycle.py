"""Removing beads for good (bd delete, mol burn/squash, KRC pruning) and building a bead graph
in one transaction (bd mol pour/wisp): the store's writes beyond one bead at a time. The SQL
is SQLite's dialect, which sql.to_pg turns into PostgreSQL's (as the other mixins')."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from gastown_tui.town.errors import ConflictError
from gastown_tui.town.names import validate_bead_id
from gastown_tui.town.store.connection import translate
from gastown_tui.town.store.records import (
    normalize_priority,
    normalize_status,
    normalize_type,
    now_iso,
    validate_title,
)
from gastown_tui.town.store.schema import DELETED_DDL

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

    from gastown_tui.town.store.connection import Connection


def _chunks(items: Sequence[str], size: int = 400) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class LifecycleMixin:
    conn: Connection
    actor: str

    if TYPE_CHECKING:  # provided by the other mixins of BeadStore
        def _row(self, db: sqlite3.Connection, bead_id: str) -> sqlite3.Row: ...
        def _write_issue(self, db: sqlite3.Connection, issue: dict[str, Any], seq: int,
                         *, insert: bool) -> None: ...
        def _event(self, db: sqlite3.Connection, bead_id: str, kind: str, old: Any = None,
                   new: Any = None, comment: str | None = None, actor: str | None = None) -> None: ...
        def _new_id(self, db: sqlite3.Connection, prefix: str, title: str, description: str,
                    *, wisp: bool, issue_type: str) -> str: ...
        def _add_dep_tx(self, db: sqlite3.Connection, issue_id: str, target: str, dep_type: str,
                        seq: int, *, check_cycle: bool) -> dict[str, Any]: ...
        def _touch(self, db: sqlite3.Connection, bead_id: str, seq: int) -> None: ...
        def get(self, bead_id: str) -> dict[str, Any]: ...

    # ---------------------------------------------------------------- deleting
    def delete_issues(self, ids: Sequence[str]) -> list[str]:
        """Remove beads with their labels, comments and every dependency touching them, in one
        transaction. Beads that depended on them lose the edge (bd delete --force orphans
        them). Returns the ids actually removed."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        removed: list[str] = []
        try:
            with self.conn.write() as db:
                if self.conn.kind == "sqlite":  # PostgreSQL's schema has it from the start
                    for statement in DELETED_DDL.split(";"):
                        if statement.strip():
                            db.execute(statement)
                seq = self.conn.next_seq()
                now = now_iso()
                for chunk in _chunks(ids):
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(f"SELECT id, issue_type FROM issues WHERE id IN ({marks})",
                                      list(chunk)).fetchall()
                    found = [r["id"] for r in rows]
                    if not found:
                        continue
                    fmarks = ",".join("?" * len(found))
                    labels: dict[str, list[str]] = {}
                    for iid, label in db.execute(
                            f"SELECT issue_id, label FROM labels WHERE issue_id IN ({fmarks})",
                            found):
                        labels.setdefault(iid, []).append(label)
                    # Who loses an edge to them sees the change in the feed too.
                    neighbours = {r[0] for r in db.execute(
                        f"SELECT issue_id FROM dependencies WHERE depends_on_id IN ({fmarks}) "
                        f"UNION SELECT depends_on_id FROM dependencies WHERE issue_id IN "
                        f"({fmarks})", found + found)} - set(found)
                    for r in rows:
                        db.execute(
                            "INSERT INTO deleted_issues(id, issue_type, labels, deleted_at, "
                            "change_seq) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                            "issue_type = excluded.issue_type, labels = excluded.labels, "
                            "deleted_at = excluded.deleted_at, change_seq = excluded.change_seq",
                            (r["id"], r["issue_type"], json.dumps(labels.get(r["id"], [])), now,
                             seq))
                    for table, column in (("labels", "issue_id"), ("comments", "issue_id"),
                                          ("dependencies", "issue_id"),
                                          ("dependencies", "depends_on_id"),
                                          ("child_counters", "parent_id"), ("issues", "id")):
                        db.execute(f"DELETE FROM {table} WHERE {column} IN ({fmarks})", found)
                    for iid in found:
                        self._event(db, iid, "deleted", comment=f"deleted by {self.actor}")
                    for other in neighbours:
                        self._touch(db, other, seq)
                    removed.extend(found)
        except sqlite3.Error as exc:
            raise translate(exc, self.conn.path) from exc
        return removed

    def deleted_since(self, seq: int) -> list[dict[str, Any]]:
        """Beads removed after `seq`, as minimal records ({id, status: tombstone, ...})."""
        if self.conn.kind == "sqlite" and not self._has_deleted_table():
            return []  # nothing was ever deleted from this store
        rows = self.conn.read("SELECT id, issue_type, labels, deleted_at FROM deleted_issues "
                              "WHERE change_seq > ? ORDER BY change_seq", (seq,))
        return [{"id": r["id"], "title": "", "status": "tombstone", "priority": 2,
                 "issue_type": r["issue_type"], "labels": json.loads(r["labels"] or "[]"),
                 "updated_at": r["deleted_at"], "deleted": True} for r in rows]

    def _has_deleted_table(self) -> bool:
        if not getattr(self, "_deleted_table_seen", False):
            self._deleted_table_seen = bool(self.conn.read(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deleted_issues'"))
        return self._deleted_table_seen

    def descendants(self, root: str) -> list[str]:
        """Every bead under `root` by parent-child edges (children first, loops guarded)."""
        seen: set[str] = {root}
        order: list[str] = []
        frontier = [root]
        while frontier:
            marks = ",".join("?" * len(frontier))
            children = [r[0] for r in self.conn.read(  # in the order they were made
                f"SELECT d.issue_id FROM dependencies d JOIN issues i ON i.id = d.issue_id "
                f"WHERE d.depends_on_id IN ({marks}) AND d.type = 'parent-child' "
                "ORDER BY i.created_at, (SELECT min(e.id) FROM events e WHERE e.issue_id = "
                "i.id), i.id", frontier)]
            frontier = [c for c in children if c not in seen]
            seen.update(frontier)
            order.extend(frontier)
        return order

    # ---------------------------------------------------------------- graphs
    def create_graph(self, nodes: Sequence[dict[str, Any]],
                     edges: Sequence[tuple[str, str, str]]) -> dict[str, str]:
        """Create many beads and the edges between them in one transaction (a molecule
        appears whole or not at all). A node: {key, title, prefix, description, issue_type,
        priority, status, assignee, labels, ephemeral, id_infix, bead_id, fields}. An edge:
        (from, to, type) where from/to are node keys or existing bead ids: from depends on
        to. Returns key -> bead id."""
        mapping: dict[str, str] = {}
        try:
            with self.conn.write() as db:
                seq = self.conn.next_seq()
                now = now_iso()
                for node in nodes:
                    title = validate_title(node["title"])
                    issue_type = normalize_type(node.get("issue_type") or "task")
                    status = normalize_status(node.get("status") or "open")
                    prefix = node["prefix"]
                    bead_id = node.get("bead_id")
                    if bead_id:
                        validate_bead_id(bead_id)
                        if db.execute("SELECT 1 FROM issues WHERE id = ?",
                                      (bead_id,)).fetchone():
                            raise ConflictError(f"bead {bead_id} already exists",
                                                fix="pick another id")
                    else:
                        infix = node.get("id_infix") or ""
                        base = f"{prefix}-{infix}" if infix else prefix
                        # "gt-mol-x7k": the routing prefix stays the rig's ("gt")
                        bead_id = self._new_id(db, base, title, node.get("description", ""),
                                               wisp=False, issue_type=issue_type)
                    issue: dict[str, Any] = {
                        **(node.get("fields") or {}), "id": bead_id, "title": title,
                        "description": node.get("description", ""), "status": status,
                        "priority": normalize_priority(node.get("priority", 2)),
                        "issue_type": issue_type, "assignee": node.get("assignee") or "",
                        "created_at": now, "created_by": self.actor, "updated_at": now,
                        "ephemeral": bool(node.get("ephemeral")),
                        "pinned": False, "is_template": bool(node.get("is_template")),
                        "closed_at": now if status == "closed" else None,
                        "defer_until": None,
                    }
                    self._write_issue(db, issue, seq, insert=True)
                    self._event(db, bead_id, "created", new=title)
                    for label in node.get("labels") or ():
                        db.execute("INSERT OR IGNORE INTO labels(issue_id, label) VALUES (?, ?)",
                                   (bead_id, label))
                    mapping[node["key"]] = bead_id
                for src, dst, dep_type in edges:
                    self._add_dep_tx(db, mapping.get(src, src), mapping.get(dst, dst), dep_type,
                                     seq, check_cycle=dep_type in ("blocks",
                                                                   "conditional-blocks"))
        except sqlite3.Error as exc:
            raise translate(exc, self.conn.path) from exc
        return mapping

    # ---------------------------------------------------------------- whole-store reads
    def edges(self, types: Sequence[str]) -> list[tuple[str, str, str]]:
        """Every (issue_id, depends_on_id, type) edge of the given types."""
        marks = ",".join("?" * len(types))
        return [(r[0], r[1], r[2]) for r in self.conn.read(
            f"SELECT issue_id, depends_on_id, type FROM dependencies WHERE type IN ({marks}) "
            "ORDER BY issue_id, depends_on_id", list(types))]

    def count_by(self, column: str, where: str = "", params: Sequence[Any] = ()
                 ) -> dict[str, int]:
        """Bead counts grouped by a core column (status, priority, issue_type, assignee)."""
        if column not in ("status", "priority", "issue_type", "assignee", "prefix"):
            raise ValueError(f"cannot group by {column}")
        sql = f"SELECT {column}, count(*) FROM issues"
        if where:
            sql += f" WHERE {where}"
        return {str(r[0]): int(r[1]) for r in self.conn.read(sql + f" GROUP BY {column}",
                                                             list(params))}

    # ---------------------------------------------------------------- key-value
    def kv_get(self, key: str) -> str | None:
        rows = self.conn.read("SELECT value FROM meta WHERE key = ?", (f"kv.{key}",))
        return rows[0][0] if rows else None

    def kv_set(self, key: str, value: str | None) -> None:
        """Set (or with None, clear) a user key in one transaction (bd kv)."""
        try:
            with self.conn.write() as db:
                if value is None:
                    db.execute("DELETE FROM meta WHERE key = ?", (f"kv.{key}",))
                else:
                    db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) "
                               "DO UPDATE SET value = excluded.value", (f"kv.{key}", value))
        except sqlite3.Error as exc:
            raise translate(exc, self.conn.path) from exc

    def kv_all(self) -> dict[str, str]:
        return {r[0][3:]: r[1] for r in self.conn.read(
            "SELECT key, value FROM meta WHERE key LIKE 'kv.%' ORDER BY key")}

    # ---------------------------------------------------------------- consistency (bd doctor)
    def dangling_dependencies(self) -> list[tuple[str, str]]:
        """Edges whose target bead is gone (external:… targets are meant to be elsewhere)."""
        return [(r[0], r[1]) for r in self.conn.read(
            "SELECT d.issue_id, d.depends_on_id FROM dependencies d LEFT JOIN issues t "
            "ON t.id = d.depends_on_id WHERE t.id IS NULL "
            "AND d.depends_on_id NOT LIKE 'external:%'")]

    def orphan_records(self) -> list[str]:
        """Ids with labels or comments but no bead."""
        return [r[0] for r in self.conn.read(
            "SELECT DISTINCT l.issue_id FROM labels l LEFT JOIN issues i ON i.id = l.issue_id "
            "WHERE i.id IS NULL UNION SELECT DISTINCT c.issue_id FROM comments c "
            "LEFT JOIN issues i ON i.id = c.issue_id WHERE i.id IS NULL")]

    def purge_orphans(self) -> int:
        try:
            with self.conn.write() as db:
                labels = db.execute("DELETE FROM labels WHERE issue_id NOT IN "
                                    "(SELECT id FROM issues)").rowcount
                comments = db.execute("DELETE FROM comments WHERE issue_id NOT IN "
                                      "(SELECT id FROM issues)").rowcount
        except sqlite3.Error as exc:
            raise translate(exc, self.conn.path) from exc
        return labels + comments

    def recent_events(self, limit: int = 20000) -> list[tuple[str, str]]:
        """(event_type, created_at) of the store's audit events, newest first."""
        return [(r[0], r[1]) for r in self.conn.read(
            "SELECT event_type, created_at FROM events ORDER BY id DESC LIMIT ?", (limit,))]
