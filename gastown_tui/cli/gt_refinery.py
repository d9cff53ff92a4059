"""`gt refinery run/status`: the per-rig merge loop and what it is doing."""

from __future__ import annotations

import sys
import time

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def refinery() -> None:
    """The Refinery: merges each rig's queue onto its main branch."""


@refinery.command(name="run")
@click.argument("rig_name")
@click.option("--once", is_flag=True, help="Process every ready MR, then exit.")
@click.option("--poll", default=30.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Longest sleep (seconds) when no file event wakes the loop.")
@pass_cli
def run_cmd(cli: CliContext, rig_name: str, once: bool, poll: float) -> None:
    """Run the merge loop of RIG_NAME (one per rig; a second one exits at once)."""
    from gastown_tui.refinery.loop import run

    town = cli.town()

    def say(line: str) -> None:
        echo(f"{time.strftime('%H:%M:%S')} {line}")

    summary = run(town, town.rig(rig_name), once=once, poll=poll, out=say)
    say(f"stopped: {len(summary.merged)} merged, {len(summary.results)} processed")


@refinery.command(name="status")
@click.argument("rig_name")
@json_option
@pass_cli
def status_cmd(cli: CliContext, rig_name: str, as_json: bool) -> None:
    """Is the loop alive, which MR and stage it is on, and the queue's size."""
    from gastown_tui.refinery.admin import refinery_status

    town = cli.town()
    data = refinery_status(town, town.rig(rig_name), cli.store())
    if as_json:
        echo_json(data)
        return
    beat = data["heartbeat"] or {}
    age = data["heartbeat_age_s"]
    state = "running" if data["running"] else "not running"
    echo(f"Refinery {rig_name}: {state}"
               + (f" ({beat.get('state')}, heartbeat {age:.0f}s ago)" if age is not None else ""))
    stage = data["stage"]
    if stage:
        echo(f"  {stage.get('mr')}: {stage.get('stage')} since {stage.get('stage_started_at')}")
    if data["gate_log"]:
        echo(f"  gate log: {data['gate_log']}")
    q = data["queue"]
    echo(f"  queue: {q['ready']} ready, {q['blocked']} blocked, {q['active']} active"
               + (f"; next {data['next']}" if data["next"] else ""))


def _attach_lifecycle() -> None:
    from gastown_tui.cli.gt_lifecycle import add_role_verbs

    add_role_verbs(refinery, "refinery")


_attach_lifecycle()  # gt refinery start|stop|restart|attach (cli/gt_lifecycle.py)


def main(argv: list[str] | None = None) -> int:
    """`python -m gastown_tui.cli.gt_refinery …`: the group on its own (tests, before gt wires it)."""
    from gastown_tui.cli.common import run
    from gastown_tui.cli.gt import _make_ctx

    return run(refinery, argv, _make_ctx, "gt refinery")


if __name__ == "__main__":
    sys.exit(main())
