"""The PostgreSQL backend's own promises: the change feed is exact under concurrency (on both
backends), NOTIFY at commit, one connection per process closed at exit, the idle-session
timeout, locks and presence that die with their holder, and a one-line error, never a hang,
when the server is down or silent."""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gastown_tui.town.errors import ConflictError, StoreLockedError, StoreUnavailableError
from gastown_tui.town.store import BeadStore
from tests.waiting import wait_for

pg = pytest.mark.postgres

WRITERS = 6
CREATES = 40


def _creator(location: str, worker: int) -> None:
    store = BeadStore(location, actor=f"w{worker}")
    for n in range(CREATES):
        store.create(f"w{worker}-{n}", prefix="gt")
    store.close_connection()


def test_changes_since_n_never_misses_a_commit_under_concurrency(store_location: str):
    """A reader following `changed_since` while six processes create beads sees every one:
    the sequence's order is the commit order (a PostgreSQL SEQUENCE would hand out numbers
    that commit out of order, and a reader past N would miss N-1 for good)."""
    reader = BeadStore.create_at(store_location, actor="reader")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_creator, args=(store_location, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    seen: set[str] = set()
    last = 0
    polls = 0
    while any(p.is_alive() for p in procs) or polls == 0:
        last, changed = reader.changed_since(last)
        seen |= {c["title"] for c in changed}
        polls += 1
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    last, changed = reader.changed_since(last)
    seen |= {c["title"] for c in changed}
    reader.close_connection()
    assert seen >= {f"w{w}-{n}" for w in range(WRITERS) for n in range(CREATES)}
    assert polls > 3  # the reader really ran beside the writers


# ------------------------------------------------------------------------------ PostgreSQL
@pg
def test_a_write_notifies_at_commit_and_a_rollback_does_not(pg_databases):
    from gastown_tui.town.store.pg import Listener

    url = pg_databases.new()
    store = BeadStore.create_at(url, actor="tester")
    listener = Listener(url)
    try:
        assert listener.wait(0) == []
        bead = store.create("pushed", prefix="gt")
        started = time.monotonic()
        got = listener.wait(5.0)
        assert got == [store.current_seq()], got
        assert time.monotonic() - started < 1.0
        with pytest.raises(ConflictError):
            with store.conn.write() as db:
                store.conn.next_seq()
                db.execute("UPDATE issues SET title = 'never' WHERE id = ?", (bead["id"],))
                raise ConflictError("changed my mind")
        assert listener.wait(0.3) == []
        assert store.get(bead["id"])["title"] == "pushed"
    finally:
        listener.close()
        store.close_connection()


def _sessions(url: str, app: str = "gastown") -> int:
    from gastown_tui.town.store.libpq import PgConn

    probe = PgConn(url)
    try:
        return int(probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = $1", [app]).rows[0][0])
    finally:
        probe.close()


@pg
def test_one_connection_per_process_closed_at_exit(pg_databases):
    from gastown_tui.town.store.pg import close_all

    url = pg_databases.new()
    stores = [BeadStore.create_at(url, actor=f"s{i}") for i in range(4)]
    for s in stores:
        s.create("x", prefix="gt")
        s.close_connection()
    assert _sessions(url) == 1  # four stores, one session
    assert stores[0].conn.read("SHOW idle_session_timeout")[0][0] == "15min"
    close_all()
    assert _sessions(url) == 0
    # a process that exits normally leaves no session behind
    code = (f"from gastown_tui.town.store import BeadStore\n"
            f"s = BeadStore({url!r}, actor='child')\ns.create('from a child', prefix='gt')\n"
            "import time; time.sleep(0.2)\n")
    child = subprocess.Popen([sys.executable, "-c", code])
    wait_for(lambda: _sessions(url) == 1 or child.poll() is not None, timeout=20,
             what="the child's session")
    assert child.wait(30) == 0
    wait_for(lambda: _sessions(url) == 0, timeout=10, what="the child's session to end")


@pg
def test_a_held_write_lock_gives_the_locked_error(pg_databases, monkeypatch):
    from gastown_tui.town.store.libpq import PgConn
    from gastown_tui.town.store.pg import close_all

    url = pg_databases.new()
    BeadStore.create_at(url).close_connection()
    close_all()
    monkeypatch.setenv("GT_STORE_BUSY_TIMEOUT_MS", "200")
    holder = PgConn(url)
    holder.execute("BEGIN")
    holder.execute("SELECT value FROM meta WHERE key = 'seq' FOR UPDATE")
    store = BeadStore(url, actor="tester")
    try:
        started = time.monotonic()
        with pytest.raises(StoreLockedError, match="locked by another process"):
            store.create("t", prefix="gt")
        assert time.monotonic() - started < 5
        holder.execute("ROLLBACK")
        assert store.create("t", prefix="gt")["title"] == "t"
    finally:
        holder.close()
        store.close_connection()
        close_all()


def test_a_server_that_is_down_is_one_line_at_once(tmp_path: Path):
    """Nothing listens at the socket: the error names the server and the fix, fast."""
    url = f"postgresql://gastown@/gastown?host={tmp_path}&port=5999"
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        BeadStore(url)
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "\n" not in message and "is not answering" in message and "gt up" in message


def test_a_server_that_never_answers_times_out(monkeypatch):
    """A server that accepts the connection and then says nothing (a hung host) must not
    hang the caller: the connect timeout ends it with the same one-line error."""
    monkeypatch.setenv("GT_STORE_CONNECT_TIMEOUT", "2")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="is not answering"):
            BeadStore(f"postgresql://gastown@127.0.0.1:{port}/gastown")
        assert time.monotonic() - started < 8
    finally:
        silent.close()


HOLDER = """
import sys, time
from pathlib import Path
from gastown_tui.town.layout import Town
from gastown_tui.town.locks import store_lock
from gastown_tui.town.presence import beat
town = Town(Path(sys.argv[1]))
with store_lock(town.root, "presence:gt-refinery", busy="busy", fix="wait"):
    beat(town, "gt-refinery", "idle")
    print("holding", flush=True)
    time.sleep(120)
"""


@pg
def test_locks_and_presence_die_with_their_holder(pg_databases, tmp_path: Path, clean_env):
    """A loop's session lock is its presence: held, it is alive (as any host sees it); killed
    with -9, the server frees the lock at once and the next loop may take it."""
    from gastown_tui.ops.install import install
    from gastown_tui.town.layout import Town
    from gastown_tui.town.locks import store_lock
    from gastown_tui.town.presence import presence

    root = tmp_path / "town"
    install(root, name="t", store=pg_databases.new())
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], env=clean_env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        rows = presence(Town(root))
        assert [(r["session"], r["state"], r["alive"], r["pid"]) for r in rows] == [
            ("gt-refinery", "idle", True, holder.pid)]
        with pytest.raises(ConflictError, match="another host"):
            with store_lock(root, "presence:gt-refinery", busy="the refinery runs", fix="-"):
                pass
        holder.kill()
        holder.wait(10)
        killed = time.monotonic()
        wait_for(lambda: not presence(Town(root))[0]["alive"], timeout=10,
                 what="the killed holder's lock to go")
        freed = time.monotonic() - killed
        with store_lock(root, "presence:gt-refinery", busy="the refinery runs", fix="-"):
            assert presence(Town(root))[0]["alive"]
        assert freed < 5
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)


@pg
def test_a_pg_town_from_the_command_line(pg_databases, tmp_path: Path, clean_env):
    """gt install --store URL joins a server; bd and gt work on it; gt status and gt store
    say where the beads are, without the password."""
    from tests.conftest import Cli

    url = pg_databases.new()
    cli = Cli(tmp_path, clean_env)
    out = cli.json("gt", "install", str(tmp_path / "town"), "--store", url)
    assert out["created"] and out["store"].startswith("postgresql://gastown@")
    town = Cli(tmp_path / "town", clean_env)
    bead = town.json("bd", "create", "on the server", "-p", "1")["id"]
    assert [b["id"] for b in town.json("bd", "list")] == [bead]
    status = town.json("gt", "status")
    assert status["store"]["backend"] == "postgres"
    health = town.json("gt", "store", "status")
    assert health["healthy"] and health["issues"] >= 3  # mayor, deacon, the bead
    again = town.gt("install", ".", "--store", "sqlite", ok=False)
    assert again.returncode == 1 and "gt store migrate" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_bad_store_choices_are_one_line_errors(tmp_path: Path, clean_env):
    from tests.conftest import Cli

    cli = Cli(tmp_path, clean_env)
    bad = cli.gt("install", str(tmp_path / "t"), "--store", "mysql://x", ok=False)
    assert bad.returncode == 1 and "is not a store" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "t").exists()
    port = cli.gt("install", str(tmp_path / "t"), "--pg-port", "5433", ok=False)
    assert port.returncode == 2 and "--store postgres" in port.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the cluster as another user")
def test_as_root_an_unreachable_town_is_refused_with_the_fix(tmp_path: Path, clean_env):
    """pytest's tmp_path lies under a mode-0700 folder of root's: the postgres user could
    not enter it, and gt says which folder and what to do, before making anything."""
    from gastown_tui.town.store import cluster
    from tests.conftest import Cli

    if not cluster.available():
        pytest.skip("PostgreSQL is not installed")
    cli = Cli(tmp_path, clean_env)
    out = cli.gt("install", str(tmp_path / "town"), "--store", "postgres", ok=False)
    assert out.returncode == 1, out.stdout
    line = out.stderr.strip()
    assert "cannot enter" in line and "chmod o+x" in line and "\n" not in line
    assert not (tmp_path / "town").exists()  # refused before anything was made
