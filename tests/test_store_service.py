"""The town's own PostgreSQL as a service (gt install --store postgres, gt down, gt doctor,
gt shutdown), `gt store migrate` both ways losing nothing, and the control room following a
PostgreSQL store by NOTIFY."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.postgres


@pytest.fixture
def reachable(pg_cluster) -> Iterator[Path]:
    """A folder the cluster's user can enter (pytest's tmp_path is root's own, mode 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="gtsvc-", dir="/tmp"))
    folder.chmod(0o711)
    try:
        yield folder
    finally:
        from gastown_tui.town.store.cluster import Cluster

        own = Cluster.of_town(folder / "town")
        if own.exists():
            own.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_towns_own_cluster_from_install_to_shutdown(reachable: Path, clean_env):
    cli = Cli(reachable, clean_env)
    made = cli.json("gt", "install", str(reachable / "town"), "--store", "postgres")
    assert made["store"].startswith("postgresql://gastown@")
    town = Cli(reachable / "town", clean_env)
    bead = town.json("bd", "create", "in the town's own cluster")["id"]
    assert town.json("bd", "show", bead)[0]["title"] == "in the town's own cluster"
    doctor = town.json("gt", "doctor")
    store_check = next(c for c in doctor["checks"] if c["name"] == "store")
    assert store_check["status"] == "ok", store_check

    # gt down (nothing else running) stops it; then every command says so in one line
    steps = town.json("gt", "down")
    assert {"address": "store", "session": "postgres", "action": "stopped"}.items() <= \
        steps[-1].items()
    down = town.bd("list", ok=False)
    assert down.returncode == 1 and "is not answering" in down.stderr
    assert "gt up" in down.stderr and len(down.stderr.strip().splitlines()) == 1
    doctor = town.run("gt", "doctor", "--json", ok=False)
    store_check = next(c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "store")
    assert store_check["status"] == "error" and "not running" in " ".join(store_check["details"])

    # gt doctor --fix starts it again, and nothing was lost
    town.run("gt", "doctor", "--fix", ok=False)
    assert [b["id"] for b in town.json("bd", "list")] == [bead]

    # gt shutdown stops it with the town
    out = town.json("gt", "shutdown", "--yes")
    assert out["store"] == "stopped"
    assert town.bd("list", ok=False).returncode == 1


def _everything(location: str) -> tuple[list[str], list[tuple]]:
    from gastown_tui.town.store import BeadStore
    from gastown_tui.town.store.jsonl import export_event_lines, export_lines

    store = BeadStore(location)
    try:
        return (list(export_lines(store, include_all=True, include_infra=True)),
                [json.loads(e) for e in export_event_lines(store)])
    finally:
        store.close_connection()


def test_migrate_to_postgres_and_back_loses_nothing(town: Path, clean_env, pg_databases):
    from gastown_tui.town.layout import Town

    cli = Cli(town, clean_env)
    epic = cli.json("bd", "create", "epic", "-t", "epic")["id"]
    child = cli.json("bd", "create", "child <b>&", "--parent", epic, "-l", "ui,x")["id"]
    other = cli.json("bd", "create", "other", "-p", "0")["id"]
    cli.bd("dep", "add", other, child)
    cli.bd("comments", "add", child, "a comment with ünïcode")
    cli.bd("update", child, "--status", "in_progress", "--notes", "halfway")
    cli.bd("close", other, "--reason", "done", "--force")
    wisp = cli.json("bd", "create", "a wisp", "--ephemeral")["id"]
    before = _everything(Town(town).store_location)
    assert any(wisp in line for line in before[0]) and len(before[1]) > 8

    url = pg_databases.new()
    moved = cli.json("gt", "store", "migrate", "--to", url)
    assert moved["backend"] == "postgres" and moved["issues"] == len(before[0])
    assert Town(town).store_location == url
    assert _everything(url) == before
    assert cli.json("bd", "show", child)[0]["comments"][0]["text"] == "a comment with ünïcode"

    # a write on the server, then back to SQLite (the old file moved aside first)
    cli.bd("update", child, "--notes", "on the server")
    on_server = _everything(url)
    refused = cli.gt("store", "migrate", "--to", "sqlite", ok=False)
    assert refused.returncode == 1 and "already holds" in refused.stderr
    (town / ".beads" / "beads.db").rename(town / ".beads" / "old.db")
    cli.json("gt", "store", "migrate", "--to", "sqlite")
    assert Town(town).store_location == str(town / ".beads" / "beads.db")
    assert _everything(str(town / ".beads" / "beads.db")) == on_server


def test_the_control_room_follows_a_postgres_store_by_notify(tmp_path: Path, pg_databases,
                                                             tmux_socket, monkeypatch):
    """No file changes when a bead changes on a server: the model's listener hears the
    commit's NOTIFY and the next snapshot shows the change."""
    from gastown_tui.model.town_model import TownModel
    from gastown_tui.ops.install import install
    from gastown_tui.town.store import BeadStore

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    url = pg_databases.new()
    install(tmp_path / "town", name="t", store=url)
    writer = BeadStore(url, actor="tester")
    bead = writer.create("before", prefix="hq", priority=1)

    async def follow() -> float:
        model = TownModel(tmp_path / "town")
        snapshots = model.follow()
        written = 0.0
        async with asyncio.timeout(20):
            async for snap in snapshots:
                view = snap.bead(bead["id"])
                if view is not None and view.title == "before" and not written:
                    await asyncio.to_thread(writer.update, bead["id"],
                                            changes={"title": "after"})
                    written = asyncio.get_running_loop().time()
                elif view is not None and view.title == "after":
                    await snapshots.aclose()
                    return asyncio.get_running_loop().time() - written
        return -1.0

    try:
        took = asyncio.run(follow())
    finally:
        writer.close_connection()
    assert 0 <= took < 1.5  # pushed: well under the 2 s fallback poll
