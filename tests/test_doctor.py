"""`gt doctor`: each fault made for real, found, and repaired by --fix (then a clean bill)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pygit2
import pytest
from reliability_helpers import wait_for

from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.ops.doctor import DoctorReport, doctor
from gastown_tui.ops.mr import create_mr
from gastown_tui.ops.worktrees import create_polecat_worktree
from gastown_tui.town.events import log_event, read_events
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore


@pytest.fixture
def t(rig_town: Path, tmux_socket: str, monkeypatch) -> Town:
    """A town with rig gastown (prefix gt) whose tmux calls go to a private server, and whose
    agents run the sim runtime (installed with the package: its runtime check is clean)."""
    settings = rig_town / "settings" / "config.json"
    settings.write_text(json.dumps({**json.loads(settings.read_text()), "default_agent": "sim"}))
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    for var in ("GT_ROLE", "BD_ACTOR", "GT_RIG"):
        monkeypatch.delenv(var, raising=False)
    return Town(rig_town)


@pytest.fixture
def store(t: Town):
    s = BeadStore(t.db_path, actor="tester")
    yield s
    s.close_connection()


def run(town: Town, fix: bool = False) -> dict[str, tuple[str, tuple[str, ...]]]:
    report = doctor(town, fix=fix, grace=0)
    return {c.name: (c.status, c.details) for c in report.checks}


def status(report: dict, name: str) -> str:
    return report[name][0]


def details(report: dict, name: str) -> str:
    return "\n".join(report[name][1])


def all_clean(town: Town) -> None:
    report = doctor(town, grace=0)
    bad = {c.name: c.details for c in report.checks if c.status not in ("ok",)}
    assert bad == {} and report.ok


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def polecat_worktree(t: Town, name: str, bead: str = "gt-x1") -> Path:
    rig = t.rig("gastown")
    (rig.polecats_dir / name).mkdir(parents=True, exist_ok=True)
    path, _ = create_polecat_worktree(rig, name, bead)
    return path


def test_a_fresh_town_is_healthy(t: Town):
    all_clean(t)


def test_stale_json_lock_with_a_dead_pid_is_removed(t: Town):
    stale = t.beads_dir / ".exclusive-lock"
    stale.write_text(json.dumps({"holder": "bd", "pid": dead_pid(),
                                 "hostname": socket.gethostname(), "started_at": "x"}))
    live = t.runtime_dir / "locks" / "witness.lock"
    live.write_text(json.dumps({"holder": "me", "pid": os.getpid()}))
    elsewhere = t.runtime_dir / "locks" / "remote.lock"
    elsewhere.write_text(json.dumps({"holder": "them", "pid": dead_pid(), "hostname": "far"}))
    report = run(t)
    assert status(report, "locks") == "error"
    assert ".beads/.exclusive-lock: stale lock of bd" in details(report, "locks")
    assert "witness.lock" not in details(report, "locks")
    assert "held on far" in details(report, "locks")
    fixed = run(t, fix=True)
    assert status(fixed, "locks") == "fixed" and not stale.exists()
    assert live.exists() and elsewhere.exists()


def test_old_flock_files_are_only_mentioned(t: Town):
    import fcntl

    folder = t.runtime_dir / "locks" / "sling"
    folder.mkdir(parents=True)
    old, held = folder / "gt-a1.flock", folder / "gt-b2.flock"
    for path in (old, held):
        path.touch()
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    with open(held, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        report = run(t)
        assert status(report, "locks") == "ok"
        assert "1 lock file(s) older than 60 min" in details(report, "locks")
        run(t, fix=True)
    assert old.exists() and held.exists()  # never removed: a flock cannot be stale


def test_orphaned_polecat_session_is_killed(t: Town):
    from gastown_tui.ops.sessions import tmux_for

    tmux = tmux_for(t)
    polecat_worktree(t, "nux")
    for session in ("gt-ghost", "gt-nux", "gt-witness", "hq-mayor", "gt-crew-joe", "other"):
        tmux.new_session(session, t.root, ["sleep", "600"])
    report = run(t)
    assert status(report, "sessions") == "error"
    assert details(report, "sessions") == (
        "error: session gt-ghost: polecat gastown/ghost has no directory")
    fixed = run(t, fix=True)
    assert status(fixed, "sessions") == "fixed"
    wait_for(lambda: not tmux.has_session("gt-ghost"), what="the orphan to die")
    assert {s.name for s in tmux.list_sessions()} == {
        "gt-nux", "gt-witness", "hq-mayor", "gt-crew-joe", "other"}
    assert [e for e in read_events(t.root) if e["type"] == "kill"][-1]["payload"]["session"] \
        == "gt-ghost"


def test_worktree_without_agent_bead_gets_one(t: Town, store: BeadStore):
    path = polecat_worktree(t, "nux")
    branch = pygit2.Repository(str(path)).head.shorthand
    report = run(t)
    assert status(report, "polecats") == "error"
    assert "has no agent bead gt-gastown-polecat-nux" in details(report, "polecats")
    assert status(run(t, fix=True), "polecats") == "fixed"
    fields = parse_fields(store.get("gt-gastown-polecat-nux")["description"])
    assert fields["agent_state"] == "idle" and fields["branch"] == branch
    assert "gt:agent" in store.get("gt-gastown-polecat-nux")["labels"]
    # an agent bead marked nuked while its worktree is there is brought back
    store.update("gt-gastown-polecat-nux", description_fields={"agent_state": "nuked"})
    assert "says nuked" in details(run(t), "polecats")
    run(t, fix=True)
    assert parse_fields(store.get("gt-gastown-polecat-nux")["description"])["agent_state"] \
        == "idle"
    all_clean(t)


def test_empty_polecat_directory_releases_its_name(t: Town):
    ghost = t.rig("gastown").polecats_dir / "ghost"
    ghost.mkdir(parents=True)
    assert "an empty polecat directory" in details(run(t), "polecats")
    assert status(run(t, fix=True), "polecats") == "fixed" and not ghost.exists()
    # younger than the grace period: a sling may be creating it right now
    ghost.mkdir()
    assert status({c.name: (c.status, c.details) for c in doctor(t, fix=True).checks},
                  "polecats") == "ok"
    assert ghost.exists()


def test_agent_without_worktree_is_marked_nuked_and_its_work_released(t: Town,
                                                                        store: BeadStore):
    addr = Address("polecat", "gastown", "toast")
    ensure_agent_bead(store, addr, "gt", state="working")
    work = store.create("hooked work", prefix="gt", status="hooked", assignee=str(addr))
    submitted = store.create("submitted work", prefix="gt", status="in_progress",
                             assignee=str(addr))
    mr, _ = create_mr(store, t.rig("gastown"), branch="main", target="main",
                      source_issue=submitted["id"], worker="toast", commit_sha="0" * 40,
                      agent_bead=addr.agent_bead_id("gt"))
    store.update(submitted["id"], description_fields={"merge_request": mr.id})
    report = run(t)
    assert status(report, "agents") == "error"
    assert "gt-gastown-polecat-toast says working" in details(report, "agents")
    fixed = run(t, fix=True)
    assert status(fixed, "agents") == "fixed" and work["id"] in details(fixed, "agents")
    fields = parse_fields(store.get(addr.agent_bead_id("gt"))["description"])
    assert fields["agent_state"] == "nuked" and fields["hook_bead"] == ""
    assert (store.get(work["id"])["status"], store.get(work["id"]).get("assignee")) == (
        "open", None)
    assert store.get(submitted["id"])["status"] == "in_progress"  # waits for its MR
    assert status(run(t), "agents") == "ok"


def test_mr_whose_branch_vanished_is_closed(t: Town, store: BeadStore):
    rig = t.rig("gastown")
    gone, _ = create_mr(store, rig, branch="polecat/toast/gt-x@1", target="main",
                        source_issue="gt-x", worker="toast", commit_sha="1" * 40,
                        agent_bead="gt-gastown-polecat-toast")
    there, _ = create_mr(store, rig, branch="main", target="main", source_issue="gt-y",
                         worker="nux", commit_sha="2" * 40, agent_bead="gt-gastown-polecat-nux")
    busy, _ = create_mr(store, rig, branch="polecat/nux/gt-z@2", target="main",
                        source_issue="gt-z", worker="nux", commit_sha="3" * 40,
                        agent_bead="gt-gastown-polecat-nux")
    store.update(busy.id, changes={"status": "in_progress", "assignee": "gastown/refinery"})
    report = run(t)
    assert status(report, "merge-requests") == "error"
    assert details(report, "merge-requests") == (
        f"error: {gone.id}: branch polecat/toast/gt-x@1 no longer exists")
    assert status(run(t, fix=True), "merge-requests") == "fixed"
    closed = store.get(gone.id)
    assert (closed["status"], closed["close_reason"]) == ("closed", "Branch no longer exists")
    assert store.get(there.id)["status"] == "open"
    assert store.get(busy.id)["status"] == "in_progress"  # the refinery's recovery owns it


def test_stale_loop_heartbeat_is_reported(t: Town):
    beats = t.runtime_dir / "heartbeats"
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    (beats / "gt-witness.json").write_text(json.dumps({"ts": old, "state": "patrolling"}))
    (beats / "gt-refinery.json").write_text(json.dumps({"ts": old, "state": "stopped"}))
    (beats / "gt-toast.json").write_text(json.dumps({"ts": old, "state": "started"}))
    (beats / "hq-deacon.json").write_text("{torn")
    report = doctor(t, grace=0)
    checks = {c.name: c for c in report.checks}
    assert checks["heartbeats"].status == "warn" and report.ok  # reported, not an error
    text = "\n".join(checks["heartbeats"].details)
    assert "gt-witness: last heartbeat 60 min ago (state patrolling, no session)" in text
    assert "hq-deacon.json: unreadable heartbeat" in text
    assert "gt-refinery" not in text
    assert "1 heartbeat file(s) of agents whose session is gone" in text


def test_registered_worktrees_whose_directory_is_gone_are_pruned(t: Town, store: BeadStore):
    rig = t.rig("gastown")
    polecat_worktree(t, "nux")
    shutil.rmtree(rig.polecats_dir / "nux")
    shutil.rmtree(rig.refinery_worktree)
    report = run(t)
    assert status(report, "git-worktrees") == "error"
    text = details(report, "git-worktrees")
    assert "worktree nux is registered" in text and "worktree refinery is registered" in text
    assert status(run(t, fix=True), "git-worktrees") == "fixed"
    repo = pygit2.Repository(str(rig.bare_repo))
    assert repo.list_worktrees() == ["refinery"]
    assert (rig.refinery_worktree / "README.md").read_text() == "hello\n"
    assert pygit2.Repository(str(rig.refinery_worktree)).head.shorthand == "main"
    all_clean(t)


def test_a_damaged_store_is_an_error_and_nothing_is_written_to_it(t: Town):
    polecat_worktree(t, "nux")  # would get an agent bead, were the store sound
    db = sqlite3.connect(t.db_path)
    db.execute("UPDATE issues SET status = 'closed', closed_at = NULL WHERE id = 'hq-mayor'")
    db.commit()
    db.close()
    report = doctor(t, fix=True, grace=0)
    checks = {c.name: c for c in report.checks}
    assert not report.ok and checks["store"].status == "error"
    assert "hq-mayor: closed_at does not match status closed" in checks["store"].details[0]
    assert checks["polecats"].status == "warn" and "skipped" in checks["polecats"].details[0]
    s = BeadStore(t.db_path)
    assert not s.exists("gt-gastown-polecat-nux")
    s.close_connection()


def test_a_corrupt_store_file_is_an_error(t: Town, store: BeadStore):
    for i in range(300):
        store.create(f"filler {i}", prefix="gt", description="x" * 500)
    store.close_connection()
    db = sqlite3.connect(t.db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with open(t.db_path, "r+b") as fh:
        fh.seek(4096 * 3)
        fh.write(b"\xde\xad\xbe\xef" * 2048)
    report = doctor(t, grace=0)
    checks = {c.name: c for c in report.checks}
    assert checks["store"].status == "error" and not report.ok


def test_unparseable_event_lines_are_moved_aside(t: Town):
    log_event(t.root, "good", payload={"n": 1})
    with open(t.events_path, "ab") as fh:
        fh.write(b'{"torn": \n\xff\xfe not utf-8\n[1, 2]\n')
    log_event(t.root, "good", payload={"n": 2})
    with open(t.events_path, "ab") as fh:
        fh.write(b'{"ts": "unterminated')  # a writer killed mid-line
    lines = t.events_path.read_bytes().split(b"\n")
    report = run(t)
    text = details(report, "events")
    assert status(report, "events") == "error"
    for n in (len(lines) - 4, len(lines) - 3, len(lines) - 2, len(lines)):
        assert f".events.jsonl line {n}:" in text, text
    assert status(run(t, fix=True), "events") == "fixed"
    events = list(read_events(t.root))
    assert [e["payload"].get("n") for e in events if e["type"] == "good"] == [1, 2]
    assert all(e["type"] != "corrupt" for e in events)
    moved = (t.root / ".events.corrupt.jsonl").read_bytes().split(b"\n")
    assert moved[:4] == [b'{"torn": ', b"\xff\xfe not utf-8", b"[1, 2]", b'{"ts": "unterminated']
    log_event(t.root, "after", payload={})  # the log takes new lines as before
    assert list(read_events(t.root))[-1]["type"] == "after"
    assert status(run(t), "events") == "ok"


def test_moving_bad_lines_aside_never_loses_a_concurrent_event(t: Town):
    from gastown_tui.town.events import quarantine_bad_lines

    writers, per_writer = 4, 150
    stop = threading.Event()

    def write(w: int) -> None:
        for n in range(per_writer):
            log_event(t.root, "w", actor=f"w{w}", payload={"n": n})

    def vandal() -> None:
        while not stop.is_set():
            with open(t.events_path, "ab") as fh:
                fh.write(b"garbage\n")
            quarantine_bad_lines(t.root)
            time.sleep(0.002)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    repair = threading.Thread(target=vandal)
    repair.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stop.set()
    repair.join()
    quarantine_bad_lines(t.root)
    got = sorted((e["actor"], e["payload"]["n"]) for e in read_events(t.root) if e["type"] == "w")
    assert got == sorted((f"w{w}", n) for w in range(writers) for n in range(per_writer))


def test_cli_exit_codes_and_json(t: Town, clean_env, tmux_socket: str):
    env = {**clean_env, "GT_TMUX_SOCKET": tmux_socket}

    def gt_doctor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gastown_tui.cli.gt_doctor", *args],
                              cwd=t.root, env=env, capture_output=True, text=True, timeout=60)

    clean = gt_doctor("--json")
    assert clean.returncode == 0, clean.stderr
    data = json.loads(clean.stdout)
    assert data["ok"] is True and {c["status"] for c in data["checks"]} == {"ok"}
    assert [c["name"] for c in data["checks"]] == [
        "config", "store", "sessions", "git-worktrees", "worktree-links", "polecats", "agents",
        "merge-requests", "locks", "events", "heartbeats", "runtimes"]
    with open(t.events_path, "ab") as fh:
        fh.write(b"not json\n")
    broken = gt_doctor("--grace", "0")
    assert broken.returncode == 1
    assert "✗ events: error" in broken.stdout and "gt doctor --fix" in broken.stdout
    fixed = gt_doctor("--fix", "--json", "--grace", "0")
    assert fixed.returncode == 0
    assert {c["name"]: c["status"] for c in json.loads(fixed.stdout)["checks"]}["events"] \
        == "fixed"
    assert gt_doctor().returncode == 0


def test_every_fault_at_once_then_a_clean_bill(t: Town, store: BeadStore):
    from gastown_tui.ops.sessions import tmux_for

    rig = t.rig("gastown")
    tmux_for(t).new_session("gt-ghost", t.root, ["sleep", "600"])
    polecat_worktree(t, "nux")
    polecat_worktree(t, "slit")
    shutil.rmtree(rig.polecats_dir / "slit")
    ensure_agent_bead(store, Address("polecat", "gastown", "toast"), "gt", state="idle")
    create_mr(store, rig, branch="polecat/toast/gone@1", target="main", source_issue="gt-q",
              worker="toast", commit_sha="4" * 40, agent_bead="gt-gastown-polecat-toast")
    (t.beads_dir / ".exclusive-lock").write_text(json.dumps({"pid": dead_pid()}))
    with open(t.events_path, "ab") as fh:
        fh.write(b"\x00\x00\n")
    report: DoctorReport = doctor(t, fix=True, grace=0)
    statuses = {c.name: c.status for c in report.checks}
    assert report.ok and statuses == {
        "config": "ok", "worktree-links": "ok",
        "store": "ok", "sessions": "fixed", "git-worktrees": "fixed", "polecats": "fixed",
        "agents": "fixed", "merge-requests": "fixed", "locks": "fixed", "events": "fixed",
        "heartbeats": "ok", "runtimes": "ok"}, report.as_json()
    wait_for(lambda: not tmux_for(t).has_session("gt-ghost"), what="the orphan to die")
    all_clean(t)


def test_a_pane_whose_program_exited_is_named_with_its_last_words(t: Town):
    from gastown_tui.ops.sessions import tmux_for
    from tests.waiting import wait_for as wait

    tmux = tmux_for(t)
    tmux.new_session("gt-ghost", t.root, ["sh", "-c", "echo 'claude: command not found'; exit 127"])
    wait(lambda: any(s.pane_dead for s in tmux.list_sessions() if s.name == "gt-ghost"),
         what="the pane to die")
    # tmux can mark the pane dead before it has read the program's last output from the pty
    wait(lambda: "command not found" in "\n".join(tmux.capture("gt-ghost", lines=200)),
         what="its last words")
    report = run(t)
    assert status(report, "runtimes") == "warn"
    assert "gt-ghost: its program exited (claude: command not found)" in details(report, "runtimes")
