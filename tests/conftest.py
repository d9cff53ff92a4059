"""Shared fixtures: real temporary towns, real git repositories, the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Fixture modules loaded with pytest_plugins get pytest's assertion messages too.
pytest.register_assert_rewrite("tests.real_agents", "tests.scripted_model", "tests.hosts_fixture")

from tests.gitrun import git  # noqa: E402
from tests.leaks import RUN_MARKER, find_leaks, stop_leaks  # noqa: E402

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session", autouse=True)
def nothing_outlives_the_run() -> Iterator[None]:
    """Every tmux server, socket file and process a test starts must be gone at the end.

    The run gets its own tmux socket folder (TMUX_TMPDIR) and a marker in the environment
    that every child inherits (tmux panes included), so what is left afterwards is ours
    beyond doubt. Anything left fails the run, listed, and is then cleaned up.
    """
    folder = Path(tempfile.mkdtemp(prefix="gtt-", dir="/tmp"))  # short: socket paths are
    saved = {k: os.environ.get(k) for k in ("TMUX_TMPDIR", RUN_MARKER)}  # limited to ~100 B
    marker = uuid.uuid4().hex
    os.environ["TMUX_TMPDIR"] = str(folder)
    os.environ[RUN_MARKER] = marker
    try:
        yield
        leaks = find_leaks(folder, marker)
        if leaks:
            stop_leaks(folder, marker)
            pytest.fail("left running after the tests:\n  " + "\n  ".join(leaks),
                        pytrace=False)
    finally:
        stop_leaks(folder, marker)
        shutil.rmtree(folder, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """A real git repository with two commits on main."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("hello\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "app.py").write_text("print('hi')\n")
    git(repo, "add", "app.py")
    git(repo, "commit", "-q", "-m", "second")
    return repo


class Cli:
    """Runs the installed `gt`/`bd` console scripts as real processes."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env

    def run(self, prog: str, *args: str, cwd: Path | None = None, ok: bool = True,
            input: str | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(BIN / prog), *args], cwd=cwd or self.cwd, capture_output=True,
                              text=True, input=input, env={**self.env, **(env or {})}, timeout=60)
        if ok and proc.returncode != 0:
            raise AssertionError(f"{prog} {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def gt(self, *args: str, **kw) -> subprocess.CompletedProcess[str]:
        return self.run("gt", *args, **kw)

    def bd(self, *args: str, **kw) -> subprocess.CompletedProcess[str]:
        return self.run("bd", *args, **kw)

    def json(self, prog: str, *args: str, **kw):
        return json.loads(self.run(prog, *args, "--json", **kw).stdout)


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GT_", "BD_", "BEADS_"))}
    env["HOME"] = str(tmp_path / "home")
    env["USER"] = "tester"
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


@pytest.fixture
def town(tmp_path: Path, clean_env: dict[str, str], request) -> Path:
    """A fresh town on SQLite; a test parametrized with
    `@pytest.mark.parametrize("town", BACKENDS, indirect=True)` gets it on each backend
    (PostgreSQL: a database of its own, joined by URL as `gt install --store postgresql://…`
    does), and so do the rig_town, cli and sim_town built on it."""
    from gastown_tui.ops.install import install

    root = tmp_path / "town"
    backend = getattr(request, "param", "sqlite")
    url = request.getfixturevalue("pg_databases").new() if backend == "postgres" else None
    install(root, name="testtown", owner="owner@example.com", store=url)
    return root


@pytest.fixture
def cli(town: Path, clean_env: dict[str, str]) -> Cli:
    return Cli(town, clean_env)


@pytest.fixture
def rig_town(town: Path, upstream: Path) -> Path:
    from gastown_tui.ops.rig import rig_add
    from gastown_tui.town.layout import Town

    rig_add(Town(town), "gastown", str(upstream))
    return town


@pytest.fixture
def sim_rig_town(rig_town: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch):
    """The rig town with the sim runtime as its default agent and this test's tmux server,
    outside any agent's environment: what the control room's Pilot tests drive."""
    from gastown_tui.town.layout import Town

    settings = rig_town / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["default_agent"] = "sim"
    settings.write_text(json.dumps(data))
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    for var in ("GT_ROLE", "BD_ACTOR", "BEADS_ACTOR", "GT_ROOT", "GT_RIG"):
        monkeypatch.delenv(var, raising=False)
    return Town(rig_town)


# ------------------------------------------------------------------------------ store backends
# The store's contract tests, the reliability tests and the demo run on both backends: SQLite
# (a file in tmp_path) and PostgreSQL (a database of its own in this run's throwaway cluster).
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster per test session (per xdist worker): a temp folder,
    unix socket only, started with the product's own cluster code (as root, it runs as the
    postgres user, as `gt install --store postgres` does), stopped and removed at the end."""
    from gastown_tui.town.store import cluster

    if not cluster.available():
        if os.environ.get("GT_REQUIRE_PG"):
            pytest.fail("PostgreSQL is not installed (GT_REQUIRE_PG is set)", pytrace=False)
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="gtpg-", dir="/tmp"))
    folder.chmod(0o711)  # the cluster's user (postgres, when we are root) must reach it
    pg = cluster.Cluster(folder / "pg")
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        from gastown_tui.town.store.pg import close_all

        close_all()
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


class PgDatabases:
    """Fresh databases in the session's cluster, each dropped when its test ends."""

    def __init__(self, pg: Any) -> None:
        self.pg = pg
        self.made: list[str] = []

    def _admin(self):
        from gastown_tui.town.store.libpq import PgConn

        return PgConn(self.pg.url().replace("/gastown?", "/postgres?"))

    def new(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = self._admin()
        try:
            conn.execute(f"CREATE DATABASE {name}")
        finally:
            conn.close()
        self.made.append(name)
        return self.pg.url().replace("/gastown?", f"/{name}?")

    def drop_all(self) -> None:
        from gastown_tui.town.store.pg import close_all

        close_all()
        conn = self._admin()
        try:
            for name in self.made:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            conn.close()


@pytest.fixture
def pg_databases(pg_cluster) -> Iterator[PgDatabases]:
    dbs = PgDatabases(pg_cluster)
    try:
        yield dbs
    finally:
        dbs.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_location(backend: str, tmp_path: Path, request) -> str:
    """Where a test's bead store lives: a SQLite file, or a fresh PostgreSQL database URL."""
    if backend == "postgres":
        return request.getfixturevalue("pg_databases").new()
    return str(tmp_path / "beads.db")


@pytest.fixture
def backend_town(tmp_path: Path, clean_env: dict[str, str], backend: str, request) -> Path:
    """A town whose store is on `backend`: SQLite, or a PostgreSQL database it joined by URL
    (as `gt install --store postgresql://…` does)."""
    from gastown_tui.ops.install import install

    root = tmp_path / "town"
    url = request.getfixturevalue("pg_databases").new() if backend == "postgres" else None
    install(root, name="testtown", owner="owner@example.com", store=url)
    return root


@pytest.fixture
def backend_cli(backend_town: Path, clean_env: dict[str, str]) -> Cli:
    return Cli(backend_town, clean_env)


@pytest.fixture
def store(store_location: str):
    from gastown_tui.town.store import BeadStore

    s = BeadStore.create_at(store_location, actor="tester")
    yield s
    s.close_connection()


@pytest.fixture
def tmux_socket() -> Iterator[str]:
    """A private tmux server socket; the server is always killed, even when the test fails."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    socket = f"gttest-{uuid.uuid4().hex[:8]}"
    try:
        yield socket
    finally:
        from gastown_tui.tmux.server import TownTmux

        # The product's full stop: every pane's process tree ended (a plain kill-server only
        # hangs up on them), the server gone, its socket file removed.
        TownTmux(socket).kill_server(grace=1.0)


@pytest.fixture
def tmux(tmux_socket: str, tmp_path: Path):
    from gastown_tui.tmux.server import TownTmux

    return TownTmux(tmux_socket, lock_dir=tmp_path / "locks")


@pytest.fixture
def sim_town(rig_town: Path, tmux_socket: str, clean_env: dict[str, str]) -> Cli:
    """A rig town whose agents run the sim runtime on a private tmux server; the CLI works
    from inside the rig."""
    settings = rig_town / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["default_agent"] = "sim"
    settings.write_text(json.dumps(data))
    return Cli(rig_town / "gastown", {**clean_env, "GT_TMUX_SOCKET": tmux_socket})
