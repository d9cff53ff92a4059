"""`gt witness run|status`, `gt deacon run|status`, `gt escalate`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, DefaultGroup, echo
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
    echo(f"witness of {rig}: patrolling" + (" once" if once else ""))
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
        echo("No patrol yet.")
    for name, v in sorted(state.verdicts.items()):
        echo(f"{name:<16} {v.state:<8} {v.evidence}" + (f"  → {v.action}" if v.action else ""))


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

    echo("deacon: patrolling" + (" once" if once else ""))
    run(cli.town(), once=once, interval=interval, keep_alive=not no_keep_alive)


@deacon.command(name="heartbeat")
@click.argument("action", required=False, default="alive")
@pass_cli
def deacon_heartbeat(cli: CliContext, action) -> None:
    """Record the Deacon's heartbeat (its loop does this on every patrol)."""
    from gastown_tui.ops.sessions import write_heartbeat

    write_heartbeat(cli.town(), "hq-deacon", action, agent="deacon", runtime="gt")
    echo(f"♥ deacon heartbeat: {action}")


@deacon.command(name="cleanup-orphans")
@click.option("--grace", type=float, default=5.0, show_default=True,
              help="Seconds between SIGTERM and SIGKILL.")
@pass_cli
def deacon_cleanup_orphans(cli: CliContext, grace) -> None:
    """Stop processes of this town that no session owns any more (left by a crash)."""
    from gastown_tui.ops.shutdown import orphan_processes
    from gastown_tui.tmux import proctree

    town = cli.town()
    orphans = orphan_processes(town)
    if not orphans:
        echo("✓ No orphaned processes.")
        return
    proctree.terminate_tree([p.pid for p in orphans], grace=grace)
    echo(f"✓ Stopped {len(orphans)} orphaned process(es): "
               + ", ".join(str(p.pid) for p in orphans))


@click.group(cls=DefaultGroup)
def escalate() -> None:
    """Raise something that needs a human or the Mayor (routes: settings/escalation.json):
    `gt escalate "what" -s HIGH -m "details"`; also list, show, ack, close, stale."""


@escalate.command(name="raise")
@click.argument("description", nargs=-1)
@click.option("-s", "--severity", default="medium", show_default=True,
              help="low, medium, high or critical (any case).")
@click.option("-r", "--reason", default="", help="The details: what you tried, what you need.")
@click.option("-m", "--message", default="", help="Same as --reason.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the details from stdin.")
@click.option("--source", default="")
@click.option("--related", default="", help="The bead this is about.")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would happen; do nothing.")
@json_option
@pass_cli
def escalate_raise(cli: CliContext, description, severity, reason, message, from_stdin, source,
                   related, dry_run, as_json) -> None:
    """Raise an escalation."""
    import sys

    from gastown_tui.ops.escalate import SEVERITIES
    from gastown_tui.ops.escalate import escalate as do_escalate

    text = " ".join(description).strip()
    if not text:
        raise click.UsageError('say what needs attention: gt escalate "what is wrong" -s high')
    details = "\n\n".join(part for part in (reason, message) if part)
    if from_stdin:
        details = "\n\n".join(part for part in (details, sys.stdin.read().strip()) if part)
    if severity.lower() not in SEVERITIES:
        raise click.BadParameter(f"{severity!r} is not one of {', '.join(SEVERITIES)}",
                                 param_hint="'-s' / '--severity'")
    if dry_run:
        echo(f"Would escalate [{severity.lower()}]: {text}" +
                   (f"\n  details: {details}" if details else ""))
        return
    res = do_escalate(cli.town(), cli.store(), text, severity=severity, reason=details,
                      source=source, related=related)
    if as_json:
        echo_json(res.as_json())
    else:
        echo(f"⚠ Escalated {res.id} [{res.severity}]: {', '.join(res.actions)}")


@escalate.command(name="list")
@click.option("--all", "include_all", is_flag=True, help="Closed escalations too.")
@json_option
@pass_cli
def escalate_list(cli: CliContext, include_all, as_json) -> None:
    """Open escalations, most severe first."""
    from gastown_tui.town.fields import parse_fields

    store = cli.store()
    items = store.list_issues(labels=["gt:escalation"], include_infra=True, limit=0,
                              include_all=include_all, counts=False)
    if as_json:
        echo_json(items)
        return
    if not items:
        echo("No open escalations.")
    for bead in items:
        fields = parse_fields(bead.get("description", ""))
        acked = f" (acked by {fields['acked_by']})" if fields.get("acked_by") else ""
        echo(f"⚠ {bead['id']} [{fields.get('severity', '?')}] {bead['status']} "
                   f"{bead['title']}  from {fields.get('escalated_by', '?')}{acked}")


@escalate.command(name="stale")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would be re-escalated.")
@json_option
@pass_cli
def escalate_stale(cli: CliContext, dry_run, as_json) -> None:
    """Re-escalate stale unacknowledged escalations: each one older than the stale threshold
    (settings/escalation.json stale_threshold, default 4h) goes up one severity (at most
    max_reescalations times, default 2) and its new route is mailed."""
    from dataclasses import asdict

    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.escalate import reescalate_stale, stale_threshold

    town = cli.town()
    results = reescalate_stale(town, cli.store(), by=default_actor(), dry_run=dry_run)
    if as_json:
        echo_json([asdict(r) for r in results])
        return
    hours = stale_threshold(town) / 3600
    limit = f"{hours:g}h"
    if not results:
        echo(f"No stale escalations (threshold: {limit})")
        return
    if dry_run:
        echo(f"Would re-escalate {len(results)} stale escalations (threshold: {limit}):\n")
        for r in results:
            if r.Skipped:
                echo(f"  {r.ID} [SKIP] {r.Title}\n     {r.SkipReason}")
            else:
                echo(f"  {r.ID} {r.Title}\n     {r.OldSeverity} → {r.NewSeverity} "
                     f"(reescalation {r.ReescalationNum})")
        return
    done = [r for r in results if not r.Skipped]
    skipped = len(results) - len(done)
    if not done:
        echo(f"No escalations re-escalated ({skipped} at max level)")
        return
    echo(f"🔄 Re-escalated {len(done)} stale escalations:\n")
    for r in done:
        echo(f"  {r.ID}: {r.OldSeverity} → {r.NewSeverity} (reescalation {r.ReescalationNum})")
    if skipped:
        echo(f"\n  ({skipped} skipped - at max level)")


@escalate.command(name="show")
@click.argument("escalation_id")
@json_option
@pass_cli
def escalate_show(cli: CliContext, escalation_id, as_json) -> None:
    """One escalation with its details."""
    bead = cli.store().get(escalation_id)
    if as_json:
        echo_json(bead)
    else:
        echo(f"{bead['id']} [{bead['status']}] {bead['title']}\n\n"
                   f"{bead.get('description', '')}")


@escalate.command(name="ack")
@click.argument("escalation_id")
@pass_cli
def escalate_ack(cli: CliContext, escalation_id) -> None:
    """Say you are on it."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.escalate import acknowledge

    bead = acknowledge(cli.town(), cli.store(), escalation_id, by=default_actor())
    echo(f"✓ Acknowledged {bead['id']}")


@escalate.command(name="close")
@click.argument("escalation_id")
@click.option("--reason", default="", help="How it was resolved.")
@pass_cli
def escalate_close(cli: CliContext, escalation_id, reason) -> None:
    """Close a resolved escalation."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.escalate import close_escalation

    bead = close_escalation(cli.town(), cli.store(), escalation_id, by=default_actor(),
                            reason=reason)
    echo(f"✓ Closed {bead['id']}: {bead.get('close_reason', '')}")


def _attach_lifecycle() -> None:
    from gastown_tui.cli.gt_lifecycle import add_role_verbs

    add_role_verbs(witness, "witness")
    add_role_verbs(deacon, "deacon")


_attach_lifecycle()  # gt witness|deacon start|stop|restart|attach (cli/gt_lifecycle.py)
