"""The tool-call guards (`gt tap guard <name>`): what a polecat must not run, and for whom.

Each runtime calls the guard its own way. Claude Code filters with a permission rule in the
hook's `if` (`Bash(gh pr create*)`) and calls us only on a match; Codex (PreToolUse, tool
`Bash`), Gemini CLI (BeforeTool, a regex over the tool *name* `run_shell_command`) and our
OpenCode plugin call us for every shell command, with the call as JSON on stdin
(`tool_input.command`). So the guard reads the command and matches it the way Claude's rule
does: each simple command of a compound one (`cd x && git checkout -b y`) against the
patterns, a trailing `*` being any rest."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Guard:
    roles: tuple[str, ...]
    patterns: tuple[str, ...]
    why: str


ALL_ROLES = ("polecat", "mayor", "crew", "witness", "refinery", "deacon")

GUARDS: dict[str, Guard] = {
    "pr-workflow": Guard(
        ("polecat",), ("gh pr create*", "git checkout -b*", "git switch -c*"),
        "polecats do not open pull requests or make their own branches: commit on your branch "
        "and run `gt done`; the Refinery merges it"),
    "dangerous-command": Guard(
        ALL_ROLES, ("sudo *", "apt install*", "apt-get install*", "dnf install*",
                    "yum install*", "pacman -S*", "brew install*"),
        "agents do not install system packages or use sudo: escalate "
        "(gt escalate \"need <package>\" -s medium)"),
}

# Where one simple command ends and the next begins in a shell line.
_SEPARATORS = re.compile(r"&&|\|\||[;|&\n()]")


def simple_commands(command: str) -> list[str]:
    """The simple commands of a shell line, each with its words single-spaced."""
    return [" ".join(part.split()) for part in _SEPARATORS.split(command) if part.strip()]


def matches(guard: Guard, command: str) -> bool:
    return any(fnmatch.fnmatchcase(simple, pattern) or simple == pattern.rstrip("* ")
               for simple in simple_commands(command) for pattern in guard.patterns)


def command_of(payload: Any) -> str | None:
    """The shell command of a hook's tool-call JSON, None when it holds none (another tool)."""
    if not isinstance(payload, dict):
        return None
    tool_input = payload.get("tool_input") or payload.get("args") or {}
    if isinstance(tool_input, dict):
        for key in ("command", "cmd"):
            value = tool_input.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return " ".join(value)
    return None


def verdict(name: str, role: str, stdin_text: str) -> str | None:
    """Why the call is blocked, or None to let it run. Without a command on stdin the caller
    has matched already (Claude's `if`): the role alone decides."""
    guard = GUARDS[name]
    if role not in guard.roles:
        return None
    payload: Any = None
    if stdin_text.strip():
        try:
            payload = json.loads(stdin_text)
        except ValueError:
            payload = None
    command = command_of(payload)
    if payload is not None and command is None:
        return None  # a tool call that is no shell command
    if command is not None and not matches(guard, command):
        return None
    return guard.why
