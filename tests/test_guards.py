"""`gt tap guard` as each runtime calls it: Claude Code after its own `if` match (no
command to read), Codex, Gemini CLI and the OpenCode plugin for every shell command with the
call as JSON on stdin (ops/guards.py)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli


def call(command: str, tool: str = "run_shell_command") -> str:
    return json.dumps({"hook_event_name": "BeforeTool", "tool_name": tool,
                       "tool_input": {"command": command, "description": "x"}})


@pytest.mark.parametrize(("guard", "command", "blocked"), [
    ("pr-workflow", "gh pr create --title x --body y", True),
    ("pr-workflow", "cd . && git checkout -b mine", True),
    ("pr-workflow", "git status; git switch -c mine", True),
    ("pr-workflow", "git checkout main", False),
    ("pr-workflow", "echo 'gh pr create is not allowed here'", False),
    ("dangerous-command", "sudo apt install cowsay", True),
    ("dangerous-command", "make && apt-get install -y jq", True),
    ("dangerous-command", "echo still-allowed", False),
])
def test_a_polecats_shell_command_is_matched_as_claudes_rule_would(
        cli: Cli, guard: str, command: str, blocked: bool):
    env = {"GT_ROLE": "gastown/polecats/nux"}
    proc = cli.gt("tap", "guard", guard, input=call(command), env=env, ok=False)
    assert proc.returncode == (2 if blocked else 0), proc.stderr
    assert (f"Blocked by gt tap guard {guard}" in proc.stderr) == blocked


def test_other_tools_and_other_roles_pass_and_claudes_prefiltered_call_blocks(cli: Cli):
    polecat = {"GT_ROLE": "gastown/polecats/nux"}
    other_tool = json.dumps({"tool_name": "read_file", "tool_input": {"path": "x"}})
    assert cli.gt("tap", "guard", "pr-workflow", input=other_tool, env=polecat).returncode == 0
    # the Mayor may open a pull request; nobody may sudo
    mayor = {"GT_ROLE": "mayor"}
    assert cli.gt("tap", "guard", "pr-workflow", input=call("gh pr create"),
                  env=mayor).returncode == 0
    assert cli.gt("tap", "guard", "dangerous-command", input=call("sudo ls"), env=mayor,
                  ok=False).returncode == 2
    # Claude Code matched with its `if` already: without a command the role decides
    assert cli.gt("tap", "guard", "pr-workflow", input="", env=polecat,
                  ok=False).returncode == 2
