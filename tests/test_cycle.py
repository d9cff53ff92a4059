"""`gt cycle`: upstream's session groups for next/prev, and the status/now verbs' answers
where no Claude agent runs. (Context cycling itself: tests/test_real_claude_cycle.py.)"""

from __future__ import annotations

from tests.conftest import Cli


def test_session_groups_are_upstreams():
    from gastown_tui.cli.gt_cycle import _group

    sessions = ["hq-mayor", "hq-deacon", "gt-witness", "gt-refinery", "gt-nux", "gt-crew-max",
                "gt-crew-ann", "bd-witness", "bd-slit"]
    prefixes = {"gt": "gastown", "bd": "beads"}
    assert _group(sessions, "hq-mayor", prefixes) == ["hq-deacon", "hq-mayor"]
    assert _group(sessions, "gt-nux", prefixes) == ["gt-nux", "gt-refinery", "gt-witness"]
    assert _group(sessions, "gt-crew-max", prefixes) == ["gt-crew-ann", "gt-crew-max"]
    assert _group(sessions, "bd-slit", prefixes) == ["bd-slit", "bd-witness"]


def test_cycle_status_and_now_on_a_town_without_claude(sim_town: Cli):
    cli = sim_town
    out = cli.json("gt", "cycle", "status")
    assert out == {"threshold": 0.0, "window": 200000, "grace_s": 600.0, "agents": []}
    assert "cycling off" in cli.gt("cycle", "status").stdout
    bead = cli.json("bd", "create", "x", "-d", "```sim\nhang: true\n```")["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]
    done = cli.json("gt", "cycle", "now", agent, "-m", "testing")
    assert done["agent"] == agent and done["note"]
    note = cli.json("bd", "show", done["note"])[0]
    assert "context cycle" in note["title"] and "testing" in note["description"]
    gone = cli.gt("cycle", "now", "gastown/polecats/nobody", ok=False)
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    lonely = cli.gt("cycle", "next", "--session", "hq-mayor").stdout
    assert "no other session in its group" in lonely
