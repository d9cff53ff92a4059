"""BeadStore: create, read, update, close and reopen beads; every write is one transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from gastown_tui.town.errors import (
    BeadNotFoundError,
    ClosedBeadError,
    ConflictError,
    ValidationError,
)
from gastown_tui.town.fields import set_fields
from gastown_tui.town.names import bead_prefix, validate_bead_id
from gastown_tui.town.store import ids
from gastown_tui.town.store.backend import connect
from gastown_tui.town.store.connection import translate
from gastown_tui.town.store.lifecycle import LifecycleMixin
from gastown_tui.town.store.queries import QueriesMixin
from gastown_tui.town.store.records import (
    CORE_COLUMNS,
    normalize_priority,
    normalize_status,
    normalize_time,
    normalize_type,
    now_iso,
    order_issue,
    row_to_issue,
    split_for_row,
    validate_title,
)
from gastown_tui.town.store.relations import RelationsMixin

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

_UPDATABLE = frozenset({
    "title", "description", "design", "acceptance_criteria", "notes", "status", "priority",
    "issue_type", "assignee", "owner", "estimated_minutes", "due_at", "defer_until",
    "external_ref", "metadata", "pinned", "ephemeral", "wisp_type", "mol_type", "close_reason",
    "spec_id", "sender", "await_type", "await_id", "timeout", "waiters", "is_template",
    "no_history", "closed_by_session",
})


class BeadStore(QueriesMixin, RelationsMixin, LifecycleMixin):
    """The town's one bead store. `actor` is written to created_by, events and comments."""

    def __init__(self, location: Path | str, *, actor: str = "", create: bool = False,
                 full_disk_reads: bool = False) -> None:
        """`location`: the SQLite file's path, or a postgresql:// URL (backend.py).
        `full_disk_reads`: a short-lived reader that must still answer on a full disk
        (SQLite's concern: connection.py)."""
        self.actor = actor
        self.conn = connect(location, create=create, full_disk_reads=full_disk_reads)
        self.location = self.conn.location  # what another process opens the same store by
        self.path = self.conn.path  # what messages name (a Path for SQLite)

    @property
    def backend(self) -> str:
        return self.conn.kind

    @classmethod
    def create_at(cls, location: Path | str, *, actor: str = "") -> BeadStore:
        return cls(location, actor=actor, create=True)

    def close_connection(self) -> None:
        self.conn.close()

    # ---------------------------------------------------------------- internals
    def _row(self, db: sqlite3.Connection, bead_id: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM issues WHERE id = ?", (bead_id,)).fetchone()
        if row is None:
            raise BeadNotFoundError(f"no bead {bead_id!r}",
                                    fix="check the id with 'bd list' or 'bd search'")
        return row

    def _write_issue(self, db: sqlite3.Connection, issue: dict[str, Any], seq: int,
                     *, insert: bool) -> None:
        core, data = split_for_row(issue)
        values = [core[c] for c in CORE_COLUMNS if c != "prefix"]
        cols = [c for c in CORE_COLUMNS if c != "prefix"]
        for flag in ("ephemeral", "pinned", "is_template"):
            values[cols.index(flag)] = 1 if core[flag] else 0
        for text_col in ("description", "assignee"):
            if values[cols.index(text_col)] is None:
                values[cols.index(text_col)] = ""
        if insert:
            db.execute(
                f"INSERT INTO issues (prefix, {', '.join(cols)}, data, change_seq) "
                f"VALUES (?, {', '.join('?' * len(cols))}, ?, ?)",
                [bead_prefix(issue["id"]), *values, data, seq],
            )
        else:
            sets = ", ".join(f"{c} = ?" for c in cols if c != "id")
            db.execute(f"UPDATE issues SET {sets}, data = ?, change_seq = ? WHERE id = ?",
                       [v for c, v in zip(cols, values, strict=True) if c != "id"]
                       + [data, seq, issue["id"]])

    def _event(self, db: sqlite3.Connection, bead_id: str, kind: str, old: Any = None,
               new: Any = None, comment: str | None = None, actor: str | None = None) -> None:
        db.execute(
            "INSERT INTO events (issue_id, event_type, actor, old_value, new_value, comment, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (bead_id, kind, actor if actor is not None else self.actor,
             None if old is None else str(old), None if new is None else str(new), comment,
             now_iso()),
        )

    def _touch(self, db: sqlite3.Connection, bead_id: str, seq: int) -> None:
        db.execute("UPDATE issues SET change_seq = ?, updated_at = ? WHERE id = ?",
                   (seq, now_iso(), bead_id))

    def _new_id(self, db: sqlite3.Connection, prefix: str, title: str, description: str,
                *, wisp: bool, issue_type: str) -> str:
        if issue_type == "convoy" and prefix == "hq":
            for _ in range(50):
                cid = ids.convoy_id()
                if not db.execute("SELECT 1 FROM issues WHERE id = ?", (cid,)).fetchone():
                    return cid
        existing = db.execute(
            "SELECT count(*) FROM issues WHERE prefix = ? AND instr(id, '.') = 0", (prefix,)
        ).fetchone()[0]
        for candidate in ids.candidate_ids(prefix, title, description, self.actor, existing,
                                           wisp=wisp):
            if not db.execute("SELECT 1 FROM issues WHERE id = ?", (candidate,)).fetchone():
                return candidate
        raise ConflictError("could not find a free bead id after 60 tries",
                            fix="retry; the store is unusually full for this prefix")

    def _child_id(self, db: sqlite3.Connection, parent: str) -> str:
        row = db.execute("SELECT last_child FROM child_counters WHERE parent_id = ?",
                         (parent,)).fetchone()
        last = row[0] if row else 0
        for (cid,) in db.execute("SELECT id FROM issues WHERE id LIKE ? ESCAPE '\\'",
                                 (parent.replace("_", "\\_").replace("%", "\\%") + ".%",)):
            tail = cid[len(parent) + 1:]
            if tail.isdigit():
                last = max(last, int(tail))
        db.execute("INSERT INTO child_counters(parent_id, last_child) VALUES (?, ?) "
                   "ON CONFLICT(parent_id) DO UPDATE SET last_child = excluded.last_child",
                   (parent, last + 1))
        return f"{parent}.{last + 1}"

    # ---------------------------------------------------------------- create / read
    def create(self, title: str, *, prefix: str, description: str = "", issue_type: str = "task",
               priority: Any = 2, status: str = "open", assignee: str = "",
               labels: list[str] | tuple[str, ...] = (), parent: str | None = None,
               deps: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
               bead_id: str | None = None, ephemeral: bool = False,
               fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create one bead. `deps` are (type, target) pairs meaning "this depends on target"."""
        title = validate_title(title)
        issue_type = normalize_type(issue_type)
        status = normalize_status(status)
        priority = normalize_priority(priority)
        if bead_id is not None:
            validate_bead_id(bead_id)
        extra = dict(fields or {})
        for key in ("defer_until", "due_at"):
            if extra.get(key):
                extra[key] = normalize_time(extra[key], field=key)
        try:
            with self.conn.write() as db:
                if parent is not None:
                    self._row(db, parent)
                if bead_id is None:
                    bead_id = (self._child_id(db, parent) if parent else
                               self._new_id(db, prefix, title, description, wisp=ephemeral,
                                            issue_type=issue_type))
                elif db.execute("SELECT 1 FROM issues WHERE id = ?", (bead_id,)).fetchone():
                    raise ConflictError(f"bead {bead_id} already exists",
                                        fix="pick another --id or update the existing bead")
                now = now_iso()
                issue: dict[str, Any] = {
                    **extra, "id": bead_id, "title": title, "description": description,
                    "status": status, "priority": priority, "issue_type": issue_type,
                    "assignee": assignee or "", "created_at": now, "created_by": self.actor,
                    "updated_at": now, "ephemeral": ephemeral,
                    "pinned": bool(extra.get("pinned")), "is_template": bool(extra.get("is_template")),
                    "closed_at": now if status == "closed" else None,
                    "defer_until": extra.get("defer_until"),
                }
                if status in ("in_progress", "hooked"):
                    issue["started_at"] = now
                seq = self.conn.next_seq()
                self._write_issue(db, issue, seq, insert=True)
                self._event(db, bead_id, "created", new=title)
                for label in labels:
                    if label:
                        db.execute("INSERT OR IGNORE INTO labels(issue_id, label) VALUES (?, ?)",
                                   (bead_id, label))
                if parent:
                    self._add_dep_tx(db, bead_id, parent, "parent-child", seq, check_cycle=False)
                for dep_type, target in deps:
                    if dep_type == "blocks-reverse":
                        self._add_dep_tx(db, target, bead_id, "blocks", seq, check_cycle=True)
                    else:
                        self._add_dep_tx(db, bead_id, target, dep_type, seq,
                                         check_cycle=dep_type in ("blocks", "conditional-blocks"))
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc
        return self.get(bead_id)

    def get(self, bead_id: str) -> dict[str, Any]:
        rows = self.conn.read("SELECT * FROM issues WHERE id = ?", (bead_id,))
        if not rows:
            raise BeadNotFoundError(f"no bead {bead_id!r}",
                                    fix="check the id with 'bd list' or 'bd search'")
        issue = row_to_issue(rows[0])
        labels = self.labels_of(bead_id)
        if labels:
            issue["labels"] = labels
            issue = order_issue(issue)
        return issue

    def exists(self, bead_id: str) -> bool:
        return bool(self.conn.read("SELECT 1 FROM issues WHERE id = ?", (bead_id,)))

    # ---------------------------------------------------------------- update
    def update(self, bead_id: str, *, changes: dict[str, Any] | None = None,
               append_notes: str | None = None, add_labels: tuple[str, ...] | list[str] = (),
               remove_labels: tuple[str, ...] | list[str] = (),
               set_labels: list[str] | None = None, claim: bool = False,
               expect_status: tuple[str, ...] | None = None,
               description_fields: dict[str, str | None] | None = None,
               guard: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Apply changes in one transaction (read-modify-write under the write lock).

        `expect_status` makes the update a compare-and-swap on the current status; `guard` is
        called with the current bead inside the transaction and may raise to refuse it (a
        check made before the write lock could be stale by the time the update runs);
        `description_fields` rewrites `key: value` lines of the description inside the same
        transaction, so concurrent field updates never overwrite each other."""
        changes = dict(changes or {})
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValidationError(f"cannot update field(s) {', '.join(sorted(unknown))}",
                                  fix="see 'bd update --help' for what can change")
        if "title" in changes:
            validate_title(changes["title"])
        if "status" in changes:
            changes["status"] = normalize_status(changes["status"])
        if "priority" in changes:
            changes["priority"] = normalize_priority(changes["priority"])
        if "issue_type" in changes:
            changes["issue_type"] = normalize_type(changes["issue_type"])
        for key in ("defer_until", "due_at"):
            if changes.get(key):
                changes[key] = normalize_time(changes[key], field=key)
        if isinstance(changes.get("metadata"), str):
            try:
                changes["metadata"] = json.loads(changes["metadata"])
            except json.JSONDecodeError as exc:
                raise ValidationError(f"metadata is not valid JSON ({exc.msg})",
                                      fix="pass a JSON object such as '{\"k\":1}'") from exc
        try:
            with self.conn.write() as db:
                issue = row_to_issue(self._row(db, bead_id))
                if expect_status is not None and issue["status"] not in expect_status:
                    raise ConflictError(
                        f"{bead_id} is {issue['status']}, expected {' or '.join(expect_status)}",
                        fix="refresh and retry")
                if guard is not None:
                    guard(issue)
                if claim:
                    holder = issue.get("assignee") or ""
                    if issue["status"] == "in_progress" and holder == self.actor:
                        return self.get(bead_id)
                    if issue["status"] != "open" or (holder and holder != self.actor):
                        raise ConflictError(f"{bead_id} is already claimed by {holder or issue['status']}",
                                            fix="pick another bead from 'bd ready'")
                    changes["status"] = "in_progress"
                    changes["assignee"] = self.actor
                if description_fields:
                    changes["description"] = set_fields(
                        changes.get("description", issue.get("description") or ""),
                        description_fields)
                seq = self.conn.next_seq()
                now = now_iso()
                for key, value in changes.items():
                    old = issue.get(key)
                    if old == value:
                        continue
                    issue[key] = value
                    if key == "status":
                        self._event(db, bead_id, "status_changed", old, value)
                if "status" in changes:
                    status = issue["status"]
                    if status == "closed" and not issue.get("closed_at"):
                        issue["closed_at"] = now
                    elif status != "closed":
                        issue["closed_at"] = None
                        if "close_reason" not in changes:
                            issue["close_reason"] = None
                    if status == "in_progress" and not issue.get("started_at"):
                        issue["started_at"] = now
                if append_notes:
                    issue["notes"] = (issue.get("notes") + "\n" + append_notes
                                      if issue.get("notes") else append_notes)
                issue["updated_at"] = now
                self._write_issue(db, issue, seq, insert=False)
                if changes or append_notes:
                    self._event(db, bead_id, "updated", new=",".join(sorted(changes)) or "notes")
                self._relabel_tx(db, bead_id, add_labels, remove_labels, set_labels)
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc
        return self.get(bead_id)

    def set_status(self, bead_id: str, status: str, *, reason: str | None = None,
                   force: bool = False) -> dict[str, Any]:
        """Close or reopen with bd's guards (beads-reference §3.6)."""
        status = normalize_status(status)
        try:
            with self.conn.write() as db:
                issue = row_to_issue(self._row(db, bead_id))
                old = issue["status"]
                if status == "closed":
                    if old == "closed":
                        raise ClosedBeadError(f"{bead_id} is already closed",
                                              fix=f"reopen it first with 'bd reopen {bead_id}'")
                    if not force:
                        self._close_guards(db, issue)
                    issue["closed_at"] = now_iso()
                    issue["close_reason"] = reason or issue.get("close_reason") or "Closed"
                    kind = "closed"
                else:
                    if old != "closed" and status == "open" and old == "open":
                        raise ConflictError(f"{bead_id} is already open", fix="nothing to reopen")
                    issue["closed_at"] = None
                    issue["close_reason"] = None
                    kind = "reopened"
                issue["status"] = status
                issue["updated_at"] = now_iso()
                seq = self.conn.next_seq()
                self._write_issue(db, issue, seq, insert=False)
                self._event(db, bead_id, kind, old, status, comment=reason)
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc
        return self.get(bead_id)

    def _close_guards(self, db: sqlite3.Connection, issue: dict[str, Any]) -> None:
        bead_id = issue["id"]
        if issue["status"] == "pinned":
            raise ConflictError(f"{bead_id} is pinned", fix="pass --force to close a pinned bead")
        if issue["issue_type"] == "epic":
            open_children = db.execute(
                "SELECT count(*) FROM dependencies d JOIN issues c ON c.id = d.issue_id "
                "WHERE d.depends_on_id = ? AND d.type = 'parent-child' AND c.status != 'closed'",
                (bead_id,)).fetchone()[0]
            if open_children:
                raise ConflictError(f"epic {bead_id} has {open_children} open child(ren)",
                                    fix="close the children first, or pass --force")
        blockers = [r[0] for r in db.execute(
            "SELECT t.id FROM dependencies d JOIN issues t ON t.id = d.depends_on_id "
            "WHERE d.issue_id = ? AND d.type IN ('blocks', 'conditional-blocks') "
            "AND t.status NOT IN ('closed', 'pinned') ORDER BY t.id", (bead_id,))]
        if blockers:
            raise ConflictError(f"{bead_id} is blocked by open {', '.join(blockers)}",
                                fix="close the blockers first, or pass --force")
