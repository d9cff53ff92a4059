"""The real Gemini CLI (npm `@google/gemini-cli`, pinned in tests/agents/package.json) slung as a polecat
in a real town, its model a script on 127.0.0.1 speaking Gemini's API (tests/scripted_model/gemini.py). The stages are shared:
tests/real_agent_stages.py."""

from __future__ import annotations

from tests import real_agent_stages as stages
from tests.real_agents import AgentTown

pytest_plugins = ("tests.real_agents",)  # the gemini_town fixture


def test_a_slung_gemini_is_primed_and_lands_its_work(gemini_town: AgentTown):
    stages.lands_its_work(gemini_town)


def test_each_ending_without_a_merge_request(gemini_town: AgentTown):
    stages.each_ending(gemini_town)


def test_handoff_restarts_gemini_with_the_note_and_the_hook(gemini_town: AgentTown):
    stages.handoff(gemini_town)


def test_guards_block_pull_requests_branches_and_sudo(gemini_town: AgentTown):
    stages.guards(gemini_town)


def test_nudges_mail_queue_and_compaction(gemini_town: AgentTown):
    slung = stages.nudges_mail_and_the_queue(gemini_town)
    stages.compaction_primes_again(gemini_town, slung, "/compress")
