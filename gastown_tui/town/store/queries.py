"""Read-side queries: list, show details, ready and blocked work, search, and change feeds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from gastown_tui.town.store.records import NOT_WORK_TYPES, now_iso, order_issue, row_to_issue

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

    from gastown_tui.town.store.connection import Connection

# Computed blocking (beads-reference §3.3): blocks edges to open local targets, waits-for gates,
# and blocked parents passing their state down to children.
BLOCKED_CTE = """
WITH RECURSIVE
direct(id) AS (
    SELECT d.issue_id FROM dependencies d
      JOIN issues t ON t.id = d.depends_on_id
      JOIN issues s ON s.id = d.issue_id
     WHERE d.type IN ('blocks', 'conditional-blocks')
       AND t.status NOT IN ('closed', 'pinned') AND s.status NOT IN ('closed', 'pinned')
    UNION
    SELECT d.issue_id FROM dependencies d
      JOIN issues s ON s.id = d.issue_id
     WHERE d.type = 'waits-for' AND s.status NOT IN ('closed', 'pinned')
       AND EXISTS (SELECT 1 FROM dependencies c JOIN issues ci ON ci.id = c.issue_id
                    WHERE c.depends_on_id = d.depends_on_id AND c.type = 'parent-child'
                      AND ci.status NOT IN ('closed', 'pinned'))
       AND NOT (CASE WHEN json_valid(d.metadata)
                     THEN coalesce(json_extract(d.metadata, '$.gate'), 'all-children')
                     ELSE 'all-children' END = 'any-children'
                AND EXISTS (SELECT 1 FROM dependencies c JOIN issues ci ON ci.id = c.issue_id
                             WHERE c.depends_on_id = d.depends_on_id AND c.type = 'parent-child'
                               AND ci.status = 'closed'))
),
blocked(id) AS (
    SELECT id FROM direct
    UNION
    SELECT d.issue_id FROM dependencies d
      JOIN blocked b ON d.depends_on_id = b.id
      JOIN issues s ON s.id = d.issue_id
     WHERE d.type = 'parent-child' AND s.status NOT IN ('closed', 'pinned')
)
"""

INFRA_TYPES = ("agent", "rig", "role", "message")
LIST_HIDDEN_STATUSES = ("closed", "pinned")


class QueriesMixin:
    conn: Connection

    if TYPE_CHECKING:  # provided by the other mixins of BeadStore
        def labels_of(self, issue_id: str) -> list[str]: ...
        def comments_of(self, issue_id: str) -> list[dict[str, Any]]: ...
        def dependency_records(self, issue_id: str) -> list[dict[str, Any]]: ...
        def dependent_records(self, issue_id: str) -> list[dict[str, Any]]: ...
        def get(self, bead_id: str) -> dict[str, Any]: ...
        def deleted_since(self, seq: int) -> list[dict[str, Any]]: ...

    # ---------------------------------------------------------------- helpers
    def _decorate(self, rows: Sequence[sqlite3.Row], *, counts: bool = True) -> list[dict[str, Any]]:
        """Issues with labels (and bd's list counts), fetched in a few batched queries."""
        issues = [row_to_issue(r) for r in rows]
        if not issues:
            return []
        ids = [i["id"] for i in issues]
        labels: dict[str, list[str]] = {}
        dep_n: dict[str, int] = {}
        rdep_n: dict[str, int] = {}
        com_n: dict[str, int] = {}
        parent: dict[str, str] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for iid, label in self.conn.read(
                    f"SELECT issue_id, label FROM labels WHERE issue_id IN ({marks}) "
                    "ORDER BY issue_id, label", chunk):
                labels.setdefault(iid, []).append(label)
            if not counts:
                continue
            for iid, n in self.conn.read(
                    f"SELECT issue_id, count(*) FROM dependencies WHERE issue_id IN ({marks}) "
                    "GROUP BY issue_id", chunk):
                dep_n[iid] = n
            for iid, n in self.conn.read(
                    f"SELECT depends_on_id, count(*) FROM dependencies WHERE depends_on_id IN "
                    f"({marks}) GROUP BY depends_on_id", chunk):
                rdep_n[iid] = n
            for iid, n in self.conn.read(
                    f"SELECT issue_id, count(*) FROM comments WHERE issue_id IN ({marks}) "
                    "GROUP BY issue_id", chunk):
                com_n[iid] = n
            for iid, pid in self.conn.read(
                    f"SELECT issue_id, depends_on_id FROM dependencies WHERE issue_id IN ({marks}) "
                    "AND type = 'parent-child'", chunk):
                parent[iid] = pid
        out = []
        for issue in issues:
            iid = issue["id"]
            if iid in labels:
                issue["labels"] = labels[iid]
                issue = order_issue(issue)
            if counts:
                issue["dependency_count"] = dep_n.get(iid, 0)
                issue["dependent_count"] = rdep_n.get(iid, 0)
                issue["comment_count"] = com_n.get(iid, 0)
                if iid in parent:
                    issue["parent"] = parent[iid]
            out.append(issue)
        return out

    def blocked_ids(self) -> set[str]:
        return {r[0] for r in self.conn.read(BLOCKED_CTE + "SELECT id FROM blocked")}

    # ---------------------------------------------------------------- list / show
    def list_issues(self, *, prefixes: Iterable[str] | None = None,
                    statuses: Iterable[str] | None = None, include_all: bool = False,
                    issue_types: Iterable[str] | None = None, assignee: str | None = None,
                    no_assignee: bool = False, labels: Iterable[str] = (),
                    label_any: Iterable[str] = (), exclude_labels: Iterable[str] = (),
                    parent: str | None = None, ids: Iterable[str] | None = None,
                    priority: int | None = None, include_infra: bool = False,
                    include_ephemeral: bool = True, limit: int = 50,
                    sort: str = "priority", counts: bool = True) -> list[dict[str, Any]]:
        where: list[str] = []
        params: list[Any] = []
        _add_in(where, params, "prefix", prefixes)
        status_list = list(statuses or [])
        if status_list:
            _add_in(where, params, "status", status_list)
        elif not include_all:
            where.append("status NOT IN ('closed', 'pinned')")
        type_list = list(issue_types or [])
        if type_list:
            _add_in(where, params, "issue_type", type_list)
        elif not include_infra:
            where.append("issue_type NOT IN ('agent', 'rig', 'role', 'message', 'gate')")
            # wisp molecules live in bd's wisps table, which bd list leaves out
            where.append("NOT (issue_type = 'molecule' AND ephemeral = 1)")
        if not include_ephemeral:
            where.append("ephemeral = 0")
        if assignee is not None:
            where.append("assignee = ?")
            params.append(assignee)
        if no_assignee:
            where.append("assignee = ''")
        if priority is not None:
            where.append("priority = ?")
            params.append(priority)
        _add_in(where, params, "id", ids)
        _label_filters(where, params, labels, label_any, exclude_labels)
        if parent:
            where.append("id IN (SELECT issue_id FROM dependencies WHERE depends_on_id = ? "
                         "AND type = 'parent-child')")
            params.append(parent)
        order = {"priority": "priority ASC, created_at DESC, id ASC",
                 "created": "created_at DESC, id ASC", "updated": "updated_at DESC, id ASC",
                 "id": "id ASC", "oldest": "created_at ASC, id ASC"}.get(sort)
        if order is None:
            from gastown_tui.town.errors import ValidationError
            raise ValidationError(f"unknown sort {sort!r}",
                                  fix="use priority, created, updated, oldest or id")
        sql = "SELECT * FROM issues"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order}"
        if limit and limit > 0:
            sql += f" LIMIT {int(limit)}"
        return self._decorate(self.conn.read(sql, params), counts=counts)

    def details(self, bead_id: str) -> dict[str, Any]:
        """bd show's IssueDetails: the issue plus labels, deps and dependents as issues, comments."""
        issue = self.get(bead_id)
        deps = self.dependency_records(bead_id)
        rdeps = self.dependent_records(bead_id)
        comments = self.comments_of(bead_id)
        related: dict[str, dict[str, Any]] = {}
        others = [d["depends_on_id"] for d in deps] + [d["issue_id"] for d in rdeps]
        for chunk in _chunks([o for o in others if not o.startswith("external:")], 500):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.read(f"SELECT * FROM issues WHERE id IN ({marks})", chunk):
                related[row["id"]] = row_to_issue(row)

        def brief(other_id: str, dep_type: str) -> dict[str, Any]:
            other = related.get(other_id)
            if other is None:
                return {"id": other_id, "title": "", "status": "missing", "priority": 2,
                        "dependency_type": dep_type}
            return {**other, "dependency_type": dep_type}

        out = dict(issue)
        if deps:
            out["dependencies"] = [brief(d["depends_on_id"], d["type"]) for d in deps]
        if rdeps:
            out["dependents"] = [brief(d["issue_id"], d["type"]) for d in rdeps]
        if comments:
            out["comments"] = comments
        parent = next((d["depends_on_id"] for d in deps if d["type"] == "parent-child"), None)
        if parent:
            out["parent"] = parent
        out["dependency_count"] = len(deps)
        out["dependent_count"] = len(rdeps)
        out["comment_count"] = len(comments)
        return out

    # ---------------------------------------------------------------- ready / blocked
    def ready(self, *, prefixes: Iterable[str] | None = None, limit: int = 100,
              sort: str = "priority", assignee: str | None = None, unassigned: bool = False,
              issue_types: Iterable[str] | None = None, labels: Iterable[str] = (),
              label_any: Iterable[str] = (), exclude_labels: Iterable[str] = (),
              exclude_types: Iterable[str] = (), parent: str | None = None,
              include_deferred: bool = False, include_ephemeral: bool = False,
              allow_in_progress: bool = False, now: str | None = None) -> list[dict[str, Any]]:
        """bd ready, following bd's readiness rules exactly (beads-reference §3.4)."""
        now = now or now_iso()
        where = ["i.id NOT IN (SELECT id FROM blocked)", "i.pinned = 0"]
        params: list[Any] = []
        where.append("i.status IN ('open', 'in_progress')" if allow_in_progress
                     else "i.status = 'open'")
        if not include_ephemeral:
            where.append("i.ephemeral = 0")
        type_list = list(issue_types or [])
        if type_list:
            _add_in(where, params, "i.issue_type", type_list)
        else:
            excluded = list(NOT_WORK_TYPES) + list(exclude_types)
            where.append(f"i.issue_type NOT IN ({','.join('?' * len(excluded))})")
            params.extend(excluded)
        if not include_deferred:
            where.append("(i.defer_until IS NULL OR i.defer_until <= ?)")
            params.append(now)
            where.append("NOT EXISTS (SELECT 1 FROM dependencies p JOIN issues pi "
                         "ON pi.id = p.depends_on_id WHERE p.issue_id = i.id "
                         "AND p.type = 'parent-child' AND pi.defer_until IS NOT NULL "
                         "AND pi.defer_until > ?)")
            params.append(now)
        _add_in(where, params, "i.prefix", prefixes)
        if assignee is not None:
            where.append("i.assignee = ?")
            params.append(assignee)
        if unassigned:
            where.append("i.assignee = ''")
        _label_filters(where, params, labels, label_any, exclude_labels, column="i.id")
        if parent:
            where.append("i.id IN (WITH RECURSIVE sub(id) AS (SELECT issue_id FROM dependencies "
                         "WHERE depends_on_id = ? AND type = 'parent-child' UNION SELECT "
                         "d.issue_id FROM dependencies d JOIN sub ON d.depends_on_id = sub.id "
                         "WHERE d.type = 'parent-child') SELECT id FROM sub)")
            params.append(parent)
        order = {"priority": "i.priority ASC, i.created_at DESC, i.id ASC",
                 "oldest": "i.created_at ASC, i.id ASC",
                 "hybrid": "(i.created_at >= ?) DESC, CASE WHEN i.created_at >= ? THEN "
                           "i.priority ELSE 0 END ASC, i.created_at ASC, i.id ASC"}.get(sort)
        if order is None:
            from gastown_tui.town.errors import ValidationError
            raise ValidationError(f"unknown sort policy {sort!r}",
                                  fix="use priority, hybrid or oldest")
        if sort == "hybrid":
            # recent = created in the last 48 hours (computed here: one SQL for both backends)
            recent = (datetime.now(UTC) - timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            params.extend((recent, recent))
        sql = (BLOCKED_CTE + "SELECT i.* FROM issues i WHERE " + " AND ".join(where)
               + f" ORDER BY {order}")
        if limit and limit > 0:
            sql += f" LIMIT {int(limit)}"
        return self._decorate(self.conn.read(sql, params))

    def blocked(self, *, prefixes: Iterable[str] | None = None,
                parent: str | None = None) -> list[dict[str, Any]]:
        where = ["i.id IN (SELECT id FROM blocked)"]
        params: list[Any] = []
        _add_in(where, params, "i.prefix", prefixes)
        if parent:
            where.append("i.id IN (SELECT issue_id FROM dependencies WHERE depends_on_id = ? "
                         "AND type = 'parent-child')")
            params.append(parent)
        rows = self.conn.read(BLOCKED_CTE + "SELECT i.* FROM issues i WHERE "
                              + " AND ".join(where)
                              + " ORDER BY i.priority ASC, i.created_at DESC, i.id ASC", params)
        issues = self._decorate(rows)
        for issue in issues:
            blockers = [r[0] for r in self.conn.read(
                "SELECT t.id FROM dependencies d JOIN issues t ON t.id = d.depends_on_id "
                "WHERE d.issue_id = ? AND d.type IN ('blocks', 'conditional-blocks', 'waits-for') "
                "AND t.status NOT IN ('closed', 'pinned') ORDER BY t.id", (issue["id"],))]
            if not blockers:
                blockers = [r[0] for r in self.conn.read(
                    "SELECT depends_on_id FROM dependencies WHERE issue_id = ? "
                    "AND type = 'parent-child'", (issue["id"],))]
            issue["blocked_by_count"] = len(blockers)
            issue["blocked_by"] = blockers
        return issues

    # ---------------------------------------------------------------- search / changes
    def search(self, query: str, *, prefixes: Iterable[str] | None = None,
               include_closed: bool = True, limit: int = 50) -> list[dict[str, Any]]:
        where = ["(id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\' "
                 "OR description LIKE ? ESCAPE '\\')"]
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params: list[Any] = [pattern, pattern, pattern]
        _add_in(where, params, "prefix", prefixes)
        if not include_closed:
            where.append("status != 'closed'")
        sql = ("SELECT * FROM issues WHERE " + " AND ".join(where)
               + " ORDER BY priority ASC, updated_at DESC, id ASC")
        if limit and limit > 0:
            sql += f" LIMIT {int(limit)}"
        return self._decorate(self.conn.read(sql, params))

    def current_seq(self) -> int:
        rows = self.conn.read("SELECT value FROM meta WHERE key = 'seq'")
        return int(rows[0][0]) if rows else 0

    def changed_since(self, seq: int) -> tuple[int, list[dict[str, Any]]]:
        """(current sequence, issues changed after seq): the incremental feed for readers."""
        current = self.current_seq()
        rows = self.conn.read("SELECT * FROM issues WHERE change_seq > ? ORDER BY change_seq",
                              (seq,))
        # Removed beads come as tombstone stubs, so readers drop them too.
        return current, self._decorate(rows, counts=False) + self.deleted_since(seq)

    def integrity_check(self) -> list[str]:
        problems = list(self.conn.integrity_problems())
        for row in self.conn.read("SELECT id, status, closed_at FROM issues WHERE "
                                  "(status = 'closed') != (closed_at IS NOT NULL)"):
            problems.append(f"{row['id']}: closed_at does not match status {row['status']}")
        return problems


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _add_in(where: list[str], params: list[Any], column: str, values: Iterable[Any] | None) -> None:
    if values is None:
        return
    vals = list(values)
    if not vals:
        return
    where.append(f"{column} IN ({','.join('?' * len(vals))})")
    params.extend(vals)


def _label_filters(where: list[str], params: list[Any], labels: Iterable[str],
                   label_any: Iterable[str], exclude: Iterable[str], column: str = "id") -> None:
    for label in labels:
        where.append(f"{column} IN (SELECT issue_id FROM labels WHERE label = ?)")
        params.append(label)
    any_list = list(label_any)
    if any_list:
        where.append(f"{column} IN (SELECT issue_id FROM labels WHERE label IN "
                     f"({','.join('?' * len(any_list))}))")
        params.extend(any_list)
    for label in exclude:
        where.append(f"{column} NOT IN (SELECT issue_id FROM labels WHERE label = ?)")
        params.append(label)
