"""Agent runtimes: built-in presets (reference §11.1), per-town aliases, and role resolution."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from gastown_tui.runtimes.screen import (
    CLAUDE_SCREEN,
    CODEX_SCREEN,
    GEMINI_SCREEN,
    OPENCODE_SCREEN,
    PLAIN_SCREEN,
    ScreenSpec,
)
from gastown_tui.town.errors import ValidationError
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town


@dataclass(frozen=True)
class Runtime:
    name: str
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    process_names: tuple[str, ...] = ()
    ready_prompt_prefix: str = ""
    ready_delay_ms: int = 0  # how long its first screen takes to appear, at most
    prompt_mode: str = "arg"  # arg | none | flag
    prompt_flag: str = ""  # e.g. --prompt, -i, when prompt_mode is flag
    instructions_file: str = "AGENTS.md"
    hooks_provider: str = ""
    env: dict[str, str] = field(default_factory=dict)
    screen: ScreenSpec = PLAIN_SCREEN  # its ready and busy marks, dialogs and chrome
    root_env: tuple[tuple[str, str], ...] = ()  # what it needs to run as root, said at start
    install_hint: str = ""  # how a user gets its command
    trust: str = ""  # how a new worktree is trusted without a dialog: codex (a per-run
    # `-c projects=…` override; trusting a parent does not carry down); else on screen or env

    @property
    def executable(self) -> str:
        return self.command[0] if self.command else ""

    @property
    def settle_timeout(self) -> float:
        """Seconds to wait for its first screen: a few times its usual start-up."""
        return max(20.0, 3 * self.ready_delay_ms / 1000)

    def argv(self, prompt: str | None, *, settings_file: str | None = None,
             cwd: str | None = None) -> list[str]:
        """The process to start; the beacon is one argv element, never parsed by a shell."""
        argv = [*self.command, *self.args]
        if settings_file and self.hooks_provider == "claude":
            argv += ["--settings", settings_file]
        if cwd and self.trust == "codex":
            # A TOML inline table; a JSON string is a valid TOML basic string.
            argv += ["-c", f"projects={{{json.dumps(cwd)}={{trust_level=\"trusted\"}}}}"]
        if prompt and self.prompt_mode == "arg":
            argv.append(prompt)
        elif prompt and self.prompt_mode == "flag" and self.prompt_flag:
            argv += [self.prompt_flag, prompt]
        return argv


PRESETS: dict[str, Runtime] = {
    # The npm package runs a native binary named `claude` (2.1.x); as root it refuses
    # --dangerously-skip-permissions unless IS_SANDBOX=1 says the machine is a sandbox.
    "claude": Runtime("claude", ("claude",), ("--dangerously-skip-permissions",),
                      ("claude",), "❯\u00a0", 8000, "arg", "", "CLAUDE.md", "claude",
                      screen=CLAUDE_SCREEN, root_env=(("IS_SANDBOX", "1"),),
                      install_hint="npm install -g @anthropic-ai/claude-code"),
    # Codex CLI: hooks in <worktree>/.codex/hooks.json, run without its per-hook review
    # (we wrote them); no shared app-server daemon that would outlive the pane; the agent's
    # PATH kept for its shell calls (a login shell's /etc/profile resets it and `gt` is
    # gone); the new worktree trusted for this run; the beacon as its first prompt.
    "codex": Runtime("codex", ("codex",),
                     ("--dangerously-bypass-approvals-and-sandbox",
                      "--dangerously-bypass-hook-trust", "--no-daemon",
                      "-c", "allow_login_shell=false"),
                     ("codex",), "› Ask Codex to do anything", 3000, "arg", "", "AGENTS.md",
                     "codex", screen=CODEX_SCREEN, trust="codex",
                     install_hint="npm install -g @openai/codex"),
    # Gemini CLI: the workspace trusted through its own variable, so YOLO stays on and the
    # workspace .gemini/settings.json hooks run (--skip-trust passes the dialog only).
    "gemini": Runtime("gemini", ("gemini",), ("--approval-mode", "yolo"), ("gemini",),
                      "*   Type your message", 5000, "flag", "-i", "AGENTS.md", "gemini",
                      env={"GEMINI_CLI_TRUST_WORKSPACE": "true"}, screen=GEMINI_SCREEN,
                      install_hint="npm install -g @google/gemini-cli"),
    # OpenCode: every tool allowed (upstream's OPENCODE_PERMISSION), the plugin in
    # .opencode/plugins/ for the hooks.
    "opencode": Runtime("opencode", ("opencode",), (), ("opencode", "node", "bun"),
                        "ctrl+p commands", 8000, "flag", "--prompt", "AGENTS.md", "opencode",
                        env={"OPENCODE_PERMISSION": '{"*":"allow"}'}, screen=OPENCODE_SCREEN,
                        install_hint="npm install -g opencode-ai"),
    # The built-in simulated agent: real git work, no AI service (operations.md).
    "sim": Runtime("sim", (sys.executable, "-m", "gastown_tui.demo.sim"), (), ("python",),
                   "❯ ", 0, "arg", "", "AGENTS.md", "sim"),
}


def require_installed(runtime: Runtime, path: str | None = None) -> str:
    """The runtime's executable as the agent's PATH finds it; a one-line error when missing,
    before anything is created (a pane that dies with 127 helps no one)."""
    exe = runtime.executable
    found = (exe if os.sep in exe and os.access(exe, os.X_OK) else
             shutil.which(exe, path=path) if exe and os.sep not in exe else None)
    if not found:
        how = f"install it: {runtime.install_hint}" if runtime.install_hint else "install it"
        raise ValidationError(
            f"agent runtime {runtime.name!r}: command {exe or '(none)'!r} is not installed "
            f"or not on PATH",
            fix=f"{how}; or pick another runtime: --agent sim, or \"default_agent\" in "
                "settings/config.json")
    return found


def _custom(alias: str, cfg: dict[str, Any]) -> Runtime:
    base = PRESETS.get(str(cfg.get("provider") or cfg.get("preset") or ""), None)
    command = cfg.get("command")
    if base is None and not command:
        raise ValidationError(f"agent {alias!r} in settings has no command",
                              fix="give it \"command\" or a known \"provider\"")
    runtime = base or Runtime(alias, (str(command),))
    tmux = cfg.get("tmux") or {}
    screen = runtime.screen
    if tmux.get("ready_prompt_prefix"):
        screen = replace(screen, ready=(str(tmux["ready_prompt_prefix"]),))
    return replace(
        runtime, name=alias,
        command=(str(command),) if command else runtime.command,
        args=tuple(str(a) for a in cfg.get("args", runtime.args)),
        ready_prompt_prefix=str(tmux.get("ready_prompt_prefix", runtime.ready_prompt_prefix)),
        ready_delay_ms=int(tmux.get("ready_delay_ms", runtime.ready_delay_ms)),
        process_names=tuple(tmux.get("process_names", runtime.process_names)),
        prompt_mode=str(cfg.get("prompt_mode", runtime.prompt_mode)),
        instructions_file=str((cfg.get("instructions") or {}).get("file",
                                                                  runtime.instructions_file)),
        env={**runtime.env, **{str(k): str(v) for k, v in (cfg.get("env") or {}).items()}},
        screen=screen,
    )


def runtime_named(town: Town, alias: str, rig: str | None = None) -> Runtime:
    agents: dict[str, Any] = {}
    agents.update((read_json(town.settings_json, {}) or {}).get("agents") or {})
    if rig:
        agents.update((read_json(town.root / rig / "settings" / "config.json", {}) or {})
                      .get("agents") or {})
    if alias in agents:
        return _custom(alias, agents[alias])
    if alias in PRESETS:
        return PRESETS[alias]
    known = ", ".join(sorted({*PRESETS, *agents}))
    raise ValidationError(f"unknown agent runtime {alias!r}", fix=f"use one of: {known}")


def resolve_alias(town: Town, role: str, rig: str | None = None,
                  override: str | None = None) -> str:
    """--agent, then rig role_agents, town role_agents, rig agent, town default_agent, claude."""
    if override:
        return override
    town_cfg = read_json(town.settings_json, {}) or {}
    rig_cfg = (read_json(town.root / rig / "settings" / "config.json", {}) or {}) if rig else {}
    for candidate in ((rig_cfg.get("role_agents") or {}).get(role),
                      (town_cfg.get("role_agents") or {}).get(role),
                      rig_cfg.get("agent"), town_cfg.get("default_agent")):
        if candidate:
            return str(candidate)
    return "claude"


def resolve_runtime(town: Town, role: str, rig: str | None = None,
                    override: str | None = None) -> Runtime:
    return runtime_named(town, resolve_alias(town, role, rig, override), rig)
