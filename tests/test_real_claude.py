"""The real Claude Code (npm, pinned in tests/agents/package.json) slung as a polecat and run
as the Mayor in a real town, its model a script on 127.0.0.1 (tests/scripted_model).

What the model is shown is read from its request log, what it does comes from the script,
and everything else is the real CLI and the product as shipped: the settings file and hooks
we write, the start-up dialogs answered by `gt sling`, the guards, nudges and mail."""

from __future__ import annotations

import json
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
    name = slung["agent"].rsplit("/", 1)[1]
    fields = town.exit_fields(name)
    assert fields["agent_state"] == "idle" and fields["exit_type"] == "COMPLETED"
    assert fields.get("hook_bead", "null") == "null"
    assert town.bead(bead)["status"] == "in_progress"  # closes when the MR merges
    assert town.bead(slung["convoy"])["status"] == "open" and Path(slung["worktree"]).is_dir()
    town.cli.gt("refinery", "run", "gastown", "--once")
    wait_for(lambda: town.bead(bead)["status"] == "closed", timeout=60, what="the merge")
    assert town.bead(mr["id"])["status"] == "closed"
    main = subprocess.run(["git", "show", "main:hello.txt"], capture_output=True, text=True,
                          cwd=town.root / "gastown" / ".repo.git")
    assert main.stdout == "hello\n"
    town.cli.gt("convoy", "check")
    assert town.bead(slung["convoy"])["status"] == "closed"


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


def idle_polecat(town: AgentTown, *more_steps) -> dict:
    """A slung polecat whose model has answered once and waits at its prompt."""
    bead = town.cli.json("bd", "create", "Wait for orders", "-d", "Wait.")["id"]
    town.model.script(lambda r: "/polecats/" in r.cwd, say("Waiting for orders."), *more_steps)
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    town.wait_pane(slung["agent"], "Waiting for orders.")
    return {**slung, "bead": bead}


def test_nudges_idle_and_busy_arrive_as_submitted_messages(claude_town: AgentTown):
    town = claude_town
    slung = idle_polecat(town, say("Looking.", delay=0), say("Working slowly.", delay=8),
                         say("Seen it."))
    agent = slung["agent"]
    first = town.cli.json("gt", "nudge", agent, "check the failing test")
    assert first["status"] == "delivered", first
    town.model.wait_for(lambda r: "/polecats/" in r.cwd
                        and "check the failing test" in r.last_user_text, timeout=60,
                        what="the idle nudge as a user message")
    # Busy: the model holds its answer 8 s; an immediate nudge must not interrupt the turn.
    town.cli.gt("nudge", agent, "start the slow part")
    town.model.wait_for(lambda r: "start the slow part" in r.last_user_text, timeout=60)
    wait_for(lambda: "esc to interrupt" in town.pane(agent), timeout=30, what="busy")
    busy = town.cli.json("gt", "nudge", agent, "also update the docs", "--mode", "immediate")
    assert busy["status"] == "delivered", busy
    town.model.wait_for(lambda r: "also update the docs" in r.text, timeout=60,
                        what="the busy nudge, submitted after the turn")
    screen = town.pane(agent)
    assert "Working slowly." in screen and "Interrupted" not in screen


def test_mail_reaches_a_running_claude_at_its_next_prompt(claude_town: AgentTown):
    town = claude_town
    slung = idle_polecat(town, say("Read it."), say("Nothing new."))
    name = slung["agent"].rsplit("/", 1)[1]
    town.cli.gt("mail", "send", f"gastown/{name}", "-s", "Please also update the docs",
                "-m", "the README is stale")
    town.cli.gt("nudge", slung["agent"], "anything new?")
    seen = town.model.wait_for(lambda r: "anything new?" in r.text, timeout=60)
    assert "Please also update the docs" in seen.text
    town.cli.gt("nudge", slung["agent"], "and now?")
    again = town.model.wait_for(lambda r: "and now?" in r.last_user_text, timeout=60)
    # injected once: the new prompt does not carry the mail a second time
    assert again.text.count("Please also update the docs") == seen.text.count(
        "Please also update the docs")


def test_compact_primes_claude_again(claude_town: AgentTown):
    town = claude_town
    slung = idle_polecat(town, say("Summary: waiting for orders."), say("Back."))
    tmux = ["tmux", "-L", town.socket]
    subprocess.run([*tmux, "send-keys", "-t", slung["session"], "-l", "/compact"], check=True)
    wait_for(lambda: "/compact" in town.pane(slung["agent"]), timeout=10, what="typed")
    subprocess.run([*tmux, "send-keys", "-t", slung["session"], "Enter"], check=True)
    town.cli.gt("nudge", slung["agent"], "where were we?", "--mode", "wait-idle")
    after = town.model.wait_for(lambda r: "where were we?" in r.last_user_text, timeout=90,
                                what="the first prompt after compaction")
    assert "[source:compact]" in after.text and slung["bead"] in after.text


async def test_the_mayor_hears_a_line_typed_in_the_control_room(claude_town: AgentTown,
                                                                monkeypatch):
    from gastown_tui.app import make_app
    from gastown_tui.town.layout import Town
    from tests.waiting import wait_for_async

    town = claude_town
    town.model.script(lambda r: r.cwd.endswith("/mayor"), say("Mayor here."),
                      say("Two rigs to look at."))
    started = town.cli.gt("mayor", "start").stdout
    assert "answered the trust dialog" in started, started
    assert "started claude, ready" in started or "started claude, busy" in started, started
    first = town.model.wait_for(lambda r: r.cwd.endswith("/mayor"), timeout=60)
    assert "[GAS TOWN] mayor" in first.text and "Mayor" in first.text
    for key, value in town.cli.env.items():
        monkeypatch.setenv(key, value)
    app = make_app(Town(town.root))
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await pilot.press("m")
        await pilot.press(*"status")
        await pilot.press("enter")
        await wait_for_async(
            lambda: any("status" in r.last_user_text
                        for r in town.model.main_requests(lambda r: r.cwd.endswith("/mayor"))),
            pilot.pause, timeout=60, what="the typed line at the Mayor's model")
        await wait_for_async(lambda: any("Two rigs to look at." in line
                                         for line in app.pane_history.get("hq-mayor", ())),
                             pilot.pause, timeout=30, what="the answer in the Mayor pane")


def test_a_dialog_no_one_may_answer_shows_as_blocked_and_gets_no_keys(claude_town: AgentTown):
    """A user who never approved this API key: Claude asks, and only they may answer."""
    import json

    town = claude_town
    home = Path(town.cli.env["HOME"])
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True,
                                                   "theme": "dark"}))
    bead = town.cli.json("bd", "create", "Anything", "-d", "x")["id"]
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    assert slung["screen"].startswith("blocked: API key approval"), slung
    listed = {p["address"]: p for p in town.cli.json("gt", "polecat", "list")}
    mine = listed[slung["agent"]]
    assert mine["state"] == "blocked" and "Detected a custom API key" in mine["evidence"]
    text = town.cli.gt("polecat", "list").stdout
    assert "blocked" in text and "Detected a custom API key" in text
    nudged = town.cli.json("gt", "nudge", slung["agent"], "hello?", "--mode", "immediate")
    assert nudged["status"] == "queued" and "API key approval" in nudged["detail"]
    # still asking, still alive: no Escape (which would cancel) and no Enter went in
    screen = town.pane(slung["agent"])
    assert "Do you want to use this API key?" in screen and "Pane is dead" not in screen
    town.cli.gt("witness", "run", "gastown", "--once")  # no safe answer: a person is told
    assert any("needs a person" in e["title"] for e in town.cli.json("gt", "escalate", "list"))
    assert "Do you want to use this API key?" in town.pane(slung["agent"])
    assert town.model.main_requests() == []


def test_a_rate_limited_polecat_is_said_to_be_and_is_not_nudged(claude_town: AgentTown):
    import time

    from tests.scripted_model import fail

    town = claude_town
    reset = int(time.time()) + 2 * 3600
    limited = fail(429, "rate limited", {
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-reset": str(reset),
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-status": "rejected",
        "anthropic-ratelimit-unified-5h-reset": str(reset)})
    town.model.script(lambda r: "/polecats/" in r.cwd, *[limited] * 40)
    bead = town.cli.json("bd", "create", "Anything", "-d", "x")["id"]
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    mine = wait_for(lambda: next((p for p in town.cli.json("gt", "polecat", "list")
                                  if p["address"] == slung["agent"]
                                  and p["state"] == "rate-limited"), None),
                    timeout=60, what="the rate-limited state")
    assert "limit reached" in mine["evidence"] and "until " in mine["evidence"]
    town.cli.gt("witness", "run", "gastown", "--once")
    status = town.cli.json("gt", "witness", "status", "gastown")
    assert "waiting, not nudged" in json.dumps(status)
    events = (town.root / ".events.jsonl").read_text()
    assert '"polecat_nudged"' not in events


def test_a_queued_nudge_is_typed_in_by_the_witness_when_claude_idles(claude_town: AgentTown):
    """Nothing drained a queue while an agent idled: the Witness types it in at the prompt."""
    from tests import real_agent_stages as stages

    town = claude_town
    slung = stages.idle_polecat(town, say("Queued one seen."))
    queued = town.cli.json("gt", "nudge", slung["agent"], "the queued one", "--mode", "queue")
    assert queued["status"] == "queued"
    town.cli.gt("witness", "run", "gastown", "--once")
    seen = town.model.wait_for(lambda r: "/polecats/" in r.cwd
                               and "the queued one" in r.last_user_text, timeout=60,
                               what="the queued nudge, typed in by the Witness")
    assert "QUEUED NUDGE" in seen.last_user_text
