"""`gt doctor [--fix]`: find, and with --fix repair, what crashes and kills leave behind.

Each check returns a name, a status (ok | warn | error | fixed) and detail lines. A check only
judges what is older than `grace` seconds (work in flight looks like damage for a moment), and a
repair never deletes work: sessions without a polecat are killed, registrations without a
directory pruned, bad event lines moved aside, agent beads created or marked nuked, MRs whose
branch is gone closed. The store and file checks live here; the agent, session, MR and git
checks in `doctor_agents.py`."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from gastown_tui.ops import doctor_agents as agents
from gastown_tui.ops import doctor_files as files
from gastown_tui.ops.doctor_findings import (
    LOOP_SESSIONS,
    DoctorContext,
    DoctorReport,
    Finding,
    _rigs,
)
from gastown_tui.ops.doctor_runtimes import check_runtimes
from gastown_tui.ops.doctor_store import check_sqlite_store
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import bad_lines, quarantine_bad_lines
from gastown_tui.town.layout import Town
from gastown_tui.town.locks import pid_alive
from gastown_tui.town.progress import Progress

Check = Callable[[DoctorContext, Finding], None]


def doctor(town: Town, *, fix: bool = False, grace: float = 60.0, lock_age_minutes: float = 60.0,
           heartbeat_stale_minutes: float = 10.0,
           progress: Progress | None = None) -> DoctorReport:

    ctx = DoctorContext(town, fix, grace, lock_age_minutes * 60, heartbeat_stale_minutes * 60)
    # Order matters with --fix: the town's own files first (every other check reads them),
    # orphaned sessions before the agents they belonged to are judged, and nothing writes to a
    # store that failed its integrity check.
    checks: list[tuple[str, Check]] = [
        ("config", files.check_config),
        ("store", check_store), ("sessions", agents.check_sessions),
        ("git-worktrees", agents.check_git_worktrees),
        ("worktree-links", files.check_worktree_links), ("polecats", agents.check_polecat_dirs),
        ("agents", agents.check_agent_beads), ("merge-requests", agents.check_merge_requests),
        ("locks", check_locks), ("events", check_events), ("heartbeats", check_heartbeats),
        ("runtimes", check_runtimes),
    ]
    results = []
    try:
        for number, (name, check) in enumerate(checks, 1):
            if progress is not None:
                progress.step("Checking the town", number, len(checks), detail=name)
            finding = Finding(name)
            try:
                check(ctx, finding)
            except GasTownError as exc:
                if exc.problem.startswith("skipped:"):
                    finding.warnings.append(exc.problem)
                else:
                    finding.errors.append(f"the check itself failed: {exc}")
            except Exception as exc:  # one broken check must not hide the others
                finding.errors.append(f"the check itself failed: {type(exc).__name__}: {exc}")
            results.append(finding.result())
    finally:
        ctx.close()
    return DoctorReport(tuple(results), fix)


# ---------------------------------------------------------------------------- store
def check_store(ctx: DoctorContext, f: Finding) -> None:
    from gastown_tui.ops import store_admin
    from gastown_tui.town.store.backend import display, is_pg

    location = ctx.town.store_location
    if not is_pg(location):
        check_sqlite_store(ctx, f)  # its WAL, its backup, a full disk (doctor_store.py)
        return
    if store_admin.has_cluster(ctx.town):
        pg = store_admin.cluster_of(ctx.town)
        if not pg.running():
            if ctx.fix:
                try:
                    pg.start()
                    f.fixed.append(f"started the town's PostgreSQL ({pg.data})")
                except GasTownError as exc:
                    f.errors.append(f"the town's PostgreSQL did not start: {exc}")
            else:
                f.errors.append(f"the town's PostgreSQL ({pg.data}) is not running "
                                "(gt up or gt doctor --fix starts it)")
        else:
            f.notes.append(f"the town's PostgreSQL runs (pid {pg.pid()}, socket "
                           f"{pg.socket_dir})")
    try:
        problems = ctx.store().integrity_check()
    except GasTownError as exc:
        problems = [str(exc)]
    if problems:
        ctx.store_broken = "the bead store failed its integrity check" if not is_pg(location) \
            else "the bead store cannot be read"
        f.errors.extend(problems)
        f.notes.append("restore it with 'bd import' from an export or backup; "
                       "doctor writes nothing to a damaged store")
    elif is_pg(location):
        f.notes.append(f"{display(location)}: reachable, tables present")
    else:
        f.notes.append(f"{ctx.town.db_path.name}: integrity ok")


# ---------------------------------------------------------------------------- event log
def check_events(ctx: DoctorContext, f: Finding) -> None:
    path = ctx.town.events_path
    try:
        bad = bad_lines(path.read_bytes())
    except FileNotFoundError:
        f.warnings.append(f"{path.name} is missing (it is created at the next event)")
        return
    if not bad:
        return
    if ctx.fix:
        moved = quarantine_bad_lines(ctx.town.root)
        f.fixed.append(f"moved {len(moved)} unreadable line(s) of {path.name} to "
                       f".events.corrupt.jsonl: "
                       + ", ".join(f"line {n} ({why})" for n, why in moved[:10]))
    else:
        f.errors.extend(f"{path.name} line {n}: {why}" for n, why in bad)


# ---------------------------------------------------------------------------- locks
def _lock_files(town: Town) -> list[Path]:
    roots = [town.runtime_dir, town.beads_dir] + [rig.path / ".runtime" for rig in _rigs(town)]
    out: list[Path] = []
    for root in roots:
        if root.is_dir():
            out.extend(p for p in root.rglob("*")
                       if p.is_file() and (p.suffix in (".lock", ".flock")
                                           or p.name in (".lock", ".exclusive-lock")))
    return sorted(set(out))


def _held_inodes() -> set[int] | None:
    """Inodes holding a flock/POSIX lock right now (Linux /proc/locks), None when unknown.
    Reading it takes no lock, unlike probing each file, which could make a real `gt sling`
    fail while we hold its lock for a moment."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    held = set()
    for line in text.splitlines():
        parts = line.split()
        for part in parts:
            if part.count(":") == 2:  # major:minor:inode
                try:
                    held.add(int(part.rsplit(":", 1)[1]))
                except ValueError:
                    pass
                break
    return held




def _json_lock(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def check_locks(ctx: DoctorContext, f: Finding) -> None:
    """JSON locks naming a dead pid (bd's `.exclusive-lock` shape) are stale and removed; flock
    files cannot be stale (the kernel drops a flock with its process), so old ones are noted."""
    held = _held_inodes()
    host = socket.gethostname()
    old_unheld = 0
    for path in _lock_files(ctx.town):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        data = _json_lock(path)
        if data is not None:
            where = path.relative_to(ctx.town.root)
            if data.get("hostname") not in (None, "", host):
                f.notes.append(f"{where}: held on {data['hostname']} (pid {data['pid']}); "
                               "not judged from here")
            elif not pid_alive(data["pid"]) and ctx.old_enough(st.st_mtime):
                _stale_json_lock(ctx, f, path, data)
            continue
        if (held is not None and st.st_ino not in held
                and ctx.now - st.st_mtime > ctx.lock_age):
            old_unheld += 1
    if old_unheld:
        f.notes.append(f"{old_unheld} lock file(s) older than {ctx.lock_age / 60:.0f} min and "
                       "held by nobody: harmless (a flock dies with its holder)")


def _stale_json_lock(ctx: DoctorContext, f: Finding, path: Path, data: dict[str, Any]) -> None:
    where = path.relative_to(ctx.town.root)
    what = (f"{where}: stale lock of {data.get('holder') or 'an unknown holder'} "
            f"(pid {data['pid']} is gone)")
    if not ctx.fix:
        f.errors.append(what)
        return
    if _json_lock(path) != data:  # taken over while we looked: not ours to remove
        f.notes.append(f"{where}: changed while checked; left alone")
        return
    path.unlink(missing_ok=True)
    f.fixed.append(f"removed {what}")


# ---------------------------------------------------------------------------- heartbeats
def _age(ts: str, now: float) -> float | None:
    try:
        return now - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except (ValueError, TypeError, AttributeError):
        return None


def check_heartbeats(ctx: DoctorContext, f: Finding) -> None:
    """Loops (deacon, witnesses, refineries) beat while they live: a stale beat of one that did
    not say 'stopped' means it hung or died. Agents beat once at start; theirs are only noted."""
    from gastown_tui.ops.polecats import live_sessions

    folder = ctx.town.runtime_dir / "heartbeats"
    if not folder.is_dir():
        return
    sessions = live_sessions(ctx.town)
    leftovers = 0
    for path in sorted(folder.glob("*.json")):
        session = path.stem
        try:
            beat = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(beat, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            f.warnings.append(f"{path.name}: unreadable heartbeat")
            continue
        age = _age(beat.get("ts", ""), ctx.now)
        state = str(beat.get("state", ""))
        loop = session == "hq-deacon" or session.endswith(LOOP_SESSIONS)
        if age is None:
            f.warnings.append(f"{session}: heartbeat without a valid time")
        elif loop and state != "stopped" and age > ctx.heartbeat_stale:
            alive = "session running" if sessions.get(session) else "no session"
            f.warnings.append(f"{session}: last heartbeat {age / 60:.0f} min ago "
                              f"(state {state or '?'}, {alive}): hung or died")
        elif not loop and session not in sessions:
            leftovers += 1
    if leftovers:
        f.notes.append(f"{leftovers} heartbeat file(s) of agents whose session is gone")
