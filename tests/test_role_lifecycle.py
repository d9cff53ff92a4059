"""Bouncing one part of the town: gt rig status|boot|reboot|restart|shutdown, gt witness|
refinery|deacon start|stop|restart, gt session list|capture|inject|check. Sim agents and the
real loops on a private tmux server."""

from __future__ import annotations

import json

from tests.conftest import Cli
from tests.waiting import wait_for

HANG = "```sim\nhang: true\n```"


def sessions(cli: Cli) -> dict[str, bool]:
    return {s["session_id"]: s["running"] for s in cli.json("gt", "session", "list")}


def test_a_rig_is_booted_inspected_bounced_and_shut_down(sim_town: Cli):
    cli = sim_town
    bead = cli.json("bd", "create", "Wait here", "-d", HANG)["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]
    wait_for(lambda: "hanging" in cli.gt("session", "capture", agent, "40").stdout,
             what="the polecat at work")
    cat = agent.rsplit("/", 1)[1]

    booted = cli.json("gt", "rig", "boot", "gastown")
    assert sorted((s["address"], s["action"]) for s in booted) == [
        ("gastown/refinery", "started"), ("gastown/witness", "started")]
    status = cli.json("gt", "rig", "status", "gastown")
    assert status["witness"]["running"] and status["refinery"]["running"]
    assert status["refinery"]["queue"] == 0 and status["state"] == "active"
    assert [(p["name"], p["issue"], p["session_running"]) for p in status["polecats"]] == [
        (cat, bead, True)]
    listed = cli.json("gt", "session", "list", "--rig", "gastown")
    assert {s["role"] for s in listed} == {"polecat", "witness", "refinery"}
    mine = next(s for s in listed if s["role"] == "polecat")
    assert mine["polecat"] == cat and mine["rig"] == "gastown" and mine["running"]

    cli.gt("session", "inject", agent, "-m", "hello from inject")
    wait_for(lambda: "hello from inject" in cli.gt("session", "capture", agent, "-n",
                                                    "60").stdout, what="the injected line")
    assert cli.json("gt", "session", "check")[0]["status"] == "ok"

    witness = status["witness"]["session"]
    refinery = status["refinery"]["session"]
    bounced = cli.json("gt", "witness", "restart", "gastown")
    assert [s["action"] for s in bounced] == ["stopped", "started"]
    assert cli.json("gt", "refinery", "stop", "gastown")[0]["action"] == "stopped"
    assert refinery not in sessions(cli) and witness in sessions(cli)
    rebooted = cli.json("gt", "rig", "reboot", "gastown")
    assert [s["action"] for s in rebooted][-2:] == ["started", "started"]
    assert {witness, refinery} <= set(sessions(cli))

    down = cli.json("gt", "rig", "shutdown", "gastown")
    assert {s["session"] for s in down if s["action"] == "stopped"} >= {witness, refinery}
    assert not [s for s in cli.json("gt", "session", "list") if s["rig"] == "gastown"]
    check = cli.gt("session", "check", "--json", ok=False)
    assert check.returncode == 1
    assert json.loads(check.stdout)[0]["status"] == "missing"  # hooked work, no session
    assert cli.json("bd", "show", bead)[0]["status"] == "hooked"  # the hook stays

    assert cli.json("gt", "deacon", "start")[0]["action"] == "started"
    assert sessions(cli).get("hq-deacon")
    assert cli.json("gt", "deacon", "stop")[0]["action"] == "stopped"
    assert "hq-deacon" not in sessions(cli)


def test_lifecycle_verbs_refuse_bad_input_in_one_line(sim_town: Cli):
    cli = sim_town
    for argv, words in ((("witness", "start", "nowhere"), "unknown rig 'nowhere'"),
                        (("rig", "shutdown", "nowhere"), "unknown rig 'nowhere'"),
                        (("session", "list", "--rig", "nowhere"), "unknown rig 'nowhere'"),
                        (("session", "inject", "gastown/polecats/ghost", "-m", "x"),
                         "not running"),
                        (("session", "capture", "gastown/polecats/ghost"), "not running")):
        proc = cli.gt(*argv, ok=False)
        assert proc.returncode == 1 and words in proc.stderr, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    cli.gt("rig", "park", "gastown")
    parked = cli.gt("refinery", "start", "gastown", ok=False)
    assert "rig gastown is parked" in parked.stderr
    assert "No sessions running." in cli.gt("session", "list").stdout
