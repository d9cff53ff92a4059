"""Problems first: `gt agents`, `gt health`, `gt vitals`, and what `gt feed --problems`
prints (ops/problems.py)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, DefaultGroup, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

MARK = {"high": "✗", "medium": "⚠", "low": "·"}


def print_problems(found: list[dict], *, rig: str | None = None) -> None:
    if not found:
        echo("✓ No problems" + (f" in {rig}." if rig else "."))
        return
    for p in found:
        echo(f"{MARK.get(p['severity'], '·')} {p['kind']:<12} {p['agent'] or '-':<28} "
             f"{p['detail']}")


@click.group(cls=DefaultGroup, default="list")
def agents() -> None:
    """The town's agent sessions: `gt agents` lists them with role and state."""


@agents.command(name="list")
@json_option
@pass_cli
def agents_list(cli: CliContext, as_json) -> None:
    """Every agent session with its role, rig and state."""
    from gastown_tui.ops.problems import agents as all_agents

    found = all_agents(cli.town(), cli.store())
    if as_json:
        echo_json(found)
        return
    if not found:
        echo("No agent sessions running (gt up starts the town).")
    for a in found:
        issue = f"  {a['issue']}" if a["issue"] else ""
        echo(f"{'●' if a['running'] else '✗'} {a['address']:<30} {a['role']:<9} "
             f"{a['state']}{issue}")


@agents.command(name="check")
@json_option
@pass_cli
def agents_check(cli: CliContext, as_json) -> None:
    """The agents that need someone (as gt feed --problems, agents only); exit 1 if any."""
    from gastown_tui.ops.problems import problems

    found = [p for p in problems(cli.town(), cli.store()) if p["kind"] != "escalation"]
    if as_json:
        echo_json({"total_sessions": len(_sessions(cli)), "problems": found})
    else:
        print_problems(found)
    if found:
        raise click.exceptions.Exit(1)


def _sessions(cli: CliContext) -> dict:
    from gastown_tui.ops.polecats import live_sessions

    return live_sessions(cli.town())


@click.command()
@click.option("--rig", default=None, help="Only this rig.")
@json_option
@pass_cli
def health(cli: CliContext, rig, as_json) -> None:
    """Is the town healthy: the store answers, the loops run, no agent needs someone, no
    escalation waits. Exit 1 when anything is wrong (for scripts and monitoring)."""
    from gastown_tui.ops.problems import problems

    town, store = cli.town(), cli.store()
    found = problems(town, store, rig)
    sessions = _sessions(cli)
    out = {"healthy": not found, "rig": rig or "", "sessions": len(sessions),
           "problems": found,
           "counts": {k: sum(1 for p in found if p["kind"] == k)
                      for k in sorted({p["kind"] for p in found})}}
    if as_json:
        echo_json(out)
    else:
        echo(f"{'✓ healthy' if not found else '✗ ' + str(len(found)) + ' problem(s)'}: "
             f"{len(sessions)} session(s){' in ' + rig if rig else ''}")
        if found:
            print_problems(found)
    if found:
        raise click.exceptions.Exit(1)


@click.command()
@json_option
@pass_cli
def vitals(cli: CliContext, as_json) -> None:
    """The town's vital signs: store size and counts, backup freshness, sessions and orphaned
    processes, the last event, the load."""
    from gastown_tui.ops.problems import vitals as town_vitals

    v = town_vitals(cli.town(), cli.store())
    if as_json:
        echo_json(v)
        return
    db, bk, pr = v["store"], v["backups"], v["processes"]
    size = f", {db['disk_usage_human']}" if "disk_usage_human" in db else ""
    echo(f"Store     {db['backend']}{size}: {db['issues']} beads ({db['open_issues']} open), "
         f"{db['wisps']} wisps ({db['open_wisps']} open)")
    age = bk["jsonl_age_seconds"]
    echo(f"Backup    {'none yet' if age is None else f'{age}s old'}"
         f"{'  ⚠ stale' if bk['jsonl_stale'] else ''}")
    echo(f"Sessions  {pr['sessions']} ({pr['dead_panes']} dead panes), "
         f"{pr['orphan_count']} orphaned process(es)")
    last = v["events"]["last_event_age_seconds"]
    echo(f"Events    last {'never' if last is None else f'{last}s ago'}")
    echo(f"Load      {v['load']['load1']} on {v['load']['cpus']} CPU(s)")
