"""Commands upstream's prompts teach for machinery this town does differently: Dolt (here one
SQLite file), the reaper, Boot, dogs, patrol molecules (here deterministic loops), crew, and
the PreToolUse guards (`gt tap guard`). Each answers in one line with what this town does
instead, or does the equivalent for real; none says "no such command"."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.common import CliContext, DefaultGroup, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


def _store_health(cli: CliContext) -> dict:
    from gastown_tui.ops.store_admin import health

    return health(cli.town())


@click.group(cls=DefaultGroup, default="status")
def dolt() -> None:
    """Upstream keeps beads in a Dolt server; this town keeps them in one SQLite file, with
    nothing to start or stop. `gt dolt status` reports that store's health."""


@dolt.command(name="status")
@json_option
@pass_cli
def dolt_status(cli: CliContext, as_json) -> None:
    """The bead store's health (SQLite here, not Dolt)."""
    health = _store_health(cli)
    if as_json:
        echo_json(health)
        return
    state = "healthy" if health["healthy"] else "PROBLEMS: " + "; ".join(health["problems"])
    where = ("PostgreSQL at " if health["backend"] == "postgres" else "SQLite at ") \
        + health["location"]
    echo(f"✓ No Dolt server here: beads live in {where} — {state} "
               f"({health['issues']} issues, {health.get('latency_ms', 0)} ms)")
    if not health["healthy"]:
        sys.exit(1)


@dolt.command(name="cleanup", context_settings={"ignore_unknown_options": True,
                                                "allow_extra_args": True})
@click.pass_context
def dolt_cleanup(ctx: click.Context) -> None:
    """Nothing to clean: there are no Dolt databases or servers."""
    cli = ctx.find_object(CliContext)
    health = _store_health(cli)
    kind = "PostgreSQL" if health["backend"] == "postgres" else "SQLite"
    echo(f"✓ Nothing to clean: no Dolt databases here; the store is {kind} at "
               f"{health['location']} ({'healthy' if health['healthy'] else 'see gt doctor'}). "
               "Stale locks and records: gt doctor --fix")


def _no_server() -> None:
    echo("✓ No Dolt server to start or stop: the bead store is a SQLite file, or "
               "PostgreSQL (a town's own cluster starts and stops with gt up / gt down).")


for _verb in ("start", "stop", "restart"):
    dolt.add_command(click.Command(_verb, callback=_no_server, hidden=True,
                                   help="Nothing to do: there is no Dolt server."))


@click.group(cls=DefaultGroup, default="any", context_settings={"ignore_unknown_options": True})
def reaper() -> None:
    """Upstream's reaper purges Dolt wisp tables; here closed wisps stay in SQLite (nothing is
    deleted) and `gt doctor` checks the store."""


@reaper.command(name="any", hidden=True, context_settings={"ignore_unknown_options": True,
                                                           "allow_extra_args": True})
@click.pass_context
def reaper_any(ctx: click.Context) -> None:
    what = " ".join(ctx.args) or "(nothing)"
    as_json = "--json" in ctx.args
    message = ("no reaper here: beads are in one SQLite store and closed wisps are kept, "
               "never purged; `gt doctor --fix` repairs the store")
    if as_json:
        echo_json({"reaped": 0, "purged": 0, "databases": [], "note": message})
    else:
        echo(f"✓ gt reaper {what}: {message}")


@click.group()
def boot() -> None:
    """Upstream's Boot triages a degraded Deacon; here the Deacon is a deterministic loop that
    `gt up` (and the Deacon itself) keep running."""


@boot.command(name="status")
@json_option
@pass_cli
def boot_status(cli: CliContext, as_json) -> None:
    """Is the Deacon (what Boot watches) running?"""
    from gastown_tui.ops.sessions import read_heartbeat, tmux_for

    town = cli.town()
    running = tmux_for(town).has_session("hq-deacon")
    beat = read_heartbeat(town, "hq-deacon") or {}
    if as_json:
        echo_json({"boot": "not needed", "deacon_running": running, "deacon_heartbeat": beat})
    else:
        echo(f"✓ No Boot here: the Deacon is a plain loop, {'running' if running else 'NOT running (gt up)'}"
                   + (f", last beat {beat.get('ts')}" if beat else ""))


@boot.command(name="spawn")
@pass_cli
def boot_spawn(cli: CliContext) -> None:
    """Start what Boot would: the Deacon, if it is not running."""
    from gastown_tui.ops.up import up

    steps = [s for s in up(cli.town()) if s.session == "hq-deacon"]
    action = steps[0].action if steps else "skipped"
    echo(f"✓ No Boot here; the Deacon is {action} (gt up keeps it alive)")


@boot.command(name="triage")
@click.option("--degraded", is_flag=True)
@pass_cli
def boot_triage(cli: CliContext, degraded) -> None:
    """One Deacon patrol now (what Boot's triage ends in)."""
    from gastown_tui.patrol.deacon import patrol

    store = cli.store()
    report = patrol(cli.town(), store, keep_alive=True)
    echo(f"✓ Deacon patrol: restarted {', '.join(report.restarted) or 'nothing'}; "
               f"landed {len(report.landed)} convoy(s)"
               + (f"; problems: {'; '.join(report.problems)}" if report.problems else ""))


@click.group()
def dog() -> None:
    """Upstream's dogs run plugins for the Deacon; this town has none (its maintenance is
    the Deacon's and `gt doctor`'s)."""


@dog.command(name="done", context_settings={"ignore_unknown_options": True,
                                            "allow_extra_args": True})
def dog_done() -> None:
    """Nothing to return: there are no dogs here."""
    echo("✓ No dogs in this town: nothing to mark done (maintenance is the Deacon's "
               "loop and gt doctor)")


@dog.command(name="list")
def dog_list() -> None:
    echo("No dogs in this town (the Deacon's loop and gt doctor do their work).")


@click.group()
def patrol() -> None:
    """Upstream's patrol molecules for AI witnesses, refineries and deacons; here those roles
    are deterministic loops that patrol by themselves and write heartbeats."""


@patrol.command(name="new", context_settings={"ignore_unknown_options": True,
                                              "allow_extra_args": True})
def patrol_new() -> None:
    """No patrol wisp to create: the loops patrol on their own."""
    echo("✓ No patrol molecule needed: the witness, refinery and deacon here are loops "
               "(gt witness run, gt refinery run, gt deacon run) that patrol on their own")


@patrol.command(name="report")
@click.option("--summary", default="", help="What this cycle found.")
@pass_cli
def patrol_report(cli: CliContext, summary) -> None:
    """Record a patrol summary on the town's feed (the loops' own reports are heartbeats)."""
    from gastown_tui.ops.context import default_actor

    actor = default_actor()
    cli.log("patrol_report", {"summary": summary}, source="gt")
    echo(f"✓ Patrol report from {actor} recorded" + (f": {summary}" if summary else ""))


@click.group()
def tap() -> None:
    """Hooks a runtime calls around tool use (PreToolUse guards)."""


@tap.command(name="guard")
@click.argument("name", type=click.Choice(["dangerous-command", "pr-workflow"]))
def tap_guard(name) -> None:
    """Refuse a tool call a polecat must not make (exit 2 and the reason on stderr: Claude
    Code, Codex and Gemini CLI block it so), allow it for every other role. Reads the tool
    call's JSON on stdin (tool_input.command) when the runtime sends it, and then blocks only
    a command the guard names; without it the runtime has matched already."""
    import os
    import select

    from gastown_tui.ops.guards import verdict
    from gastown_tui.town.names import parse_address

    role = os.environ.get("GT_ROLE", "")
    try:
        kind = parse_address(role).role if role else ""
    except Exception:
        kind = ""
    raw = ""
    if not sys.stdin.isatty():
        # a runtime writes its JSON and closes stdin at once; never wait on a silent pipe
        ready, _, _ = select.select([sys.stdin], [], [], 0.5)
        raw = sys.stdin.read(1 << 20) if ready else ""
    why = verdict(name, kind, raw)
    if why is None:
        return
    echo(f"Blocked by gt tap guard {name}: {why}", err=True)
    sys.exit(2)


@click.group(cls=DefaultGroup, default="about", invoke_without_command=True)
@click.pass_context
def crew(ctx: click.Context) -> None:
    """Upstream's crew (human-guided workers with their own clones) is not built here."""
    if ctx.invoked_subcommand is None:
        echo(ctx.get_help())


@crew.command(name="about", hidden=True, context_settings={"ignore_unknown_options": True,
                                                           "allow_extra_args": True})
@click.pass_context
def crew_about(ctx: click.Context) -> None:
    what = " ".join(ctx.args)
    raise click.ClickException(
        f"gt crew {what}: crew workspaces are not built in this town; work goes to polecats "
        "(gt sling <bead> <rig>) and the Mayor (gt mayor attach)")


@crew.command(name="stop", context_settings={"ignore_unknown_options": True,
                                             "allow_extra_args": True})
@click.pass_context
def crew_stop(ctx: click.Context) -> None:
    """Nothing to stop: no crew sessions here."""
    echo(f"✓ No crew sessions in this town; nothing to stop ({' '.join(ctx.args)})")


@crew.command(name="list")
def crew_list() -> None:
    echo("No crew in this town (crew workspaces are not built; see gt polecat list).")
