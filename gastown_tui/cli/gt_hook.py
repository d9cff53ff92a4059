"""`gt hook [bead] [target]`, `gt hook show [agent]`, `gt hook detach <bead>`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.command(name="hook", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Move a bead hooked by another agent.")
@json_option
@pass_cli
def hook(cli: CliContext, args: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Show your hook, or hang work on one.

    \b
    gt hook                      what is on my hook (GT_ROLE)
    gt hook <bead> [agent]       hook a bead (status hooked, assignee agent)
    gt hook show [agent]         one line per agent, or for one agent
    gt hook detach <bead>        take a bead off its hook (back to open)
    """
    from gastown_tui.ops import hook as ops

    town = cli.town()
    store = cli.store()
    if args and args[0] == "show":
        if len(args) > 1:
            agent = ops.canonical_agent(args[1])
            bead = ops.hooked_for(store, agent)
            if as_json:
                echo_json({"agent": agent, "bead": bead})
            else:
                echo(ops.one_line(agent, bead))
            return
        hooks = ops.all_hooks(store)
        if as_json:
            echo_json(hooks)
            return
        if not hooks:
            echo("No hooks are set.")
        for h in hooks:
            echo(f"{h['agent']}: {h['bead']} {h['title']!r} [{h['status']}]")
        return
    if args and args[0] == "detach":
        if len(args) != 2:
            raise click.UsageError("usage: gt hook detach <bead>")
        bead = ops.detach(town, store, args[1])
        echo_json(bead) if as_json else echo(f"✓ Detached {bead['id']}")
        return
    if args and args[0] == "attach":
        args = args[1:]
    if not args:
        agent = ops.self_address()
        if as_json:
            from gastown_tui.ops.molecule import view
            from gastown_tui.town.names import parse_address

            echo_json(view(town, store, parse_address(agent)).as_json())
        else:
            echo(ops.one_line(agent, ops.hooked_for(store, agent)))
        return
    if len(args) > 2:
        raise click.UsageError("usage: gt hook <bead> [agent]")
    bead = ops.attach(town, store, args[0], args[1] if len(args) > 1 else None, force=force)
    if as_json:
        echo_json(bead)
    else:
        echo(f"🪝 Hooked {bead['id']} on {bead['assignee']}: {bead['title']}")
