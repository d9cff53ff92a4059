"""The real OpenCode (npm `opencode-ai`, pinned in tests/agents/package.json) slung as a polecat
in a real town, its model a script on 127.0.0.1 speaking Chat Completions (tests/scripted_model/openai.py). The stages are shared:
tests/real_agent_stages.py."""

from __future__ import annotations

from pathlib import Path

from tests import real_agent_stages as stages
from tests.real_agents import AgentTown

pytest_plugins = ("tests.real_agents",)  # the opencode_town fixture


def test_a_slung_opencode_is_primed_and_lands_its_work(opencode_town: AgentTown):
    stages.lands_its_work(opencode_town)


def test_each_ending_without_a_merge_request(opencode_town: AgentTown):
    stages.each_ending(opencode_town)


def test_handoff_restarts_opencode_with_the_note_and_the_hook(opencode_town: AgentTown):
    stages.handoff(opencode_town)


def test_guards_block_pull_requests_branches_and_sudo(opencode_town: AgentTown):
    stages.guards(opencode_town)


def test_nudges_mail_queue_and_compaction(opencode_town: AgentTown):
    slung = stages.nudges_mail_and_the_queue(opencode_town)
    stages.compaction_primes_again(opencode_town, slung, "/compact")


def test_the_first_start_in_a_fresh_home_creates_opencodes_database_first(
        opencode_town: AgentTown):
    """Three first starts of OpenCode at once raced on creating its database and one hung at
    "init" with a blank pane for good (each_ending above slings three at once in a fresh
    HOME); the first start now creates it alone, and later starts do not run it again."""
    from gastown_tui.ops.sessions import opencode_first_run
    from gastown_tui.town.layout import Town

    env = opencode_town.cli.env
    database = Path(env["HOME"]) / ".local" / "share" / "opencode" / "opencode.db"
    assert not database.exists()
    opencode_first_run(Town(opencode_town.root), "opencode", env)
    assert database.is_file()
    before = database.stat().st_mtime_ns
    opencode_first_run(Town(opencode_town.root), "opencode", {**env, "PATH": "/nonexistent"})
    assert database.stat().st_mtime_ns == before
