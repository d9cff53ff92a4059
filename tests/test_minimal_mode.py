"""Minimal mode (upstream's "Minimal Mode (No Tmux)") on a real town whose PATH has no tmux:
gt up starts nothing and says what to run by hand; gt sling makes the worktree, branch, hook
and convoy with no session and writes the script that starts the agent by hand. One bead is
worked by a person (gt prime in the worktree, a commit, gt done), one by the sim agent started
from that script; gt refinery run --once merges both and the convoys land. The witness leaves
sessionless polecats alone. GT_MINIMAL=1 and settings mode "minimal" turn it on with tmux."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, BIN, Cli, git

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)


@pytest.fixture
def no_tmux(rig_town: Path, clean_env: dict[str, str], tmp_path: Path) -> Cli:
    """The CLI in the rig, with a PATH holding everything it had except tmux."""
    bin_dir = tmp_path / "bin-without-tmux"
    bin_dir.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            target = bin_dir / entry.name
            if entry.name != "tmux" and not target.exists() and not target.is_symlink():
                target.symlink_to(entry)
    settings = rig_town / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["default_agent"] = "sim"
    settings.write_text(json.dumps(data))
    env = {**clean_env, "PATH": f"{BIN}{os.pathsep}{bin_dir}"}
    assert subprocess.run(["sh", "-c", "command -v tmux"], env=env,
                          capture_output=True).returncode != 0
    return Cli(rig_town / "gastown", env)


@ON_BOTH_BACKENDS
def test_without_tmux_work_is_slung_worked_by_hand_merged_and_landed(no_tmux: Cli,
                                                                    rig_town: Path):
    cli = no_tmux
    steps = cli.json("gt", "up")
    assert {s["action"] for s in steps} == {"manual"}
    by_who = {s["address"]: s["detail"] for s in steps}
    assert "tmux is not installed" in by_who["deacon"]
    assert "gt refinery run gastown" in by_who["gastown/refinery"]

    # a person works the first bead in the polecat's worktree
    bead = cli.json("bd", "create", "Add notes")["id"]
    slung = cli.json("gt", "sling", bead, "gastown")[0]
    assert slung["spawned"] and slung["session"] == "" and slung["convoy"]
    script = Path(slung["manual"])
    assert script.exists() and f"export GT_ROLE={slung['agent']}" in script.read_text()
    worktree = Path(slung["worktree"])
    assert bead in cli.gt("prime", cwd=worktree).stdout
    hook = cli.json("gt", "hook", cwd=worktree)  # no GT_ROLE: who is known from the directory
    assert hook["target"] == slung["agent"] and hook["pinned_bead"]["id"] == bead
    (worktree / "notes.txt").write_text("by hand\n")
    git(worktree, "add", "notes.txt")
    git(worktree, "commit", "-q", "-m", f"Add notes ({bead})")
    cli.gt("done", cwd=worktree)
    scan = cli.json("gt", "patrol", "scan")["gastown"]
    assert all(not v["action"] for v in scan)

    # the sim agent works the second one, started by hand from the script sling wrote
    second = cli.json("bd", "create", "Add more notes")["id"]
    other = cli.json("gt", "sling", second, "gastown")[0]
    clean = {k: v for k, v in cli.env.items() if not k.startswith(("GT_", "BD_"))}
    ran = subprocess.run(["sh", other["manual"]], env=clean, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert cli.json("gt", "mq", "list", "gastown")

    out = cli.gt("refinery", "run", "gastown", "--once").stdout
    assert "2 merged" in out
    for bead_id, sling_result in ((bead, slung), (second, other)):
        assert cli.json("bd", "show", bead_id)[0]["status"] == "closed"
        convoy = cli.json("bd", "show", sling_result["convoy"])[0]
        assert convoy["status"] == "closed"
    master = git(rig_town / "gastown" / ".repo.git", "log", "--format=%s", "main")
    assert f"Add notes ({bead})" in master

    # the Deacon patrols without tmux and keeps nothing alive
    assert "problem" not in cli.gt("deacon", "run", "--once").stdout
    witness = cli.gt("witness", "run", "gastown", "--once").stdout
    assert "failed" not in witness


def test_gt_minimal_and_the_town_setting_turn_it_on_with_tmux(cli: Cli, town: Path):
    steps = cli.json("gt", "up", env={"GT_MINIMAL": "1"})
    assert {s["action"] for s in steps} == {"manual"}
    assert "GT_MINIMAL is set" in steps[0]["detail"]
    settings = town / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["mode"] = "minimal"
    settings.write_text(json.dumps(data))
    steps = cli.json("gt", "up")
    assert "settings/config.json has mode minimal" in steps[0]["detail"]
