"""gt hooks: every hook file the town writes per runtime, its status, and sync/install
rewriting exactly what an agent start would write."""

from __future__ import annotations

import json
from pathlib import Path

from gastown_tui.ops.sessions import CLAUDE_SETTINGS, GEMINI_SETTINGS
from tests.conftest import Cli


def _status(cli: Cli, *args: str) -> dict[tuple[str, str], str]:
    listed = cli.json("gt", "hooks", "list", *args)["targets"]
    return {(t["target"], t["runtime"]): t["status"] for t in listed}


def test_list_sync_and_drift(cli: Cli, rig_town: Path) -> None:
    before = _status(cli)
    assert set(before) == {("mayor", "claude"), ("deacon", "claude"),
                           *((f"gastown/{r}", "claude")
                             for r in ("crew", "polecats", "refinery", "witness"))}
    assert set(before.values()) == {"missing"}
    dry = cli.json("gt", "hooks", "sync", "--dry-run")
    assert dry["dry_run"] and len(dry["written"]) == 6
    assert not (rig_town / "mayor" / ".claude").exists()  # a dry run writes nothing
    cli.gt("hooks", "sync")
    assert set(_status(cli).values()) == {"in sync"}
    polecats = rig_town / "gastown" / "polecats" / ".claude" / "settings.json"
    assert json.loads(polecats.read_text()) == CLAUDE_SETTINGS  # what an agent start writes
    # someone edits one by hand: it shows, and only it is rewritten
    polecats.write_text(json.dumps({"hooks": {}}))
    assert _status(cli)[("gastown/polecats", "claude")] == "out of sync"
    assert "1 not in sync" in cli.gt("hooks").stdout
    rewritten = cli.json("gt", "hooks", "install")["written"]
    assert [t["target"] for t in rewritten] == ["gastown/polecats"]
    assert json.loads(polecats.read_text()) == CLAUDE_SETTINGS
    assert "every hook file is in sync" in cli.gt("hooks", "sync").stdout


def test_worktree_files_follow_the_roles_runtime(cli: Cli, rig_town: Path) -> None:
    worktree = rig_town / "gastown" / "refinery" / "rig"
    # a Claude Code refinery keeps nothing in its worktree
    assert not [t for t in _status(cli, "--worktree", str(worktree)) if t[1] != "claude"]
    cli.gt("config", "set", "--rig", "gastown", "role_agents", '{"refinery": "gemini"}')
    status = _status(cli, "--worktree", str(worktree))
    assert status[("gastown/refinery", "gemini")] == "missing"
    cli.gt("hooks", "sync", "--worktree", str(worktree))
    assert json.loads((worktree / ".gemini" / "settings.json").read_text()) == GEMINI_SETTINGS
    assert not (worktree / ".opencode").exists()  # not this agent's runtime


def test_refusals_are_one_line(cli: Cli, rig_town: Path, tmp_path: Path) -> None:
    outside = cli.gt("hooks", "list", "--worktree", str(tmp_path), ok=False)
    assert outside.returncode != 0 and "is not inside the town" in outside.stderr
    nobody = cli.gt("hooks", "list", "--worktree", str(rig_town / "gastown"), ok=False)
    assert nobody.returncode != 0 and "no agent's directory" in nobody.stderr
    named = cli.gt("hooks", "install", "pr-workflow-guard", ok=False)
    assert named.returncode != 0 and "no hook registry" in named.stderr
    # a settings file that is a link out of the town: shown as an error, never written through
    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    (rig_town / "mayor" / ".claude").mkdir(parents=True)
    (rig_town / "mayor" / ".claude" / "settings.json").symlink_to(victim)
    assert _status(cli)[("mayor", "claude")] == "error"
    refused = cli.gt("hooks", "sync", ok=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert victim.read_text() == "{}"
