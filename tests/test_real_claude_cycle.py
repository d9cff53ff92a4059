"""Context-threshold cycling on the real Claude Code: a polecat whose model reports a nearly
full context is told to hand off; when it ignores that, the Witness cycles it: a handoff note
with its state, a fresh session, the same hook."""

from __future__ import annotations

import json
from pathlib import Path

from tests.real_agents import AgentTown
from tests.scripted_model import bash, say
from tests.waiting import wait_for

pytest_plugins = ("tests.real_agents",)


def test_a_full_context_is_told_then_cycled_with_its_hook(claude_town: AgentTown):
    town = claude_town
    settings = town.root / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["cycle"] = {"context_threshold": 0.8, "context_window": 200000, "grace": "0s"}
    settings.write_text(json.dumps(data))
    first: list[str] = []

    def in_first(request) -> bool:
        if "/polecats/" not in request.cwd:
            return False
        if not first:
            first.append(request.conversation)
        return request.conversation == first[0]

    town.model.script(in_first,
                      bash("echo one > one.txt && git add one.txt && git commit -qm one",
                           usage=(170_000, 500)),
                      say("Pausing here.", usage=(171_000, 100)),
                      say("Ignoring that.", usage=(172_000, 50)))
    town.model.script(lambda r: "/polecats/" in r.cwd and bool(first)
                      and r.conversation != first[0],
                      bash("echo two > two.txt", usage=(1_000, 20)), say("Fresh start."))
    bead = town.cli.json("bd", "create", "Long work", "-d", "Write one.txt then two.txt.")["id"]
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    agent = slung["agent"]
    town.wait_pane(agent, "Pausing here.", timeout=90)
    use = wait_for(lambda: next((a for a in town.cli.json("gt", "cycle", "status")["agents"]
                                 if a["agent"] == agent and a.get("tokens")), None),
                   timeout=30, what="the context use in gt cycle status")
    assert use["tokens"] == 171_000 + 100 and use["share"] == 0.8555 and use["over"]
    town.cli.gt("witness", "run", "gastown", "--once")
    told = town.model.wait_for(lambda r: "Hand off now" in r.last_user_text, timeout=60,
                               what="the hand-off nudge at the model")
    assert "86% full" in told.last_user_text and told.conversation == first[0]
    town.wait_pane(agent, "Ignoring that.", timeout=60)
    town.cli.gt("witness", "run", "gastown", "--once")  # no handoff within the grace: cycled
    fresh = town.model.wait_for(lambda r: "/polecats/" in r.cwd and r.conversation != first[0],
                                timeout=60, what="the fresh session's first request")
    assert "context cycle" in fresh.text and bead in fresh.text
    assert "no handoff" in fresh.text  # the note says why
    town.wait_pane(agent, "Fresh start.", timeout=60)
    assert Path(slung["worktree"], "two.txt").read_text() == "two\n"
    mine = next(p for p in town.cli.json("gt", "polecat", "list") if p["address"] == agent)
    assert mine["issue"] == bead and mine["state"] == "working"
    kinds = [json.loads(line)["type"] for line in
             (town.root / ".events.jsonl").read_text().splitlines()]
    assert kinds.count("context_told") == 1 and kinds.count("context_cycled") == 1
    assert "polecat_nudged" not in kinds
