"""The real Claude Code (npm, pinned in tests/agents/package.json) slung as a polecat and run
as the Mayor in a real town, its model a script on 127.0.0.1 (tests/scripted_model).

What the model is shown is read from its request log, what it does comes from the script,
and everything else is the real CLI and the product as shipped: the settings file and hooks
we write, the start-up dialogs answered by `gt sling`, the guards, nudges and mail."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.real_agents import AgentTown, claude_town  # noqa: F401 (fixture)
from tests.scripted_model import Request, bash, say
from tests.waiting import wait_for


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
