"""bd JSONL export and import, and Gas Town backup folders (one JSONL file per table)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.names import is_bead_id
from gastown_tui.town.store.connection import translate
from gastown_tui.town.store.records import (
    COUNT_KEYS,
    TIME_FIELDS,
    bd_jsonl_line,
    normalize_priority,
    normalize_status,
    normalize_time,
    normalize_type,
    now_iso,
    order_issue,
    row_to_issue,
    validate_title,
)
from gastown_tui.town.store.relations import metadata_text

if TYPE_CHECKING:
    from gastown_tui.town.progress import Progress
    from gastown_tui.town.store.core import BeadStore

BACKUP_FILES = ("issues.jsonl", "dependencies.jsonl", "labels.jsonl", "comments.jsonl",
                "events.jsonl")
# Columns of a raw SQL dump that are database internals, not bead fields.
_DB_INTERNAL = frozenset({"content_hash", "is_blocked", "source_repo", "prefix", "change_seq",
                          "data", "_type"})


# ---------------------------------------------------------------------------- export
def export_lines(store: BeadStore, *, prefixes: Iterable[str] | None = None,
                 include_all: bool = False, include_infra: bool = False,
                 progress: Progress | None = None) -> Iterator[str]:
    """bd export's lines: issues in priority order with labels, dependencies and comments."""
    where: list[str] = []
    params: list[Any] = []
    plist = list(prefixes or [])
    if plist:
        where.append(f"prefix IN ({','.join('?' * len(plist))})")
        params.extend(plist)
    if not include_all:
        where.append("ephemeral = 0 AND is_template = 0")
        if not include_infra:
            where.append("issue_type NOT IN ('agent', 'rig', 'role', 'message')")
    sql = "SELECT * FROM issues"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY priority ASC, created_at DESC, id ASC"
    rows = store.conn.read(sql, params)
    labels: dict[str, list[str]] = {}
    for iid, label in store.conn.read("SELECT issue_id, label FROM labels ORDER BY issue_id, label"):
        labels.setdefault(iid, []).append(label)
    deps: dict[str, list[dict[str, Any]]] = {}
    rdep_n: dict[str, int] = {}
    from gastown_tui.town.store.relations import dep_record
    for row in store.conn.read("SELECT * FROM dependencies ORDER BY issue_id, created_at, "
                               "depends_on_id"):
        rec = dep_record(row)
        rec["metadata"] = row["metadata"] or "{}"
        deps.setdefault(row["issue_id"], []).append(rec)
        rdep_n[row["depends_on_id"]] = rdep_n.get(row["depends_on_id"], 0) + 1
    comments: dict[str, list[dict[str, Any]]] = {}
    for row in store.conn.read("SELECT id, issue_id, author, text, created_at FROM comments "
                               "ORDER BY issue_id, created_at, id"):
        comments.setdefault(row["issue_id"], []).append(dict(row))
    total = len(rows)
    for number, row in enumerate(rows, 1):
        if progress is not None:
            progress.step("Exporting issues", number, total)
        issue = row_to_issue(row)
        iid = issue["id"]
        issue["labels"] = labels.get(iid, [])
        issue["dependencies"] = deps.get(iid, [])
        issue["comments"] = comments.get(iid, [])
        record: dict[str, Any] = {"_type": "issue", **order_issue(issue)}
        record["dependency_count"] = len(deps.get(iid, []))
        record["dependent_count"] = rdep_n.get(iid, 0)
        record["comment_count"] = len(comments.get(iid, []))
        parent = next((d["depends_on_id"] for d in deps.get(iid, [])
                       if d["type"] == "parent-child"), None)
        if parent:
            record["parent"] = parent
        yield bd_jsonl_line(record)


def export_event_lines(store: BeadStore) -> Iterator[str]:
    """The audit trail (the events table) as a backup folder's events.jsonl, oldest first."""
    for row in store.conn.read("SELECT issue_id, event_type, actor, old_value, new_value, "
                               "comment, created_at FROM events ORDER BY id"):
        yield json.dumps({k: row[k] for k in row.keys() if row[k] is not None},
                         ensure_ascii=False, separators=(",", ":"))


def export_to(store: BeadStore, out: TextIO, **kwargs: Any) -> int:
    count = 0
    for line in export_lines(store, **kwargs):
        out.write(line + "\n")
        count += 1
    return count


# ---------------------------------------------------------------------------- import
@dataclass
class ImportReport:
    source: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale_skipped: list[str] = field(default_factory=list)
    skipped: int = 0
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    skipped_dependencies: list[str] = field(default_factory=list)
    # kept although their target is not in the store (e.g. wisps a backup leaves out): shown
    # as missing by bd show, blocking nothing, written back by bd export
    dangling_dependencies: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source, "created": len(self.created), "updated": len(self.updated),
            "unchanged": len(self.unchanged), "skipped": self.skipped + len(self.errors),
            "ids": self.created + self.updated,
        }
        if self.stale_skipped:
            out["stale_skipped_ids"] = self.stale_skipped
        if self.skipped_dependencies:
            out["skipped_dependencies"] = self.skipped_dependencies
        if self.dangling_dependencies:
            out["dangling_dependencies"] = self.dangling_dependencies
        if self.errors:
            out["errors"] = [{"file": f, "line": n, "error": e} for f, n, e in self.errors]
        if self.dry_run:
            out["dry_run"] = True
        return out


@dataclass
class _Batch:
    issues: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    labels: list[tuple[str, str]] = field(default_factory=list)
    deps: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _read_jsonl(path_label: str, lines: Iterable[bytes | str], report: ImportReport
                ) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.errors.append((path_label, number, f"invalid UTF-8 at byte {exc.start}"))
                continue
        else:
            text = raw
        text = text.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            report.errors.append((path_label, number, f"not JSON ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:
            report.errors.append((path_label, number, "JSON nested too deeply"))
            continue
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            report.errors.append((path_label, number, f"not JSON ({str(exc)[:80]})"))
            continue
        if not isinstance(obj, dict):
            report.errors.append((path_label, number, "not a JSON object"))
            continue
        if not _encodable(text, obj):
            report.errors.append((path_label, number,
                                  "text is not valid Unicode (a lone surrogate)"))
            continue
        yield number, obj


def _encodable(text: str, obj: dict[str, Any]) -> bool:
    """False when a string holds a lone surrogate (a \\ud800 escape, or str input carrying
    one): SQLite cannot store it, and it would fail the whole import's transaction."""
    try:
        text.encode("utf-8")
        if "\\u" in text:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean_issue(obj: dict[str, Any], *, backup: bool) -> dict[str, Any] | None:
    """Validate and normalise one issue record; None means a line bd import skips on purpose."""
    if "_schema" in obj or obj.get("_type") == "memory":
        return None
    if obj.get("status") == "tombstone":
        return None
    issue: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _DB_INTERNAL or key in COUNT_KEYS:
            continue
        if backup and value is None:
            continue
        issue[key] = value
    if "wisp" in issue:
        if issue.pop("wisp"):
            issue["ephemeral"] = True
    bead_id = issue.get("id")
    if not isinstance(bead_id, str) or not is_bead_id(bead_id):
        raise ValidationError(f"missing or invalid id {bead_id!r}")
    issue["title"] = validate_title(issue.get("title"))
    if "description" in issue and not isinstance(issue["description"], str):
        raise ValidationError("description must be a string")
    if issue.get("assignee") is not None and not isinstance(issue["assignee"], str):
        raise ValidationError("assignee must be a string")
    _check_nested(issue)
    issue["status"] = normalize_status(issue.get("status") or "open")
    issue["issue_type"] = normalize_type(issue.get("issue_type") or "task")
    # bd does not default a missing priority: it imports as 0.
    issue["priority"] = normalize_priority(issue.get("priority", 0))
    for key in ("ephemeral", "pinned", "is_template", "no_history"):
        if key in issue:
            issue[key] = bool(issue[key])
    if isinstance(issue.get("metadata"), str):
        try:
            issue["metadata"] = json.loads(issue["metadata"]) if issue["metadata"] else {}
        except json.JSONDecodeError as exc:
            raise ValidationError(f"metadata is not valid JSON ({exc.msg})") from exc
        except RecursionError as exc:
            raise ValidationError("metadata is nested too deeply") from exc
    now = now_iso()
    for key in TIME_FIELDS:
        if issue.get(key):
            issue[key] = normalize_time(issue[key], field=key)
    issue.setdefault("created_at", now)
    issue["created_at"] = issue["created_at"] or now
    issue["updated_at"] = issue.get("updated_at") or issue["created_at"]
    if issue["status"] == "closed" and not issue.get("closed_at"):
        latest = max(issue["created_at"], issue["updated_at"])
        stamp = datetime.fromisoformat(latest.replace("Z", "+00:00"))
        if stamp < datetime.max.replace(tzinfo=UTC) - timedelta(seconds=1):
            stamp += timedelta(seconds=1)
        issue["closed_at"] = stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elif issue["status"] != "closed":
        issue["closed_at"] = None
    issue.setdefault("description", "")
    issue["assignee"] = issue.get("assignee") or ""
    return issue


def _check_nested(issue: dict[str, Any]) -> None:
    """labels, dependencies and comments of an issue line have the shapes bd writes; a bad one
    rejects its line (with its number) instead of failing the import's one transaction."""
    labels = issue.get("labels")
    if labels is not None and (not isinstance(labels, list)
                               or not all(isinstance(x, str) for x in labels)):
        raise ValidationError("labels must be a list of strings")
    for key in ("dependencies", "comments"):
        items = issue.get(key)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise ValidationError(f"{key} must be a list of objects")
        for item in items:
            _check_record(item, key)


def _check_record(item: dict[str, Any], kind: str) -> None:
    """A dependency or comment record, from an issue line or a backup table's line."""
    if item.get("created_at"):
        normalize_time(item["created_at"], field=f"{kind}.created_at")
    if kind == "comments" and not isinstance(item.get("text"), str):
        raise ValidationError("a comment's text must be a string")


def import_jsonl(store: BeadStore, source: Path | str, *, dry_run: bool = False,
                 lines: Iterable[bytes | str] | None = None, audit: bool = True,
                 progress: Progress | None = None) -> ImportReport:
    """Import a bd JSONL file (or '-' lines), or a Gas Town backup folder. Bad lines are reported
    with their number; the rest is imported in one transaction. Labels, dependencies and comments
    are only added, never removed; an older record never overwrites a newer one."""
    label = str(source)
    report = ImportReport(source=label, dry_run=dry_run)
    batch = _Batch()
    path = Path(source) if lines is None else None
    if path is not None and path.is_dir():
        _collect_backup(path, report, batch)
    else:
        if lines is None:
            assert path is not None
            if not path.is_file():
                raise GasTownError(f"no such file {path}",
                                   fix="pass a bd JSONL export or a backup folder")
            with path.open("rb") as fh:
                _collect_lines(label, list(fh), report, batch, backup=False)
        else:
            _collect_lines(label, lines, report, batch, backup=False)
    _apply(store, batch, report, dry_run=dry_run, audit=audit, progress=progress)
    return report


def _collect_lines(label: str, lines: Iterable[bytes | str], report: ImportReport, batch: _Batch,
                   *, backup: bool) -> None:
    for number, obj in _read_jsonl(label, lines, report):
        try:
            issue = _clean_issue(obj, backup=backup)
        except (ValidationError, TypeError, ValueError) as exc:
            problem = exc.problem if isinstance(exc, GasTownError) else str(exc)
            report.errors.append((label, number, problem))
            continue
        if issue is None:
            report.skipped += 1
            continue
        for lab in issue.pop("labels", None) or []:
            if isinstance(lab, str) and lab:
                batch.labels.append((issue["id"], lab))
        for dep in issue.pop("dependencies", None) or []:
            if isinstance(dep, dict):
                batch.deps.append({**dep, "issue_id": dep.get("issue_id") or issue["id"]})
        for com in issue.pop("comments", None) or []:
            if isinstance(com, dict):
                batch.comments.append({**com, "issue_id": issue["id"]})
        batch.issues.append((label, number, issue))


def _collect_backup(folder: Path, report: ImportReport, batch: _Batch) -> None:
    present = [name for name in BACKUP_FILES if (folder / name).is_file()]
    if "issues.jsonl" not in present:
        raise GasTownError(f"{folder} has no issues.jsonl",
                           fix="pass a bd export file or a Gas Town backup folder")
    with (folder / "issues.jsonl").open("rb") as fh:
        _collect_lines(str(folder / "issues.jsonl"), list(fh), report, batch, backup=True)
    tables = {"labels.jsonl": batch.labels, "dependencies.jsonl": batch.deps,
              "comments.jsonl": batch.comments, "events.jsonl": batch.events}
    for name, sink in tables.items():
        if name not in present:
            continue
        with (folder / name).open("rb") as fh:
            for number, obj in _read_jsonl(str(folder / name), list(fh), report):
                if not isinstance(obj.get("issue_id"), str):
                    report.errors.append((str(folder / name), number, "missing issue_id"))
                    continue
                if name in ("dependencies.jsonl", "comments.jsonl"):
                    try:
                        _check_record(obj, name.removesuffix(".jsonl"))
                    except ValidationError as exc:
                        report.errors.append((str(folder / name), number, exc.problem))
                        continue
                if name == "labels.jsonl":
                    if isinstance(obj.get("label"), str):
                        sink.append((obj["issue_id"], obj["label"]))
                    else:
                        report.errors.append((str(folder / name), number, "missing label"))
                else:
                    sink.append(obj)


def _apply(store: BeadStore, batch: _Batch, report: ImportReport, *, dry_run: bool,
           audit: bool = True, progress: Progress | None = None) -> None:
    """`audit`: log a 'created' event per new bead (not when a migration carries the events
    over itself)."""
    try:
        with store.conn.write() as db:
            seq = store.conn.next_seq()
            touched: set[str] = set()
            total = len(batch.issues)
            for done, (label, number, issue) in enumerate(batch.issues, 1):
                if progress is not None:
                    progress.step("Importing issues", done, total)
                _upsert_issue(store, db, issue, seq, report, touched, label, number,
                              audit=audit)
            for iid, lab in batch.labels:
                if db.execute("SELECT 1 FROM issues WHERE id = ?", (iid,)).fetchone():
                    if db.execute("INSERT OR IGNORE INTO labels(issue_id, label) VALUES (?, ?)",
                                  (iid, lab)).rowcount:
                        touched.add(iid)
            for dep in batch.deps:
                _insert_dep(store, db, dep, report, touched)
            for com in batch.comments:
                _insert_comment(db, com, touched)
            for ev in batch.events:
                _insert_event(db, ev)
            for iid in touched:
                db.execute("UPDATE issues SET change_seq = ? WHERE id = ?", (seq, iid))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except sqlite3.Error as exc:
        raise translate(exc, store.path) from exc


class _DryRun(Exception):
    """Raised inside the transaction so a dry run rolls everything back."""


def _upsert_issue(store: BeadStore, db: sqlite3.Connection, issue: dict[str, Any], seq: int,
                  report: ImportReport, touched: set[str], label: str, number: int,
                  *, audit: bool = True) -> None:
    row = db.execute("SELECT * FROM issues WHERE id = ?", (issue["id"],)).fetchone()
    if row is None:
        store._write_issue(db, issue, seq, insert=True)
        if audit:
            store._event(db, issue["id"], "created", new=issue["title"], actor="import")
        report.created.append(issue["id"])
        touched.add(issue["id"])
        return
    local = row_to_issue(row)
    local_updated = normalize_time(local["updated_at"]) or ""
    if issue["updated_at"] < local_updated:
        report.stale_skipped.append(issue["id"])
        return
    merged = {**{k: v for k, v in local.items() if k not in ("labels",)}, **issue}
    for key in TIME_FIELDS:
        if merged.get(key):
            merged[key] = normalize_time(merged[key], field=key)
    if _same(local, merged):
        report.unchanged.append(issue["id"])
        return
    store._write_issue(db, merged, seq, insert=False)
    report.updated.append(issue["id"])
    touched.add(issue["id"])


def _same(local: dict[str, Any], merged: dict[str, Any]) -> bool:
    def norm(d: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in d.items():
            if k == "labels" or v in (None, "", False, [], {}):
                continue
            out[k] = normalize_time(v) if k in TIME_FIELDS and isinstance(v, str) else v
        return out
    return norm(local) == norm(merged)


def _insert_dep(store: BeadStore, db: sqlite3.Connection, dep: dict[str, Any],
                report: ImportReport, touched: set[str]) -> None:
    iid = dep.get("issue_id")
    target = (dep.get("depends_on_id") or dep.get("depends_on_issue_id")
              or dep.get("depends_on_wisp_id") or dep.get("depends_on_external"))
    dtype = dep.get("type") or "blocks"
    if not isinstance(iid, str) or not isinstance(target, str) or not isinstance(dtype, str):
        report.skipped_dependencies.append(f"{iid} -> {target}: malformed")
        return
    if not db.execute("SELECT 1 FROM issues WHERE id = ?", (iid,)).fetchone():
        report.skipped_dependencies.append(f"{iid} -> {target}: {iid} does not exist")
        return
    if not target.startswith("external:") and not db.execute(
            "SELECT 1 FROM issues WHERE id = ?", (target,)).fetchone():
        report.dangling_dependencies.append(f"{iid} -> {target}")
    if dtype in ("blocks", "conditional-blocks") and iid != target:
        # as `bd dep add` refuses it: a blocking cycle would block both beads forever
        path = store._blocking_path(db, target, iid)
        if path:
            report.skipped_dependencies.append(
                f"{iid} -> {target}: would make a blocking cycle ({' -> '.join([iid, *path])})")
            return
    elif iid == target:
        report.skipped_dependencies.append(f"{iid} -> {target}: a bead cannot depend on itself")
        return
    created = normalize_time(dep.get("created_at")) if dep.get("created_at") else now_iso()
    cur = db.execute(
        "INSERT OR IGNORE INTO dependencies(issue_id, depends_on_id, type, created_at, created_by, "
        "metadata, thread_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (iid, target, dtype[:50], created, str(dep.get("created_by") or ""),
         metadata_text(dep.get("metadata")), str(dep.get("thread_id") or "")))
    if cur.rowcount:
        touched.add(iid)


def _insert_comment(db: sqlite3.Connection, com: dict[str, Any], touched: set[str]) -> None:
    iid = com.get("issue_id")
    text = com.get("text")
    if not isinstance(text, str) or not db.execute("SELECT 1 FROM issues WHERE id = ?",
                                                   (iid,)).fetchone():
        return
    cid = str(com.get("id") if com.get("id") is not None else f"{iid}:{com.get('created_at')}")
    cur = db.execute(
        "INSERT OR IGNORE INTO comments(id, issue_id, author, text, created_at) VALUES (?,?,?,?,?)",
        (cid, iid, str(com.get("author") or ""), text,
         normalize_time(com.get("created_at")) or now_iso()))
    if cur.rowcount:
        touched.add(str(iid))


def _insert_event(db: sqlite3.Connection, ev: dict[str, Any]) -> None:
    created = ev.get("created_at")
    try:
        created = normalize_time(created) or now_iso()
    except ValidationError:
        created = now_iso()
    exists = db.execute(
        "SELECT 1 FROM events WHERE issue_id = ? AND event_type = ? AND created_at = ? "
        "AND coalesce(new_value, '') = ?",
        (ev["issue_id"], str(ev.get("event_type") or "updated"), created,
         str(ev.get("new_value") or ""))).fetchone()
    if exists:
        return
    db.execute(
        "INSERT INTO events (issue_id, event_type, actor, old_value, new_value, comment, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (ev["issue_id"], str(ev.get("event_type") or "updated"), str(ev.get("actor") or ""),
         _text(ev.get("old_value")), _text(ev.get("new_value")), _text(ev.get("comment")),
         created))


def _text(value: Any) -> str | None:
    """A TEXT column's value from any JSON value (SQLite cannot bind a list, a dict or an
    integer beyond 64 bits)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
