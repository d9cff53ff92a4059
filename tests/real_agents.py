"""Real agent CLIs from npm in a real town, against the scripted model on 127.0.0.1.

`make agents` (and CI's `.ci/run`) installs the pinned CLIs into `.agents/` from
tests/agents/package.json. Where they are missing a test is skipped with the reason, unless
GT_REAL_AGENTS=require (CI sets it), where it fails: CI never passes without them.

The user these tests stand for has used Claude Code before on this machine (onboarding done,
the API key in their environment approved once): that is their HOME. Everything else, trust
for each new worktree included, is what the product does as shipped."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gastown_tui.ops.sessions import write_opencode_no_install
from tests.conftest import Cli
from tests.scripted_model import ScriptedModel
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parent.parent
AGENTS_BIN = REPO / ".agents" / "node_modules" / ".bin"
API_KEY = "sk-ant-scripted-0123456789abcdefghij"


def require_cli(name: str) -> Path:
    found = AGENTS_BIN / name
    if found.exists() or shutil.which(name, path=str(AGENTS_BIN)):
        return found
    why = f"the real {name} CLI is not installed in {AGENTS_BIN} (run `make agents`)"
    if os.environ.get("GT_REAL_AGENTS") == "require":
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


def claude_home(home: Path) -> None:
    """A HOME where Claude Code has run before: onboarding done, this key approved."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark",
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []}}))


def claude_env(model: ScriptedModel, home: Path) -> dict[str, str]:
    """An offline user's settings for Claude Code: its API at the scripted model."""
    return {"HOME": str(home), "ANTHROPIC_BASE_URL": model.url, "ANTHROPIC_API_KEY": API_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "PATH": f"{AGENTS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@dataclass
class AgentTown:
    cli: Cli
    model: ScriptedModel
    root: Path
    socket: str
    runtime: str = "claude"
    # Seconds a fresh session of this CLI may take from `gt sling` to its first model request
    # on a loaded 2-core machine (load 10-15), measured: Claude, Codex and Gemini CLI well
    # under a minute; OpenCode 40-70 s (its own boot: a 185 MB binary, its database, plugin
    # init, a git snapshot of the worktree, "location services"; its log has each step) and
    # longer with other sessions starting beside it. The waits that include a start use it.
    start: float = 90.0

    def pane(self, agent: str, lines: int = 200) -> str:
        return self.cli.gt("peek", agent, "-n", str(lines)).stdout

    def wait_pane(self, agent: str, text: str, timeout: float = 60.0) -> str:
        return wait_for(lambda: (screen := self.pane(agent)) and text in screen and screen,
                        timeout=timeout, what=f"{text!r} in {agent}'s pane")

    def sling(self, title: str, description: str = "Do the thing.", *more: str) -> dict:
        bead = self.cli.json("bd", "create", title, "-d", description)["id"]
        slung = self.cli.json("gt", "sling", bead, "gastown", *more)[0]
        return {**slung, "bead": bead, "name": slung["agent"].rsplit("/", 1)[1]}

    def bead(self, bead_id: str) -> dict:
        return self.cli.json("bd", "show", bead_id)[0]

    def agent_fields(self, name: str) -> dict[str, str]:
        agent = self.bead(f"gt-gastown-polecat-{name}")
        return dict(line.split(": ", 1) for line in agent["description"].splitlines()
                    if ": " in line)

    def exit_fields(self, name: str, timeout: float = 30) -> dict[str, str]:
        """The polecat's fields once gt done has recorded its exit: gt done files the merge
        request a moment before it writes the exit (separate writes), so a test that saw the
        MR waits for this too."""
        return wait_for(lambda: (f := self.agent_fields(name)).get("agent_state") != "working"
                        and f, timeout=timeout, what=f"{name}'s exit recorded")

    def mrs(self, bead: str) -> list[dict]:
        return [m for m in self.cli.json("bd", "list", "--label", "gt:merge-request", "--all")
                if f"source_issue: {bead}" in m["description"]]


@pytest.fixture
def claude_town(rig_town: Path, tmux_socket: str, clean_env: dict[str, str],
                tmp_path: Path) -> Iterator[AgentTown]:
    """A rig town whose agents run the real Claude Code (the default runtime, as shipped)."""
    require_cli("claude")
    home = tmp_path / "claude-home"
    claude_home(home)
    with ScriptedModel() as model:
        env = {**clean_env, "GT_TMUX_SOCKET": tmux_socket, **claude_env(model, home)}
        yield AgentTown(Cli(rig_town / "gastown", env), model, rig_town, tmux_socket)


# ------------------------------------------------------------------ Codex, Gemini, OpenCode
# Each user has set their CLI up once for their own model endpoint, as its docs say; the
# town is told to use it (`"default_agent"` in settings/config.json). Nothing else is seeded.

def codex_setup(model: ScriptedModel, home: Path) -> dict[str, str]:
    """Codex with a model provider in $CODEX_HOME/config.toml (the Responses API)."""
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        'model = "scripted"\nmodel_provider = "scripted"\n\n[model_providers.scripted]\n'
        f'name = "Scripted"\nbase_url = "{model.url}/v1"\nenv_key = "SCRIPTED_API_KEY"\n'
        'wire_api = "responses"\n')
    return {"CODEX_HOME": str(codex_home), "SCRIPTED_API_KEY": API_KEY}


def gemini_setup(model: ScriptedModel, home: Path) -> dict[str, str]:
    """Gemini CLI with an API key and its base URL (Gemini's API), key auth chosen once."""
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(
        {"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    return {"GEMINI_API_KEY": API_KEY, "GOOGLE_GEMINI_BASE_URL": model.url}


def opencode_setup(model: ScriptedModel, home: Path) -> dict[str, str]:
    """OpenCode with an OpenAI-compatible provider (Chat Completions) as its model."""
    folder = home / ".config" / "opencode"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "opencode.json").write_text(json.dumps({
        "provider": {"scripted": {"npm": "@ai-sdk/openai-compatible", "name": "Scripted",
                                  "options": {"baseURL": f"{model.url}/v1", "apiKey": API_KEY},
                                  "models": {"scripted": {"name": "Scripted"}}}},
        "model": "scripted/scripted", "small_model": "scripted/scripted",
        "autoupdate": False, "share": "disabled"}))
    # as for each worktree's .opencode/: no npm install of a plugin SDK nothing imports
    write_opencode_no_install(folder)
    return {"OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1"}


def _dialect(cli: str):
    from tests.scripted_model.gemini import GeminiDialect
    from tests.scripted_model.openai import ChatCompletionsDialect, ResponsesDialect

    return {"codex": ResponsesDialect, "gemini": GeminiDialect,
            "opencode": ChatCompletionsDialect}[cli]()


START = {"opencode": 180.0}  # AgentTown.start where 90 s is not enough
SETUPS = {"codex": codex_setup, "gemini": gemini_setup, "opencode": opencode_setup}


def cli_town(cli: str, rig_town: Path, tmux_socket: str, clean_env: dict[str, str],
             tmp_path: Path) -> Iterator[AgentTown]:
    require_cli(cli)
    home = tmp_path / f"{cli}-home"
    home.mkdir(parents=True, exist_ok=True)
    settings = rig_town / "settings" / "config.json"
    config = json.loads(settings.read_text()) if settings.is_file() else {}
    settings.write_text(json.dumps({**config, "default_agent": cli}, indent=2))
    with ScriptedModel(_dialect(cli)) as model:
        env = {**clean_env, "GT_TMUX_SOCKET": tmux_socket, "HOME": str(home),
               "PATH": f"{AGENTS_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               **SETUPS[cli](model, home)}
        yield AgentTown(Cli(rig_town / "gastown", env), model, rig_town, tmux_socket, cli,
                        start=START.get(cli, 90.0))


@pytest.fixture
def codex_town(rig_town: Path, tmux_socket: str, clean_env: dict[str, str],
               tmp_path: Path) -> Iterator[AgentTown]:
    """A rig town whose agents run the real Codex CLI."""
    yield from cli_town("codex", rig_town, tmux_socket, clean_env, tmp_path)


@pytest.fixture
def gemini_town(rig_town: Path, tmux_socket: str, clean_env: dict[str, str],
                tmp_path: Path) -> Iterator[AgentTown]:
    """A rig town whose agents run the real Gemini CLI."""
    yield from cli_town("gemini", rig_town, tmux_socket, clean_env, tmp_path)


@pytest.fixture
def opencode_town(rig_town: Path, tmux_socket: str, clean_env: dict[str, str],
                  tmp_path: Path) -> Iterator[AgentTown]:
    """A rig town whose agents run the real OpenCode."""
    yield from cli_town("opencode", rig_town, tmux_socket, clean_env, tmp_path)
