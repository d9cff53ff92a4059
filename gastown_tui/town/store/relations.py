"""Dependencies, labels and comments, with bd's storage rules and the blocking-cycle check."""

from __future__ import annotations

import json
import sqlite3

from gastown_tui.town.errors import BeadNotFoundError, DependencyCycleError, ValidationError
from gastown_tui.town.store.connection import translate
from gastown_tui.town.store.records import DEP_TYPES, now_iso

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

    from gastown_tui.town.store.connection import Connection


class RelationsMixin:
    conn: Connection
    actor: str

    if TYPE_CHECKING:  # provided by the other mixins of BeadStore
        def _row(self, db: sqlite3.Connection, bead_id: str) -> sqlite3.Row: ...
        def _event(self, db: sqlite3.Connection, bead_id: str, kind: str, old: Any = None,
                   new: Any = None, comment: str | None = None, actor: str | None = None) -> None: ...
        def _touch(self, db: sqlite3.Connection, bead_id: str, seq: int) -> None: ...

    # ---------------------------------------------------------------- dependencies
    def add_dependency(self, issue_id: str, depends_on_id: str, dep_type: str = "blocks", *,
                       check_cycle: bool = True) -> dict[str, Any]:
        try:
            with self.conn.write() as db:
                seq = self.conn.next_seq()
                return self._add_dep_tx(db, issue_id, depends_on_id, dep_type, seq,
                                        check_cycle=check_cycle)
        except sqlite3.Error as exc:
            raise translate(exc, self.conn.path) from exc

    def _add_dep_tx(self, db: sqlite3.Connection, issue_id: str, target: str, dep_type: str,
                    seq: int, *, check_cycle: bool) -> dict[str, Any]:
        if dep_type not in DEP_TYPES:
            raise ValidationError(f"unknown dependency type {dep_type!r}",
                                  fix=f"use one of: {', '.join(DEP_TYPES)}")
        if issue_id == target:
            raise ValidationError(f"{issue_id} cannot depend on itself", fix="pick another target")
        issue = self._row(db, issue_id)
        target_row = None
        if not target.startswith("external:"):
            target_row = self._row(db, target)
        if dep_type == "blocks" and target_row is not None:
            if (issue["issue_type"] == "epic") != (target_row["issue_type"] == "epic"):
                raise ValidationError("epics can only block epics, tasks only tasks",
                                      fix="use a parent-child or related dependency instead")
        existing = db.execute(
            "SELECT type FROM dependencies WHERE issue_id = ? AND depends_on_id = ?",
            (issue_id, target)).fetchone()
        if existing is not None:
            if existing[0] != dep_type:
                raise ValidationError(
                    f"{issue_id} already has a {existing[0]} dependency on {target}",
                    fix=f"remove it first with 'bd dep remove {issue_id} {target}'")
            return {"status": "exists", "issue_id": issue_id, "depends_on_id": target,
                    "type": dep_type}
        if check_cycle and dep_type in ("blocks", "conditional-blocks"):
            path = self._blocking_path(db, target, issue_id)
            if path:
                chain = " -> ".join([issue_id, *path])
                raise DependencyCycleError(f"adding {issue_id} -> {target} makes a cycle: {chain}",
                                           fix="remove one of the dependencies in the chain first")
        db.execute(
            "INSERT INTO dependencies(issue_id, depends_on_id, type, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?)", (issue_id, target, dep_type, now_iso(), self.actor))
        self._event(db, issue_id, "dependency_added", new=f"{dep_type}:{target}")
        self._touch(db, issue_id, seq)
        if target_row is not None:
            self._touch(db, target, seq)
        return {"status": "added", "issue_id": issue_id, "depends_on_id": target, "type": dep_type}

    def _blocking_path(self, db: sqlite3.Connection, start: str, goal: str) -> list[str]:
        """Path start..goal over blocking edges, or [] when goal is unreachable."""
        parents: dict[str, str | None] = {start: None}
        frontier = [start]
        while frontier:
            nxt: list[str] = []
            marks = ",".join("?" * len(frontier))
            for src, dst in db.execute(
                f"SELECT issue_id, depends_on_id FROM dependencies WHERE issue_id IN ({marks}) "
                "AND type IN ('blocks', 'conditional-blocks')", frontier):
                if dst in parents:
                    continue
                parents[dst] = src
                if dst == goal:
                    path = [dst]
                    node = src
                    while node is not None:
                        path.append(node)
                        node = parents[node]
                    return list(reversed(path))
                nxt.append(dst)
            frontier = nxt
        return []

    def remove_dependency(self, issue_id: str, depends_on_id: str) -> dict[str, Any]:
        try:
            with self.conn.write() as db:
                self._row(db, issue_id)
                cur = db.execute("DELETE FROM dependencies WHERE issue_id = ? AND depends_on_id = ?",
                                 (issue_id, depends_on_id))
                if cur.rowcount == 0:
                    raise BeadNotFoundError(f"{issue_id} has no dependency on {depends_on_id}",
                                            fix=f"see 'bd dep list {issue_id}'")
                seq = self.conn.next_seq()
                self._event(db, issue_id, "dependency_removed", old=depends_on_id)
                self._touch(db, issue_id, seq)
                if db.execute("SELECT 1 FROM issues WHERE id = ?", (depends_on_id,)).fetchone():
                    self._touch(db, depends_on_id, seq)
        except sqlite3.Error as exc:
            raise translate(exc, self.conn.path) from exc
        return {"status": "removed", "issue_id": issue_id, "depends_on_id": depends_on_id}

    def dependency_records(self, issue_id: str) -> list[dict[str, Any]]:
        rows = self.conn.read(
            "SELECT * FROM dependencies WHERE issue_id = ? ORDER BY created_at, depends_on_id",
            (issue_id,))
        return [dep_record(r) for r in rows]

    def dependent_records(self, issue_id: str) -> list[dict[str, Any]]:
        rows = self.conn.read(
            "SELECT * FROM dependencies WHERE depends_on_id = ? ORDER BY created_at, issue_id",
            (issue_id,))
        return [dep_record(r) for r in rows]

    # ---------------------------------------------------------------- labels
    def labels_of(self, issue_id: str) -> list[str]:
        return [r[0] for r in self.conn.read(
            "SELECT label FROM labels WHERE issue_id = ? ORDER BY label", (issue_id,))]

    def add_label(self, issue_id: str, label: str) -> None:
        self._labels(issue_id, add=(label,))

    def remove_label(self, issue_id: str, label: str) -> None:
        self._labels(issue_id, remove=(label,))

    def relabel(self, issue_id: str, *, add: tuple[str, ...] = (),
                remove: tuple[str, ...] = ()) -> None:
        """Add and remove labels in one transaction."""
        self._labels(issue_id, tuple(add), tuple(remove))

    def _labels(self, issue_id: str, add: tuple[str, ...] = (),
                remove: tuple[str, ...] = ()) -> None:
        try:
            with self.conn.write() as db:
                self._row(db, issue_id)
                seq = self.conn.next_seq()
                self._relabel_tx(db, issue_id, add, remove, None)
                self._touch(db, issue_id, seq)
        except sqlite3.Error as exc:
            raise translate(exc, self.conn.path) from exc

    def _relabel_tx(self, db: sqlite3.Connection, issue_id: str, add, remove,
                    replace: list[str] | None) -> None:
        if replace is not None:
            current = {r[0] for r in db.execute("SELECT label FROM labels WHERE issue_id = ?",
                                                (issue_id,))}
            remove = tuple(current - set(replace))
            add = tuple(set(replace) - current)
        for label in add:
            label = label.strip()
            if not label:
                continue
            cur = db.execute("INSERT OR IGNORE INTO labels(issue_id, label) VALUES (?, ?)",
                             (issue_id, label))
            if cur.rowcount:
                self._event(db, issue_id, "label_added", new=label)
        for label in remove:
            cur = db.execute("DELETE FROM labels WHERE issue_id = ? AND label = ?",
                             (issue_id, label.strip()))
            if cur.rowcount:
                self._event(db, issue_id, "label_removed", old=label)

    # ---------------------------------------------------------------- comments
    def add_comment(self, issue_id: str, text: str, *, author: str | None = None) -> dict[str, Any]:
        if not text or not text.strip():
            raise ValidationError("comment text is empty", fix="pass the comment text")
        import uuid  # here: the readers that never comment skip its import

        comment = {"id": str(uuid.uuid4()), "issue_id": issue_id,
                   "author": author if author is not None else self.actor, "text": text,
                   "created_at": now_iso()}
        try:
            with self.conn.write() as db:
                self._row(db, issue_id)
                seq = self.conn.next_seq()
                db.execute("INSERT INTO comments(id, issue_id, author, text, created_at) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (comment["id"], comment["issue_id"], comment["author"],
                            comment["text"], comment["created_at"]))
                self._event(db, issue_id, "commented", comment=text[:200])
                self._touch(db, issue_id, seq)
        except sqlite3.Error as exc:
            raise translate(exc, self.conn.path) from exc
        return comment

    def comments_of(self, issue_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.read(
            "SELECT id, issue_id, author, text, created_at FROM comments WHERE issue_id = ? "
            "ORDER BY created_at, id", (issue_id,))]

    def events_of(self, issue_id: str) -> list[dict[str, Any]]:
        out = []
        for r in self.conn.read("SELECT * FROM events WHERE issue_id = ? ORDER BY id", (issue_id,)):
            out.append({k: r[k] for k in r.keys() if r[k] is not None})
        return out


def dep_record(row: sqlite3.Row) -> dict[str, Any]:
    rec: dict[str, Any] = {"issue_id": row["issue_id"], "depends_on_id": row["depends_on_id"],
                           "type": row["type"], "created_at": row["created_at"]}
    if row["created_by"]:
        rec["created_by"] = row["created_by"]
    if row["metadata"] and row["metadata"] != "{}":
        rec["metadata"] = row["metadata"]
    if row["thread_id"]:
        rec["thread_id"] = row["thread_id"]
    return rec


def metadata_text(value: Any) -> str:
    if value is None or value == "":
        return "{}"
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
