"""Problems first, from a script or over SSH: gt feed --problems|--rig|--window, gt health
(exit 1 while anything needs someone), gt agents, gt vitals. Sim polecats on a private tmux
server."""

from __future__ import annotations

import json

from tests.conftest import Cli
from tests.waiting import wait_for

HANG = "```sim\nhang: true\n```"


def test_problems_are_listed_until_each_is_dealt_with(sim_town: Cli):
    cli = sim_town
    beads = [cli.json("bd", "create", f"Wait {n}", "-d", HANG)["id"] for n in range(2)]
    first, second = [s["agent"] for s in cli.json("gt", "sling", *beads, "gastown")]
    for agent in (first, second):
        wait_for(lambda a=agent: "hanging" in cli.gt("peek", a).stdout, what=f"{agent} works")

    listed = cli.json("gt", "agents")
    assert sorted(a["address"] for a in listed) == sorted([first, second])
    assert {a["state"] for a in listed} == {"working"} and {a["role"] for a in listed} == {
        "polecat"}

    cli.gt("session", "stop", second)
    escalation = cli.json("gt", "escalate", "tests", "hang", "-s", "high")["id"]
    sick = cli.gt("health", "--json", ok=False)
    assert sick.returncode == 1
    report = json.loads(sick.stdout)
    assert not report["healthy"]
    kinds = {(p["kind"], p["agent"] or p["session"]) for p in report["problems"]}
    assert ("loop-down", "gastown/witness") in kinds and ("loop-down", "gastown/refinery") in kinds
    assert any(agent == second for _, agent in kinds)  # hooked work, no session
    assert not any(agent == first for _, agent in kinds)  # the working one is fine
    assert any(k == "escalation" and p["session"] == escalation
               for p in report["problems"] for k in [p["kind"]])
    problems = cli.json("gt", "feed", "--problems", "--rig", "gastown")
    assert {p["kind"] for p in problems} >= {"loop-down"} and problems[0]["severity"] == "high"
    text = cli.gt("feed", "-p").stdout
    assert "gt witness start gastown" in text and second in text

    cli.gt("escalate", "ack", escalation)
    cli.gt("session", "start", second)
    wait_for(lambda: "hanging" in cli.gt("peek", second).stdout, what="the polecat back")
    cli.gt("rig", "park", "gastown")  # a parked rig's loops are meant to be down
    assert cli.json("gt", "health")["healthy"] is True
    assert "✓ No problems." in cli.gt("feed", "--problems").stdout

    mine = cli.json("gt", "feed", "--rig", "gastown", "-n", "500")
    assert mine and all(e.get("payload", {}).get("rig") == "gastown"
                        or "gastown/" in json.dumps(e) for e in mine)
    assert any(e["type"] == "sling" for e in mine)
    vitals = cli.json("gt", "vitals")
    assert vitals["store"]["issues"] >= 4 and vitals["processes"]["sessions"] == 2
    assert "Sessions  2" in cli.gt("vitals").stdout

    # --window inside tmux: a window named feed following this rig's log, in the tmux you are in
    from gastown_tui.tmux.server import TownTmux

    tmux = TownTmux(cli.env["GT_TMUX_SOCKET"])
    pid = tmux.server_facts()[0]
    cli.gt("feed", "--window", "--rig", "gastown", env={"TMUX": f"{tmux.socket_path()},{pid},0"})
    windows = tmux.run("list-windows", "-a", "-F", "#{window_name}").split()
    assert "feed" in windows

    for argv, words in ((("feed", "--rig", "nowhere"), "unknown rig 'nowhere'"),
                        (("health", "--rig", "nowhere"), "unknown rig 'nowhere'"),
                        (("feed", "--window"), "run it inside tmux")):
        bad = cli.gt(*argv, ok=False, env={"TMUX": ""})
        assert bad.returncode == 1 and words in bad.stderr, (argv, bad.stderr)
        assert "Traceback" not in bad.stderr
