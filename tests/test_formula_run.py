"""`gt formula run` on a real town: a workflow and a convoy formula end to end (sim agents)."""

from __future__ import annotations

from tests.waiting import wait_for


def test_workflow_formula_makes_step_beads_and_slings_the_root(sim_town):
    cli = sim_town
    plan = cli.json("gt", "formula", "run", "shiny", "--var", "feature=login", "--dry-run")
    assert [b["key"] for b in plan["beads"]] == ["design", "implement", "review", "test", "submit"]
    assert plan["convoy"] == "" and cli.json("bd", "list") == []
    run = cli.json("gt", "formula", "run", "shiny", "--var", "feature=login")
    beads = {b["key"]: b for b in run["beads"]}
    assert beads["design"]["slung_to"].startswith("gastown/polecats/")
    assert all(beads[k]["slung_to"] == "" for k in ("implement", "review", "test", "submit"))
    implement = cli.json("bd", "show", beads["implement"]["bead"])[0]
    assert implement["title"] == "Implement login"
    assert [d["id"] for d in implement["dependencies"]] == [beads["design"]["bead"]]
    convoy = cli.json("gt", "convoy", "status", run["convoy"])
    assert convoy["total"] == 5 and convoy["title"] == "shiny: login"
    # the root step's polecat submits; once it merges (closed here by hand), feeding slings next
    wait_for(lambda: cli.json("bd", "list", "--label", "gt:merge-request"))
    status = cli.json("gt", "formula", "status", run["convoy"])
    assert status["total"] == 5 and status["items"][0]["state"] == "active"
    cli.bd("close", beads["design"]["bead"])
    fed = cli.json("gt", "convoy", "feed", run["convoy"])
    assert [f["bead"] for f in fed] == [beads["implement"]["bead"]]
    status = cli.json("gt", "formula", "status", run["convoy"])
    assert status["done"] == 1 and status["current"] == "implement"
    text = cli.gt("formula", "status", run["convoy"]).stdout
    assert "Progress: 1/5" in text


def test_convoy_formula_slings_legs_and_waits_with_synthesis(sim_town):
    cli = sim_town
    run = cli.json("gt", "formula", "run", "code-review", "--var", "branch=feature-x")
    legs = [b for b in run["beads"] if b["key"] != "synthesis"]
    synthesis = next(b for b in run["beads"] if b["key"] == "synthesis")
    assert len(legs) >= 3 and all(b["slung_to"] for b in legs)
    assert len({b["slung_to"] for b in legs}) == len(legs)  # a fresh polecat per leg
    assert synthesis["slung_to"] == "" and sorted(synthesis["needs"]) == sorted(
        b["key"] for b in legs)
    shown = cli.json("bd", "show", synthesis["bead"])[0]
    assert sorted(d["id"] for d in shown["dependencies"]) == sorted(b["bead"] for b in legs)
    leg = cli.json("bd", "show", legs[0]["bead"])[0]
    assert "branch feature-x" in leg["description"] and "{{" not in leg["description"]


def test_formula_run_errors(sim_town):
    cli = sim_town
    proc = cli.gt("formula", "run", "release", ok=False)
    assert "version" in proc.stderr and proc.stderr.count("\n") == 1
    proc = cli.gt("formula", "run", "rule-of-five", ok=False)
    assert "expansion formula" in proc.stderr
    proc = cli.gt("formula", "run", "shiny", "--var", "feature=x", cwd=cli.cwd.parent, ok=False)
    assert "which rig" in proc.stderr


def test_sling_with_formula_attaches_it(sim_town):
    cli = sim_town
    bead = cli.json("bd", "create", "x", "-d", "```sim\nhang: true\n```")["id"]
    cli.gt("sling", bead, "gastown", "--formula", "shiny")
    assert "attached_formula: shiny" in cli.json("bd", "show", bead)[0]["description"]
    polecats_before = sorted(p.name for p in (cli.cwd / "polecats").iterdir())
    other = cli.json("bd", "create", "y")["id"]
    proc = cli.gt("sling", other, "gastown", "--formula", "nope", ok=False)
    assert "nope" in proc.stderr and proc.stderr.count("\n") == 1
    assert sorted(p.name for p in (cli.cwd / "polecats").iterdir()) == polecats_before
    assert cli.json("bd", "show", other)[0]["status"] == "open"
