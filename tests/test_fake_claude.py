"""A Claude Code stand-in (tests/fixtures/fake_claude.py) slung as a real polecat: it finds
its work and how to finish only through the hooks in the settings file we write and what
`gt prime --hook` prints, and every way a polecat can end leaves the town as it should."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.waiting import wait_for

FAKE = Path(__file__).parent / "fixtures" / "fake_claude.py"


@pytest.fixture
def claude_town(rig_town: Path, tmux_socket: str, clean_env: dict[str, str]) -> Cli:
    settings = rig_town / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["agents"] = {"fakeclaude": {
        "provider": "claude", "command": sys.executable,
        "args": [str(FAKE), "--dangerously-skip-permissions"],
        "tmux": {"ready_prompt_prefix": "❯ ", "ready_delay_ms": 0}}}
    data["role_agents"] = {"polecat": "fakeclaude"}
    settings.write_text(json.dumps(data))
    return Cli(rig_town / "gastown", {**clean_env, "GT_TMUX_SOCKET": tmux_socket})


def pane(cli: Cli, agent: str) -> str:
    return cli.gt("peek", agent, "-n", "300").stdout


def sling(cli: Cli, exit_kind: str) -> dict:
    bead = cli.json("bd", "create", f"Work ending {exit_kind}",
                    "-d", f"Do the thing.\n\n```fake\nexit: {exit_kind}\n```")["id"]
    slung = cli.json("gt", "sling", bead, "gastown")[0]
    return {**slung, "bead": bead, "name": slung["agent"].rsplit("/", 1)[1]}


def agent_fields(cli: Cli, slung: dict) -> dict[str, str]:
    agent = cli.json("bd", "show", f"gt-gastown-polecat-{slung['name']}")[0]
    return dict(line.split(": ", 1) for line in agent["description"].splitlines()
                if ": " in line)


def mrs(cli: Cli, bead: str) -> list[dict]:
    return [m for m in cli.json("bd", "list", "--label", "gt:merge-request", "--all")
            if f"source_issue: {bead}" in m["description"]]


def convoy_status(cli: Cli, convoy: str) -> str:
    return cli.json("bd", "show", convoy)[0]["status"]


def test_done_with_an_mr(claude_town: Cli, rig_town: Path):
    cli = claude_town
    s = sling(cli, "done")
    wait_for(lambda: mrs(cli, s["bead"]), what="the merge request", timeout=60)
    wait_for(lambda: "done; idle" in pane(cli, s["agent"]), what="the fake to finish")
    screen = pane(cli, s["agent"])
    # it learned its job from the hooks: SessionStart ran gt prime --hook and mail check
    assert f"on my hook: {s['bead']}; plan: done" in screen
    # the PreToolUse guard stopped a polecat making its own branch
    assert "blocked: git checkout -b my-own-branch" in screen and "pr-workflow" in screen
    worktree = rig_town / "gastown" / "polecats" / s["name"] / "gastown"
    branches = subprocess.run(["git", "branch", "--list", "my-own-branch"], cwd=worktree,
                              capture_output=True, text=True).stdout
    assert branches.strip() == ""
    bead = cli.json("bd", "show", s["bead"])[0]
    # as upstream, but the bead closes when the MR merges (so the convoy waits for main)
    assert bead["status"] == "in_progress" and f"merge_request: {mrs(cli, s['bead'])[0]['id']}" \
        in bead["description"]
    fields = agent_fields(cli, s)
    assert fields["agent_state"] == "idle" and fields["exit_type"] == "COMPLETED"
    assert fields.get("hook_bead", "null") == "null"
    assert convoy_status(cli, s["convoy"]) == "open" and worktree.is_dir()
    # the session id from Claude's hook JSON was kept for the next prime
    kept = rig_town / ".runtime" / "sessions" / f"{s['session']}.json"
    assert json.loads(kept.read_text())["source"] == "startup"


@pytest.mark.parametrize(("exit_kind", "bead_status", "agent_state", "exit_type", "convoy"), [
    ("no-changes", "closed", "idle", "COMPLETED", "closed"),
    ("report", "closed", "idle", "COMPLETED", "closed"),
    ("escalated", "blocked", "stuck", "ESCALATED", "open"),
    ("deferred", "hooked", "idle", "DEFERRED", "open"),
])
def test_every_exit_without_an_mr(claude_town: Cli, rig_town: Path, exit_kind: str,
                                  bead_status: str, agent_state: str, exit_type: str,
                                  convoy: str):
    cli = claude_town
    s = sling(cli, exit_kind)
    wait_for(lambda: agent_fields(cli, s).get("exit_type") == exit_type, timeout=60,
             what=f"gt done --status {exit_type}")
    wait_for(lambda: "done; idle" in pane(cli, s["agent"]), what="the fake to finish")
    bead = cli.json("bd", "show", s["bead"])[0]
    assert bead["status"] == bead_status, pane(cli, s["agent"])
    assert mrs(cli, s["bead"]) == []  # no merge request on any of these paths
    fields = agent_fields(cli, s)
    assert fields["agent_state"] == agent_state
    assert fields.get("hook_bead", "null") == "null"
    assert convoy_status(cli, s["convoy"]) == convoy
    assert (rig_town / "gastown" / "polecats" / s["name"] / "gastown").is_dir()
    if exit_kind == "no-changes":
        assert bead["close_reason"].startswith("no-changes: already fixed upstream")
    if exit_kind == "report":
        assert "Findings: nothing is broken" in bead["notes"]
    if exit_kind == "escalated":
        escalations = cli.json("gt", "escalate", "list")
        assert any(e["title"] == "need a decision" for e in escalations)
    if exit_kind == "deferred":
        assert bead["assignee"] == s["agent"]  # still its work, to be resumed


def test_handoff_restarts_the_session_with_the_note(claude_town: Cli):
    cli = claude_town
    s = sling(cli, "handoff")
    wait_for(lambda: mrs(cli, s["bead"]), what="the second session to finish", timeout=90)
    screen = pane(cli, s["agent"])
    assert "resumed after a handoff; finishing the work" in screen
    notes = [m for m in cli.json("gt", "mail", "inbox", f"gastown/{s['name']}")
             if m["subject"].startswith("🤝 HANDOFF")]
    assert [n["subject"] for n in notes] == ["🤝 HANDOFF: half way"]
    assert "half.txt is committed" in notes[0]["body"]
    prime = cli.gt("prime", env={"GT_ROLE": s["agent"]}).stdout
    assert "## Handoff from your previous session" in prime and "half way" in prime


def test_mail_reaches_a_running_agent_at_its_next_prompt(claude_town: Cli):
    cli = claude_town
    s = sling(cli, "deferred")
    wait_for(lambda: "done; idle" in pane(cli, s["agent"]), what="the fake at its prompt")
    cli.gt("mail", "send", f"gastown/{s['name']}", "-s", "Please also update the docs",
           "-m", "the README is stale")
    cli.gt("nudge", s["agent"], "anything new?")
    wait_for(lambda: "hook: - hq-" in pane(cli, s["agent"]), what="the injected mail")
    screen = pane(cli, s["agent"])
    assert "Please also update the docs" in screen and "<system-reminder>" in screen
    # delivered once: the next prompt does not repeat it
    cli.gt("nudge", s["agent"], "and now?")
    wait_for(lambda: "you said: [from overseer] and now?" in pane(cli, s["agent"])
             or "you said: " in pane(cli, s["agent"]).split("anything new?")[-1],
             what="the second prompt")
    after = pane(cli, s["agent"]).split("anything new?")[-1]
    assert after.count("Please also update the docs") <= 1
