"""`gt patrol digest|report|scan|new` (upstream gastown's cmd/patrol*.go). Patrols here are
deterministic loops (gt deacon run, gt witness run, gt refinery run) that leave a digest per
cycle that did something; `gt patrol report` is the same record for an agent that patrols."""

from __future__ import annotations

import os

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def patrol() -> None:
    """Patrol cycle digests: per-cycle records aggregated into daily Patrol Reports."""


def _role() -> tuple[str, str]:
    who = os.environ.get("GT_ROLE") or os.environ.get("BD_ACTOR") or ""
    for role in ("deacon", "witness", "refinery"):
        if who == role or who.endswith("/" + role):
            return role, who
    return "patrol", who or "overseer"


@patrol.command(name="report")
@click.option("--summary", default="", help="What this cycle found.")
@click.option("--steps", default="", help="step:STATUS pairs, comma-separated.")
@json_option
@pass_cli
def patrol_report(cli: CliContext, summary, steps, as_json) -> None:
    """Record this patrol cycle (a digest, aggregated daily by gt patrol digest)."""
    from gastown_tui.ops.patrol_digest import record_cycle

    role, who = _role()
    digest = record_cycle(cli.town(), cli.store(who), role, summary or "(no summary)",
                          steps=steps, agent=who)
    if as_json:
        echo_json({"role": role, "digest": digest, "summary": summary})
    else:
        echo(f"✓ Patrol report from {who} recorded as {digest}"
                   + (f": {summary}" if summary else ""))


@patrol.command(name="digest")
@click.option("--yesterday", is_flag=True, help="Aggregate yesterday's cycles.")
@click.option("--date", default="", help="Aggregate this day's cycles (YYYY-MM-DD).")
@click.option("--dry-run", is_flag=True)
@click.option("-v", "--verbose", is_flag=True)
@json_option
@pass_cli
def patrol_digest(cli: CliContext, yesterday, date, dry_run, verbose, as_json) -> None:
    """Aggregate a day's patrol cycle digests into one permanent Patrol Report."""
    from gastown_tui.ops.patrol_digest import digest, target_day

    day = target_day(yesterday=yesterday, date=date)
    result = digest(cli.town(), cli.store(), day, dry_run=dry_run)
    if as_json:
        echo_json(result)
        return
    if result.get("existing"):
        echo(f"○ Patrol digest already exists for {day} (bead: {result['existing']})")
    elif not result["total_cycles"]:
        echo(f"○ No patrol digests found for {day}")
    else:
        head = "📊 [DRY RUN] Would create" if dry_run else "✓ Created"
        echo(f"{head} Patrol Report {day}"
                   + (f" (bead: {result['report']})" if result.get("report") else "")
                   + f"\n  Total: {result['total_cycles']} cycles")
        for role, count in sorted(result["by_role"].items()):
            echo(f"    {role}: {count}")
        if result["deleted"]:
            echo(f"  Deleted {result['deleted']} source digests")
        if verbose:
            for cycle in result["cycles"]:
                echo(f"  {cycle['created_at']} {cycle['role']} {cycle['id']}")


@patrol.command(name="scan")
@click.option("--rig", "rig_name", default=None, help="One rig (default: every rig).")
@click.option("--notify", is_flag=True, hidden=True)
@json_option
@pass_cli
def patrol_scan(cli: CliContext, rig_name, notify, as_json) -> None:
    """One Witness patrol now: every polecat's state with its evidence and what was done."""
    from gastown_tui.patrol.verdicts import WitnessState
    from gastown_tui.patrol.witness import Witness, state_path

    town = cli.town()
    out = {}
    for rig in [town.rig(rig_name)] if rig_name else town.rigs():
        state = WitnessState.load(state_path(rig))
        verdicts = Witness(town, cli.store(f"{rig.name}/witness"), rig).patrol(state)
        out[rig.name] = [{"polecat": v.polecat, "state": v.state, "evidence": v.evidence,
                          "action": v.action} for v in verdicts]
    if as_json:
        echo_json(out)
        return
    for rig, verdicts in out.items():
        echo(f"{rig}: {len(verdicts)} polecat(s)")
        for v in verdicts:
            echo(f"  {v['polecat']}: {v['state']} ({v['evidence']})"
                       + (f" → {v['action']}" if v["action"] else ""))


@patrol.command(name="new", context_settings={"ignore_unknown_options": True,
                                              "allow_extra_args": True})
def patrol_new() -> None:
    """No patrol wisp to create: the loops patrol on their own."""
    echo("✓ No patrol molecule needed: the witness, refinery and deacon here are loops "
               "(gt witness run, gt refinery run, gt deacon run) that patrol on their own; "
               "record a cycle with gt patrol report --summary")
