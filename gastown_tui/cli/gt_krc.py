"""`gt krc stats|prune|config|decay|auto-prune-status` (upstream gastown's cmd/krc.go): the
lifetimes of the event log's lines and of closed ephemeral beads."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


@click.group()
def krc() -> None:
    """Key Record Chronicle: TTLs for ephemeral records, so nothing grows without end.

    \b
    Event log lines age out by type (patrol_* after 1d, sessions 3d, sling/done 14d,
    mail and merges 30d); closed wisps by class (store:heartbeat 6h, store:patrol 1d,
    store:digest 7d, store:plugin-run 7d ...). The Deacon prunes every prune interval."""


@krc.command(name="stats")
@json_option
@pass_cli
def krc_stats(cli: CliContext, as_json) -> None:
    """Sizes, counts by type and age, and how much is past its TTL."""
    from gastown_tui.ops import krc as ops

    data = ops.stats(cli.town(), cli.store())
    if as_json:
        echo_json(data)
        return
    echo(f"Key Record Chronicle Statistics\n\nFiles:\n  Events: "
               f"{_size(data['events_file']['size'])} ({data['events_file']['event_count']} "
               f"events)\n  Store:  {data['store']['closed_wisps']} closed wisps "
               f"({data['store']['expired']} past their TTL)\n\nAge Distribution:")
    for bucket in ("0-1d", "1-7d", "7-30d", "30d+"):
        if data["by_age"].get(bucket):
            echo(f"  {bucket + ':':<8} {data['by_age'][bucket]} events")
    if data["oldest_event"]:
        echo(f"\nOldest event: {data['oldest_event']}\nNewest event: "
                   f"{data['newest_event']}")
    echo("\nTTL Status by Type:")
    rows = sorted(data["ttl_breakdown"].items(), key=lambda kv: (-kv[1]["expired"], kv[0]))
    for kind, info in rows:
        status = f"{info['expired']} expired" if info["expired"] else "OK"
        echo(f"  {kind:<22} TTL: {ops.human(info['ttl'] / 1e9):<6} Count: "
                   f"{info['count']:<5} {status}")
    for kind, count in sorted(data["store"]["by_class"].items()):
        echo(f"  store:{kind:<16} Count: {count}")


@krc.command(name="prune")
@click.option("--dry-run", is_flag=True, help="Say what would go.")
@click.option("--auto", "auto", is_flag=True, help="Only when the prune interval has passed.")
@json_option
@pass_cli
def krc_prune(cli: CliContext, dry_run, auto, as_json) -> None:
    """Remove event log lines and closed wisps past their TTL."""
    from gastown_tui.ops import krc as ops

    town, store = cli.town(), cli.store()
    if auto:
        result, state = ops.auto_prune(town, store)
        if as_json:
            echo_json({"ran": result is not None, "result": result, "state": state})
        elif result is None:
            echo("○ Auto-prune skipped (not due yet: gt krc auto-prune-status)")
        else:
            echo(f"✓ Auto-pruned {result['events_pruned']} events and "
                       f"{result['beads_pruned']} beads")
        return
    result = ops.prune(town, store, dry_run=dry_run)
    if as_json:
        echo_json(result)
        return
    if not result["events_pruned"] and not result["beads_pruned"]:
        echo("No expired records to prune.")
        return
    head = "Dry run - would prune:" if dry_run else "Prune complete:"
    echo(f"{head}\n  Events processed: {result['events_processed']}\n  Events pruned:    "
               f"{result['events_pruned']}\n  Events retained:  {result['events_retained']}\n"
               f"  Space saved:      {_size(result['bytes_before'] - result['bytes_after'])}\n"
               f"  Beads pruned:     {result['beads_pruned']}")
    for kind, count in sorted(result["pruned_by_type"].items(), key=lambda kv: -kv[1]):
        echo(f"  {kind:<22} {count}")
    for kind, count in sorted(result["beads_by_class"].items()):
        echo(f"  store:{kind:<16} {count}")


@krc.group(name="config", invoke_without_command=True)
@json_option
@click.pass_context
def krc_config(ctx: click.Context, as_json) -> None:
    """Show the TTL configuration (set <pattern> <ttl>, reset)."""
    if ctx.invoked_subcommand is not None:
        return
    from gastown_tui.ops import krc as ops

    cli = ctx.find_object(CliContext)
    town = cli.town()
    config = ops.load_config(town)
    if as_json:
        echo_json(config.as_json())
        return
    echo(f"KRC Configuration\n\nConfig file: {ops.config_path(town)}\n\nDefault TTL:     "
               f"{ops.human(config.default_ttl)}\nPrune interval:  "
               f"{ops.human(config.prune_interval)}\nMin retain:      {config.min_retain} "
               "events\n\nTTLs by pattern:")
    for pattern, ttl in sorted(config.ttls.items()):
        echo(f"  {pattern:<22} {ops.human(ttl)}")


@krc_config.command(name="set")
@click.argument("pattern")
@click.argument("ttl")
@pass_cli
def krc_config_set(cli: CliContext, pattern, ttl) -> None:
    """Set the TTL of an event type pattern (patrol_*), a store class (store:digest), or
    `default`."""
    from gastown_tui.ops import krc as ops

    config = ops.set_ttl(cli.town(), pattern, ttl)
    value = config.default_ttl if pattern == "default" else config.ttls[pattern]
    echo(f"Set {'default TTL' if pattern == 'default' else f'TTL for {pattern!r}'} to "
               f"{ops.human(value)}")


@krc_config.command(name="reset")
@pass_cli
def krc_config_reset(cli: CliContext) -> None:
    """Reset the configuration to the defaults."""
    from gastown_tui.ops import krc as ops

    ops.save_config(cli.town(), ops.Config())
    echo("Reset KRC configuration to defaults.")


@krc.command(name="decay")
@json_option
@pass_cli
def krc_decay(cli: CliContext, as_json) -> None:
    """How the forensic value of each event type is decaying (rapid, steady, slow, flat)."""
    from gastown_tui.ops import krc as ops

    report = ops.decay(cli.town())
    if as_json:
        echo_json(report)
        return
    echo(f"Forensic value: {report['total_events']} events, average score "
               f"{report['total_score']}, {report['at_risk']} at risk, {report['expired']} "
               "expired\n")
    for item in report["types"]:
        echo(f"  {item['event_type']:<22} {item['curve']:<7} avg {item['avg_score']:<5} "
                   f"count {item['count']}")


@krc.command(name="auto-prune-status")
@json_option
@pass_cli
def krc_auto_status(cli: CliContext, as_json) -> None:
    """When the last automatic prune ran and what it removed."""
    from gastown_tui.ops import krc as ops
    from gastown_tui.town.jsonfile import read_json

    state = read_json(ops.auto_state_path(cli.town()), {}) or {}
    if as_json:
        echo_json(state)
        return
    if not state:
        echo("○ No automatic prune has run yet (the Deacon runs one each prune interval)")
        return
    echo(f"Last prune: {state.get('last_prune_time')}\nPrunes: {state.get('prune_count')}"
               f"  Records removed: {state.get('total_pruned')}  Bytes freed: "
               f"{_size(int(state.get('total_bytes_freed', 0)))}")
