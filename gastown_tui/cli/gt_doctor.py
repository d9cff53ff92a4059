"""`gt doctor [--fix] [--json]`: what faults left behind in the town, and the repair."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

MARKS = {"ok": "✓", "warn": "⚠", "error": "✗", "fixed": "🔧"}


@click.command()
@click.option("--fix", is_flag=True, help="Repair what can be repaired safely.")
@click.option("--grace", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="Ignore things younger than this many seconds (work in flight).")
@click.option("--lock-age", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="Minutes after which an unheld lock file is mentioned.")
@click.option("--heartbeat-stale", default=10.0, show_default=True,
              type=click.FloatRange(min=0), help="Minutes after which a loop's heartbeat is stale.")
@json_option
@pass_cli
@click.pass_context
def doctor(ctx: click.Context, cli: CliContext, fix: bool, grace: float, lock_age: float,
           heartbeat_stale: float, as_json: bool) -> None:
    """Check the town (its config files, the store and its WAL and backup, the event log,
    locks, sessions, polecats, agents, merge requests, worktrees and their git links,
    heartbeats); exits non-zero while an error remains."""
    from gastown_tui.ops.doctor import doctor as run_doctor
    from gastown_tui.town.progress import Progress

    with Progress.for_cli(json_output=as_json) as progress:
        report = run_doctor(cli.town(), fix=fix, grace=grace, lock_age_minutes=lock_age,
                            heartbeat_stale_minutes=heartbeat_stale, progress=progress)
    if as_json:
        echo_json(report.as_json())
    else:
        for check in report.checks:
            echo(f"{MARKS[check.status]} {check.name}: {check.status}")
            for line in check.details:
                echo(f"    {line}")
        errors = sum(c.status == "error" for c in report.checks)
        if errors and not fix:
            echo(f"{errors} check(s) failed; 'gt doctor --fix' repairs what it safely can")
    if not report.ok:
        ctx.exit(1)


def main(argv: list[str] | None = None) -> int:
    """`python -m gastown_tui.cli.gt_doctor …`: the command on its own (before gt lists it)."""
    from gastown_tui.cli.common import run
    from gastown_tui.cli.gt import _make_ctx

    group = click.Group(commands={"doctor": doctor})
    return run(group, ["doctor", *(sys.argv[1:] if argv is None else argv)], _make_ctx,
               "gt")


if __name__ == "__main__":
    sys.exit(main())
