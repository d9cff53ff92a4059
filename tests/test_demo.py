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
    # README's five beats, each captioned once as its event happened, the landing last
    captions = [line.split("▶ ", 1)[1] for line in out.splitlines() if "▶ beat" in line]
    told = [c.split(" · ")[0] for c in captions if " under way" not in c.split(" · ")[0]]
    assert sorted(told) == [f"beat {n}/5" for n in range(1, 6)] and told[-1] == "beat 5/5"
    assert "beat 1/5 · clean merge: " in out and "beat 2/5 · conflict caught: " in out
    assert "beat 3/5 · FIX_NEEDED and back: " in out and "beat 5/5 · convoy landed: " in out
    assert "beat 4/5 · stall found and nudged: " in out
    lines = out.splitlines()

    def first(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    # each caption follows the event it tells, and comes before the next beat's event
    assert first("failed: conflict in README.md") < first("beat 2/5 · conflict caught")
    assert first("FIX_NEEDED") < first("beat 3/5 under way") < first("beat 3/5 · FIX_NEEDED")
    # the hung polecat is found stalled, and shown so for seconds, before the nudge
    found, nudged = first("stalled: found stalled"), first("witness nudged")
    assert found < first("beat 4/5 under way") < nudged < first("beat 4/5 · stall found")

    def seconds(line: str) -> int:
        minutes, secs = line[1:6].split(":")
        return int(minutes) * 60 + int(secs)

    assert seconds(lines[nudged]) - seconds(lines[found]) >= 5
    assert first("🚚 convoy landed") < first("beat 5/5")
    # --dir: the town stays, and the end says where and how to look at main
    assert f"kept the demo town: {town}" in out
    assert f"git -C {town / 'inventory' / '.repo.git'} log --oneline main" in out
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
