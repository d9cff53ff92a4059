"""`gt warrant file|list|execute` (upstream gastown's cmd/warrant.go)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def warrant() -> None:
    """Death warrants: a controlled end for agents that are stuck or unresponsive.

    The Deacon files nothing by itself: a person, the Mayor or a Witness files a warrant with
    its reason (the agent's state and pane are kept as evidence); the Deacon's patrol executes
    pending warrants (ends the session, gives a polecat's work back to the pool)."""


@warrant.command(name="file")
@click.argument("target")
@click.option("-r", "--reason", default="", help="Why the agent must be ended.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the reason from stdin.")
@json_option
@pass_cli
def warrant_file(cli: CliContext, target, reason, from_stdin, as_json) -> None:
    """File a warrant for TARGET (e.g. gastown/polecats/alpha, deacon/dogs/bravo)."""
    import os
    import sys

    from gastown_tui.ops.warrants import file

    if from_stdin:
        if reason:
            raise click.UsageError("cannot use --stdin with --reason/-r")
        reason = sys.stdin.read().rstrip("\n")
    if not reason:
        raise click.UsageError('required flag "reason" not set (use --reason/-r or --stdin)')
    result, created = file(cli.town(), cli.store(), target, reason,
                           filed_by=os.environ.get("BD_ACTOR", ""))
    if as_json:
        echo_json({**result, "created": created})
    elif created:
        echo(f"✓ Filed death warrant for {result['target']}\n  Reason: {result['reason']}"
                   f"\n  ID: {result['id']}\n  Evidence: {len(result['evidence'])} line(s)")
    else:
        echo(f"Warrant already exists for {result['target']}\n  Reason: "
                   f"{result['reason']}\n  Filed: {result['filed_at']}")


@warrant.command(name="list")
@click.option("-a", "--all", "include_all", is_flag=True, help="Executed warrants too.")
@json_option
@pass_cli
def warrant_list(cli: CliContext, include_all, as_json) -> None:
    """Pending warrants (and executed ones with --all)."""
    from gastown_tui.ops.warrants import list_warrants

    items = list_warrants(cli.town(), include_executed=include_all)
    if as_json:
        echo_json(items)
        return
    if not items:
        echo("No warrants found" if include_all else "No pending warrants")
        return
    echo("Death Warrants\n")
    for w in items:
        status = "✓ EXECUTED" if w.get("executed") else "⚠️  PENDING"
        echo(f"  {status} {w['target']}\n     Reason: {w['reason']}\n"
                   f"     Filed: {w['filed_at']} by {w['filed_by']}")
        if w.get("executed_at"):
            echo(f"     Executed: {w['executed_at']}")
        for line in w.get("evidence", [])[:3]:
            echo(f"     | {line}")
        echo("")


@warrant.command(name="execute")
@click.argument("target")
@click.option("-f", "--force", is_flag=True, help="End the session even without a warrant.")
@json_option
@pass_cli
def warrant_execute(cli: CliContext, target, force, as_json) -> None:
    """Execute the warrant for TARGET: end its session, release its hooked work."""
    from gastown_tui.ops.warrants import execute

    result = execute(cli.town(), cli.store(), target, force=force)
    if as_json:
        echo_json(result)
        return
    if result.get("already_executed"):
        echo(f"Warrant for {result['target']} already executed at "
                   f"{result['warrant'].get('executed_at')}")
        return
    echo(("✓ Terminated session " if result["killed"] else "  Session ")
               + f"{result['session']}" + ("" if result["killed"] else " not found (already dead)"))
    if result["released"]:
        echo(f"  Released {', '.join(result['released'])} back to the ready pool")
    echo(f"✓ Warrant executed for {result['target']}")
