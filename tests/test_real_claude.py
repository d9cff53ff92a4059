"""The real Claude Code (npm, pinned in tests/agents/package.json) slung as a polecat and run
as the Mayor in a real town, its model a script on 127.0.0.1 (tests/scripted_model).

What the model is shown is read from its request log, what it does comes from the script,
and everything else is the real CLI and the product as shipped: the settings file and hooks
we write, the start-up dialogs answered by `gt sling`, the guards, nudges and mail."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.real_agents import AgentTown
from tests.scripted_model import bash, say
from tests.waiting import wait_for

pytest_plugins = ("tests.real_agents",)  # the claude_town fixture


def polecat_of(name: str):
    return lambda request: f"/polecats/{name}/" in request.cwd + "/"


def test_a_slung_polecat_reaches_its_model_and_lands_its_work(claude_town: AgentTown):
    town = claude_town
    bead = town.cli.json("bd", "create", "Add a greeting", "-d", "Write hello.txt.")["id"]
    town.cli.gt("mail", "send", "gastown/furiosa", "-s", "Remember the docs", "-m", "please")
    town.model.script(
        lambda r: "/polecats/" in r.cwd,
        bash("printf 'hello\\n' > hello.txt && git add hello.txt && "
             f"git commit -q -m 'Add a greeting ({bead})'"),
        bash("gt done"),
        say("Submitted."))
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    assert slung["screen"] in ("ready", "busy"), slung
    first = town.model.wait_for(lambda r: r.main, timeout=60, what="the polecat's first turn")
    # What SessionStart gave the model: its hook, the formula's steps and its mail.
    assert bead in first.text and "Add a greeting" in first.text
    assert "## Steps (mol-polecat-work)" in first.text
    assert "Remember the docs" in first.text
    assert "persisted-output" not in first.text  # whole, not a 2 KB preview of it
    mr = wait_for(lambda: town.mrs(bead), timeout=90, what="the merge request")[0]
    town.cli.gt("refinery", "run", "gastown", "--once")
    wait_for(lambda: town.bead(bead)["status"] == "closed", timeout=60, what="the merge")
    assert town.bead(mr["id"])["status"] == "closed"
    main = subprocess.run(["git", "show", "main:hello.txt"], capture_output=True, text=True,
                          cwd=town.root / "gastown" / ".repo.git")
    assert main.stdout == "hello\n"


def exit_script(town: AgentTown, bead: str, kind: str) -> list:
    """What a model that read the guide's "How your work ends" table runs for each ending."""
    return {
        "no-changes": [bash(f'bd close {bead} --reason "no-changes: already fixed upstream"'),
                       bash("gt done")],
        "escalated": [bash('gt escalate "need a decision" -s HIGH -m "two specs disagree"'),
                      bash("gt done --status ESCALATED")],
        "deferred": [bash("gt done --status DEFERRED")],
    }[kind] + [say("Ended.")]


@pytest.mark.parametrize(("kind", "bead_status", "agent_state", "exit_type", "convoy"), [
    ("no-changes", "closed", "idle", "COMPLETED", "closed"),
    ("escalated", "blocked", "stuck", "ESCALATED", "open"),
    ("deferred", "hooked", "idle", "DEFERRED", "open"),
])
def test_each_ending_without_a_merge_request(claude_town: AgentTown, kind: str,
                                             bead_status: str, agent_state: str,
                                             exit_type: str, convoy: str):
    town = claude_town
    bead = town.cli.json("bd", "create", f"Work ending {kind}", "-d", "Look into it.")["id"]
    town.model.script(lambda r: "/polecats/" in r.cwd, *exit_script(town, bead, kind))
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    name = slung["agent"].rsplit("/", 1)[1]
    wait_for(lambda: town.agent_fields(name).get("exit_type") == exit_type, timeout=90,
             what=f"gt done --status {exit_type}")
    found = town.bead(bead)
    assert found["status"] == bead_status
    assert town.mrs(bead) == []
    fields = town.agent_fields(name)
    assert fields["agent_state"] == agent_state and fields.get("hook_bead", "null") == "null"
    assert town.bead(slung["convoy"])["status"] == convoy
    assert Path(slung["worktree"]).is_dir()
    if kind == "no-changes":
        assert found["close_reason"].startswith("no-changes: already fixed upstream")
    if kind == "escalated":
        assert any(e["title"] == "need a decision"
                   for e in town.cli.json("gt", "escalate", "list"))
    if kind == "deferred":
        assert found["assignee"] == slung["agent"]


def test_handoff_restarts_claude_with_the_note_and_the_hook(claude_town: AgentTown):
    town = claude_town
    bead = town.cli.json("bd", "create", "Two-session work", "-d", "Write a.txt then b.txt.")
    bead = bead["id"]
    town.model.script(
        lambda r: "/polecats/" in r.cwd,
        bash("echo a > a.txt && git add a.txt && git commit -qm 'a'"),
        bash('gt handoff -s "half way" -m "a.txt is committed; write b.txt next"'),
        # the next session: a fresh Claude whose SessionStart shows the note and the hook
        lambda r: bash("echo b > b.txt && git add b.txt && git commit -qm 'b' && gt done")
        if "a.txt is committed" in r.text and bead in r.text else None,
        say("Submitted after the handoff."))
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    wait_for(lambda: town.mrs(bead), timeout=120, what="the second session's gt done")
    firsts = {r.conversation for r in town.model.main_requests("/polecats/")}
    assert len(firsts) == 2, "the handoff did not start a second Claude session"
    resumed = [r for r in town.model.main_requests("/polecats/")
               if "## Handoff from your previous session" in r.text]
    assert resumed and "half way" in resumed[0].text and bead in resumed[0].text
    assert Path(slung["worktree"], "b.txt").read_text() == "b\n"


def test_guards_block_pull_requests_branches_and_sudo(claude_town: AgentTown):
    town = claude_town
    bead = town.cli.json("bd", "create", "Try the forbidden", "-d", "x")["id"]
    town.model.script(lambda r: "/polecats/" in r.cwd,
                      bash("gh pr create --title mine --body x"),
                      bash("cd . && git checkout -b my-own-branch"),
                      bash("sudo apt install cowsay"),
                      bash("echo still-allowed"),
                      say("Giving up."))
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    last = town.model.wait_for(lambda r: "/polecats/" in r.cwd and len(r.tool_results) >= 4,
                               timeout=90, what="four tool results")
    results = last.tool_results
    assert "Blocked by gt tap guard pr-workflow" in results[0]
    assert "Blocked by gt tap guard pr-workflow" in results[1]
    assert "Blocked by gt tap guard dangerous-command" in results[2]
    assert "still-allowed" in results[3]
    branches = subprocess.run(["git", "branch", "--list", "my-own-branch"], text=True,
                              capture_output=True, cwd=slung["worktree"]).stdout
    assert branches.strip() == ""
