"""What the scripted model answers: turns, and the requests it answers them from."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Where each CLI tells its model the working directory: Claude Code, Codex, OpenCode, Gemini CLI.
CWD = (re.compile(r"Primary working directory: (\S+)"), re.compile(r"<cwd>([^<\n]+)</cwd>"),
       re.compile(r"Working directory: (\S+)"),
       re.compile(r"Workspace Directories:\*\*\s*\n\s*- (\S+)"))


@dataclass(frozen=True)
class Turn:
    """One answer of the model: text, and optionally a call of the CLI's shell tool."""

    text: str = ""
    shell: str | None = None  # a command for the CLI's shell tool (Claude Code's Bash)
    delay: float = 0.0  # seconds before answering: holds the agent busy
    usage: tuple[int, int] = (100, 20)  # (input tokens, output tokens) reported
    status: int = 200  # an HTTP error instead of an answer (429: a rate limit)
    error: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def say(text: str, **kw: Any) -> Turn:
    return Turn(text=text, **kw)


def bash(command: str, text: str = "", **kw: Any) -> Turn:
    return Turn(text=text, shell=command, **kw)


def fail(status: int, error: str, headers: dict[str, str] | None = None) -> Turn:
    return Turn(status=status, error=error, headers=tuple((headers or {}).items()))


@dataclass
class Request:
    """One request a CLI made, as the dialect read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    main: bool = False  # the agent's own conversation (tools offered), not a side request
    conversation: str = ""  # the CLI's session id, where it sends one
    system: str = ""  # the system prompt's text
    messages: list[tuple[str, str]] = field(default_factory=list)  # (role, text) in order
    tool_results: list[str] = field(default_factory=list)  # the shell outputs, in order
    answer: Turn | None = None  # what the model answered (main requests)

    @property
    def cwd(self) -> str:
        text = self.system + "\n" + self.text
        for pattern in CWD:
            found = pattern.search(text)
            if found:
                return found.group(1).rstrip("/")
        return ""

    @property
    def text(self) -> str:
        """Everything the model was shown: system prompt, messages and tool results."""
        return "\n".join([self.system, *(t for _, t in self.messages)])

    @property
    def last_user_text(self) -> str:
        users = [t for role, t in self.messages if role == "user"]
        return users[-1] if users else ""

    @property
    def last_tool_result(self) -> str:
        return self.tool_results[-1] if self.tool_results else ""


Step = Turn | Callable[[Request], "Turn | None"]


@dataclass
class Script:
    """Turns for the main requests that `match`: each request takes the next step; a step
    that is a function answers from the request (None: let the step wait for a later one)."""

    match: Callable[[Request], bool]
    steps: list[Step]
    taken: int = 0

    def next_turn(self, request: Request) -> Turn | None:
        while self.taken < len(self.steps):
            step = self.steps[self.taken]
            if isinstance(step, Turn):
                self.taken += 1
                return step
            turn = step(request)
            if turn is None:
                return None
            self.taken += 1
            return turn
        return None

    @property
    def done(self) -> bool:
        return self.taken >= len(self.steps)
