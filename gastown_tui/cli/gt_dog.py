"""`gt dog add|remove|list|call|done|clear|status|dispatch|health-check` (upstream gastown's
cmd/dog.go)."""

from __future__ import annotations

import os

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def dog() -> None:
    """Dogs: the Deacon's helpers, each in its kennel at <town>/deacon/dogs/<name>/.

    The Deacon hands due plugins to idle dogs every patrol (gt plugin list); a dog runs in
    session hq-dog-<name> and ends with gt dog done."""


@dog.command(name="add")
@click.argument("name")
@json_option
@pass_cli
def dog_add(cli: CliContext, name, as_json) -> None:
    """Create a dog in the kennel."""
    from gastown_tui.ops.dogs import add

    state = add(cli.town(), cli.store(), name)
    if as_json:
        echo_json(state)
    else:
        echo(f"✓ Added dog {name} to the kennel")


@dog.command(name="remove")
@click.argument("names", nargs=-1)
@click.option("--all", "all_dogs", is_flag=True)
@click.option("-f", "--force", is_flag=True, help="Even while it works.")
@pass_cli
def dog_remove(cli: CliContext, names, all_dogs, force) -> None:
    """Remove dogs from the kennel."""
    from gastown_tui.ops import dogs

    town = cli.town()
    wanted = dogs.names(town) if all_dogs else list(names)
    if not wanted:
        raise click.UsageError("name the dogs to remove (or --all)")
    for name in wanted:
        dogs.remove(town, cli.store(), name, force=force)
        echo(f"✓ Removed dog {name}")


@dog.command(name="list")
@json_option
@pass_cli
def dog_list(cli: CliContext, as_json) -> None:
    """The pack: each dog, idle or working, and on what."""
    from gastown_tui.ops.dogs import listing

    dogs = listing(cli.town())
    if as_json:
        echo_json([{k: v for k, v in d.items() if k != "session_running"} for d in dogs])
        return
    if not dogs:
        echo("No dogs in kennel (the Deacon makes one when a plugin is due; "
                   "or gt dog add <name>)")
        return
    echo("The Pack\n")
    for d in dogs:
        icon = "●" if d["state"] == "working" else "○"
        echo(f"  {icon} {d['name']}" + (f" → {d['work']}" if d.get("work") else ""))
    idle = sum(1 for d in dogs if d["state"] == "idle")
    echo(f"\n  {idle} idle, {len(dogs) - idle} working")


@dog.command(name="status")
@click.argument("name", required=False)
@json_option
@pass_cli
def dog_status(cli: CliContext, name, as_json) -> None:
    """One dog in detail, or the pack's counts."""
    from gastown_tui.ops import dogs

    town = cli.town()
    if not name:
        data = dogs.pack_status(town)
        if as_json:
            echo_json(data)
        else:
            echo(f"Pack Status\n\n  {data['total']} dogs: {data['idle']} idle, "
                       f"{data['working']} working\n  Kennel: {data['kennel_dir']}")
        return
    state = dogs.load(town, name)
    running = dogs.tmux_for(town).has_session(dogs.session_of(name))
    if as_json:
        echo_json({**state, "path": str(dogs.dog_dir(town, name)),
                   "session_running": running})
        return
    echo(f"Dog: {name}\n  State:       {state.get('state')}\n  Work:        "
               f"{state.get('work') or '(none)'}\n  Path:        {dogs.dog_dir(town, name)}\n"
               f"  Last Active: {state.get('last_active')}\n  Created:     "
               f"{state.get('created_at')}" + (f"\n\nSession: {dogs.session_of(name)} (running)"
                                               if running else ""))


@dog.command(name="done", context_settings={"ignore_unknown_options": True})
@click.argument("name", required=False)
@json_option
@pass_cli
def dog_done(cli: CliContext, name, as_json) -> None:
    """Mark a dog done (default: you, GT_DOG_NAME): idle again, its work cleared."""
    from gastown_tui.ops.dogs import done

    name = name or os.environ.get("GT_DOG_NAME", "")
    if not name:
        raise click.UsageError("which dog? run it inside a dog session or name it")
    result = done(cli.town(), name)
    if as_json:
        echo_json(result)
    else:
        echo(f"✓ Dog {name} done" + (f" ({result['previous_work']})"
                                           if result["previous_work"] else "")
                   + "; back to idle")


@dog.command(name="clear")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="End its session too.")
@pass_cli
def dog_clear(cli: CliContext, name, force) -> None:
    """Reset a stuck dog to idle."""
    from gastown_tui.ops.dogs import clear

    clear(cli.town(), name, force=force)
    echo(f"✓ Dog {name} cleared; idle")


@dog.command(name="call")
@click.argument("name", required=False)
@click.option("--all", "all_dogs", is_flag=True)
@pass_cli
def dog_call(cli: CliContext, name, all_dogs) -> None:
    """Wake the pack: give due plugins to idle dogs now (what the Deacon does each patrol)."""
    from gastown_tui.ops.dogs import run_due_plugins

    sent = run_due_plugins(cli.town(), cli.store())
    if not sent:
        echo("○ Nothing due: no plugin's gate is open (gt plugin list)")
    for item in sent:
        echo(f"✓ {item['plugin']} → {item['dog']}" if not item.get("error") else
                   f"✗ {item['plugin']}: {item['error']}")


@dog.command(name="dispatch")
@click.option("--plugin", "plugin_name", required=True, help="The plugin to run.")
@click.option("--rig", default="", hidden=True)
@click.option("--dog", "dog_name", default="", help="This dog (default: any idle one).")
@click.option("--create", is_flag=True, help="Make a dog when none is idle.")
@click.option("--agent", default=None, help="Runtime for the dog.")
@click.option("-n", "--dry-run", is_flag=True)
@json_option
@pass_cli
def dog_dispatch(cli: CliContext, plugin_name, rig, dog_name, create, agent, dry_run,
                 as_json) -> None:
    """Give a plugin to a dog now, whatever its gate says."""
    from gastown_tui.ops.dogs import dispatch
    from gastown_tui.ops.plugins import get

    town = cli.town()
    result = dispatch(town, cli.store(), get(town, plugin_name), dog=dog_name, create=create,
                      agent=agent, dry_run=dry_run)
    if as_json:
        echo_json(result)
    else:
        echo(f"{'Would dispatch' if dry_run else '✓ Dispatched'} {plugin_name} → "
                   f"{result['dog']}" + (" (new dog)" if result.get("dog_created") else ""))


@dog.command(name="health-check")
@click.argument("name", required=False)
@click.option("--auto-clear", is_flag=True, help="Clear zombie dogs.")
@click.option("--max-inactivity", default="10m", show_default=True)
@json_option
@pass_cli
def dog_health(cli: CliContext, name, auto_clear, max_inactivity, as_json) -> None:
    """Zombie, hung and orphaned dogs."""
    from gastown_tui.ops import dogs
    from gastown_tui.town.durations import parse_duration

    town = cli.town()
    results = [r for r in dogs.health(town, max_inactivity=parse_duration(
        max_inactivity, what="--max-inactivity")) if not name or r["name"] == name]
    if auto_clear:
        for r in results:
            if r.get("problem", "").startswith("zombie"):
                dogs.done(town, r["name"])
    attention = sum(1 for r in results if not r["healthy"])
    if as_json:
        echo_json({"dogs": results, "needs_attention": attention})
        return
    for r in results:
        echo(f"{'✓' if r['healthy'] else '⚠'} {r['name']}: "
                   f"{r.get('problem') or r['state']}")
    if not results:
        echo("No dogs in kennel")
