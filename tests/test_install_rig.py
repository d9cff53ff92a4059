"""gt install and gt rig: the town on disk, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from gastown_tui.town.names import derive_prefix


def test_install_creates_the_town_layout(tmp_path, clean_env):
    from tests.conftest import Cli

    cli = Cli(tmp_path, clean_env)
    out = cli.gt("install", "mytown", "--name", "hq1", "--owner", "me@example.com")
    root = tmp_path / "mytown"
    assert "Created town 'hq1'" in out.stdout
    town_json = json.loads((root / "mayor" / "town.json").read_text())
    assert town_json["type"] == "town" and town_json["version"] == 2
    assert town_json["name"] == "hq1" and town_json["owner"] == "me@example.com"
    assert json.loads((root / "mayor" / "rigs.json").read_text()) == {"version": 1, "rigs": {}}
    for path in ("deacon", "settings/config.json", "settings/escalation.json",
                 "settings/control-room.toml", "formulas", ".beads/beads.db", ".events.jsonl",
                 ".runtime/heartbeats", ".runtime/nudge_queue", "CLAUDE.md"):
        assert (root / path).exists(), path
    assert (root / "AGENTS.md").is_symlink()
    shown = cli.json("bd", "show", "hq-mayor", cwd=root)
    assert shown[0]["labels"] == ["gt:agent"]
    assert "agent_state: idle" in shown[0]["description"]


def test_install_is_idempotent_and_refuses_foreign_directories(tmp_path, clean_env):
    from tests.conftest import Cli

    cli = Cli(tmp_path, clean_env)
    cli.gt("install", "t")
    cli.bd("create", "keep me", cwd=tmp_path / "t")
    again = cli.gt("install", "t")
    assert "already installed" in again.stdout
    assert len(cli.json("bd", "list", cwd=tmp_path / "t")) == 1

    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "diary.txt").write_text("private")
    proc = cli.gt("install", str(foreign), ok=False)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "not empty" in proc.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["diary.txt"]


def test_rig_add_makes_bare_clone_refinery_worktree_and_config(cli, town, upstream):
    from tests.conftest import git

    head = git(upstream, "rev-parse", "HEAD").strip()
    data = cli.json("gt", "rig", "add", "gastown", str(upstream))
    assert data["prefix"] == "gt" and data["default_branch"] == "main" and data["head"] == head
    rig = town / "gastown"
    bare = pygit2.Repository(str(rig / ".repo.git"))
    assert bare.is_bare
    worktree = pygit2.Repository(str(rig / "refinery" / "rig"))
    assert worktree.head.shorthand == "main" and str(worktree.head.target) == head
    assert (rig / "refinery" / "rig" / "app.py").read_text() == "print('hi')\n"
    cfg = json.loads((rig / "config.json").read_text())
    assert cfg["type"] == "rig" and cfg["beads"] == {"prefix": "gt"}
    settings = json.loads((rig / "settings" / "config.json").read_text())
    assert "test_command" in settings["merge_queue"]
    rigs = json.loads((town / "mayor" / "rigs.json").read_text())["rigs"]
    assert rigs["gastown"]["beads"]["prefix"] == "gt"
    agents = {b["id"] for b in cli.json("bd", "list", "--label", "gt:agent", "--rig", "gastown")}
    assert agents == {"gt-gastown-witness", "gt-gastown-refinery"}
    listed = cli.json("gt", "rig", "list")
    assert [r["name"] for r in listed] == ["gastown"]


@pytest.mark.parametrize("bad", ["../x", "my rig", "hq", "a-b", "x/y", ""])
def test_rig_add_rejects_invalid_names_with_one_line(cli, town, upstream, bad):
    proc = cli.gt("rig", "add", bad, str(upstream), ok=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1
    assert json.loads((town / "mayor" / "rigs.json").read_text())["rigs"] == {}
    assert not (town.parent / "x").exists()


def test_rig_add_failure_leaves_nothing_behind(cli, town, tmp_path):
    proc = cli.gt("rig", "add", "ghost", str(tmp_path / "does-not-exist"), ok=False)
    assert "no git repository" in proc.stderr
    assert not (town / "ghost").exists()
    cli.gt("rig", "add", "first", str(_make_repo(tmp_path / "r1")), "--prefix", "fx")
    proc = cli.gt("rig", "add", "second", str(_make_repo(tmp_path / "r2")), "--prefix", "fx",
                  ok=False)
    assert "already used by rig 'first'" in proc.stderr
    assert not (town / "second").exists()


def _make_repo(path: Path) -> Path:
    from tests.conftest import git

    path.mkdir()
    git(path, "init", "-q", "-b", "trunk")
    (path / "f").write_text("x")
    git(path, "add", "f")
    git(path, "commit", "-q", "-m", "c")
    return path


def test_rig_uses_the_remote_default_branch_and_remove(cli, town, tmp_path):
    repo = _make_repo(tmp_path / "r")
    data = cli.json("gt", "rig", "add", "myProject", str(repo))
    assert data["default_branch"] == "trunk" and data["prefix"] == "mp"
    proc = cli.gt("rig", "remove", "myProject", "--delete")
    assert "deleted" in proc.stdout
    assert not (town / "myProject").exists()
    proc = cli.gt("rig", "remove", "myProject", ok=False)
    assert "unknown rig 'myProject'" in proc.stderr


@pytest.mark.parametrize("name,prefix", [
    ("gastown", "gt"), ("my_project", "mp"), ("myProject", "mp"), ("foo", "foo"),
    ("beads", "be"), ("HTMLParser", "hp"), ("tool_py", "to"), ("springfield", "sf"),
])
def test_prefix_is_derived_as_upstream(name, prefix):
    assert derive_prefix(name) == prefix


def test_commands_outside_a_town_say_how_to_fix_it(tmp_path, clean_env):
    from tests.conftest import Cli

    cli = Cli(tmp_path, clean_env)
    for prog, args in (("bd", ["list"]), ("gt", ["status"]), ("gt", ["rig", "list"])):
        proc = cli.run(prog, *args, ok=False)
        assert proc.returncode == 1
        assert "not inside a Gas Town town" in proc.stderr and "gt install" in proc.stderr
        assert proc.stderr.count("\n") == 1


def test_town_is_found_by_flag_and_environment(cli, town, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli.bd("create", "from afar", "--town", str(town), cwd=elsewhere)
    titles = [b["title"] for b in cli.json("bd", "list", cwd=elsewhere,
                                           env={"GT_ROOT": str(town)})]
    assert titles == ["from afar"]
