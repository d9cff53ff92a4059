"""`gt witness run|status`, `gt deacon run|status`, `gt escalate`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def witness() -> None:
    """The per-rig Witness patrol: polecat health, GUPP nudges, restarts, escalation."""


@witness.command(name="run")
@click.argument("rig")
@click.option("--once", is_flag=True, help="One patrol, then exit.")
@click.option("--interval", type=float, default=None, help="Seconds between patrols.")
@pass_cli
def witness_run(cli: CliContext, rig, once, interval) -> None:
    from gastown_tui.patrol.witness import run

    town = cli.town()
    click.echo(f"witness of {rig}: patrolling" + (" once" if once else ""))
    run(town, town.rig(rig), once=once, interval=interval)


@witness.command(name="status")
@click.argument("rig")
@json_option
@pass_cli
def witness_status(cli: CliContext, rig, as_json) -> None:
    """The last patrol's verdicts, with their evidence."""
    from gastown_tui.patrol.verdicts import WitnessState
    from gastown_tui.patrol.witness import state_path

    state = WitnessState.load(state_path(cli.town().rig(rig)))
    if as_json:
        echo_json(state.as_json())
        return
    if not state.verdicts:
        click.echo("No patrol yet.")
    for name, v in sorted(state.verdicts.items()):
        click.echo(f"{name:<16} {v.state:<8} {v.evidence}" + (f"  → {v.action}" if v.action else ""))


@click.group()
def deacon() -> None:
    """The town's Deacon: keeps sessions alive, lands and feeds convoys."""


@deacon.command(name="run")
@click.option("--once", is_flag=True)
@click.option("--interval", type=float, default=30.0, show_default=True)
@click.option("--no-keep-alive", is_flag=True, help="Do not start missing sessions.")
@pass_cli
def deacon_run(cli: CliContext, once, interval, no_keep_alive) -> None:
    from gastown_tui.patrol.deacon import run

    click.echo("deacon: patrolling" + (" once" if once else ""))
    run(cli.town(), once=once, interval=interval, keep_alive=not no_keep_alive)


@click.command()
@click.argument("description", nargs=-1, required=True)
@click.option("-s", "--severity", type=click.Choice(["low", "medium", "high", "critical"]),
              default="medium", show_default=True)
@click.option("-r", "--reason", default="")
@click.option("--source", default="")
@click.option("--related", default="", help="The bead this is about.")
@json_option
@pass_cli
def escalate(cli: CliContext, description, severity, reason, source, related, as_json) -> None:
    """Raise something that needs a human or the Mayor (routes: settings/escalation.json)."""
    from gastown_tui.ops.escalate import escalate as do_escalate

    res = do_escalate(cli.town(), cli.store(), " ".join(description), severity=severity,
                      reason=reason, source=source, related=related)
    if as_json:
        echo_json(res.as_json())
    else:
        click.echo(f"⚠ Escalated {res.id} [{severity}]: {', '.join(res.actions)}")
