"""`gt convoy create|add|status|list|check|close|feed|watch|unwatch|stranded|land|stage|launch`."""

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
@click.option("--status", "status_filter", default=None,
              type=click.Choice(["open", "closed", "staged_ready", "staged_warnings"]))
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


def _me(addr: str) -> str:
    if addr:
        return addr
    import os

    who = os.environ.get("GT_ROLE") or os.environ.get("BD_ACTOR") or ""
    if not who:
        raise click.UsageError("could not tell who you are; pass --addr")
    return who


@convoy.command(name="watch")
@click.argument("convoy_id")
@click.option("--nudge", "by_nudge", is_flag=True, help="A nudge instead of mail on landing.")
@click.option("--addr", default="", help="Who to tell (default: you).")
@json_option
@pass_cli
def watch(cli: CliContext, convoy_id, by_nudge, addr, as_json) -> None:
    """Be told when the convoy lands (all its tracked work closed)."""
    from gastown_tui.ops import convoy as ops

    result = ops.watch(cli.town(), cli.store(), convoy_id, _me(addr), nudge=by_nudge)
    if as_json:
        echo_json(result)
    elif result["status"] == "already_watching":
        echo(f"○ {result['address']} is already watching convoy {convoy_id} "
                   f"({result['watch_type']})")
    else:
        echo(f"{'🔔' if by_nudge else '📬'} {result['address']} subscribed to convoy "
                   f"{convoy_id} ({result['watch_type']} notification)")


@convoy.command(name="unwatch")
@click.argument("convoy_id")
@click.option("--addr", default="", help="Who to remove (default: you).")
@json_option
@pass_cli
def unwatch(cli: CliContext, convoy_id, addr, as_json) -> None:
    """Stop being told when the convoy lands."""
    from gastown_tui.ops import convoy as ops

    result = ops.unwatch(cli.town(), cli.store(), convoy_id, _me(addr))
    if as_json:
        echo_json(result)
    elif result["status"] == "unsubscribed":
        echo(f"✓ {result['address']} unsubscribed from convoy {convoy_id}")
    else:
        echo(f"○ {result['address']} was not watching convoy {convoy_id}")


@convoy.command(name="stranded")
@json_option
@pass_cli
def stranded(cli: CliContext, as_json) -> None:
    """Open convoys nobody is moving: ready work unassigned, stuck work, or empty."""
    from gastown_tui.ops import convoy as ops

    items = ops.stranded(cli.town(), cli.store())
    if as_json:
        echo_json(items)
        return
    if not items:
        echo("No stranded convoys.")
    for item in items:
        what = (f"{item['ready_count']} ready: {', '.join(item['ready_issues'])}"
                if item["ready_count"] else "empty" if not item["tracked_count"] else "stuck")
        echo(f"🚚 {item['id']} {item['title']} ({item['tracked_count']} tracked; {what})")
    if items:
        echo("Feed them: gt convoy feed; land empty ones: gt convoy check")


@convoy.command(name="land")
@click.argument("convoy_id")
@click.option("-f", "--force", is_flag=True, help="Land with open tracked work.")
@click.option("--keep-worktrees", is_flag=True, help="Leave the polecats' worktrees.")
@click.option("--dry-run", is_flag=True)
@json_option
@pass_cli
def land(cli: CliContext, convoy_id, force, keep_worktrees, dry_run, as_json) -> None:
    """Land an owned (--owned) convoy: clean up its polecats, close it, tell its watchers."""
    from gastown_tui.ops import convoy as ops

    result = ops.land(cli.town(), cli.store(), convoy_id, force=force,
                      keep_worktrees=keep_worktrees, dry_run=dry_run)
    if as_json:
        echo_json(result)
    elif result.get("already_closed"):
        echo(f"○ Convoy {convoy_id} is already closed")
    elif dry_run:
        echo(f"Dry run — would land convoy 🚚 {convoy_id}: {result['title']}\n"
                   f"  Tracked: {result['tracked']} ({len(result['open'])} open)\n"
                   f"  Worktrees to clean: {len(result['worktrees'])}")
    else:
        echo(f"✓ Landed convoy 🚚 {convoy_id}: {result['title']}\n  Reason: Landed by "
                   f"owner" + (f"\n  Cleaned: {', '.join(result['worktrees'])}"
                               if result["worktrees"] else ""))


def _print_stage(result: dict) -> None:
    if result["status"] == "error":
        for finding in result["errors"]:
            echo(f"✗ {finding['category']}: {finding['message']}", err=True)
        return
    echo(f"🚚 Staged convoy {result['convoy_id']} ({result['status']})")
    for wave in result["waves"]:
        echo(f"  Wave {wave['number']}:")
        for task in wave["tasks"]:
            after = f"  ← {', '.join(task['blocked_by'])}" if task.get("blocked_by") else ""
            echo(f"    {task['id']}  {task['title']}  ({task['rig']}){after}")
    for gated in result.get("gated", []):
        echo(f"  Gated: {gated['id']} {gated['title']} ← "
                   f"{', '.join(gated['gated_by']) or '(transitively)'}")
    for finding in result["warnings"]:
        echo(f"  ⚠ {finding['message']}")
    if "launch" not in result:
        echo(f"Launch it: gt convoy launch {result['convoy_id']}")


@convoy.command(name="stage")
@click.argument("ids", nargs=-1, required=True)
@click.option("--launch", "launch_now", is_flag=True, help="Launch it right away.")
@click.option("--title", default="", help="The convoy's title.")
@click.option("--force", is_flag=True, hidden=True)
@click.option("--no-validate", is_flag=True, hidden=True)
@json_option
@pass_cli
def stage(cli: CliContext, ids, launch_now, title, force, no_validate, as_json) -> None:
    """Plan an epic (or tasks, or a staged convoy) as waves in a staged convoy."""
    from gastown_tui.ops.convoy_stage import stage as do_stage

    result = do_stage(cli.town(), cli.store(), list(ids), title=title, launch_now=launch_now,
                      force=force)
    if as_json:
        echo_json(result)
    else:
        _print_stage(result)
        if "launch" in result:
            _print_launch(result["launch"])
    if result["status"] == "error":
        raise SystemExit(1)


def _print_launch(result: dict) -> None:
    echo(f"Convoy launched: {result['convoy_id']} (status: open)\n"
               f"  Monitor: gt convoy status {result['convoy_id']}\n\nDispatched (Wave 1):")
    for item in result["dispatched"]:
        mark = "✓" if item["success"] else "✗"
        echo(f"  {mark} {item['bead']}  (rig: {item['rig']})"
                   + (f"  → {item['agent']}" if item.get("agent") else
                      f"    error: {item.get('error')}"))
    echo("\nLater waves are slung by the Deacon as their blockers close.")


@convoy.command(name="launch")
@click.argument("ids", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Launch even with warnings.")
@json_option
@pass_cli
def launch(cli: CliContext, ids, force, as_json) -> None:
    """Launch a staged convoy (open it, sling wave 1); an epic or tasks are staged first."""
    from gastown_tui.ops.convoy_stage import STAGED
    from gastown_tui.ops.convoy_stage import launch as do_launch
    from gastown_tui.ops.convoy_stage import stage as do_stage

    store = cli.store()
    first = store.get(ids[0])
    if len(ids) == 1 and first.get("issue_type") == "convoy" and first["status"] in STAGED:
        result = do_launch(cli.town(), store, ids[0], force=force)
    else:
        staged = do_stage(cli.town(), store, list(ids), launch_now=True, force=force)
        if staged["status"] == "error":
            if as_json:
                echo_json(staged)
            else:
                _print_stage(staged)
            raise SystemExit(1)
        result = staged["launch"]
    if as_json:
        echo_json(result)
    else:
        _print_launch(result)
