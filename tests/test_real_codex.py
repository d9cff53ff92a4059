"""The real Codex CLI (npm `@openai/codex`, pinned in tests/agents/package.json) slung as a
polecat in a real town, its model a script on 127.0.0.1 speaking OpenAI's Responses API
(tests/scripted_model/openai.py). The stages are shared: tests/real_agent_stages.py."""

from __future__ import annotations

from tests import real_agent_stages as stages
from tests.real_agents import AgentTown

pytest_plugins = ("tests.real_agents",)  # the codex_town fixture


def test_a_slung_codex_is_primed_and_lands_its_work(codex_town: AgentTown):
    stages.lands_its_work(codex_town)


def test_each_ending_without_a_merge_request(codex_town: AgentTown):
    stages.each_ending(codex_town)


def test_handoff_restarts_codex_with_the_note_and_the_hook(codex_town: AgentTown):
    stages.handoff(codex_town)


def test_guards_block_pull_requests_branches_and_sudo(codex_town: AgentTown):
    stages.guards(codex_town)


def test_nudges_mail_queue_and_compaction(codex_town: AgentTown):
    slung = stages.nudges_mail_and_the_queue(codex_town)
    stages.compaction_primes_again(codex_town, slung, "/compact")
