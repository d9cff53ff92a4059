"""Settings and identity: `gt config get|set|unset|show|default-agent`, `gt whoami`,
`gt info`, `gt version`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def config() -> None:
    """The town's settings (settings/config.json) by dot-notation key.

    \b
    gt config set scheduler.max_polecats 8
    gt config set quota.auto_rotate true
    gt config set cycle.context_threshold 0.8
    gt config get scheduler
    gt config set --rig gastown scheduler.max_polecats 2   (a rig's own cap)
    gt config default-agent claude
    """


@config.command(name="get")
@click.argument("key")
@click.option("--rig", default=None, help="A rig's own settings (<rig>/settings/config.json).")
@json_option
@pass_cli
def config_get(cli: CliContext, key, rig, as_json) -> None:
    """Show one setting (an object shows whole)."""
    import json

    from gastown_tui.ops.town_config import get

    value = get(cli.town(), key, rig)
    if as_json:
        echo_json({"key": key, "value": value})
    else:
        echo(value if isinstance(value, str) else json.dumps(value, indent=2))


@config.command(name="set")
@click.argument("key")
@click.argument("value")
@click.option("--rig", default=None, help="A rig's own settings (<rig>/settings/config.json).")
@json_option
@pass_cli
def config_set(cli: CliContext, key, value, rig, as_json) -> None:
    """Set KEY to VALUE (JSON where it reads as JSON: 5, true, ["a"]; text otherwise)."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.town_config import set_value

    stored = set_value(cli.town(), key, value, actor=default_actor(), rig=rig)
    if as_json:
        echo_json({"key": key, "value": stored})
    else:
        echo(f"✓ {key} = {stored!r}" if not isinstance(stored, str) else f"✓ {key} = {stored}")


@config.command(name="unset")
@click.argument("key")
@click.option("--rig", default=None, help="A rig's own settings (<rig>/settings/config.json).")
@pass_cli
def config_unset(cli: CliContext, key, rig) -> None:
    """Remove a setting (its default applies again)."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.town_config import set_value

    set_value(cli.town(), key, None, actor=default_actor(), rig=rig)
    echo(f"✓ {key} unset")


@config.command(name="show")
@click.option("--rig", default=None, help="A rig's own settings (<rig>/settings/config.json).")
@json_option
@pass_cli
def config_show(cli: CliContext, rig, as_json) -> None:
    """Every setting of the town."""
    import json

    from gastown_tui.ops.town_config import load

    data = load(cli.town(), rig)
    if as_json:
        echo_json(data)
    else:
        echo(json.dumps(data, indent=2))


@config.command(name="default-agent")
@click.argument("name", required=False)
@pass_cli
def config_default_agent(cli: CliContext, name) -> None:
    """Show or set the runtime agents start with (claude, codex, sim, or one of yours)."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.town_config import load, set_value
    from gastown_tui.runtimes.presets import runtime_named

    town = cli.town()
    if name is None:
        echo(load(town).get("default_agent") or "claude")
        return
    runtime_named(town, name)  # an unknown runtime: one line naming the known ones
    set_value(town, "default_agent", name, actor=default_actor())
    echo(f"✓ default agent: {name}")


@click.command()
@json_option
@pass_cli
def whoami(cli: CliContext, as_json) -> None:
    """Who gt takes you for: your agent address (GT_ROLE, else where you stand), or the
    overseer (the human)."""
    import os

    from gastown_tui.ops.prime import identity
    from gastown_tui.town.errors import GasTownError

    town = cli.town()
    try:
        addr = identity(town, cli.cwd)
        who, role, rig = str(addr), addr.role, addr.rig or ""
    except GasTownError:
        who, role, rig = "overseer", "overseer", ""
    source = "GT_ROLE" if os.environ.get("GT_ROLE") else (
        "BD_ACTOR" if os.environ.get("BD_ACTOR") else "cwd")
    data = {"identity": who, "role": role, "rig": rig, "source": source,
            "town": str(town.root)}
    if as_json:
        echo_json(data)
    else:
        echo(f"{who} ({role}{', rig ' + rig if rig else ''}; from {source})")


@click.command()
@json_option
@pass_cli
def info(cli: CliContext, as_json) -> None:
    """The town at a glance: where it is, its store, its rigs, the version."""
    from gastown_tui import __version__
    from gastown_tui.ops.status import store_facts
    from gastown_tui.ops.town_config import load

    town = cli.town()
    cfg = town.config()
    data = {"version": __version__, "town": cfg.get("name", town.root.name),
            "root": str(town.root), "owner": cfg.get("owner", ""),
            "store": store_facts(town), "default_agent": load(town).get("default_agent")
            or "claude", "rigs": [{"name": r.name, "prefix": r.prefix} for r in town.rigs()]}
    if as_json:
        echo_json(data)
        return
    echo(f"Gas Town {data['town']} at {data['root']} (gastown-tui {__version__})")
    store = data["store"]
    echo(f"  store: {store['backend']} {store.get('path') or store.get('url', '')}")
    echo(f"  default agent: {data['default_agent']}")
    rigs = ", ".join(f"{r['name']} ({r['prefix']})" for r in data["rigs"])
    echo(f"  rigs: {rigs or 'none yet'}")


@click.command()
@json_option
def version(as_json) -> None:
    """The version of gt."""
    import sys

    from gastown_tui import __version__

    if as_json:
        echo_json({"version": __version__, "python": sys.version.split()[0]})
    else:
        echo(f"gt version {__version__} (gastown-tui, Python {sys.version.split()[0]})")
