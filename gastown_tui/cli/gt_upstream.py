"""Commands upstream's prompts teach for machinery this town does differently: Dolt (here one
SQLite file), the reaper (KRC prunes here), Boot (a deterministic triage), and the PreToolUse
guards (`gt tap guard`). Each answers in one line with what this town does
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
    """Upstream's reaper purges Dolt wisp tables; here KRC prunes closed wisps and old events
    from the one SQLite store (`gt krc prune`, run by the Deacon every patrol)."""


@reaper.command(name="any", hidden=True, context_settings={"ignore_unknown_options": True,
                                                           "allow_extra_args": True})
@click.pass_context
def reaper_any(ctx: click.Context) -> None:
    what = " ".join(ctx.args) or "(nothing)"
    as_json = "--json" in ctx.args
    message = ("no reaper here: beads are in one SQLite store and KRC prunes closed wisps "
               "past their TTL (gt krc prune; the Deacon runs it every patrol)")
    if as_json:
        echo_json({"reaped": 0, "purged": 0, "databases": [], "note": message})
    else:
        echo(f"✓ gt reaper {what}: {message}")


@click.group()
def boot() -> None:
    """Boot: the watchdog of the Deacon. Upstream runs an AI session each daemon tick; here
    it is a deterministic triage (observe, decide, act) that witnesses run when the Deacon's
    heartbeat goes stale, and that executes pending death warrants."""


@boot.command(name="status")
@json_option
@pass_cli
def boot_status(cli: CliContext, as_json) -> None:
    """Boot's last triage and what it saw of the Deacon."""
    from gastown_tui.ops.boot import last_status, observe

    town = cli.town()
    seen = observe(town)
    last = last_status(town)
    if as_json:
        echo_json({"running": False, "session_alive": False, "degraded": False,
                   "deacon_running": seen["deacon_running"],
                   "deacon_heartbeat": seen["heartbeat"], "last": last})
        return
    echo("Boot: idle (a triage runs on demand: gt boot triage)\n"
               f"  Deacon: {'running' if seen['deacon_running'] else 'NOT running'}"
               + (f", last beat {seen['heartbeat']}" if seen["heartbeat"] else ""))
    if last:
        echo(f"  Last triage: {last.get('completed_at')} action "
                   f"{last.get('last_action')} → {last.get('target')}"
                   + (f"  error: {last['error']}" if last.get("error") else ""))
    else:
        echo("  (no executions recorded)")


@boot.command(name="spawn")
@click.option("--agent", default=None, hidden=True)
@pass_cli
def boot_spawn(cli: CliContext, agent) -> None:
    """Run a triage now (what spawning Boot does upstream)."""
    from gastown_tui.ops.boot import triage

    status = triage(cli.town(), cli.store("deacon-boot"))
    echo(f"✓ Boot triage: {status['last_action']} → deacon"
               + (f"; executed warrants: {', '.join(status['warrants_executed'])}"
                  if status["warrants_executed"] else ""))


@boot.command(name="triage")
@click.option("--degraded", is_flag=True, help="Accepted for upstream's form (always "
                                               "mechanical here).")
@json_option
@pass_cli
def boot_triage(cli: CliContext, degraded, as_json) -> None:
    """Observe the Deacon, decide (start, restart, nudge, nothing), act; execute warrants."""
    from gastown_tui.ops.boot import triage

    status = triage(cli.town(), cli.store("deacon-boot"))
    if as_json:
        echo_json(status)
        return
    seen = status["observed"]
    echo(f"✓ Boot triage: Deacon {'running' if seen['deacon_running'] else 'not running'}"
               + (f", heartbeat {seen['heartbeat_age_s']}s old"
                  if seen["heartbeat_age_s"] is not None else "")
               + f" → {status['last_action']}"
               + (f"; executed warrants: {', '.join(status['warrants_executed'])}"
                  if status["warrants_executed"] else "")
               + (f"; error: {status['error']}" if status.get("error") else ""))


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
