"""`gt store status|start|stop|migrate`: the town's bead store as a service (SQLite file, the
town's own PostgreSQL cluster, or a shared PostgreSQL server)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, DefaultGroup, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group(cls=DefaultGroup, default="status")
def store() -> None:
    """Where the town's beads live, and moving them (`gt store migrate --to …`)."""


@store.command(name="status")
@json_option
@pass_cli
def store_status(cli: CliContext, as_json: bool) -> None:
    """The store's backend, location and health."""
    from gastown_tui.ops.store_admin import health

    facts = health(cli.town())
    if as_json:
        echo_json(facts)
    else:
        state = "healthy" if facts["healthy"] else "PROBLEMS: " + "; ".join(facts["problems"])
        echo(f"{facts['backend']}: {facts['location']} — {state} ({facts['issues']} "
                   f"issues, {facts.get('latency_ms', 0)} ms)")
        cluster = facts.get("cluster")
        if cluster:
            echo(f"  the town's own cluster: {cluster['data']} "
                       f"({'running' if cluster['running'] else 'stopped: gt up starts it'})")
    if not facts["healthy"]:
        raise SystemExit(1)


@store.command(name="start")
@pass_cli
def store_start(cli: CliContext) -> None:
    """Start the town's own PostgreSQL (gt up does this too)."""
    from gastown_tui.ops.store_admin import start

    step = start(cli.town())
    echo("Nothing to start: the town has no PostgreSQL cluster of its own."
               if step is None else f"● the town's PostgreSQL {step.action} ({step.detail})")


@store.command(name="stop")
@pass_cli
def store_stop(cli: CliContext) -> None:
    """Stop the town's own PostgreSQL (gt down and gt shutdown do this too)."""
    from gastown_tui.ops.store_admin import stop

    step = stop(cli.town())
    echo("Nothing to stop: the town has no PostgreSQL cluster of its own."
               if step is None else f"■ the town's PostgreSQL {step.action}")


@store.command(name="migrate")
@click.option("--to", "to", required=True, metavar="sqlite|postgres|URL",
              help="sqlite (.beads/beads.db), postgres (a cluster inside the town) or a "
                   "postgresql://… URL of an empty database.")
@click.option("--pg-port", type=click.IntRange(1, 65535), default=None,
              help="With --to postgres: the cluster's port.")
@click.option("--pg-listen", default=None, metavar="ADDR",
              help="With --to postgres: also listen on TCP at ADDR (needs --pg-port).")
@json_option
@pass_cli
def store_migrate(cli: CliContext, to: str, pg_port, pg_listen, as_json: bool) -> None:
    """Move every bead, label, dependency, comment and audit event to another store through
    the JSONL export, check the target holds exactly the same, then switch the town to it.
    Stop the town's agents first (gt down --keep-polecats is not enough: nothing may write
    during the move). The export and the old store stay as a backup."""
    from gastown_tui.ops.store_admin import check_choice, migrate

    if pg_listen and not pg_port:
        raise click.UsageError("--pg-listen needs --pg-port")
    check_choice(to)
    report = migrate(cli.town(), to, port=pg_port, listen=pg_listen)
    if as_json:
        echo_json(report.as_json())
        return
    echo(f"✓ Moved {report.issues} beads and {report.events} events to "
               f"{report.as_json()['target']}")
    echo(f"  export kept in {report.folder}; the old store is untouched")
