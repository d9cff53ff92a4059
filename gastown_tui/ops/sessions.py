"""Starting an agent's tmux session: its environment, beacon, runtime files and heartbeat."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from gastown_tui.ops.guards import GUARDS
from gastown_tui.runtimes.presets import Runtime, resolve_alias, runtime_named
from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.jsonfile import write_json
from gastown_tui.town.layout import Town, now_rfc3339
from gastown_tui.town.names import Address

ROLE_SENDER = {"mayor": ("human", "cold-start"), "deacon": ("daemon", "patrol"),
               "witness": ("deacon", "patrol"), "refinery": ("deacon", "patrol"),
               "polecat": ("witness", "assigned"), "crew": ("human", "cold-start")}


def tmux_for(town: Town, host: str | None = None):
    """The town's tmux server, or with `host` that host's own (over ssh)."""
    if host:
        from gastown_tui.hosts.tmux import RemoteTmux

        return RemoteTmux.for_host(ssh_for(town, host))
    from gastown_tui.tmux.server import TownTmux

    return TownTmux.for_town(town.root)


def ssh_for(town: Town, host: str):
    from gastown_tui.hosts.ssh import Ssh
    from gastown_tui.town.hostlist import get_host

    return Ssh(town.root, get_host(town, host))


def host_of_agent(town: Town, addr: Address) -> str | None:
    """The host a polecat runs on (None: the town's own machine, and every other role)."""
    if addr.role != "polecat" or not addr.rig or not addr.name:
        return None
    from gastown_tui.town.hostlist import host_of

    try:
        rig = town.rig(addr.rig)
    except GasTownError:
        return None
    return host_of(rig, addr.name)


def session_address(host: str | None, session: str) -> str:
    """`host:session` for a session on another host, the bare name for the town's own."""
    return f"{host}:{session}" if host else session


def session_name(town: Town, addr: Address) -> str:
    prefix = town.rig(addr.rig).prefix if addr.rig else None
    return addr.session_name(prefix)


def agent_env(town: Town, addr: Address, *, session: str, alias: str,
              branch: str = "", worktree: Path | None = None,
              runtime: Runtime | None = None) -> dict[str, str]:
    """Gas Town's agent environment (reference §11.3): real agents' gt/bd calls depend on it."""
    role = str(addr)
    env = {
        "GT_ROOT": str(town.root), "GT_TOWN_ROOT": str(town.root), "GT_ROLE": role,
        "BD_ACTOR": role, "GT_AGENT": alias, "GT_SESSION": session, "GT_RUN": str(uuid.uuid4()),
        "GIT_CEILING_DIRECTORIES": str(town.root),
        "GIT_AUTHOR_NAME": addr.name if addr.role in ("polecat", "crew") else role,
        "GIT_AUTHOR_EMAIL": f"{(addr.name or addr.role)}@gastown.local",
        "GIT_COMMITTER_NAME": addr.name if addr.role in ("polecat", "crew") else role,
        "GIT_COMMITTER_EMAIL": f"{(addr.name or addr.role)}@gastown.local",
        "CLAUDECODE": "", "NODE_OPTIONS": "", "BD_BACKUP_ENABLED": "false",
        "PATH": agent_path(),
    }
    if os.environ.get("GT_TMUX_SOCKET"):
        env["GT_TMUX_SOCKET"] = os.environ["GT_TMUX_SOCKET"]
    if addr.rig:
        env["GT_RIG"] = addr.rig
    if addr.role == "polecat":
        env.update({"GT_POLECAT": addr.name or "", "BEADS_AGENT_NAME": f"{addr.rig}/{addr.name}",
                    "GT_BRANCH": branch, "GT_POLECAT_PATH": str(worktree or "")})
    if addr.role == "crew":
        env.update({"GT_CREW": addr.name or "", "BEADS_AGENT_NAME": f"{addr.rig}/{addr.name}"})
    if runtime is not None:
        env["GT_PROCESS_NAMES"] = ",".join(runtime.process_names)
        env.update(root_env(runtime))
        env.update(runtime.env)
    return env


def agent_path() -> str:
    """The PATH an agent's session gets: gt and bd first, whichever venv started the town."""
    return os.pathsep.join([str(Path(sys.executable).parent),
                            os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")])


def root_env(runtime: Runtime) -> dict[str, str]:
    """What the runtime needs to run as root (containers, CI): Claude Code refuses
    --dangerously-skip-permissions as root unless IS_SANDBOX=1. Empty for other users."""
    return dict(runtime.root_env) if os.geteuid() == 0 else {}


def beacon(addr: Address, topic_suffix: str = "") -> str:
    sender, topic = ROLE_SENDER.get(addr.role, ("human", "cold-start"))
    who = addr.role if addr.role in ("mayor", "deacon") else f"{addr.role} {addr.name or ''}".strip()
    rig = f" (rig: {addr.rig})" if addr.rig else ""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M")
    topic = f"{topic}:{topic_suffix}" if topic_suffix else topic
    text = f"[GAS TOWN] {who}{rig} <- {sender} • {stamp} • {topic}"
    if addr.role == "polecat":
        return text + "\n\nRun `gt prime --hook` and begin work on your hook."
    return (text + "\n\nCheck your hook and mail, then act on the hook if present: "
            "1. `gt hook` 2. `gt mail inbox` 3. act.")


def _hook(command: str, matcher: str = "") -> dict[str, Any]:
    return {"matcher": matcher, "hooks": [{"type": "command", "command": command}]}


def _guards_for_every_call(matcher: str) -> list[dict[str, Any]]:
    """Guards a runtime calls for every shell command (the command on stdin): `gt tap guard`
    matches the command itself (ops/guards.py)."""
    return [{"matcher": matcher, "hooks": [{"type": "command", "command": f"gt tap guard {name}"}
                                           for name in GUARDS]}]


# Upstream's autonomous template (internal/hooks/templates/claude/settings-autonomous.json):
# the guide and hook at session start and after compaction, new mail and queued nudges at
# every prompt, and guards on tool calls a polecat must not make. Claude Code matches
# `matcher` against the tool's name; a permission-rule pattern such as `Bash(gh pr create*)`
# belongs in the handler's `if` (a matcher of that form never fires).
CLAUDE_SETTINGS: dict[str, Any] = {
    "skipDangerousModePermissionPrompt": True,
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "command", "command": f"gt tap guard {name}", "if": f"Bash({pattern})"}
            for name, guard in GUARDS.items() for pattern in guard.patterns]}],
        "SessionStart": [_hook("gt prime --hook && gt mail check --inject")],
        "PreCompact": [_hook("gt prime --hook")],
        "UserPromptSubmit": [_hook("gt mail check --inject")],
    },
}

# Codex CLI (<worktree>/.codex/hooks.json; hooks are on by default in 0.171): the same events
# as Claude's. A hook's output reaches the model as a developer message, whole (9 KB tested),
# but SessionStart output that starts like JSON (`[session:…]`) must be JSON: so the JSON
# form, and the mail comes with the first prompt's UserPromptSubmit. PreToolUse names the
# shell tool `Bash` and has no `if`: the guard reads the command from stdin.
CODEX_HOOKS: dict[str, Any] = {
    "hooks": {
        "SessionStart": [_hook("gt prime --hook --hook-event SessionStart")],
        "UserPromptSubmit": [_hook("gt mail check --inject")],
        "PreToolUse": _guards_for_every_call("Bash"),
    },
}

# Gemini CLI's names for the same hooks (upstream's gemini/settings-autonomous.json), in the
# form Gemini gives its model: a hook's plain output is only shown on screen, JSON's
# hookSpecificOutput.additionalContext reaches the model. BeforeTool matchers are regexes
# over the tool *name*. PreCompress fires before every turn ("auto"): it only marks a manual
# /compress, after which the next prompt's BeforeAgent primes again.
GEMINI_SETTINGS: dict[str, Any] = {
    "hooks": {
        "BeforeTool": _guards_for_every_call("run_shell_command"),
        "SessionStart": [_hook("gt prime --hook --hook-event SessionStart")],
        "PreCompress": [_hook("gt prime --hook --hook-event PreCompress")],
        "BeforeAgent": [_hook("gt mail check --inject --hook-event BeforeAgent")],
    },
}

# OpenCode has no hook file, only plugins: this one puts `gt prime` (and new mail) into the
# system prompt at session start and after compaction, as upstream's gastown.js does; mail
# that arrives later joins the next request's system prompt once; and each shell command
# goes through the guards first (a thrown error blocks the tool call).
OPENCODE_PLUGIN = """// Gas Town plugin (written by gastown-tui): gt prime in the system prompt; the guards.
export const GasTown = async ({ $, directory }) => {
  let context = null;
  const run = async (cmd, env = {}) => {
    try {
      return await $`/bin/sh -c ${cmd}`.cwd(directory).env({ ...process.env, ...env })
        .quiet().text();
    } catch (err) { console.error(`[gastown] ${cmd} failed`, err?.message || err); return ""; }
  };
  // The session and why it (re)started reach gt prime as a Claude hook's stdin JSON would:
  // its output is tagged [session:…] [source:startup|compact] and the id is kept.
  const load = async (source = "", id = "") =>
    run("gt prime --hook", id ? { GT_SESSION_ID: id, GT_HOOK_SOURCE: source } : {});
  const GUARDS = %(guards)s;
  return {
    event: async ({ event }) => {
      const id = String(event?.properties?.sessionID || event?.properties?.info?.id || "");
      if (event?.type === "session.created") context = load("startup", id);
      if (event?.type === "session.compacted") context = load("compact", id);
    },
    "experimental.chat.system.transform": async (input, output) => {
      if (!context) context = load();
      const text = await context;
      if (text.trim()) output.system.push(text); else context = null;
      const mail = await run("gt mail check --inject");
      if (mail.trim()) output.system.push(mail);
    },
    "tool.execute.before": async (input, output) => {
      if (input?.tool !== "bash") return;
      const call = JSON.stringify({ tool_name: "bash", tool_input: output?.args || {} });
      for (const name of GUARDS) {
        const res = await $`gt tap guard ${name} < ${new Response(call)}`
          .cwd(directory).nothrow().quiet();
        if (res.exitCode === 2) throw new Error(res.stderr.toString().trim());
      }
    },
  };
};
""".replace("%(guards)s", json.dumps(list(GUARDS)))


def settings_dir(town: Town, addr: Address) -> Path:
    """RoleSettingsDir: <rig>/polecats for polecats, <rig>/<role> for rig roles, cwd for town."""
    if addr.role == "polecat":
        return town.root / str(addr.rig) / "polecats"
    if addr.rig:
        return town.root / str(addr.rig) / ("crew" if addr.role == "crew" else addr.role)
    return town.root / addr.role


def write_runtime_files(town: Town, addr: Address, runtime: Runtime,
                        cwd: Path | None = None) -> str | None:
    """The runtime's hook files, so a real agent learns its job unaided: Claude Code's
    settings (passed with --settings; the path is returned), Codex's .codex/hooks.json,
    Gemini CLI's .gemini/settings.json and OpenCode's plugin in the agent's working directory
    (git ignores them: worktrees.LOCAL_FILES). Rewritten each start: they are ours, and an
    old town gets the current hooks."""
    if runtime.hooks_provider == "claude":
        path = settings_dir(town, addr) / ".claude" / "settings.json"
        write_json(path, CLAUDE_SETTINGS)
        return str(path)
    if cwd is None:
        return None
    if runtime.hooks_provider == "codex":
        write_json(cwd / ".codex" / "hooks.json", CODEX_HOOKS)
    elif runtime.hooks_provider == "gemini":
        write_json(cwd / ".gemini" / "settings.json", GEMINI_SETTINGS)
    elif runtime.hooks_provider == "opencode":
        # Through safe_write, as write_json above: a repository may commit .opencode as a
        # link out of the worktree.
        safe_write.write_text(cwd / ".opencode" / "plugins" / "gastown.js", OPENCODE_PLUGIN)
        write_opencode_no_install(cwd / ".opencode")
    return None


def write_opencode_no_install(folder: Path) -> None:
    """OpenCode runs `npm install @opencode-ai/plugin` in every config folder it finds
    (.opencode/ here) unless node_modules/ exists and package-lock.json's root already lists
    every dependency (its Npm.install). Our plugin imports nothing, so each new worktree
    would wait ~30 s on the registry for a package no one uses (and fail offline): say it is
    there. A folder the user set up with its own lock is left alone."""
    lock = folder / "package-lock.json"
    if lock.exists():
        return
    safe_write.ensure_dir(folder / "node_modules")
    safe_write.write_text(lock, json.dumps({
        "name": "gastown-opencode", "lockfileVersion": 3, "requires": True,
        "packages": {"": {"dependencies": {"@opencode-ai/plugin": "*"}}}}, indent=2) + "\n")


def write_heartbeat(town: Town, session: str, state: str, **extra: str) -> None:
    if not town.town_json.is_file():  # never re-create the folders of a town that was removed
        return
    write_json(town.runtime_dir / "heartbeats" / f"{session}.json",
               {"session": session, "ts": now_rfc3339(), "state": state, **extra})
    from gastown_tui.town.presence import beat

    beat(town, session, state, **extra)


def read_heartbeat(town: Town, session: str) -> dict | None:
    path = town.runtime_dir / "heartbeats" / f"{session}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def agent_command(town: Town, addr: Address, cwd: Path, *, agent: str | None = None,
                  branch: str = "", topic_suffix: str = "", account: str | None = None
                  ) -> tuple[str, str, list[str], dict]:
    """(session, runtime alias, argv, environment) of the agent's session, its runtime files
    written: what starting it, or restarting it in place, needs. A Claude session runs on its
    account (ops/accounts.py): `account`, else the one it ran on, else GT_ACCOUNT/default."""
    session = session_name(town, addr)
    alias = resolve_alias(town, addr.role, addr.rig, agent)
    runtime = runtime_named(town, alias, addr.rig)
    settings = write_runtime_files(town, addr, runtime, cwd)
    env = agent_env(town, addr, session=session, alias=alias, branch=branch,
                    worktree=cwd if addr.role == "polecat" else None, runtime=runtime)
    if runtime.hooks_provider == "claude":
        from gastown_tui.ops.accounts import resolve, session_env

        env.update(session_env(resolve(town, account or (read_heartbeat(town, session) or {})
                                       .get("account") or None)))
    argv = runtime.argv(beacon(addr, topic_suffix), settings_file=settings, cwd=str(cwd))
    return session, alias, argv, env


def start_agent(town: Town, addr: Address, cwd: Path, *, agent: str | None = None,
                branch: str = "", topic_suffix: str = "", account: str | None = None
                ) -> tuple[str, str]:
    """Start the agent's session; returns (session name, runtime alias)."""
    session, alias, argv, env = agent_command(town, addr, cwd, agent=agent, branch=branch,
                                              topic_suffix=topic_suffix, account=account)
    if argv and runtime_named(town, alias, addr.rig).hooks_provider == "opencode":
        opencode_first_run(town, argv[0], env)
    tmux_for(town).new_session(session, cwd, argv, env)
    write_heartbeat(town, session, "started", agent=str(addr), runtime=alias,
                    **_account_of(env))
    return session, alias


def opencode_first_run(town: Town, binary: str, env: dict[str, str]) -> None:
    """OpenCode creates and migrates its database on its first start, and several first
    starts at once race: one hangs at its "init" with a blank screen for good (measured with
    OpenCode 1.18: 1 of 3 batches of three on a fresh HOME here, 3 of 3 under load; none in 4
    once the database existed). So the first OpenCode session of a home waits for a one-off
    `opencode session list` that creates it, one process at a time."""
    merged = {**os.environ, **env}
    home = Path(merged.get("HOME") or Path.home())
    data = Path(merged.get("XDG_DATA_HOME") or home / ".local" / "share")
    database = data / "opencode" / "opencode.db"
    if database.exists():
        return
    found = shutil.which(binary, path=merged.get("PATH"))
    if not found:
        return  # the session's own start reports the missing CLI
    from gastown_tui.town.locks import hold_lock

    with hold_lock(town.runtime_dir / "opencode-first-run.lock"):
        if database.exists():
            return
        try:
            subprocess.run([found, "session", "list"], env=merged, cwd=str(home),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                           check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass  # the session starts anyway; its screen shows what is wrong


def _account_of(env: dict[str, str]) -> dict[str, str]:
    handle = env.get("GT_QUOTA_ACCOUNT", "")
    return {"account": handle} if handle else {}


def restart_agent(town: Town, addr: Address, cwd: Path, *, topic_suffix: str = "handoff",
                  account: str | None = None) -> tuple[str, str]:
    """Restart a running agent's session in place (same pane, same environment): a fresh
    runtime with a fresh context, whose first `gt prime` finds the hook and the handoff.
    `account` moves a Claude session to another account (a quota rotation). A polecat on
    another host is restarted there by the host's gt."""
    host = host_of_agent(town, addr)
    if host:
        return restart_remote(town, addr, host, in_place=True, topic=topic_suffix)
    session, alias, argv, env = agent_command(town, addr, cwd, topic_suffix=topic_suffix,
                                              account=account)
    write_heartbeat(town, session, "restarted", agent=str(addr), runtime=alias,
                    **_account_of(env))
    moved = {k: env[k] for k in ("CLAUDE_CONFIG_DIR", "GT_QUOTA_ACCOUNT") if k in env}
    tmux_for(town).respawn(session, cwd, argv, path=env.get("PATH"), env=moved)
    return session, alias


def restart_remote(town: Town, addr: Address, host: str, *, in_place: bool = False,
                   topic: str = "", branch: str = "") -> tuple[str, str]:
    """Start (or with `in_place` respawn) a polecat's session on its host; the town keeps a
    heartbeat of it naming its runtime, as it does for its own sessions."""
    from gastown_tui.hosts import rpc

    answer = rpc.call(ssh_for(town, host), "restart",
                      {"rig": addr.rig, "name": addr.name, "in_place": in_place,
                       "topic": topic, "branch": branch}, timeout=120)
    session, alias = str(answer["session"]), str(answer.get("runtime") or "")
    write_heartbeat(town, session, "restarted", agent=str(addr), runtime=alias, host=host)
    return session_address(host, session), alias


def split_session(text: str) -> tuple[str | None, str]:
    """(host, session) of `host:session`; (None, name) for a session of the town's server."""
    head, sep, tail = text.partition(":")
    if sep and head and tail:
        return head, tail
    return None, text


def attach_argv(town: Town, session: str, *, read_only: bool = False) -> list[str]:
    """The command that puts a person's terminal in `session` (`host:session` through
    `ssh -t` to that host's tmux server); `read_only` attaches with tmux's `-r`."""
    from gastown_tui.tmux.commands import session_target
    from gastown_tui.tmux.socket import socket_name, tmux_argv

    flags = ["-r"] if read_only else []
    host, name = split_session(session)
    if host:
        ssh = ssh_for(town, host)
        return ssh.argv(tmux_argv(ssh.host.socket, "attach-session", *flags, "-t",
                                  session_target(name)), tty=True)
    return tmux_argv(socket_name(town.root), "attach-session", *flags, "-t",
                     session_target(name))
