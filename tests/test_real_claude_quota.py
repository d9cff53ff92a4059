"""Accounts and rate limits on the real Claude Code: each polecat runs on an account's own
CLAUDE_CONFIG_DIR; a limit shows from the screen while Claude retries and from its transcript
once it gave up; with auto-rotation the Witness moves the limited polecat to a free account
(hook kept, a note saying why) instead of nudging it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.real_agents import API_KEY, AgentTown
from tests.scripted_model import bash, fail, say
from tests.waiting import wait_for

pytest_plugins = ("tests.real_agents",)


def limited_turn(hours: float = 2.0):
    reset = int(time.time() + hours * 3600)
    return fail(429, "rate limited", {
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-reset": str(reset),
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-status": "rejected",
        "anthropic-ratelimit-unified-5h-reset": str(reset)})


def account_dir(town: AgentTown, handle: str) -> Path:
    """An account this user has logged in to before: its own Claude config (onboarding done,
    the key approved), as `CLAUDE_CONFIG_DIR=<dir> claude` then /login leaves it."""
    folder = town.root.parent / f"account-{handle}"
    folder.mkdir()
    (folder / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark",
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []}}))
    town.cli.gt("account", "add", handle, "--config-dir", str(folder))
    return folder


def polecat_state(town: AgentTown, agent: str) -> dict:
    return next(p for p in town.cli.json("gt", "polecat", "list") if p["address"] == agent)


def test_a_limited_polecat_moves_to_a_free_account_with_its_hook(claude_town: AgentTown):
    town = claude_town
    first_dir = account_dir(town, "first")
    second_dir = account_dir(town, "second")
    settings = town.root / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["quota"] = {"auto_rotate": True}
    settings.write_text(json.dumps(data))
    limited_conversation: list[str] = []

    def on_first_account(request) -> bool:
        if "/polecats/" not in request.cwd:
            return False
        if not limited_conversation:
            limited_conversation.append(request.conversation)
        return request.conversation == limited_conversation[0]

    town.model.script(on_first_account, *[limited_turn()] * 60)
    town.model.script(lambda r: "/polecats/" in r.cwd and bool(limited_conversation)
                      and r.conversation != limited_conversation[0],
                      bash("echo carried on > carried.txt"), say("Carrying on."))
    bead = town.cli.json("bd", "create", "Work through a limit", "-d", "Write carried.txt.")
    slung = town.cli.json("gt", "sling", bead["id"], "gastown")[0]
    agent = slung["agent"]
    wait_for(lambda: polecat_state(town, agent)["state"] == "rate-limited", timeout=60,
             what="the rate-limited state on screen")
    # it started on the default account: its transcript is under that account's dir
    assert list((first_dir / "projects").rglob("*.jsonl"))
    town.cli.gt("witness", "run", "gastown", "--once")
    status = town.cli.gt("witness", "status", "gastown").stdout
    assert "rotated first -> second" in status and "waiting, not nudged" in status
    note = wait_for(lambda: town.model.main_requests(
        lambda r: r.conversation not in limited_conversation and "/polecats/" in r.cwd),
        timeout=60, what="the restarted session's first request")[0]
    assert "rotated to account second" in note.text and bead["id"] in note.text
    town.wait_pane(agent, "Carrying on.", timeout=60)
    assert Path(slung["worktree"], "carried.txt").read_text() == "carried on\n"
    moved = list((second_dir / "projects").rglob("*.jsonl"))
    assert moved, "the new session did not run on the second account's config dir"
    quota = {q["handle"]: q for q in town.cli.json("gt", "quota", "status")}
    assert quota["first"]["status"] == "limited" and quota["first"].get("resets_at")
    assert quota["second"]["status"] == "available" and quota["second"].get("last_used")
    mine = polecat_state(town, agent)
    assert mine["state"] == "working" and mine["issue"] == bead["id"]
    scanned = {r["session"]: r for r in town.cli.json("gt", "quota", "scan")}
    assert scanned[slung["session"]]["account_handle"] == "second"
    assert not scanned[slung["session"]]["rate_limited"]
    events = (town.root / ".events.jsonl").read_text()
    assert '"quota_rotated"' in events and '"polecat_nudged"' not in events
    # costs find the work on both accounts' transcripts
    spent = town.cli.json("gt", "costs", "--today", "--by-agent")
    assert spent["by_agent_tokens"][agent]["input_tokens"] >= 100


def test_the_transcript_says_limited_after_claude_gives_up(claude_town: AgentTown):
    """With its retries spent Claude writes the API error into the transcript and shows an
    idle prompt; the town still calls the polecat rate-limited and does not nudge it."""
    from gastown_tui.ops.quota import transcript_limit

    town = claude_town
    town.cli.env["CLAUDE_CODE_MAX_RETRIES"] = "0"  # give up at once, as after ten tries
    town.model.script(lambda r: "/polecats/" in r.cwd, *[limited_turn()] * 20)
    bead = town.cli.json("bd", "create", "Hit the wall", "-d", "x")["id"]
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    config = Path(town.cli.env["HOME"]) / ".claude"
    error = wait_for(lambda: transcript_limit(str(config), Path(slung["worktree"])),
                     timeout=90, what="the API error in Claude's transcript")
    assert error.kind == "rate_limit" and error.status == 429
    mine = wait_for(lambda: (p := polecat_state(town, slung["agent"]))["state"]
                    == "rate-limited" and p, timeout=30, what="rate-limited")
    assert "429" in mine["evidence"]
    town.cli.gt("witness", "run", "gastown", "--once")
    assert '"polecat_nudged"' not in (town.root / ".events.jsonl").read_text()
    scanned = town.cli.json("gt", "quota", "scan")
    assert any(r["session"] == slung["session"] and r["rate_limited"] for r in scanned)
