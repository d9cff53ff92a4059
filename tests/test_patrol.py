"""Witness and Deacon patrols on a real town with sim polecats on a private tmux server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gastown_tui.ops.context import open_store
from gastown_tui.patrol.deacon import patrol as deacon_patrol
from gastown_tui.patrol.verdicts import WitnessState, parse_duration
from gastown_tui.patrol.witness import Witness, WitnessConfig
from gastown_tui.town.layout import Town
from tests.waiting import wait_for


@pytest.fixture
def witness_env(sim_town, rig_town, monkeypatch):
    monkeypatch.setenv("GT_TMUX_SOCKET", sim_town.env["GT_TMUX_SOCKET"])
    town = Town(rig_town)
    store = open_store(town, "gastown/witness")
    yield sim_town, town, store
    store.close_connection()


def panes(cli, target):
    return cli.gt("peek", target, "-n", "200").stdout


def test_duration_parsing():
    assert [parse_duration(x, 7) for x in ("30m", "90s", "2h", "500ms", 12, "junk")] == [
        1800, 90, 7200, 0.5, 12, 7]


def test_hung_polecat_is_stalled_with_evidence_and_nudged(witness_env):
    cli, town, store = witness_env
    bead = cli.json("bd", "create", "Hang", "-d", "```sim\nhang: true\n```")["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]
    wait_for(lambda: "hanging" in panes(cli, agent))
    witness = Witness(town, store, town.rig("gastown"), WitnessConfig(gupp_timeout=0.5))
    state = WitnessState()
    first = witness.patrol(state, now=1000.0)
    assert first[0].state == "working" and first[0].action == ""
    verdict = witness.patrol(state, now=1001.0)[0]
    assert verdict.state == "stalled"
    assert f"hooked {bead}; no commit, bead update or output for 1s" == verdict.evidence
    assert verdict.action.startswith("nudged (GUPP")
    wait_for(lambda: "GUPP: work is on your hook" in panes(cli, agent))
    saved = cli.json("gt", "witness", "status", "gastown")
    name = agent.rsplit("/", 1)[1]
    assert saved[name]["state"] == "stalled" and saved[name]["evidence"] == verdict.evidence
    events = [json.loads(line) for line in (town.root / ".events.jsonl").read_text().splitlines()]
    assert any(e["type"] == "polecat_nudged" and e["payload"]["bead"] == bead for e in events)


def test_dead_session_is_restarted_then_escalated(witness_env):
    cli, town, store = witness_env
    bead = cli.json("bd", "create", "Crash", "-d", "```sim\nexit: 3\n```")["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]
    wait_for(lambda: [p for p in cli.json("gt", "polecat", "list") if p["state"] == "stalled"])
    witness = Witness(town, store, town.rig("gastown"), WitnessConfig(max_restarts=1))
    state = WitnessState()
    verdict = witness.patrol(state)[0]
    assert verdict.state == "stalled" and verdict.action == "restarted session (1/1)"
    wait_for(lambda: [p for p in cli.json("gt", "polecat", "list") if p["state"] == "stalled"])
    verdict = witness.patrol(state)[0]
    assert verdict.action.startswith("escalated hq-wisp-")
    mail = cli.json("gt", "mail", "inbox", "mayor/")
    assert mail[0]["subject"].startswith("ESCALATION [high]: " + agent)
    assert witness.patrol(state)[0].action == "escalated earlier; waiting for the Mayor"


def test_zombie_sessions_are_killed_and_idle_ones_reaped(witness_env):
    cli, town, store = witness_env
    sock = cli.env["GT_TMUX_SOCKET"]
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", "gt-ghost", "sleep 300"],
                   check=True)
    bead = cli.json("bd", "create", "quick work")["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]
    wait_for(lambda: any(p["state"] == "done" for p in cli.json("gt", "polecat", "list")))
    witness = Witness(town, store, town.rig("gastown"), WitnessConfig(idle_timeout=0))
    verdicts = {v.polecat: v for v in witness.patrol(WitnessState())}
    assert verdicts["ghost"].action == "killed zombie session"
    assert verdicts[agent.rsplit("/", 1)[1]].action.startswith("reaped idle session")
    sessions = subprocess.run(["tmux", "-L", sock, "list-sessions", "-F", "#{session_name}"],
                              capture_output=True, text=True).stdout.split()
    assert "gt-ghost" not in sessions and f"gt-{agent.rsplit('/', 1)[1]}" not in sessions
    assert (town.root / "gastown" / "polecats" / agent.rsplit("/", 1)[1] / "gastown").is_dir()


def test_deacon_keeps_the_mayor_alive_and_lands_convoys(witness_env):
    cli, town, store = witness_env
    cli.gt("mayor", "start")
    cli.gt("mayor", "stop")
    report = deacon_patrol(town, store)
    assert "hq-mayor" in report.restarted
    assert {"gt-witness", "gt-refinery"} <= set(report.restarted)
    # stop what the patrol started (a real deacon among them) so nothing races the next part
    cli.gt("down")
    a = store.create("a", prefix="gt")["id"]
    convoy = cli.json("gt", "convoy", "create", "Lands", a, "--owner", "mayor/")["id"]
    store.set_status(a, "closed")  # closed behind the convoy's back: the deacon notices
    report = deacon_patrol(town, store, keep_alive=False)
    assert report.landed == [convoy]
    assert any(m["subject"] == "🚚 Convoy landed: Lands"
               for m in cli.json("gt", "mail", "inbox", "mayor/"))


def test_gt_escalate_routes_by_severity(cli):
    res = cli.json("gt", "escalate", "disk", "full", "-s", "critical", "-r", "no space left")
    assert res["severity"] == "critical" and res["actions"][:2] == ["bead", "mail:mayor"]
    assert "email:human skipped (not configured)" in res["actions"]
    mail = cli.json("gt", "mail", "inbox", "mayor/")
    assert mail[0]["subject"] == "ESCALATION [critical]: disk full"
    proc = cli.gt("escalate", "x", "-s", "apocalyptic", ok=False)
    assert proc.returncode != 0
    shown = cli.json("bd", "show", res["id"])[0]
    assert "gt:escalation" in shown["labels"] and "severity: critical" in shown["description"]


def test_witness_loop_runs_once_and_refuses_a_second_instance(witness_env, tmp_path: Path):
    cli, town, store = witness_env
    out = cli.gt("witness", "run", "gastown", "--once").stdout
    assert "patrolling once" in out
    beat = json.loads((town.root / ".runtime" / "heartbeats" / "gt-witness.json").read_text())
    assert beat["state"] == "patrolling"
    lock = town.root / "gastown" / ".runtime" / "witness" / "loop.lock"
    import fcntl

    with open(lock, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        proc = cli.gt("witness", "run", "gastown", "--once", ok=False)
        assert "already running" in proc.stderr


def test_escalate_stale_bumps_unacknowledged_escalations_once_each(cli):
    """Upstream's `gt escalate stale`: what nobody acknowledged within the threshold goes up a
    severity and is mailed to its new route (it used to file an escalation titled "stale")."""
    settings = cli.cwd / "settings" / "escalation.json"
    config = json.loads(settings.read_text())
    settings.write_text(json.dumps({**config, "stale_threshold": "1s", "max_reescalations": 1}))
    assert cli.json("gt", "escalate", "stale") == []  # nothing yet
    low = cli.json("gt", "escalate", "flaky", "test", "-s", "low")["id"]
    seen = cli.json("gt", "escalate", "ci", "down", "-s", "medium")["id"]
    cli.gt("escalate", "ack", seen)
    dry = wait_for(lambda: cli.json("gt", "escalate", "stale", "--dry-run"), what="stale")
    assert [(r["ID"], r["OldSeverity"], r["NewSeverity"]) for r in dry] == [(low, "low",
                                                                              "medium")]
    assert "severity: low" in cli.json("bd", "show", low)[0]["description"]  # dry run
    done = cli.json("gt", "escalate", "stale")
    assert done[0]["ReescalationNum"] == 1 and not done[0]["Skipped"]
    shown = cli.json("bd", "show", low)[0]
    assert "severity: medium" in shown["description"] and shown["priority"] == 2
    assert "severity:medium" in shown["labels"] and "severity:low" not in shown["labels"]
    mayor = [m["subject"] for m in cli.json("gt", "mail", "inbox", "mayor/")]
    assert "[LOW→MEDIUM] Re-escalated: flaky test" in mayor
    again = cli.json("gt", "escalate", "stale")  # at max_reescalations now
    assert again[0]["Skipped"] and "max reescalations (1)" in again[0]["SkipReason"]
    assert "No escalations re-escalated (1 at max level)" in cli.gt("escalate", "stale").stdout
    titles = [b["title"] for b in cli.json("gt", "escalate", "list")]
    assert "stale" not in titles and len(titles) == 2


def test_a_silent_polecat_is_shown_stalled_before_the_nudge(witness_env):
    """Past the stall threshold and before the GUPP timeout: the verdict says stalled (one
    event says so), nothing is typed to it yet, and the control room's model shows it stalled
    with the Witness's evidence while the Witness runs."""
    from gastown_tui.model.town_model import TownModel
    from gastown_tui.ops.sessions import tmux_for

    cli, town, store = witness_env
    bead = cli.json("bd", "create", "Hang", "-d", "```sim\nhang: true\n```")["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]
    wait_for(lambda: "hanging" in panes(cli, agent))
    witness = Witness(town, store, town.rig("gastown"),
                      WitnessConfig(stall_timeout=1.0, gupp_timeout=10.0))
    state = WitnessState()
    witness.patrol(state, now=1000.0)
    assert witness.patrol(state, now=1000.5)[0].state == "working"  # quiet, not yet stalled
    stalled = witness.patrol(state, now=1002.0)[0]
    assert stalled.state == "stalled" and stalled.issue == bead
    assert stalled.evidence == (f"hooked {bead}; no commit, bead update or output for 2s; "
                                "GUPP nudge at 10s")
    assert stalled.action == "found stalled"
    assert witness.patrol(state, now=1003.0)[0].action == ""  # told once per stall
    assert "GUPP: work is on your hook" not in panes(cli, agent)  # not nudged yet
    events = [json.loads(line) for line in (town.root / ".events.jsonl").read_text().splitlines()]
    checked = [e for e in events if e["type"] == "polecat_checked"
               and e["payload"]["state"] == "stalled"]
    assert [e["payload"]["action"] for e in checked] == ["found stalled"]

    name = agent.rsplit("/", 1)[1]
    model = TownModel(town.root)
    try:
        shown = model.load().agent(agent)
        assert shown is not None and shown.state == "working"  # no Witness running: not shown
        tmux = tmux_for(town)
        tmux.new_session(f"{town.rig('gastown').prefix}-witness", town.root, ["sleep", "600"])
        shown = model.load().agent(agent)
        assert shown is not None and shown.state == "stalled"
        assert shown.evidence == state.verdicts[name].evidence  # the last patrol's words
        assert any(item.kind == "stalled" for item in model.load().needs_you)
        nudged = witness.patrol(state, now=1011.0)[0]  # past the GUPP timeout: nudged
        assert nudged.action.startswith("nudged (GUPP")
        wait_for(lambda: "GUPP: work is on your hook" in panes(cli, agent))
        assert state.memory[name].stalled_at == 0.0  # nudged: a new silence is a new stall
    finally:
        model.close()
