"""The demo end to end, headless: a real town, real merges, every path of the scenario."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pygit2
import pytest

from tests.test_demo_stops import assert_all_stopped


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_headless_demo_lands_the_convoy_through_every_path(tmp_path: Path, tmux_socket: str,
                                                           clean_env: dict[str, str],
                                                           store: str, request):
    env = {**clean_env, "GT_TMUX_SOCKET": tmux_socket}
    if store == "postgres":
        request.getfixturevalue("pg_cluster")  # skips (or fails under GT_REQUIRE_PG) without
        # a folder the cluster's user can enter (tmp_path is root's own, mode 0700)
        tmp_path = Path(tempfile.mkdtemp(prefix="gtdemo-", dir="/tmp"))
        tmp_path.chmod(0o711)
        request.addfinalizer(lambda: shutil.rmtree(tmp_path, ignore_errors=True))
    town = tmp_path / "demo-town"
    proc = subprocess.run([sys.executable, "-m", "gastown_tui.demo", "--headless",
                           "--until-landed", "--dir", str(town), "--timeout", "240",
                           "--store", store],
                          capture_output=True, text=True, env=env, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "failed: conflict in README.md" in out  # the refinery caught the conflict
    assert "FIX_NEEDED" in out and "failed: gates" in out  # the failing test bounced
    assert "witness nudged" in out and "GUPP" in out  # the hung polecat was found and nudged
    assert "🚚 convoy landed: Demo: inventory v2" in out
    assert "✓ main's tests pass" in out
    assert out.count("✓ merged") == 5
    upstream = pygit2.Repository(str(tmp_path / "demo-town-upstream.git"))
    main = upstream.references["refs/heads/main"].peel(pygit2.Commit)
    assert {"restock.py", "report.py", "alerts.py"} <= {e.name for e in main.tree["inventory"]}
    readme = main.tree["README.md"].data.decode()
    assert "Status: stable" in readme  # the rebased conflicting change landed last
    # the demo stopped its own tmux server, removed its socket, and left no agent running
    assert_all_stopped(town, tmux_socket)
    if store == "postgres":
        from gastown_tui.town.store.cluster import Cluster

        assert "bead store: postgresql://" in out
        assert not Cluster.of_town(town).running()  # the demo stopped its own PostgreSQL
