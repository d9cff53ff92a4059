"""`gt rig add/list/remove`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def rig() -> None:
    """Rigs: the git projects of the town."""


@rig.command(name="add")
@click.argument("name")
@click.argument("source")
@click.option("--prefix", default=None, help="Bead prefix (default: derived from the name).")
@click.option("--branch", default=None, help="Default branch (default: the remote's HEAD).")
@json_option
@pass_cli
def rig_add(cli: CliContext, name: str, source: str, prefix: str | None, branch: str | None,
            as_json: bool) -> None:
    """Add a rig from a git URL or a local repository path."""
    from gastown_tui.ops.rig import rig_add as do_add

    result = do_add(cli.town(), name, source, prefix=prefix, branch=branch)
    if as_json:
        echo_json({"name": result.rig.name, "prefix": result.rig.prefix,
                   "default_branch": result.default_branch, "head": result.head,
                   "path": str(result.rig.path), "git_url": result.rig.git_url})
    else:
        click.echo(f"✓ Added rig {name} (prefix {result.rig.prefix}, branch "
                   f"{result.default_branch} at {result.head[:8]})\n"
                   f"  refinery worktree: {result.rig.refinery_worktree}")


@rig.command(name="list")
@json_option
@pass_cli
def rig_list(cli: CliContext, as_json: bool) -> None:
    """List the town's rigs."""
    from gastown_tui.ops.rig import rig_list as do_list

    rigs = do_list(cli.town())
    if as_json:
        echo_json(rigs)
        return
    if not rigs:
        click.echo("No rigs. Add one with: gt rig add <name> <git-url-or-path>")
    for r in rigs:
        click.echo(f"{r['name']:<16} {r['prefix']:<6} {r['default_branch']:<10} "
                   f"{r['polecat_count']} polecats  {r['git_url']}")


@rig.command(name="remove")
@click.argument("name")
@click.option("--delete", is_flag=True, help="Also delete the rig's directory.")
@click.option("--force", is_flag=True, help="Even if polecats still exist.")
@json_option
@pass_cli
def rig_remove(cli: CliContext, name: str, delete: bool, force: bool, as_json: bool) -> None:
    """Unregister a rig (its files stay unless --delete)."""
    from gastown_tui.ops.rig import rig_remove as do_remove

    result = do_remove(cli.town(), name, delete=delete, force=force)
    if as_json:
        echo_json(result)
    else:
        click.echo(f"✓ Removed rig {name}" + (" and deleted its directory" if delete else
                                              " (files kept)"))
