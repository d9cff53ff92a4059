"""`gt cycle`: upstream's session cycling (next/prev in a session group, its C-b n/p), and
context-threshold cycling (status: how full each agent's context is; now: cycle one)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def cycle() -> None:
    """Cycle between sessions (next/prev), and cycle agents whose context is full.

    \b
    gt cycle next | prev     switch to the next/previous session of your group: Mayor and
                             Deacon; a rig's crew; a rig's Witness, Refinery and polecats
    gt cycle status          each Claude agent's context use against the threshold
    gt cycle now <agent>     hand it off with a note of its state and restart it (hook kept)
    Automatic: settings/config.json "cycle": {"context_threshold": 0.8} (the Witness tells an
    agent past it to hand off, and cycles it when it does not within "grace", default 10m).
    """


def _group(sessions: list[str], current: str, prefixes: dict[str, str]) -> list[str]:
    """Upstream's groups: town (hq-*), a rig's crew, a rig's ops (witness, refinery, polecats)."""
    if current.startswith("hq-"):
        return sorted(s for s in sessions if s in ("hq-mayor", "hq-deacon"))
    for prefix in sorted(prefixes, key=len, reverse=True):
        if current.startswith(prefix + "-"):
            mine = [s for s in sessions if s.startswith(prefix + "-")]
            crew = current.startswith(prefix + "-crew-")
            return sorted(s for s in mine if s.startswith(prefix + "-crew-") == crew)
    return [current]


def _switch(cli: CliContext, step: int, session: str | None, client: str | None) -> None:
    import os
    import subprocess

    from gastown_tui.ops.sessions import tmux_for

    town = cli.town()
    tmux = tmux_for(town)
    current = session or os.environ.get("GT_SESSION", "")
    if not current and os.environ.get("TMUX"):
        current = tmux.run("display-message", "-p", "#S").strip()
    if not current:
        raise click.ClickException("no current session: run it inside the town's tmux, or "
                                   "pass --session NAME")
    sessions = [s.name for s in tmux.list_sessions()]
    group = _group(sessions, current, {r.prefix: r.name for r in town.rigs()})
    if current not in group or len(group) < 2:
        echo(f"○ {current}: no other session in its group")
        return
    target = group[(group.index(current) + step) % len(group)]
    args = ["switch-client", "-t", f"={target}"] + (["-c", client] if client else [])
    from gastown_tui.tmux.socket import tmux_argv

    code = subprocess.call(tmux_argv(tmux.socket, *args))
    if code:
        raise click.exceptions.Exit(code)


@cycle.command(name="next")
@click.option("--session", default=None, help="The current session (for the tmux binding).")
@click.option("--client", default=None, help="The client TTY to switch (#{client_tty}).")
@pass_cli
def cycle_next(cli: CliContext, session, client) -> None:
    """Switch to the next session in your group."""
    _switch(cli, 1, session, client)


@cycle.command(name="prev")
@click.option("--session", default=None, help="The current session (for the tmux binding).")
@click.option("--client", default=None, help="The client TTY to switch (#{client_tty}).")
@pass_cli
def cycle_prev(cli: CliContext, session, client) -> None:
    """Switch to the previous session in your group."""
    _switch(cli, -1, session, client)


@cycle.command(name="status")
@json_option
@pass_cli
def cycle_status(cli: CliContext, as_json) -> None:
    """How full each running Claude agent's context is."""
    from gastown_tui.ops.context_cycle import cycle_config, statuses

    town = cli.town()
    rows = statuses(town, cli.store())
    cfg = cycle_config(town)
    if as_json:
        echo_json({"threshold": cfg.threshold, "window": cfg.window, "grace_s": cfg.grace,
                   "agents": rows})
        return
    limit = f"cycles at {cfg.threshold:.0%}" if cfg.on else "cycling off (cycle.context_threshold)"
    echo(f"Context use ({limit} of {cfg.window} tokens)\n")
    if not rows:
        echo("  no Claude agents running")
    for row in rows:
        if "tokens" not in row:
            echo(f"  {row['agent']:<32} (no transcript yet)")
            continue
        flag = "  ⚠ over" if row.get("over") else ""
        echo(f"  {row['agent']:<32} {row['share']:>6.1%}  {row['tokens']} tokens{flag}")


@cycle.command(name="now")
@click.argument("agent")
@click.option("-m", "--message", default="", help="Why (goes into the handoff note).")
@json_option
@pass_cli
def cycle_now(cli: CliContext, agent, message, as_json) -> None:
    """Cycle AGENT now: a handoff note with its state, a fresh session, its hook kept."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.context_cycle import cycle as do_cycle
    from gastown_tui.town.names import parse_address

    addr = parse_address(agent)
    result = do_cycle(cli.town(), cli.store(), addr, why=message or "cycled by hand",
                      actor=default_actor())
    if as_json:
        echo_json(result)
        return
    echo(f"✓ Cycled {result['agent']} (session {result['session']}; note "
               f"{result['note']}; hook kept)")
