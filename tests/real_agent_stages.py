"""The end-to-end stages every real agent CLI goes through (tests/test_real_<cli>.py call
them with their town): prime reaches the model, each ending, the merge, a handoff, the
guards, nudges idle and busy, mail at the next prompt, queued nudges delivered when the agent
idles, and compaction priming it again.

What the model is shown comes from the scripted model's request log; what it does comes
from its script; the rest is the real CLI and the product as shipped."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from gastown_tui.runtimes.presets import PRESETS
from gastown_tui.runtimes.screen import read_screen
from tests.real_agents import AgentTown
from tests.scripted_model import bash, say
from tests.waiting import wait_for


def polecats(request) -> bool:
    return "/polecats/" in request.cwd + "/"


def lands_its_work(town: AgentTown) -> None:
    """Slung, it is primed (hook, formula steps, mail), commits, runs gt done; the Refinery
    merges, the bead and the convoy close."""
    bead = town.cli.json("bd", "create", "Add a greeting", "-d", "Write hello.txt.")["id"]
    town.cli.gt("mail", "send", "gastown/furiosa", "-s", "Remember the docs", "-m", "please")
    town.model.script(
        polecats,
        bash("printf 'hello\\n' > hello.txt && git add hello.txt && "
             f"git commit -q -m 'Add a greeting ({bead})'"),
        bash("gt done"),
        say("Submitted."))
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    first = town.model.wait_for(lambda r: r.main and polecats(r), timeout=town.start,
                                what="the polecat's first turn")
    # What the runtime's session-start hook gave the model: its hook, the steps, its mail.
    assert bead in first.text and "Add a greeting" in first.text
    assert "## Steps (mol-polecat-work)" in first.text
    assert "Remember the docs" in first.text
    assert "[GAS TOWN] polecat" in first.text  # the beacon, its first prompt
    mr = wait_for(lambda: town.mrs(bead), timeout=town.start + 30, what="the merge request")[0]
    name = slung["agent"].rsplit("/", 1)[1]
    fields = town.exit_fields(name)
    assert fields["agent_state"] == "idle" and fields["exit_type"] == "COMPLETED"
    assert town.bead(bead)["status"] == "in_progress"  # closes when the MR merges
    town.cli.gt("refinery", "run", "gastown", "--once")
    wait_for(lambda: town.bead(bead)["status"] == "closed", timeout=60, what="the merge")
    assert town.bead(mr["id"])["status"] == "closed"
    main = subprocess.run(["git", "show", "main:hello.txt"], capture_output=True, text=True,
                          cwd=town.root / "gastown" / ".repo.git")
    assert main.stdout == "hello\n"
    town.cli.gt("convoy", "check")
    assert town.bead(slung["convoy"])["status"] == "closed"


ENDINGS = {  # kind: (the model's commands, bead status, agent state, exit type, convoy)
    "no-changes": (['bd close {bead} --reason "no-changes: already fixed upstream"', "gt done"],
                   "closed", "idle", "COMPLETED"),
    "escalated": (['gt escalate "need a decision" -s HIGH -m "two specs disagree"',
                   "gt done --status ESCALATED"], "blocked", "stuck", "ESCALATED"),
    "deferred": (["gt done --status DEFERRED"], "hooked", "idle", "DEFERRED"),
}


def each_ending(town: AgentTown) -> None:
    """Three polecats slung at once, each ending its own way, none with a merge request."""
    beads = {kind: town.cli.json("bd", "create", f"Work ending {kind}", "-d", "Look.")["id"]
             for kind in ENDINGS}
    for kind, bead in beads.items():
        commands = [bash(c.format(bead=bead)) for c in ENDINGS[kind][0]]
        town.model.script(lambda r, bead=bead: polecats(r) and bead in r.text,
                          *commands, say("Ended."))
    slung = {s["bead"]: s for s in town.cli.json("gt", "sling", *beads.values(), "gastown")}
    for kind, bead in beads.items():
        _, status, state, exit_type = ENDINGS[kind]
        name = slung[bead]["agent"].rsplit("/", 1)[1]
        wait_for(lambda name=name, exit_type=exit_type:
                 town.agent_fields(name).get("exit_type") == exit_type,
                 timeout=town.start + 30, what=f"{kind}: gt done --status {exit_type}")
        found = town.bead(bead)
        fields = town.agent_fields(name)
        assert (found["status"], fields["agent_state"]) == (status, state), kind
        assert fields.get("hook_bead", "null") == "null" and town.mrs(bead) == []
        assert Path(slung[bead]["worktree"]).is_dir()
    assert town.bead(beads["no-changes"])["close_reason"].startswith("no-changes: already")
    assert any(e["title"] == "need a decision" for e in town.cli.json("gt", "escalate", "list"))
    assert town.bead(beads["deferred"])["assignee"] == slung[beads["deferred"]]["agent"]


def handoff(town: AgentTown) -> None:
    """`gt handoff` restarts the CLI in place; its next session is primed with the note and
    the hook, and finishes the work."""
    bead = town.cli.json("bd", "create", "Two-session work", "-d", "Write a.txt, b.txt.")["id"]
    town.model.script(
        polecats,
        bash("echo a > a.txt && git add a.txt && git commit -qm 'a'"),
        bash('gt handoff -s "half way" -m "a.txt is committed; write b.txt next"'),
        lambda r: bash("echo b > b.txt && git add b.txt && git commit -qm 'b' && gt done")
        if "a.txt is committed" in r.text and bead in r.text else None,
        say("Submitted after the handoff."))
    # As a model does when the new session's first prompt comes before its SessionStart
    # context (one CI run saw Gemini CLI send it first, under load): the prompt says run
    # `gt prime --hook`, whose output holds the note and the hook, and the step above fires.
    town.model.script(polecats, lambda r: bash("gt prime --hook")
                      if "assigned:handoff" in r.text and "a.txt is committed" not in r.text
                      else None)
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    wait_for(lambda: town.mrs(bead), timeout=2 * town.start,  # two starts
             what="the second session's gt done")
    sessions = {r.conversation for r in town.model.main_requests(polecats)}
    # Gemini CLI sends no session id: its conversation is told by a hash of its first content
    # (tests/scripted_model/gemini.py), which one CI run saw change within a session (3 ids).
    # The second session itself is proven by the script: its next step fires only on a prompt
    # holding the handoff note and the bead, and the MR came from it.
    if town.runtime == "gemini":
        assert len(sessions) >= 2, f"the handoff did not start a second session: {sessions}"
    else:
        assert len(sessions) == 2, f"the handoff did not start a second session: {sessions}"
    resumed = [r for r in town.model.main_requests(polecats)
               if "## Handoff from your previous session" in r.text]
    assert resumed and "half way" in resumed[0].text and bead in resumed[0].text
    assert Path(slung["worktree"], "b.txt").read_text() == "b\n"


def guards(town: AgentTown) -> None:
    """The guards block a pull request, a branch of its own and sudo; the rest runs."""
    bead = town.cli.json("bd", "create", "Try the forbidden", "-d", "x")["id"]
    town.model.script(polecats,
                      bash("gh pr create --title mine --body x"),
                      bash("cd . && git checkout -b my-own-branch"),
                      bash("sudo apt install cowsay"),
                      bash("echo still-allowed"),
                      say("Giving up."))
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    last = town.model.wait_for(lambda r: polecats(r) and len(r.tool_results) >= 4,
                               timeout=town.start + 30, what="four tool results")
    results = last.tool_results
    assert "Blocked by gt tap guard pr-workflow" in results[0], results[0]
    assert "Blocked by gt tap guard pr-workflow" in results[1], results[1]
    assert "Blocked by gt tap guard dangerous-command" in results[2], results[2]
    assert "still-allowed" in results[3] and "Blocked" not in results[3]
    branches = subprocess.run(["git", "branch", "--list", "my-own-branch"], text=True,
                              capture_output=True, cwd=slung["worktree"]).stdout
    assert branches.strip() == ""


def idle_polecat(town: AgentTown, *more_steps) -> dict:
    """A slung polecat whose model has answered once and waits at its prompt."""
    bead = town.cli.json("bd", "create", "Wait for orders", "-d", "Wait.")["id"]
    town.model.script(polecats, say("Waiting for orders."), *more_steps)
    slung = town.cli.json("gt", "sling", bead, "gastown")[0]
    town.wait_pane(slung["agent"], "Waiting for orders.", timeout=town.start)
    try:
        wait_for(lambda: screen_kind(town, slung["agent"]) == "ready", timeout=30,
                 what="its prompt, idle")
    except AssertionError as exc:
        raise AssertionError(f"{exc}:\n{town.pane(slung['agent'], 60)}") from None
    return {**slung, "bead": bead}


def screen_kind(town: AgentTown, agent: str) -> str:
    spec = PRESETS[town.runtime].screen
    return read_screen(spec, town.pane(agent, 60).splitlines()).kind


def nudges_mail_and_the_queue(town: AgentTown) -> dict:
    """One waiting polecat: an idle nudge arrives as a submitted message; mail sent meanwhile
    reaches it at that prompt, once; a busy immediate nudge does not interrupt the turn and
    arrives after it; a nudge queued while it works is typed in by the Witness once it is
    idle again."""
    slung = idle_polecat(town, say("Looking."), say("Working slowly.", delay=8),
                         say("Seen it."), say("Queued one seen."), say("Back."))
    agent, name = slung["agent"], slung["agent"].rsplit("/", 1)[1]
    town.cli.gt("mail", "send", f"gastown/{name}", "-s", "Please also update the docs",
                "-m", "the README is stale")
    first = town.cli.json("gt", "nudge", agent, "check the failing test")
    assert first["status"] == "delivered", first
    seen = town.model.wait_for(lambda r: polecats(r)
                               and "check the failing test" in r.last_user_text, timeout=60,
                               what="the idle nudge as a user message")
    assert "Please also update the docs" in seen.text  # mail, at that prompt
    # Busy: the model holds its answer 8 s; an immediate nudge must not interrupt the turn.
    town.cli.gt("nudge", agent, "start the slow part")
    town.model.wait_for(lambda r: "start the slow part" in r.last_user_text, timeout=60)
    wait_for(lambda: screen_kind(town, agent) == "busy", timeout=30, what="busy")
    busy = town.cli.json("gt", "nudge", agent, "also update the docs", "--mode", "immediate")
    assert busy["status"] == "delivered", busy
    after = town.model.wait_for(lambda r: polecats(r)
                                and "also update the docs" in r.last_user_text, timeout=60,
                                what="the busy nudge, submitted after the turn")
    # No Escape went in: the turn was not interrupted or cancelled (Codex holds the text
    # and submits it at the turn's next step; the others after the turn).
    assert not re.search(r"(?i)\binterrupted\b|request cancelled", town.pane(agent))
    # mail is injected once: later prompts do not carry it again
    assert after.text.count("Please also update the docs") <= seen.text.count(
        "Please also update the docs")
    wait_for(lambda: screen_kind(town, agent) == "ready", timeout=60, what="idle again")
    # Queued (as the Witness's own nudges are when the agent is busy): delivered at idle.
    queued = town.cli.json("gt", "nudge", agent, "the queued one", "--mode", "queue")
    assert queued["status"] == "queued"
    town.cli.gt("witness", "run", "gastown", "--once")
    town.model.wait_for(lambda r: polecats(r) and "the queued one" in r.last_user_text,
                        timeout=60, what="the queued nudge, typed in by the Witness")
    return slung


def compaction_primes_again(town: AgentTown, slung: dict, command: str) -> None:
    """The CLI's own compaction command; the next prompt's request carries the prime."""
    agent = slung["agent"]
    wait_for(lambda: screen_kind(town, agent) == "ready", timeout=60, what="idle")
    before = len(town.model.requests)
    tmux = ["tmux", "-L", town.socket]
    subprocess.run([*tmux, "send-keys", "-t", slung["session"], "-l", command], check=True)
    wait_for(lambda: command in town.pane(agent), timeout=10, what="typed")
    subprocess.run([*tmux, "send-keys", "-t", slung["session"], "Enter"], check=True)
    wait_for(lambda: len(town.model.requests) > before and screen_kind(town, agent) == "ready",
             timeout=90, what="the compaction done")
    nudged = town.cli.json("gt", "nudge", agent, "where were we?", "--mode", "wait-idle")
    try:
        after = town.model.wait_for(lambda r: polecats(r)
                                    and "where were we?" in r.last_user_text,
                                    timeout=90, what="the first prompt after compaction")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nnudge: {nudged}\npane:\n{town.pane(agent)}") from None
    assert "[source:compact]" in after.text  # primed by the compaction, not left over
    assert slung["bead"] in after.text and "## Steps (mol-polecat-work)" in after.text
