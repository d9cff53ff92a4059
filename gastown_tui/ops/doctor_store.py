"""`gt doctor`'s check of a SQLite store: damage, lost writes and a full disk, each told apart
(a PostgreSQL store is the server's to keep whole: doctor.py checks it is there and reachable).

- A full disk is not damage: it is said first, and the store is read in the mode a full disk
  allows (connection.py) before anything is judged.
- The WAL is read frame by frame (town/store/wal.py): a frame that fails its checksum means
  SQLite silently replays only the commits before it, and `integrity_check` cannot see that.
- What may be lost is named: beads the last backup (.beads/backup) or the event log has and the
  store does not, with when they were made.
- `--fix` does only what adds and never destroys: a damaged WAL is copied aside before it is
  checkpointed, and beads the store lost come back from the backup (a newer record is never
  overwritten). A store that fails SQLite's own check is left alone: `bd backup restore` sets it
  aside and rebuilds it from the backup, when you say so.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from gastown_tui.ops.doctor_findings import DoctorContext, Finding
from gastown_tui.town.diskspace import describe_free, disk_full
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import read_events
from gastown_tui.town.names import bead_prefix, is_bead_id
from gastown_tui.town.store import BeadStore
from gastown_tui.town.store.backup import backup_dir, backup_ids, read_state
from gastown_tui.town.store.wal import checkpoint, inspect_wal, wal_path

ID_KEYS = ("bead", "mr", "id", "issue", "convoy", "escalation", "molecule", "hook")
EVENTS_SCANNED = 20000
SHOWN = 5


def check_sqlite_store(ctx: DoctorContext, f: Finding) -> None:
    db = ctx.town.db_path
    if not db.exists():
        ctx.store_broken = f"no bead store at {db}"
        f.errors.append(f"{ctx.store_broken} (run 'gt install' to create it)")
        return
    full = disk_full(db)
    if full:
        f.errors.append(f"the disk holding {db.parent} is full ({describe_free(db)}): writes "
                        "fail until space is freed; this is not damage to the store")
    wal = inspect_wal(db)
    if wal.damaged:
        f.errors.append(wal.describe())
    elif wal.size:
        f.notes.append(wal.describe() + " (checkpointed at gt down and by the Deacon)")
    for note in wal.notes:
        f.notes.append(f"{wal_path(db).name}: {note}")
    try:
        store = BeadStore(db, actor="doctor", full_disk_reads=True)
    except GasTownError as exc:
        ctx.store_broken = "the bead store cannot be opened"
        f.errors.append(str(exc.problem))
        _advise_restore(f, db)
        return
    try:
        problems = store.integrity_check()
    except GasTownError as exc:
        problems = [str(exc.problem)]
    if problems:
        ctx.store_broken = "the bead store failed its integrity check"
        f.errors.extend(problems)
        _advise_restore(f, db)
        store.close_connection()
        return
    f.notes.append(f"{db.name}: integrity ok")
    try:
        lost = _lost_beads(ctx, store)
        if wal.damaged and ctx.fix and not full:
            _fix_wal(f, db)
        if lost:
            _report_lost(ctx, f, store, lost)
    finally:
        store.close_connection()
    if full and ctx.fix:
        ctx.store_broken = "the disk is full"  # no repair writes to a store that cannot grow
    _note_backup(f, db)


def _advise_restore(f: Finding, db: Path) -> None:
    state = read_state(backup_dir(db))
    if state is not None:
        f.notes.append(f"'bd backup restore' sets the store aside and rebuilds it from the "
                       f"backup of {state.timestamp} ({state.counts.get('issues', 0)} beads); "
                       "doctor writes nothing to a damaged store")
    else:
        f.notes.append("there is no backup in .beads/backup: restore from a 'bd export' "
                       "with 'bd import'; doctor writes nothing to a damaged store")


def _lost_beads(ctx: DoctorContext, store: BeadStore) -> dict[str, str]:
    """Bead id -> where it is known from and when, for beads the store does not have."""
    known: dict[str, str] = {}
    state = read_state(backup_dir(store.path))
    for bead_id, created in backup_ids(backup_dir(store.path)).items():
        known[bead_id] = f"in the backup of {state.timestamp if state else '?'}, made {created}"
    try:
        prefixes = set(ctx.town.prefixes())
    except GasTownError:
        prefixes = {"hq"}
    for event in read_events(ctx.town.root, limit=EVENTS_SCANNED):
        payload = event.get("payload")
        if not isinstance(payload, dict):
            continue
        for key in ID_KEYS:
            value = payload.get(key)
            if (isinstance(value, str) and is_bead_id(value) and value not in known
                    and bead_prefix(value) in prefixes):
                known[value] = f"named by the event log ({event.get('type')}, {event.get('ts')})"
    if not known:
        return {}
    present: set[str] = set()
    ids = sorted(known)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = store.conn.read(f"SELECT id FROM issues WHERE id IN ({','.join('?' * len(chunk))})",
                               chunk)
        present.update(r[0] for r in rows)
    return {bead_id: why for bead_id, why in known.items() if bead_id not in present}


def _report_lost(ctx: DoctorContext, f: Finding, store: BeadStore, lost: dict[str, str]) -> None:
    listed = sorted(lost.items())
    shown = "; ".join(f"{bead_id} ({why})" for bead_id, why in listed[:SHOWN])
    more = f"; and {len(listed) - SHOWN} more" if len(listed) > SHOWN else ""
    in_backup = set(backup_ids(backup_dir(store.path)))
    recoverable = [b for b in lost if b in in_backup]
    what = f"the store lacks {len(lost)} bead(s) it once had: {shown}{more}"
    if not ctx.fix or not recoverable:
        f.errors.append(what)
        if recoverable:
            f.notes.append(f"{len(recoverable)} of them are in the backup: 'gt doctor --fix' "
                           "(or 'bd backup restore') brings them back")
        return
    from gastown_tui.town.store.backup import restore

    result = restore(store.path, actor="doctor")
    report = result.report
    back = [b for b in recoverable if b in set(report.created)]
    f.fixed.append(f"brought back {len(back)} lost bead(s) from the backup "
                   f"({', '.join(sorted(back)[:SHOWN])}{'…' if len(back) > SHOWN else ''})")
    still = sorted(set(lost) - set(back))
    if still:
        f.errors.append(f"{len(still)} lost bead(s) are in no backup: "
                        + ", ".join(f"{b} ({lost[b]})" for b in still[:SHOWN]))


def _fix_wal(f: Finding, db: Path) -> None:
    """Keep the damaged WAL for forensics, then checkpoint what replays and empty the log."""
    aside = Path(f"{wal_path(db)}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        shutil.copy2(wal_path(db), aside)
    except OSError as exc:
        f.errors.append(f"could not copy the damaged WAL aside ({exc}); it was left as it is")
        return
    done, frames = checkpoint(db)
    if done:
        f.fixed.append(f"copied the damaged WAL to {aside.name} and checkpointed the "
                       f"{frames} frame(s) that replay")
    else:
        f.warnings.append(f"copied the damaged WAL to {aside.name}; the checkpoint waited on "
                          "another process (retry when the town is quiet)")


def _note_backup(f: Finding, db: Path) -> None:
    state = read_state(backup_dir(db))
    if state is None:
        f.notes.append("no backup in .beads/backup yet (taken at gt down, gt shutdown, by the "
                       "Deacon, or now with 'bd backup')")
    else:
        f.notes.append(f"backup of {state.timestamp}: {state.counts.get('issues', 0)} beads")
