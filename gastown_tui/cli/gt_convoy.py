"""`gt convoy create/add/status/list/check/close`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

MARK = {"closed": "✓", "in_progress": "▶", "hooked": "▶"}


@click.group()
def convoy() -> None:
    """Convoys: batches of work that land together."""


@convoy.command(name="create")
@click.argument("name")
@click.argument("issues", nargs=-1)
@click.option("--owner", default="", help="Who is told when it lands (default: you).")
@click.option("--notify", default="", help="Also tell this address.")
@click.option("--owned", is_flag=True, help="Caller-managed lifecycle (label gt:owned).")
@click.option("--merge", default="", help="direct, mr or local.")
@json_option
@pass_cli
def create(cli: CliContext, name, issues, owner, notify, owned, merge, as_json) -> None:
    """Create a convoy tracking ISSUES (NAME may be a bead id: its title is used)."""
    from gastown_tui.ops import convoy as ops

    store = cli.store()
    bead = ops.create(cli.town(), store, name, list(issues), owner=owner, notify=notify,
                      owned=owned, merge=merge)
    result = ops.status(store, bead["id"])
    if as_json:
        echo_json(result)
    else:
        echo(f"🚚 Created convoy {bead['id']}: {bead['title']} ({result['total']} tracked)")


@convoy.command(name="add")
@click.argument("convoy_id")
@click.argument("issues", nargs=-1, required=True)
@json_option
@pass_cli
def add(cli: CliContext, convoy_id, issues, as_json) -> None:
    """Track more ISSUES (reopens a landed convoy)."""
    from gastown_tui.ops import convoy as ops

    result = ops.add(cli.town(), cli.store(), convoy_id, list(issues))
    if as_json:
        echo_json(result)
    else:
        echo(f"✓ {convoy_id} now tracks {result['total']} issues")


def _print_status(result: dict) -> None:
    echo(f"🚚 {result['id']}: {result['title']} [{result['status']}]")
    for item in result["tracked"]:
        worker = f" ({item['worker']})" if item["worker"] else ""
        echo(f"  {MARK.get(item['status'], '○')} {item['id']} {item['title']}"
                   f" [{item['status']}]{worker}")
    echo(f"Progress: {result['completed']}/{result['total']} completed")


@convoy.command(name="status")
@click.argument("convoy_id", required=False)
@json_option
@pass_cli
def status_cmd(cli: CliContext, convoy_id, as_json) -> None:
    """Progress of one convoy (or of every open convoy)."""
    from gastown_tui.ops import convoy as ops

    store = cli.store()
    if convoy_id:
        results = [ops.status(store, convoy_id)]
    else:
        results = [ops.status(store, c["id"]) for c in ops.list_convoys(store)]
    if as_json:
        echo_json(results[0] if convoy_id else results)
        return
    if not results:
        echo("No open convoys.")
    for result in results:
        _print_status(result)


@convoy.command(name="list")
@click.option("--all", "include_all", is_flag=True, help="Landed convoys too.")
@click.option("--status", "status_filter", type=click.Choice(["open", "closed"]), default=None)
@json_option
@pass_cli
def list_cmd(cli: CliContext, include_all, status_filter, as_json) -> None:
    """List convoys with their progress."""
    from gastown_tui.ops import convoy as ops

    convoys = ops.list_convoys(cli.store(), include_all=include_all, status_filter=status_filter)
    if as_json:
        echo_json(convoys)
        return
    if not convoys:
        echo("No convoys.")
    for c in convoys:
        echo(f"{MARK.get(c['status'], '○')} {c['id']}  {c['completed']}/{c['total']}  "
                   f"{c['title']}")


@convoy.command(name="check")
@click.argument("convoy_id", required=False)
@click.option("--dry-run", is_flag=True)
@json_option
@pass_cli
def check(cli: CliContext, convoy_id, dry_run, as_json) -> None:
    """Land convoys whose tracked work is all closed, and mail their owners."""
    from gastown_tui.ops import convoy as ops

    landed = ops.check(cli.town(), cli.store(), convoy_id, dry_run=dry_run)
    if as_json:
        echo_json(landed)
        return
    if not landed:
        echo("No convoy ready to land.")
    for c in landed:
        echo(f"🚚 {'Would land' if dry_run else 'Landed'}: {c['id']} {c['title']}")


@convoy.command(name="close")
@click.argument("convoy_id")
@click.option("-r", "--reason", default="")
@click.option("-f", "--force", is_flag=True, help="Close even with open tracked work.")
@json_option
@pass_cli
def close(cli: CliContext, convoy_id, reason, force, as_json) -> None:
    """Close a convoy by hand."""
    from gastown_tui.ops import convoy as ops

    result = ops.close(cli.town(), cli.store(), convoy_id, reason=reason, force=force)
    if as_json:
        echo_json(result)
    else:
        echo(f"✓ Closed convoy {convoy_id}")


@convoy.command(name="feed")
@click.argument("convoy_id", required=False)
@json_option
@pass_cli
def feed_cmd(cli: CliContext, convoy_id, as_json) -> None:
    """Sling tracked beads that became ready (what the Deacon does on each patrol)."""
    from gastown_tui.ops.convoy_feed import feed

    fed = feed(cli.town(), cli.store(), convoy_id)
    if as_json:
        echo_json(fed)
        return
    if not fed:
        echo("Nothing ready to feed.")
    for f in fed:
        echo(f"🎯 {f['bead']} → {f['agent']} (convoy {f['convoy']})")
