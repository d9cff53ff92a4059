"""The store's rolling JSONL backup in `.beads/backup/`, and the restore from it.

Upstream bd's JSONL backup (before it went Dolt-native; beads-reference §4.2): one file per
table, each line one row with alphabetically sorted keys (issues.jsonl, labels.jsonl,
dependencies.jsonl, comments.jsonl, events.jsonl, config.jsonl), and backup_state.json with
the time and the counts. Ours has the same files; an issue line is the whole bead (its JSON data
column merged in, as `bd export` shapes it), and the state records the store's change sequence
where upstream records a Dolt commit. `bd import <folder>` reads it, so does `bd backup restore`.

A backup is taken only when the store changed since the last one, and never when the store
holds fewer beads than the backup: beads are never deleted here, so a shrink means the store
lost writes (a damaged WAL replays only up to its first bad frame), and the backup is then the
copy that still has them. Everything takes a SQLite path: it is the SQLite backend's concern.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError, StoreCorruptError
from gastown_tui.town.store.connection import translate
from gastown_tui.town.store.records import row_to_issue

STATE_FILE = "backup_state.json"
TABLES = {
    "issues.jsonl": "SELECT * FROM issues ORDER BY id",
    "labels.jsonl": "SELECT issue_id, label FROM labels ORDER BY issue_id, label",
    "dependencies.jsonl": "SELECT issue_id, depends_on_id, type, created_at, created_by, metadata,"
                          " thread_id FROM dependencies ORDER BY issue_id, depends_on_id",
    "comments.jsonl": "SELECT id, issue_id, author, text, created_at FROM comments ORDER BY id",
    "events.jsonl": "SELECT id, issue_id, event_type, actor, old_value, new_value, comment, "
                    "created_at FROM events ORDER BY created_at, id",
    "config.jsonl": "SELECT key, value FROM meta WHERE key != 'seq' ORDER BY key",
}
COUNT_NAMES = {"issues.jsonl": "issues", "labels.jsonl": "labels",
               "dependencies.jsonl": "dependencies", "comments.jsonl": "comments",
               "events.jsonl": "events", "config.jsonl": "config"}


def backup_dir(db_path: Path) -> Path:
    return Path(db_path).parent / "backup"


class BackupShrinkError(GasTownError):
    """The store holds fewer beads than its last backup: it lost writes; the backup is kept."""

    code = "backup_shrink"


@dataclass
class BackupState:
    timestamp: str = ""
    last_change_seq: int = -1
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "last_change_seq": self.last_change_seq,
                "counts": self.counts}


def read_state(folder: Path) -> BackupState | None:
    try:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    counts = data.get("counts") if isinstance(data.get("counts"), dict) else {}
    return BackupState(str(data.get("timestamp") or ""), int(data.get("last_change_seq", -1)),
                       {str(k): int(v) for k, v in counts.items() if isinstance(v, int)})


def _connect(db_path: Path) -> sqlite3.Connection:
    if not Path(db_path).exists():
        raise StoreCorruptError(f"no bead store at {db_path}", fix="run 'gt install' first")
    db = sqlite3.connect(str(db_path), timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout=30000")
    return db


def _lines(db: sqlite3.Connection, name: str) -> Iterator[str]:
    for row in db.execute(TABLES[name]):
        if name == "issues.jsonl":
            record: dict[str, Any] = row_to_issue(row)
        else:
            record = {key: row[key] for key in row.keys()}
        yield json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def backup_ids(folder: Path) -> dict[str, str]:
    """id -> created_at of every bead in the backup's issues.jsonl ({} when there is none)."""
    out: dict[str, str] = {}
    try:
        with (folder / "issues.jsonl").open("rb") as fh:
            for raw in fh:
                try:
                    obj = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(obj, dict) and isinstance(obj.get("id"), str):
                    out[obj["id"]] = str(obj.get("created_at") or "")
    except OSError:
        pass
    return out


def write_backup(db_path: Path, *, force: bool = False,
                 folder: Path | None = None) -> tuple[BackupState, bool]:
    """Dump every table to `folder` (default .beads/backup) from one read snapshot, each file
    written atomically; (state, written). Nothing is written when nothing changed since the
    last backup (unless `force`); BackupShrinkError when beads the backup has are missing
    from the store (the backup is what still has them, so it is left alone)."""
    folder = folder or backup_dir(db_path)
    previous = read_state(folder)
    db = _connect(db_path)
    try:
        db.execute("BEGIN")  # one snapshot for every table (WAL readers never block writers)
        seq = int(db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])
        if previous is not None and previous.last_change_seq == seq and not force:
            return previous, False
        kept = backup_ids(folder)
        if kept:
            present = {r[0] for r in db.execute("SELECT id FROM issues")}
            missing = sorted(set(kept) - present)
            if missing:
                shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                                  if len(missing) > 5 else "")
                raise BackupShrinkError(
                    f"the store lacks {len(missing)} bead(s) its backup of "
                    f"{previous.timestamp if previous else '?'} has ({shown}): it lost writes",
                    fix="run 'gt doctor'; restore them with 'bd backup restore' (the backup "
                        "was left as it is)")
        counts = {}
        for name in TABLES:
            lines = list(_lines(db, name))
            counts[COUNT_NAMES[name]] = len(lines)
            safe_write.write_text(folder / name, "".join(line + "\n" for line in lines),
                                  within=Path(db_path).parent)
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        raise translate(exc, Path(db_path)) from exc
    finally:
        db.close()
    state = BackupState(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), seq, counts)
    safe_write.write_text(folder / STATE_FILE, json.dumps(state.as_json(), indent=2) + "\n",
                          within=Path(db_path).parent)
    return state, True


def store_is_usable(db_path: Path) -> str:
    """'' when the store opens and passes SQLite's quick check, else why not."""
    try:
        db = _connect(db_path)
    except GasTownError as exc:
        return exc.problem
    try:
        rows = [r[0] for r in db.execute("PRAGMA quick_check")]
        db.execute("SELECT count(*) FROM issues").fetchone()
        return "" if rows == ["ok"] else "; ".join(rows[:3])
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        db.close()


def set_aside(db_path: Path) -> Path:
    """Move a damaged store (and its -wal/-shm) to beads.db.damaged-<time>, for forensics."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = Path(str(db_path) + f".damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(db_path) + suffix)
        if source.exists():
            shutil.move(str(source), str(target) + suffix)
    return target


@dataclass
class RestoreResult:
    source: str
    set_aside: str = ""  # where a damaged store went, when it was replaced
    report: Any = None  # the ImportReport
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "set_aside": self.set_aside, "dry_run": self.dry_run,
                **(self.report.as_json() if self.report is not None else {})}


def restore(db_path: Path, folder: Path | None = None, *, dry_run: bool = False,
            actor: str = "restore") -> RestoreResult:
    """Bring the backup back into the store. A store that still opens and passes SQLite's
    check gets the backup merged in (what it lacks comes back; a newer record is never
    overwritten by an older one); a store that does not is set aside whole (beads.db.damaged-…)
    and a fresh one is filled from the backup."""
    from gastown_tui.town.store.core import BeadStore
    from gastown_tui.town.store.jsonl import import_jsonl

    folder = folder or backup_dir(db_path)
    if not (folder / "issues.jsonl").is_file():
        raise GasTownError(f"no backup in {folder} (no issues.jsonl)",
                           fix="take one with 'bd backup', or pass the backup folder")
    result = RestoreResult(str(folder), dry_run=dry_run)
    why = store_is_usable(db_path) if Path(db_path).exists() else "missing"
    if why and not dry_run:
        if Path(db_path).exists():
            result.set_aside = str(set_aside(db_path))
        BeadStore.create_at(db_path, actor=actor).close_connection()
    elif why:
        raise StoreCorruptError(f"the store cannot be read ({why})",
                                fix="run without --dry-run: it is set aside and rebuilt")
    store = BeadStore(db_path, actor=actor)
    try:
        result.report = import_jsonl(store, folder, dry_run=dry_run)
    finally:
        store.close_connection()
    return result
