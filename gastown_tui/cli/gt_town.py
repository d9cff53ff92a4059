"""`gt up`, `gt down`, `gt mayor start|stop|attach|status`, `gt polecat list`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


def _print_steps(steps) -> None:
    for s in steps:
        mark = {"started": "▶", "running": "●", "stopped": "■", "absent": "·",
                "skipped": "…"}.get(s.action, "?")
        click.echo(f"{mark} {s.address:<22} {s.session:<18} {s.action} {s.detail}")


@click.command()
@click.option("--agent", default=None, help="Runtime for the Mayor (e.g. sim).")
@json_option
@pass_cli
def up(cli: CliContext, agent, as_json) -> None:
    """Start the Mayor and every rig's refinery (and witness/deacon once built)."""
    from gastown_tui.ops.up import up as do_up

    steps = do_up(cli.town(), agent=agent)
    if as_json:
        echo_json([s.__dict__ for s in steps])
    else:
        _print_steps(steps)


@click.command()
@click.option("-p", "--polecats", is_flag=True, help="Stop polecat sessions too.")
@json_option
@pass_cli
def down(cli: CliContext, polecats, as_json) -> None:
    """Stop the town's sessions; worktrees and beads stay."""
    from gastown_tui.ops.up import down as do_down

    steps = do_down(cli.town(), polecats=polecats)
    if as_json:
        echo_json([s.__dict__ for s in steps])
    elif not steps:
        click.echo("Nothing was running.")
    else:
        _print_steps(steps)


@click.group()
def mayor() -> None:
    """The Mayor's session (hq-mayor)."""


@mayor.command(name="start")
@click.option("--agent", default=None)
@pass_cli
def mayor_start(cli: CliContext, agent) -> None:
    from gastown_tui.ops.up import start_mayor

    _print_steps([start_mayor(cli.town(), agent=agent)])


@mayor.command(name="stop")
@pass_cli
def mayor_stop(cli: CliContext) -> None:
    from gastown_tui.ops.up import stop_session

    _print_steps([stop_session(cli.town(), "hq-mayor")])


@mayor.command(name="status")
@json_option
@pass_cli
def mayor_status(cli: CliContext, as_json) -> None:
    from gastown_tui.ops.sessions import tmux_for

    running = tmux_for(cli.town()).has_session("hq-mayor")
    if as_json:
        echo_json({"session": "hq-mayor", "running": running})
    else:
        click.echo(f"hq-mayor: {'running' if running else 'stopped'}")


@mayor.command(name="attach")
@pass_cli
def mayor_attach(cli: CliContext) -> None:
    """Attach your terminal to the Mayor (detach with C-b d)."""
    import os
    import subprocess

    from gastown_tui.ops.sessions import tmux_for
    from gastown_tui.tmux.socket import tmux_argv

    tmux = tmux_for(cli.town())
    if not tmux.has_session("hq-mayor"):
        raise click.ClickException("the Mayor is not running: gt mayor start")
    verb = "switch-client" if os.environ.get("TMUX") else "attach-session"
    raise click.exceptions.Exit(subprocess.call(tmux_argv(tmux.socket, verb, "-t", "=hq-mayor")))


@click.group()
def polecat() -> None:
    """Polecats: list them, nuke them, restore them from the graveyard."""


@polecat.command(name="list")
@click.argument("rig", required=False)
@json_option
@pass_cli
def polecat_list(cli: CliContext, rig, as_json) -> None:
    """Every polecat with its derived state (working, idle, stalled, zombie, done)."""
    from gastown_tui.ops.polecats import polecats

    town = cli.town()
    infos = polecats(town, cli.store(), town.rig(rig) if rig else None)
    if as_json:
        echo_json([i.as_json() for i in infos])
        return
    if not infos:
        click.echo("No polecats. Sling work to a rig: gt sling <bead> <rig>")
    for i in infos:
        issue = f"{i.issue} {i.issue_title}" if i.issue else "-"
        click.echo(f"{i.address:<30} {i.state:<8} {'●' if i.session_running else '○'} {issue}")


def _attach_nuke_commands() -> None:
    try:
        from gastown_tui.cli.gt_polecat_nuke import graveyard, nuke
    except ImportError:
        return
    polecat.add_command(nuke)
    polecat.add_command(graveyard)


_attach_nuke_commands()
