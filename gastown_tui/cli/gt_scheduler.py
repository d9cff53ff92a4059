"""`gt scheduler`: caps on working polecats, the queue beyond them, and dispatch."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def scheduler() -> None:
    """The dispatch scheduler: beads beyond the caps wait in a queue and start as slots free.

    \b
    gt scheduler status    queue, caps, active polecats, the memory/CPU gate
    gt scheduler list      the queued beads by rig
    gt scheduler run       dispatch now (the Deacon does it every patrol)
    gt scheduler pause / resume / clear [--bead ID]

    \b
    Config (settings/config.json "scheduler"; a rig's own cap in <rig>/settings/config.json):
      gt config set scheduler.max_polecats 5      town-wide cap (-1: no cap, direct dispatch)
      gt config set scheduler.min_free_memory_mb 2048   wait while less memory is free
      gt config set scheduler.max_load_per_cpu 1.5      wait while the load is higher
      gt config set --rig <rig> scheduler.max_polecats 2  a rig's cap
    """


@scheduler.command(name="status")
@json_option
@pass_cli
def scheduler_status(cli: CliContext, as_json) -> None:
    """Show scheduler state: queued, capacity, active polecats, the gate."""
    from gastown_tui.ops.scheduler import status

    data = status(cli.town(), cli.store())
    if as_json:
        echo_json(data)
        return
    echo("Scheduler Status\n")
    state = f"PAUSED (by {str(data.get('paused_by', '?'))})" if data["paused"] else "active"
    if not data["deferred"]:
        state += " (no caps set: slings start at once)"
    echo(f"  State:     {state}")
    cap = data["max_polecats"] if data["max_polecats"] > 0 else "no cap"
    echo(f"  Active:    {data['active_polecats']} polecats (town cap: {cap})")
    for rig, info in data["rigs"].items():
        rig_cap = info["max_polecats"] if info["max_polecats"] > 0 else "no cap"
        echo(f"    {rig}: {info['active']} active, cap {rig_cap}")
    echo(f"  Queued:    {data['queued_total']} total, {data['queued_ready']} ready")
    gate = data["gate"]
    mem = f"{gate['memory_free_mb']} MB free" if gate["memory_free_mb"] is not None else "?"
    echo(f"  Gate:      {'open' if gate['open'] else 'CLOSED: ' + gate['reason']} "
               f"({mem}, load {gate['load_per_cpu']} per CPU)")
    if data.get("last_dispatch_at"):
        echo(f"  Last dispatch: {data['last_dispatch_at']} "
                   f"({data['last_dispatch_count']} beads)")


@scheduler.command(name="list")
@json_option
@pass_cli
def scheduler_list(cli: CliContext, as_json) -> None:
    """List the queued beads with titles, rig and blocked status."""
    from gastown_tui.ops.scheduler import queued

    beads = queued(cli.town(), cli.store())
    if as_json:
        echo_json(beads)
        return
    if not beads:
        echo("No beads scheduled.\nEnable deferred dispatch with: gt config set "
                   "scheduler.max_polecats <N>")
        return
    echo(f"Scheduled Work ({len(beads)} beads)\n")
    rigs: dict[str, list[dict]] = {}
    for bead in beads:
        rigs.setdefault(bead["target_rig"], []).append(bead)
    for rig, items in rigs.items():
        echo(f"  {rig} ({len(items)}):")
        for b in items:
            echo(f"    {'⏸' if b.get('blocked') else '○'} {b['id']}: {str(b['title'])}")


@scheduler.command(name="run")
@click.option("--batch", type=int, default=0, help="Dispatch at most this many (0: config).")
@click.option("--dry-run", is_flag=True, help="Show what would dispatch.")
@json_option
@pass_cli
def scheduler_run(cli: CliContext, batch, dry_run, as_json) -> None:
    """Dispatch queued beads now, as far as the caps and the gate allow."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.scheduler import dispatch
    from gastown_tui.ops.sling import sling

    report = dispatch(cli.town(), cli.store(), batch=batch or None, dry_run=dry_run,
                      actor=default_actor(), start=sling)
    if as_json:
        out = report.as_json()
        for item in out["dispatched"]:
            item.pop("result", None)
        echo_json(out)
        return
    verb = "Would dispatch" if dry_run else "Dispatched"
    for item in report.dispatched:
        echo(f"  ✓ {verb.lower()} {item['bead']} → {item['agent'] or item['rig']}")
    for item in report.failed:
        echo(f"  ✗ {item['bead']}: {str(item['error'])}")
    if report.dispatched or report.failed:
        echo(f"\n✓ {verb} {len(report.dispatched)}, failed {len(report.failed)}"
                   + (f"; {report.waiting} waiting ({report.reason})" if report.waiting else ""))
    elif report.waiting:
        echo(f"○ {report.waiting} bead(s) waiting: {report.reason}")
    else:
        echo("No ready beads scheduled for dispatch")


@scheduler.command(name="pause")
@pass_cli
def scheduler_pause(cli: CliContext) -> None:
    """Pause all dispatch (town-wide)."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.scheduler import load_state, pause

    town = cli.town()
    if pause(town, default_actor()):
        echo("⏸ Scheduler paused")
    else:
        echo(f"○ Scheduler is already paused (by {load_state(town).get('paused_by')})")


@scheduler.command(name="resume")
@pass_cli
def scheduler_resume(cli: CliContext) -> None:
    """Resume dispatch."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.scheduler import resume

    echo("▶ Scheduler resumed" if resume(cli.town(), default_actor())
               else "○ Scheduler is not paused")


@scheduler.command(name="clear")
@click.option("--bead", default=None, help="Remove only this bead from the queue.")
@pass_cli
def scheduler_clear(cli: CliContext, bead) -> None:
    """Remove beads from the queue (their sling contexts are closed `cleared`)."""
    from gastown_tui.ops.scheduler import clear

    closed = clear(cli.town(), cli.store(), bead)
    if bead:
        echo(f"✓ Removed {bead} from scheduler (closed {closed} context(s))" if closed
                   else f"○ No sling context found for {bead}")
    else:
        echo(f"✓ Cleared {closed} context bead(s) from scheduler" if closed
                   else "Scheduler is already empty.")
