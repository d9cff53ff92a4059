"""`gt costs` on the real Claude Code: two polecats whose model (tests/scripted_model) reports
known token usage per turn; the sums per agent, bead, convoy, rig and session are what the
model reported, to the token, and the money is those tokens at the town's prices."""

from __future__ import annotations

import json

import pytest

from tests.real_agents import AgentTown
from tests.scripted_model import bash, say
from tests.waiting import wait_for

pytest_plugins = ("tests.real_agents",)

PRICE = {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_creation": 3.75}


def reported(town: AgentTown, name: str) -> dict[str, int]:
    """What the model answered the polecat `name`, summed from its request log."""
    answers = [r.answer for r in town.model.main_requests(
        lambda r: f"/polecats/{name}/" in r.cwd + "/") if r.answer and r.answer.status == 200]
    return {"input_tokens": sum(a.usage[0] for a in answers),
            "output_tokens": sum(a.usage[1] for a in answers),
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def money(tokens: dict[str, int]) -> float:
    return (tokens["input_tokens"] * PRICE["input"]
            + tokens["output_tokens"] * PRICE["output"]) / 1e6


def test_gt_costs_adds_up_what_the_model_reported(claude_town: AgentTown):
    town = claude_town
    settings = town.root / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["costs"] = {"prices": {"claude-": PRICE}}  # a prefix: every Claude model
    settings.write_text(json.dumps(data))
    first = town.cli.json("bd", "create", "Count the tokens", "-d", "Say hello.")["id"]
    second = town.cli.json("bd", "create", "Count them again", "-d", "Say hello too.")["id"]
    town.model.script(lambda r: f"On your hook: {first}" in r.text,
                      bash("echo looking", usage=(1200, 80)),
                      bash("echo first > first.txt", usage=(1500, 120)),
                      say("Done with the first.", usage=(1800, 60)))
    town.model.script(lambda r: f"On your hook: {second}" in r.text,
                      bash("echo on it", usage=(2000, 300)),
                      say("Done with the second.", usage=(2500, 40)))
    slung = town.cli.json("gt", "sling", first, second, "gastown")
    names = {s["bead"]: s["agent"].rsplit("/", 1)[1] for s in slung}
    convoy = slung[0]["convoy"]
    assert convoy and slung[1]["convoy"] == convoy
    town.wait_pane(slung[0]["agent"], "Done with the first.", timeout=90)
    town.wait_pane(slung[1]["agent"], "Done with the second.", timeout=90)
    expect = {bead: reported(town, name) for bead, name in names.items()}
    # exactly the scripted turns: no other answer was counted into the sums below
    assert expect[first]["input_tokens"] == 1200 + 1500 + 1800
    assert expect[second]["output_tokens"] == 300 + 40

    def costs_seen():
        found = town.cli.json("gt", "costs", "--today", "--by-agent", "--by-bead",
                              "--by-convoy", "--by-rig")
        return found if found.get("by_bead_tokens") == expect else None

    today = wait_for(costs_seen, timeout=30, what="the transcripts' last answers in gt costs")
    both = {k: expect[first][k] + expect[second][k] for k in expect[first]}
    assert today["tokens"] == both
    assert today["total_usd"] == pytest.approx(money(both))
    assert today["by_convoy"] == pytest.approx({convoy: money(both)})
    assert today["by_rig"] == pytest.approx({"gastown": money(both)})
    assert today["by_agent"] == pytest.approx(
        {f"gastown/polecats/{names[b]}": money(expect[b]) for b in (first, second)})
    live = town.cli.json("gt", "costs")
    rows = {r["session"]: r for r in live["sessions"]}
    for s in slung:
        row = rows[s["session"]]
        assert row["running"] and row["role"] == "polecat" and row["rig"] == "gastown"
        assert row["tokens"] == expect[s["bead"]]
        assert row["cost_usd"] == pytest.approx(money(expect[s["bead"]]))
    assert live["total_usd"] == pytest.approx(money(both))
    print(town.cli.gt("costs").stdout)
    print(town.cli.gt("costs", "--today", "--by-bead", "--by-convoy", "-v").stdout)
