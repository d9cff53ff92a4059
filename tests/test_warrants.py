"""Death warrants on a real town: a hung sim polecat gets a warrant with its evidence, shows in
Needs-you, and the Deacon's patrol executes it: the session ends, the work goes back to the
pool and the convoy feed hands it to a fresh polecat. Boot's triage restarts a missing
Deacon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli
from tests.waiting import wait_for

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)


@ON_BOTH_BACKENDS
def test_a_warrant_is_filed_with_evidence_and_executed_by_the_deacon(
        sim_town: Cli, monkeypatch: pytest.MonkeyPatch):
    cli = sim_town
    town = Path(cli.cwd).parent
    bead = cli.json("bd", "create", "Hang forever", "-d", "```sim\nhang: true\n```")["id"]
    slung = cli.json("gt", "sling", bead, "gastown")[0]
    agent = slung["agent"]
    wait_for(lambda: "hanging" in cli.gt("peek", agent, "-n", "60").stdout,
             what="the polecat to hang")
    filed = cli.json("gt", "warrant", "file", agent, "-r", "hung: no progress for 2h",
                     env={"BD_ACTOR": "gastown/witness"})
    assert filed["created"] and filed["target"] == agent and not filed["executed"]
    assert filed["filed_by"] == "gastown/witness" and filed["session"] == slung["session"]
    assert any(line.startswith("state: working") for line in filed["evidence"])
    assert any("hanging" in line for line in filed["evidence"] if line.startswith("pane: "))
    again = cli.json("gt", "warrant", "file", agent, "-r", "again")
    assert again["created"] is False and again["id"] == filed["id"]
    assert [w["target"] for w in cli.json("gt", "warrant", "list")] == [agent]
    stored = town / "warrants" / f"{agent.replace('/', '_')}.warrant.json"
    assert json.loads(stored.read_text())["reason"] == "hung: no progress for 2h"

    monkeypatch.setenv("GT_TMUX_SOCKET", cli.env["GT_TMUX_SOCKET"])
    from gastown_tui.model.town_model import TownModel

    snap = TownModel(town).load()
    assert [(i.kind, i.key) for i in snap.needs_you if i.kind == "warrant"] == [
        ("warrant", agent)]

    out = cli.gt("deacon", "run", "--once", "--no-keep-alive").stdout
    assert f"executed warrant {agent}" in out
    assert f"fed {bead}" in out  # the convoy feed gave the work to a fresh polecat
    sessions = {p["address"]: p for p in cli.json("gt", "polecat", "list")}
    assert sessions[agent]["session_running"] is False
    assert sessions[agent]["state"] == "idle"  # ended on purpose: the witness leaves it be
    done = cli.json("gt", "warrant", "list", "--all")[0]
    assert done["executed"] and done["executed_at"] and done["released"] == [bead]
    assert cli.json("gt", "warrant", "list") == []
    after = cli.json("bd", "show", bead)[0]
    assert after["assignee"] != agent and after["status"] in ("hooked", "in_progress")
    assert "Warrant executed on " + agent in after["notes"]
    snap = TownModel(town).load()
    assert not [i for i in snap.needs_you if i.kind == "warrant"]
    assert cli.json("gt", "warrant", "execute", agent)["already_executed"] is True


def test_warrant_errors_are_one_line(cli: Cli, rig_town: Path):
    missing = cli.gt("warrant", "execute", "gastown/polecats/nobody", ok=False)
    assert "no warrant found for gastown/polecats/nobody" in missing.stderr
    assert "--force" in missing.stderr and "Traceback" not in missing.stderr
    forced = cli.json("gt", "warrant", "execute", "gastown/polecats/nobody", "--force")
    assert forced["killed"] is False and forced["warrant"] is None
    bad = cli.gt("warrant", "file", "../etc", "-r", "x", ok=False)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    no_reason = cli.gt("warrant", "file", "gastown/polecats/a", ok=False)
    assert 'required flag "reason" not set' in no_reason.stderr
    dog = cli.json("gt", "warrant", "file", "deacon/dogs/alpha", "-r", "stuck for 2h")
    assert dog["session"] == "hq-dog-alpha"
    assert cli.json("gt", "warrant", "file", "deacon/dogs/alpha", "--stdin",
                    input="from stdin\n")["created"] is False


def test_boot_triage_starts_a_missing_deacon(sim_town: Cli):
    cli = sim_town
    status = cli.json("gt", "boot", "triage")
    assert status["observed"]["deacon_running"] is False and status["last_action"] == "start"
    wait_for(lambda: cli.json("gt", "boot", "status")["deacon_running"],
             what="the Deacon to be running")
    saved = json.loads((Path(cli.cwd).parent / "deacon" / "dogs" / "boot" /
                        ".boot-status.json").read_text())
    assert saved["last_action"] == "start" and saved["target"] == "deacon"
    assert cli.json("gt", "boot", "triage")["last_action"] == "nothing"


def test_witnesses_leave_a_deacon_that_never_ran_or_just_beat_alone(
        town: Path, monkeypatch: pytest.MonkeyPatch):
    """Boot from a witness starts a Deacon only when one ran and died: not before `gt up`
    started one, and not while a `gt deacon run --once` heartbeat is fresh."""
    from gastown_tui.ops.boot import watch_deacon
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.sessions import write_heartbeat
    from gastown_tui.town.layout import Town

    monkeypatch.delenv("GT_TMUX_SOCKET", raising=False)
    here = Town(town)
    store = open_store(here, "gastown/witness")
    assert watch_deacon(here, store) is None
    write_heartbeat(here, "hq-deacon", "patrolling", agent="deacon", runtime="gt")
    assert watch_deacon(here, store) is None
    assert not (town / "deacon" / "dogs" / "boot" / ".boot-status.json").exists()
