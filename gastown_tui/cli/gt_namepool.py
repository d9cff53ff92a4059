"""`gt namepool [--list] | themes [THEME] | set THEME | add NAME | reset`: the rig's polecat
name pool (upstream's verbs; custom theme files, upstream's create/delete, are not built)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo, rig_here
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

rig_option = click.option("--rig", "rig_name", default=None,
                          help="The rig (default: GT_RIG, else the rig you are in).")


@click.group(invoke_without_command=True)
@click.option("-l", "--list", "list_", is_flag=True, help="List available themes.")
@rig_option
@json_option
@pass_cli
@click.pass_context
def namepool(ctx: click.Context, cli: CliContext, list_: bool, rig_name: str | None,
             as_json: bool) -> None:
    """Polecat name pools: each rig names its polecats from a theme (the first 50 names,
    then numbers from 51).

    \b
    gt namepool              # this rig's theme and the names in use
    gt namepool --list       # available themes
    gt namepool themes       # every theme with a preview; themes THEME: all its names
    gt namepool set minerals # new polecats of this rig are named from 'minerals'
    gt namepool add ember    # a custom name: custom names replace the theme's
    gt namepool reset        # release names a dead sling left claimed
    """
    if ctx.invoked_subcommand is not None:
        return
    if list_:
        _themes(None, as_json)
        return
    from gastown_tui.ops.namepool import pool_status

    status = pool_status(rig_here(cli, rig_name))
    if as_json:
        echo_json(status)
        return
    echo(f"Rig: {status['rig']}")
    echo(f"Theme: {status['theme']} (built-in)")
    if status["custom_names"]:
        echo(f"Custom names: {', '.join(status['custom_names'])} (used instead of the "
             "theme's, then numbers from 51)")
    echo(f"Polecats: {status['polecats']}")
    if status["in_use"]:
        echo(f"In use: {', '.join(status['in_use'])}")
    if status["configured"]:
        echo("(configured in settings/config.json)")


def _themes(theme: str | None, as_json: bool) -> None:
    from gastown_tui.ops.namepool import THEMES
    from gastown_tui.town.errors import ValidationError

    if theme is None:
        if as_json:
            echo_json([{"name": n, "count": len(names), "names": list(names)}
                       for n, names in sorted(THEMES.items())])
            return
        echo("Available themes:")
        for n, names in sorted(THEMES.items()):
            echo(f"\n  {n} ({len(names)} names):\n    {', '.join(names[:10])}...")
        return
    if theme not in THEMES:
        raise ValidationError(f"unknown theme: {theme}",
                              fix="use 'gt namepool themes' to list available themes")
    names = THEMES[theme]
    if as_json:
        echo_json({"name": theme, "count": len(names), "names": list(names)})
        return
    echo(f"Theme: {theme} ({len(names)} names)\n")
    for start in range(0, len(names), 5):
        echo("".join(f"  {n:<12}" for n in names[start:start + 5]))


@namepool.command(name="themes")
@click.argument("theme", required=False)
@json_option
def namepool_themes(theme: str | None, as_json: bool) -> None:
    """List available themes and their names (with THEME: all of its names)."""
    _themes(theme, as_json)


@namepool.command(name="set")
@click.argument("theme")
@rig_option
@pass_cli
def namepool_set(cli: CliContext, theme: str, rig_name: str | None) -> None:
    """Set the theme new polecats of this rig are named from (existing names stay)."""
    from gastown_tui.ops.namepool import set_style

    rig = rig_here(cli, rig_name)
    set_style(rig, theme)
    cli.log("namepool_set", {"rig": rig.name, "theme": theme}, source="gt")
    echo(f"Theme '{theme}' set for rig '{rig.name}'")
    echo("New polecats will use names from this theme.")


@namepool.command(name="add")
@click.argument("name")
@rig_option
@pass_cli
def namepool_add(cli: CliContext, name: str, rig_name: str | None) -> None:
    """Add a custom name to the rig's pool (kept in its settings/config.json)."""
    from gastown_tui.ops.namepool import add_name

    rig = rig_here(cli, rig_name)
    if add_name(rig, name):
        cli.log("namepool_add", {"rig": rig.name, "name": name.lower()}, source="gt")
        echo(f"Added '{name.lower()}' to the name pool")
    else:
        echo(f"Name '{name.lower()}' already in pool")


@namepool.command(name="reset")
@rig_option
@pass_cli
def namepool_reset(cli: CliContext, rig_name: str | None) -> None:
    """Release the names no polecat holds: a claim a failed sling left (an empty polecat
    directory). The theme and custom names stay; a polecat with work keeps its name."""
    from gastown_tui.ops.namepool import reset

    rig = rig_here(cli, rig_name)
    released = reset(rig)
    cli.log("namepool_reset", {"rig": rig.name, "released": released}, source="gt")
    echo(f"Pool reset for rig '{rig.name}'")
    echo(f"Released: {', '.join(released)}" if released
         else "No stale claims: every name in use belongs to a polecat directory.")
