"""gt rig reset: a role's handoff notes and mail, and the rig's in_progress beads whose
polecat has no session left (back to open and unassigned; crew work is left waiting)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Cli


def _in_progress(cli: Cli, title: str, assignee: str, cwd: Path) -> str:
    bead = cli.json("bd", "create", title, cwd=cwd)["id"]
    cli.bd("update", bead, "--status", "in_progress", "--assignee", assignee, cwd=cwd)
    return bead


def test_rig_reset_clears_a_roles_leftovers(cli: Cli, rig_town: Path) -> None:
    witness = rig_town / "gastown" / "witness"
    env = {"GT_TMUX_SOCKET": "gttest-no-server"}  # no server: no session is alive
    cli.gt("handoff", "-s", "note", "-m", "body", cwd=witness)
    cli.gt("mail", "send", "gastown/witness", "-s", "hello", "-m", "x", cwd=witness)
    orphan = _in_progress(cli, "orphaned", "gastown/polecats/ghost", witness)
    crew = _in_progress(cli, "crew's", "gastown/crew/max", witness)

    dry = cli.json("gt", "rig", "reset", "--dry-run", cwd=witness, env=env)
    assert dry["role"] == "gastown/witness" and len(dry["handoff_cleared"]) == 1
    assert len(dry["mail_archived"]) == 1
    assert [e["id"] for e in dry["stale_reset"]] == [orphan]
    assert [e["id"] for e in dry["stale_skipped"]] == [crew]
    assert cli.json("bd", "show", orphan, cwd=witness)[0]["status"] == "in_progress"

    only_stale = cli.json("gt", "rig", "reset", "--stale", cwd=witness, env=env)
    assert only_stale["handoff_cleared"] is None and only_stale["mail_archived"] is None
    shown = cli.json("bd", "show", orphan, cwd=witness)[0]
    assert shown["status"] == "open" and not shown.get("assignee")
    assert cli.json("bd", "show", crew, cwd=witness)[0]["status"] == "in_progress"

    out = cli.gt("rig", "reset", cwd=witness, env=env).stdout
    assert "Cleared handoff content for gastown/witness (1 note(s))" in out
    assert "Cleared mail: 1 archived" in out
    assert cli.json("gt", "mail", "inbox", cwd=witness) == []
    again = cli.json("gt", "rig", "reset", cwd=witness, env=env)
    assert again["handoff_cleared"] == [] and again["mail_archived"] == []


def test_rig_reset_needs_a_role(cli: Cli, rig_town: Path) -> None:
    nowhere = cli.gt("rig", "reset", ok=False)
    assert nowhere.returncode != 0 and "use --role" in nowhere.stderr
    assert len(nowhere.stderr.strip().splitlines()) == 1
    named = cli.json("gt", "rig", "reset", "--role", "gastown/refinery", "--mail")
    assert named["role"] == "gastown/refinery" and named["mail_archived"] == []
    bad = cli.gt("rig", "reset", "--role", "gastown/polecats/../x", ok=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
