"""Agents for real: sim polecats in tmux on a private server, through the real `gt` CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pygit2

from tests.conftest import Cli
from tests.waiting import wait_for


def peek(cli: Cli, target: str) -> str:
    return cli.gt("peek", target, "-n", "200").stdout


def test_sling_polecat_works_commits_and_submits(sim_town: Cli, rig_town: Path):
    cli = sim_town
    bead = cli.json("bd", "create", "Add the greeting")["id"]
    results = cli.json("gt", "sling", bead, "gastown")
    r = results[0]
    assert r["spawned"] and r["agent"].startswith("gastown/polecats/")
    assert r["session"] == f"gt-{r['agent'].rsplit('/', 1)[1]}"
    assert r["convoy"].startswith("hq-cv-") and r["formula"] == "mol-polecat-work"
    name = r["agent"].rsplit("/", 1)[1]
    worktree = rig_town / "gastown" / "polecats" / name / "gastown"
    mrs = wait_for(lambda: cli.json("bd", "list", "--label", "gt:merge-request"))
    assert mrs[0]["title"] == f"Merge: {bead}"
    fields = mrs[0]["description"]
    assert f"source_issue: {bead}" in fields and f"branch: {r['branch']}" in fields
    repo = pygit2.Repository(str(worktree))
    assert repo.head.shorthand == r["branch"]
    assert (worktree / f"{bead}.txt").read_text() == "Add the greeting\n"
    assert repo[repo.head.target].message.startswith("sim: Add the greeting")
    shown = cli.json("bd", "show", bead)[0]
    assert shown["status"] == "in_progress" and shown["assignee"] == r["agent"]
    polecats = cli.json("gt", "polecat", "list")
    assert [(p["name"], p["state"], p["session_running"]) for p in polecats] == [
        (name, "done", True)]
    pane = peek(cli, r["agent"])
    assert f"hook: {bead}" in pane and "gt done:" in pane
    # the agent got Gas Town's environment
    show_env = subprocess.run(
        ["tmux", "-L", cli.env["GT_TMUX_SOCKET"], "show-environment", "-t", r["session"]],
        capture_output=True, text=True).stdout
    for line in (f"GT_ROLE={r['agent']}", "GT_RIG=gastown", f"GT_POLECAT={name}",
                 f"BD_ACTOR={r['agent']}", "GT_AGENT=sim", f"GT_BRANCH={r['branch']}",
                 f"GIT_CEILING_DIRECTORIES={rig_town}"):
        assert line in show_env
    # gt done again with nothing new is idempotent
    again = json.loads(cli.gt("done", "--json", cwd=worktree,
                              env={"GT_ROLE": r["agent"]}).stdout)
    assert again["mr"] == mrs[0]["id"] and again["created"] is False


def test_nudges_reach_the_agent_as_text(sim_town: Cli, tmp_path: Path):
    cli = sim_town
    bead = cli.json("bd", "create", "Wait here", "-d", "```sim\nhang: true\n```")["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]
    wait_for(lambda: "hanging" in peek(cli, agent))
    marker = tmp_path / "pwned"
    text = f"hello $(touch {marker}); C-c Enter `id`"
    res = cli.json("gt", "nudge", agent, text, "--mode", "immediate")
    assert res["status"] == "delivered"
    wait_for(lambda: "[sim] received: [from overseer] hello $(touch" in peek(cli, agent))
    assert "C-c Enter `id`" in peek(cli, agent) and not marker.exists()
    res = cli.json("gt", "nudge", agent, "second line", "--mode", "wait-idle")
    assert res["status"] == "delivered"
    wait_for(lambda: "[from overseer] second line" in peek(cli, agent))
    res = cli.json("gt", "nudge", agent, "read this later", "--mode", "queue")
    assert res["status"] == "queued"
    wait_for(lambda: "[sim] nudge from overseer: read this later" in peek(cli, agent))
    # a hung polecat is stalled? no: it has a live session and hooked work, so it is working
    states = {p["address"]: p["state"] for p in cli.json("gt", "polecat", "list")}
    assert states[agent] == "working"


def test_sling_refusals_create_nothing(sim_town: Cli, rig_town: Path):
    cli = sim_town
    bead = cli.json("bd", "create", "x")["id"]
    proc = cli.gt("sling", bead, "nowhere", ok=False)
    assert "unknown rig 'nowhere'" in proc.stderr and proc.stderr.count("\n") == 1
    closed = cli.json("bd", "create", "closed one")["id"]
    cli.bd("close", closed)
    proc = cli.gt("sling", closed, "gastown", ok=False)
    assert "is closed" in proc.stderr
    cli.gt("hook", bead, "gastown/polecats/someone")
    proc = cli.gt("sling", bead, "gastown", ok=False)
    assert "already hooked by gastown/polecats/someone" in proc.stderr and "--force" in proc.stderr
    town_bead = cli.json("bd", "create", "town level", cwd=rig_town)["id"]
    proc = cli.gt("sling", town_bead, "gastown", ok=False)
    assert "not rig gastown" in proc.stderr
    polecats_dir = rig_town / "gastown" / "polecats"
    assert not [p for p in polecats_dir.iterdir() if not p.name.startswith(".")]
    assert cli.json("gt", "convoy", "list") == []


def test_sling_that_fails_half_way_rolls_back(sim_town: Cli, rig_town: Path, tmp_path: Path):
    cli = sim_town
    bead = cli.json("bd", "create", "doomed")["id"]
    # a tmux that fails every call (a missing tmux is minimal mode: sling then hooks the
    # work without a session, see test_minimal_mode)
    broken = tmp_path / "broken-bin"
    broken.mkdir()
    fake = broken / "tmux"
    fake.write_text("#!/bin/sh\necho 'fatal: tmux is broken' >&2\nexit 1\n")
    fake.chmod(0o755)
    proc = cli.gt("sling", bead, "gastown", ok=False, env={"PATH": str(broken)})
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "tmux is broken" in errors[0]
    assert "creating worktree" in proc.stderr and "starting sim session" in proc.stderr
    assert "Traceback" not in proc.stderr
    shown = cli.json("bd", "show", bead)[0]
    assert shown["status"] == "open" and "assignee" not in shown
    assert not [p for p in (rig_town / "gastown" / "polecats").iterdir()
                if not p.name.startswith(".")]
    bare = pygit2.Repository(str(rig_town / "gastown" / ".repo.git"))
    assert not [b for b in bare.branches.local if b.startswith("polecat/")]
    assert bare.list_worktrees() == ["refinery"]
    assert cli.json("gt", "convoy", "list") == []


def test_batch_sling_one_polecat_each_one_convoy(sim_town: Cli):
    cli = sim_town
    beads = [cli.json("bd", "create", f"task {i}")["id"] for i in range(2)]
    results = cli.json("gt", "sling", *beads, "gastown")
    assert len({r["agent"] for r in results}) == 2
    assert len({r["convoy"] for r in results}) == 1
    convoy = cli.json("gt", "convoy", "status", results[0]["convoy"])
    assert convoy["title"] == "Batch: 2 beads to gastown" and convoy["total"] == 2
    wait_for(lambda: len(cli.json("bd", "list", "--label", "gt:merge-request")) == 2)


def test_up_mayor_and_sling_to_a_running_agent(sim_town: Cli, rig_town: Path):
    cli = sim_town
    steps = cli.json("gt", "up")
    assert steps[0]["session"] == "hq-mayor" and steps[0]["action"] == "started"
    wait_for(lambda: "sim agent (mayor) ready" in peek(cli, "mayor"))
    bead = cli.json("bd", "create", "for the mayor", cwd=rig_town)["id"]
    res = cli.json("gt", "sling", bead, "mayor")[0]
    assert not res["spawned"] and res["agent"] == "mayor"
    wait_for(lambda: f"Work slung: {bead}" in peek(cli, "mayor"))
    assert cli.json("bd", "show", bead)[0]["status"] == "hooked"
    # the sim Mayor slings on request, through the same ops
    work = cli.json("bd", "create", "mayor slings this")["id"]
    cli.gt("nudge", "mayor", f"sling {work} to gastown", "--mode", "immediate")
    wait_for(lambda: cli.json("bd", "show", work)[0].get("assignee", "").startswith(
        "gastown/polecats/"))
    stopped = cli.json("gt", "down")
    assert "hq-mayor" in [s["session"] for s in stopped]
    assert cli.json("gt", "mayor", "status")["running"] is False


def test_prime_renders_the_hook_and_formula_steps(sim_town: Cli, rig_town: Path):
    cli = sim_town
    bead = cli.json("bd", "create", "Primed work", "-d", "```sim\nhang: true\n```")["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]
    out = cli.gt("prime", "--hook", env={"GT_ROLE": agent}).stdout
    assert f"On your hook: {bead} — Primed work" in out
    assert "## Steps (mol-polecat-work)" in out and f"bd show {bead}" in out
    assert "{{issue}}" not in out


def test_missing_tmux_is_a_clear_message(sim_town: Cli, tmp_path: Path):
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = sim_town.gt("peek", "mayor", ok=False, env={"PATH": str(empty)})
    assert "tmux is not installed" in proc.stderr and "Traceback" not in proc.stderr
    proc = sim_town.gt("nudge", "mayor", "hi", ok=False)
    assert "mayor is not running" in proc.stderr
    assert os.environ.get("GT_TMUX_SOCKET") is None  # tests never touch the user's server


def test_nuke_refuses_then_forced_nuke_and_restore(sim_town: Cli, rig_town: Path):
    cli = sim_town
    bead = cli.json("bd", "create", "Unfinished", "-d",
                    "```sim\nwrite: notes.txt | half done\nhang: true\n```")["id"]
    r = cli.json("gt", "sling", bead, "gastown")[0]
    name = r["agent"].rsplit("/", 1)[1]
    worktree = Path(r["worktree"])
    wait_for(lambda: (worktree / "notes.txt").exists() and "hanging" in peek(cli, r["agent"]))
    proc = cli.gt("polecat", "nuke", f"gastown/{name}", ok=False)
    assert proc.returncode != 0 and "notes.txt" in proc.stderr and bead in proc.stderr
    assert "--force" in proc.stderr and worktree.is_dir()
    out = cli.json("gt", "polecat", "nuke", f"gastown/{name}", "--force")
    ref = out[0]["graveyard_ref"]
    assert ref.startswith(f"refs/gastown/graveyard/{name}/") and not worktree.exists()
    assert cli.json("gt", "polecat", "list") == []
    assert cli.json("bd", "show", bead)[0]["status"] == "open"
    graves = cli.json("gt", "polecat", "graveyard", "list")
    assert [g["ref"] for g in graves] == [ref]
    restored = cli.json("gt", "polecat", "graveyard", "restore", "1")
    assert (Path(restored["worktree"]) / "notes.txt").read_text() == "half done\n"


def test_the_mayor_and_crew_get_their_whole_guide_at_session_start(sim_town: Cli):
    """The SessionStart hook carries the role guide when it fits: the Mayor has no CLAUDE.md
    of its own, so a guide grown past the hook's budget would reach its model only as "run
    gt prime" (the real Claude Mayor then started without knowing its commands)."""
    from gastown_tui.ops.prime import HOOK_BUDGET

    mayor = sim_town.gt("prime", "--hook", env={"GT_ROLE": "mayor"}).stdout
    assert len(mayor) <= HOOK_BUDGET
    assert "You are the **Mayor**" in mayor and "gt sling <bead> <rig>" in mayor
    assert "is in `gt prime`" not in mayor
