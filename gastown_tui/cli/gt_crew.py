"""`gt crew add|list|at|start|stop|restart|remove|status|pristine` (upstream gastown's
cmd/crew*.go): persistent human workspaces beside a rig's polecats."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


def _rig(cli: CliContext, rig: str | None):
    """--rig, else the rig we are standing in, else the town's only rig."""
    town = cli.town()
    if rig:
        return town.rig(rig)
    here = town.rig_at(cli.cwd)
    if here is not None:
        return here
    rigs = town.rigs()
    if len(rigs) == 1:
        return rigs[0]
    raise click.UsageError("which rig? pass --rig <rig> (or run it inside the rig)")


rig_option = click.option("--rig", "rig_name", default=None, help="The rig (default: here).")


@click.group()
def crew() -> None:
    """Crew: persistent workspaces (a full clone each) for people working beside polecats.

    \b
      gt crew add <name> --rig <rig>     a clone at <rig>/crew/<name>
      gt crew at <name>                  attach to its session (starting it)
      gt sling <bead> <rig> --crew <name> put work on its hook"""


@crew.command(name="add")
@click.argument("names", nargs=-1, required=True)
@rig_option
@click.option("--branch", is_flag=True, help="Work on a branch crew/<name>.")
@json_option
@pass_cli
def crew_add(cli: CliContext, names, rig_name, branch, as_json) -> None:
    """Create crew workspaces."""
    from gastown_tui.ops import crew as ops

    rig = _rig(cli, rig_name)
    store = cli.store()
    made = [ops.add(cli.town(), store, rig, name, branch=branch) for name in names]
    if as_json:
        echo_json(made if len(made) > 1 else made[0])
        return
    for state in made:
        echo(f"✓ Created crew workspace {state['rig']}/{state['name']}\n"
                   f"  Path: {state['clone_path']}\n  Branch: {state['branch']}\n"
                   f"  Start it: gt crew at {state['name']} --rig {state['rig']}")


@crew.command(name="list")
@click.argument("rig_arg", required=False)
@rig_option
@click.option("--all", "all_rigs", is_flag=True, help="Every rig.")
@json_option
@pass_cli
def crew_list(cli: CliContext, rig_arg, rig_name, all_rigs, as_json) -> None:
    """Crew workspaces with their branch, session and git state."""
    from gastown_tui.ops import crew as ops

    if rig_arg and rig_name:
        raise click.UsageError("name the rig once (positional or --rig)")
    if all_rigs and (rig_arg or rig_name):
        raise click.UsageError("--all lists every rig; drop the rig name")
    town = cli.town()
    if all_rigs:
        rigs = town.rigs()
    else:
        try:
            rigs = [_rig(cli, rig_arg or rig_name)]
        except click.UsageError:
            rigs = town.rigs()
    items = ops.listing(town, rigs)
    if as_json:
        echo_json(items)
        return
    if not items:
        echo("No crew workspaces found. Add one: gt crew add <name> --rig <rig>")
        return
    echo("Crew Workspaces\n")
    for item in items:
        echo(f"  {'●' if item['has_session'] else '○'} {item['rig']}/{item['name']}\n"
                   f"    Branch: {item['branch']}  Git: "
                   f"{'clean' if item['git_clean'] else 'dirty'}\n    {item['path']}")


@crew.command(name="status")
@click.argument("name", required=False)
@rig_option
@json_option
@pass_cli
def crew_status(cli: CliContext, name, rig_name, as_json) -> None:
    """A crew workspace in detail (or every one in the rig)."""
    from gastown_tui.ops import crew as ops

    rig = _rig(cli, rig_name)
    store = cli.store()
    wanted = [name] if name else ops.names(rig)
    items = [ops.status(cli.town(), store, rig, n) for n in wanted]
    if as_json:
        echo_json(items[0] if name else items)
        return
    if not items:
        echo(f"No crew in {rig.name}.")
    for item in items:
        git = "clean" if item["git_clean"] else (
            f"{len(item.get('git_modified', []))} modified, "
            f"{len(item.get('git_untracked', []))} untracked")
        echo(f"{item['rig']}/{item['name']}  {'● running' if item['has_session'] else '○'}"
                   f"\n  Path: {item['path']}\n  Branch: {item['branch']}  Git: {git}"
                   f"  Unpushed: {item['unpushed']}\n  Hook: {item['hook'] or '-'}"
                   f"  Mail: {item['mail_unread']} unread of {item['mail_total']}")


def _names(cli, rig, names, all_names):
    from gastown_tui.ops import crew as ops

    if all_names:
        return ops.names(rig)
    if not names:
        raise click.UsageError("name the crew members (or --all)")
    return list(names)


@crew.command(name="start")
@click.argument("args", nargs=-1)
@rig_option
@click.option("--all", "all_names", is_flag=True, help="Every crew member of the rig.")
@click.option("--agent", default=None, help="Runtime alias (default: the rig's crew agent).")
@click.option("--account", default=None, hidden=True)
@click.option("--resume", default=None, hidden=True)
@json_option
@pass_cli
def crew_start(cli: CliContext, args, rig_name, all_names, agent, account, resume,
               as_json) -> None:
    """Start crew sessions: `gt crew start [rig] <name>...`."""
    from gastown_tui.ops import crew as ops

    args = list(args)
    town = cli.town()
    if args and not rig_name and args[0] in {r.name for r in town.rigs()}:
        rig_name = args.pop(0)
    rig = _rig(cli, rig_name)
    results = [ops.start(town, rig, name, agent=agent)
               for name in _names(cli, rig, args, all_names)]
    if as_json:
        echo_json(results)
        return
    for r in results:
        echo(f"{'✓ Started' if r['action'] == 'started' else '○ Already running'} "
                   f"{r['session']}")


@crew.command(name="stop")
@click.argument("names", nargs=-1)
@rig_option
@click.option("--all", "all_names", is_flag=True, help="Every running crew session.")
@click.option("--dry-run", is_flag=True)
@click.option("--force", is_flag=True, hidden=True)
@json_option
@pass_cli
def crew_stop(cli: CliContext, names, rig_name, all_names, dry_run, force, as_json) -> None:
    """Stop crew sessions (their workspaces stay)."""
    from gastown_tui.ops import crew as ops

    town = cli.town()
    rigs = town.rigs() if all_names and not rig_name else [_rig(cli, rig_name)]
    results = []
    for rig in rigs:
        wanted = ops.names(rig) if all_names else list(names)
        if not wanted:
            raise click.UsageError("name the crew members to stop (or --all)")
        results += [ops.stop(town, rig, n, dry_run=dry_run) for n in wanted]
    if as_json:
        echo_json(results)
        return
    for r in results:
        echo({"stopped": "✓ Stopped", "would stop": "Would stop",
                    "absent": "○ Not running"}[r["action"]] + f" {r['session']}")


@crew.command(name="restart")
@click.argument("names", nargs=-1)
@rig_option
@click.option("--all", "all_names", is_flag=True)
@click.option("--dry-run", is_flag=True)
@pass_cli
def crew_restart(cli: CliContext, names, rig_name, all_names, dry_run) -> None:
    """Stop and start crew sessions (a fresh context; the workspace stays)."""
    from gastown_tui.ops import crew as ops

    town = cli.town()
    rig = _rig(cli, rig_name)
    for name in _names(cli, rig, names, all_names):
        if dry_run:
            echo(f"Would restart {ops.session_of(rig, name)}")
            continue
        ops.stop(town, rig, name)
        echo(f"✓ Restarted {ops.start(town, rig, name)['session']}")


@crew.command(name="at")
@click.argument("name", required=False)
@rig_option
@click.option("--no-tmux", is_flag=True, help="Only print the workspace's path.")
@click.option("-d", "--detached", is_flag=True, help="Start it without attaching.")
@click.option("--agent", default=None)
@click.option("--account", default=None, hidden=True)
@click.option("--debug", is_flag=True, hidden=True)
@click.option("--reset", is_flag=True, hidden=True)
@pass_cli
def crew_at(cli: CliContext, name, rig_name, no_tmux, detached, agent, account, debug,
            reset) -> None:
    """Go to a crew workspace: attach to its session, starting it when needed."""
    import os
    import subprocess

    from gastown_tui.ops import crew as ops
    from gastown_tui.ops.sessions import tmux_for
    from gastown_tui.tmux.socket import tmux_argv

    rig = _rig(cli, rig_name)
    if not name:
        role = os.environ.get("GT_CREW", "")
        if not role:
            raise click.UsageError("name the crew member: gt crew at <name>")
        name = role
    path = ops.crew_path(rig, name)
    if no_tmux:
        if not path.is_dir():
            raise click.ClickException(f"no crew {name} in {rig.name}: gt crew add {name}")
        echo(str(path))
        return
    result = ops.start(cli.town(), rig, name, agent=agent)
    if detached:
        echo(f"✓ {result['session']} {result['action']} (attach: gt crew at {name})")
        return
    tmux = tmux_for(cli.town())
    verb = "switch-client" if os.environ.get("TMUX") else "attach-session"
    raise click.exceptions.Exit(subprocess.call(tmux_argv(tmux.socket, verb, "-t",
                                                          f"={result['session']}")))


@crew.command(name="remove")
@click.argument("names", nargs=-1, required=True)
@rig_option
@click.option("--force", is_flag=True, help="Lose uncommitted or unpushed work.")
@click.option("--purge", is_flag=True, help="Also release its hooked work and archive mail.")
@json_option
@pass_cli
def crew_remove(cli: CliContext, names, rig_name, force, purge, as_json) -> None:
    """Remove crew workspaces (refused while they hold unsaved work)."""
    from gastown_tui.ops import crew as ops

    rig = _rig(cli, rig_name)
    store = cli.store()
    results = [ops.remove(cli.town(), store, rig, n, force=force, purge=purge) for n in names]
    if as_json:
        echo_json(results)
        return
    for r in results:
        echo(f"✓ Removed crew {r['rig']}/{r['name']}"
                   + (f"; released {', '.join(r['released'])}" if r["released"] else ""))


@crew.command(name="pristine")
@click.argument("name", required=False)
@rig_option
@json_option
@pass_cli
def crew_pristine(cli: CliContext, name, rig_name, as_json) -> None:
    """Bring clean crew workspaces up to date with the remote (git pull --ff-only)."""
    from gastown_tui.ops import crew as ops

    rig = _rig(cli, rig_name)
    out = []
    for n in [name] if name else ops.names(rig):
        path = ops.crew_path(rig, n)
        status = ops.status(cli.town(), cli.store(), rig, n)
        if not status["git_clean"]:
            out.append({"name": n, "pulled": False, "reason": "has local changes"})
            continue
        proc = ops._git(path, "pull", "--ff-only", "--quiet", check=False)
        out.append({"name": n, "pulled": proc.returncode == 0,
                    **({"reason": proc.stderr.strip()[:200]} if proc.returncode else {})})
    if as_json:
        echo_json(out)
        return
    for item in out:
        echo(f"{'✓' if item['pulled'] else '○'} {item['name']}"
                   + ("" if item["pulled"] else f": {item['reason']}"))


def _answer(verb: str, text: str):
    @crew.command(name=verb, hidden=True, context_settings={"ignore_unknown_options": True,
                                                            "allow_extra_args": True})
    def command() -> None:
        echo(text)

    command.__doc__ = text
    return command


_answer("refresh", "gt crew refresh: hand off to a fresh session with gt handoff (it mails the "
        "note to yourself and restarts the session in place)")
_answer("rename", "gt crew rename: not built; add the new name (gt crew add) and remove the "
        "old one (gt crew remove)")
_answer("next", "gt crew next/prev cycle tmux key bindings upstream; attach with gt crew at")
_answer("prev", "gt crew next/prev cycle tmux key bindings upstream; attach with gt crew at")
