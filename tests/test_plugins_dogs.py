"""Plugins and dogs on a real town: gt plugin list|show|run|history|sync with upstream's
shapes and gates, gt dog verbs, and a plugin run by a dog on schedule: the Deacon's patrol
finds it due, a sim dog in its own tmux session runs its run.sh, the receipt is recorded and
the cooldown keeps it from running again."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli
from tests.waiting import wait_for

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)

STAMP_PLUGIN = """+++
name = "stamp"
description = "Append a line to stamps.txt"
version = 1

[gate]
type = "cooldown"
duration = "1h"

[tracking]
labels = ["category:test"]
digest = true

[execution]
timeout = "1m"
notify_on_failure = true
severity = "low"
+++

# Stamp

Append the time to stamps.txt.
"""

RUN_SH = 'echo "stamped by $GT_PLUGIN" >> stamps.txt\necho done\n'


def write_plugin(base: Path, name: str, text: str, run_sh: str | None = None) -> Path:
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    (path / "plugin.md").write_text(text)
    if run_sh is not None:
        (path / "run.sh").write_text(run_sh)
    return path


@ON_BOTH_BACKENDS
def test_plugins_are_found_shown_run_and_recorded(cli: Cli, rig_town: Path, tmp_path: Path):
    stamp = write_plugin(rig_town / "plugins", "stamp", STAMP_PLUGIN, RUN_SH)
    write_plugin(rig_town / "gastown" / "plugins", "notes",
                 '+++\nname = "notes"\ndescription = "Rig notes"\n+++\nWrite notes.\n')
    write_plugin(rig_town / "plugins", "broken", "no frontmatter here\n")
    listing = cli.run("gt", "plugin", "list", "--json")
    items = {p["name"]: p for p in json.loads(listing.stdout)}
    assert set(items) == {"notes", "stamp"}
    assert items["stamp"]["gate_type"] == "cooldown" and items["stamp"]["location"] == "town"
    assert items["stamp"]["execution_type"] == "script"
    assert items["notes"]["gate_type"] == "manual" and items["notes"]["rig_name"] == "gastown"
    assert "broken/plugin.md has no TOML frontmatter" in listing.stderr
    shown = cli.json("gt", "plugin", "show", "stamp")
    assert shown["gate"] == {"type": "cooldown", "duration": "1h"} and shown["has_run_script"]
    ran = cli.json("gt", "plugin", "run", "stamp")
    assert ran["result"] == "success" and ran["exit_code"] == 0 and ran["output"] == ["done"]
    assert (stamp / "stamps.txt").read_text() == "stamped by stamp\n"
    receipt = cli.json("bd", "show", ran["receipt"])[0]
    assert {"type:plugin-run", "plugin:stamp", "result:success", "category:test"} <= \
        set(receipt["labels"])
    assert receipt["status"] == "closed" and receipt["ephemeral"]
    closed = cli.json("gt", "plugin", "run", "stamp")
    assert closed["ran"] is False and "within 1h cooldown" in closed["gate"]
    cli.json("gt", "plugin", "run", "stamp", "--force")
    history = cli.json("gt", "plugin", "history", "stamp")
    assert len(history) == 2 and all(h["title"] == "Plugin run: stamp" for h in history)
    manual = cli.json("gt", "plugin", "run", "notes")
    assert manual["ran"] and manual["result"] == "success"
    missing = cli.gt("plugin", "show", "nope", ok=False)
    assert "plugin not found: nope" in missing.stderr
    # sync copies what differs from a source
    source = tmp_path / "src"
    write_plugin(source, "extra", '+++\nname = "extra"\n+++\nHi.\n')
    synced = cli.json("gt", "plugin", "sync", "--source", str(source))
    assert synced["copied"] == ["extra"] and (rig_town / "plugins" / "extra").is_dir()
    assert cli.json("gt", "plugin", "sync", "--source", str(source))["skipped"] == ["extra"]


def test_failing_plugin_escalates_when_asked(cli: Cli, rig_town: Path):
    write_plugin(rig_town / "plugins", "stamp", STAMP_PLUGIN, "echo broken >&2\nexit 3\n")
    ran = cli.run("gt", "plugin", "run", "stamp", ok=False)
    assert ran.returncode == 1 and "run.sh exited 3" in ran.stdout
    assert any(e["title"] == "plugin stamp failed (exit 3)"
               for e in cli.json("gt", "escalate", "list"))


@pytest.mark.parametrize("schedule,when,expected", [
    ("0 9 * * *", datetime(2026, 3, 14, 9, 0), True),
    ("0 9 * * *", datetime(2026, 3, 14, 9, 1), False),
    ("*/15 * * * *", datetime(2026, 3, 14, 9, 30), True),
    ("*/15 * * * *", datetime(2026, 3, 14, 9, 31), False),
    ("0 9 * * 1-5", datetime(2026, 3, 14, 9, 0), False),  # a Saturday
    ("0 9 * * 6,0", datetime(2026, 3, 15, 9, 0), True),  # a Sunday
    ("0 9 * * 7", datetime(2026, 3, 15, 9, 0), True),
])
def test_cron_schedules(schedule, when, expected):
    from gastown_tui.ops.plugins import cron_matches

    assert cron_matches(schedule, when) is expected


def test_condition_gate_runs_its_check(cli: Cli, rig_town: Path):
    path = write_plugin(rig_town / "plugins", "when-flag",
                        '+++\nname = "when-flag"\n[gate]\ntype = "condition"\n'
                        'check = "test -f flag"\n+++\nGo.\n')
    assert cli.json("gt", "plugin", "run", "when-flag")["ran"] is False
    (path / "flag").write_text("")
    assert cli.json("gt", "plugin", "run", "when-flag")["ran"] is True


def test_a_plugin_is_run_by_a_dog_on_schedule(sim_town: Cli):
    cli = sim_town
    town = Path(cli.cwd).parent
    stamp = write_plugin(town / "plugins", "stamp", STAMP_PLUGIN, RUN_SH)
    assert cli.json("gt", "dog", "list") == []
    out = cli.gt("deacon", "run", "--once", "--no-keep-alive").stdout
    assert "plugin stamp → alpha" in out
    dog = cli.json("gt", "dog", "status", "alpha")
    assert dog["work"] in ("plugin:stamp", "")  # the sim dog may already be done
    wait_for(lambda: cli.json("gt", "plugin", "history", "stamp"),
             what="the dog to run the plugin")
    wait_for(lambda: cli.json("gt", "dog", "status", "alpha")["state"] == "idle",
             what="the dog to report done")
    assert (stamp / "stamps.txt").read_text() == "stamped by stamp\n"
    receipt = cli.json("gt", "plugin", "history", "stamp")[0]
    assert "result:success" in receipt["labels"]
    # the next patrol reaps the finished dog's session and leaves the plugin in cooldown
    out = cli.gt("deacon", "run", "--once", "--no-keep-alive").stdout
    assert "kennel reaped hq-dog-alpha" in out and "plugin stamp" not in out
    pack = cli.json("gt", "dog", "status")
    assert pack == {"total": 1, "idle": 1, "working": 0,
                    "kennel_dir": str(town / "deacon" / "dogs")}
    assert len(cli.json("gt", "plugin", "history", "stamp")) == 1
    assert (stamp / "stamps.txt").read_text().count("stamped") == 1


@ON_BOTH_BACKENDS
def test_dog_verbs(cli: Cli, rig_town: Path):
    assert cli.json("gt", "dog", "add", "rex")["state"] == "idle"
    assert "already exists" in cli.gt("dog", "add", "rex", ok=False).stderr
    assert "reserved" in cli.gt("dog", "add", "boot", ok=False).stderr
    assert [d["name"] for d in cli.json("gt", "dog", "list")] == ["rex"]
    assert cli.json("bd", "show", "hq-dog-rex")[0]["labels"] == ["gt:agent"]
    done = cli.json("gt", "dog", "done", "rex")
    assert done == {"dog": "rex", "previous_work": "", "state": "idle"}
    health = cli.json("gt", "dog", "health-check")
    assert health["needs_attention"] == 0 and health["dogs"][0]["healthy"]
    cli.gt("dog", "remove", "rex")
    assert cli.json("gt", "dog", "list") == []
    nothing = cli.gt("dog", "dispatch", "--plugin", "nope", ok=False)
    assert "plugin not found: nope" in nothing.stderr
