"""`gt`: the Gas Town command line for people and for agents running inside tmux."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from gastown_tui.cli.common import CliContext, dumps, echo, extract_global_flags, run
from gastown_tui.cli.lazy import LazyGroup

pass_cli = click.make_pass_decorator(CliContext)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


class GtGroup(LazyGroup):
    """Imports a subcommand's module only when it runs: agents call `gt` constantly, and the
    formula library (pydantic, tomlkit) must not slow down `gt hook`."""

    LAZY = {
        "rig": "gastown_tui.cli.gt_rig:rig",
        "convoy": "gastown_tui.cli.gt_convoy:convoy",
        "mail": "gastown_tui.cli.gt_mail:mail",
        "hook": "gastown_tui.cli.gt_hook:hook",
        "formula": "gastown_tui.cli.formula_cmd:formula",
        "sling": "gastown_tui.cli.gt_agents:sling",
        "nudge": "gastown_tui.cli.gt_agents:nudge",
        "peek": "gastown_tui.cli.gt_agents:peek",
        "done": "gastown_tui.cli.gt_agents:done",
        "prime": "gastown_tui.cli.gt_agents:prime",
        "up": "gastown_tui.cli.gt_town:up",
        "down": "gastown_tui.cli.gt_town:down",
        "shutdown": "gastown_tui.cli.gt_town:shutdown",
        "mayor": "gastown_tui.cli.gt_town:mayor",
        "polecat": "gastown_tui.cli.gt_town:polecat",
        "witness": "gastown_tui.cli.gt_patrol:witness",
        "deacon": "gastown_tui.cli.gt_patrol:deacon",
        "escalate": "gastown_tui.cli.gt_patrol:escalate",
        "mq": "gastown_tui.cli.gt_mq:mq",
        "refinery": "gastown_tui.cli.gt_refinery:refinery",
        "doctor": "gastown_tui.cli.gt_doctor:doctor",
        "handoff": "gastown_tui.cli.gt_session:handoff",
        "session": "gastown_tui.cli.gt_session:session",
        "worktree": "gastown_tui.cli.gt_session:worktree",
        "mol": "gastown_tui.cli.gt_mol:mol",
        "feed": "gastown_tui.cli.gt_work:feed",
        "unsling": "gastown_tui.cli.gt_work:unsling",
        "remember": "gastown_tui.cli.gt_work:remember",
        "memories": "gastown_tui.cli.gt_work:memories",
        "forget": "gastown_tui.cli.gt_work:forget",
        "store": "gastown_tui.cli.gt_store:store",
        "host": "gastown_tui.cli.gt_host:host",
        "dolt": "gastown_tui.cli.gt_upstream:dolt",
        "reaper": "gastown_tui.cli.gt_upstream:reaper",
        "boot": "gastown_tui.cli.gt_upstream:boot",
        "dog": "gastown_tui.cli.gt_dog:dog",
        "plugin": "gastown_tui.cli.gt_plugin:plugin",
        "patrol": "gastown_tui.cli.gt_patrol_digest:patrol",
        "krc": "gastown_tui.cli.gt_krc:krc",
        "tap": "gastown_tui.cli.gt_upstream:tap",
        "crew": "gastown_tui.cli.gt_crew:crew",
        "costs": "gastown_tui.cli.gt_costs:costs",
        "account": "gastown_tui.cli.gt_account:account",
        "quota": "gastown_tui.cli.gt_account:quota",
        "scheduler": "gastown_tui.cli.gt_scheduler:scheduler",
        "cycle": "gastown_tui.cli.gt_cycle:cycle",
        "broadcast": "gastown_tui.cli.gt_comms:broadcast",
        "dnd": "gastown_tui.cli.gt_comms:dnd",
        "notify": "gastown_tui.cli.gt_comms:notify",
        "agents": "gastown_tui.cli.gt_problems:agents",
        "health": "gastown_tui.cli.gt_problems:health",
        "vitals": "gastown_tui.cli.gt_problems:vitals",
        "config": "gastown_tui.cli.gt_settings:config",
        "whoami": "gastown_tui.cli.gt_settings:whoami",
        "info": "gastown_tui.cli.gt_settings:info",
        "version": "gastown_tui.cli.gt_settings:version",
        "warrant": "gastown_tui.cli.gt_warrant:warrant",
        "role": "gastown_tui.cli.gt_role:role",
        "theme": "gastown_tui.cli.gt_theme:theme",
        "namepool": "gastown_tui.cli.gt_namepool:namepool",
        "hooks": "gastown_tui.cli.gt_hooks:hooks",
    }
    ALIASES = {"molecule": "mol", "unhook": "unsling", "work": "hook"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:  # upstream's commands not built here answer with the way instead
            from gastown_tui.cli.upstream_answers import answer_command

            found = answer_command("gt", cmd_name)
        return found


@click.group(cls=GtGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gastown-tui", prog_name="gt")
def gt() -> None:
    """Gas Town: a town of AI coding agents. Global flag: --town DIR (else the town is found
    from the current directory upward, then GT_ROOT)."""


def echo_json(obj) -> None:
    click.echo(dumps(obj))


@gt.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="Town name (default: the directory name).")
@click.option("--owner", default=None, help="Owner e-mail (default: git config user.email).")
@click.option("--store", "store", default=None, metavar="sqlite|postgres|URL",
              help="Where beads live: sqlite (default; one file, one machine), postgres (a "
                   "PostgreSQL cluster inside the town, started by gt up), or a "
                   "postgresql://… URL to join a server other hosts share.")
@click.option("--pg-port", type=click.IntRange(1, 65535), default=None,
              help="With --store postgres: the port (TCP too when --pg-listen is given).")
@click.option("--pg-listen", default=None, metavar="ADDR",
              help="With --store postgres: also listen on TCP at ADDR (e.g. 0.0.0.0) for "
                   "other hosts, with a password (printed once).")
@json_option
def install(directory: Path, name: str | None, owner: str | None, store: str | None,
            pg_port: int | None, pg_listen: str | None, as_json: bool) -> None:
    """Create a town in DIRECTORY (idempotent on an existing town)."""
    from gastown_tui.ops.install import install as do_install

    if pg_listen and not pg_port:
        raise click.UsageError("--pg-listen needs --pg-port (the TCP port to listen on)")
    if (pg_port or pg_listen) and store != "postgres":
        raise click.UsageError("--pg-port and --pg-listen go with --store postgres")
    result = do_install(directory, name=name, owner=owner, store=store, pg_port=pg_port,
                        pg_listen=pg_listen)
    remote = None
    if pg_listen and result.created:
        import socket as _socket

        from gastown_tui.town.store.cluster import Cluster

        remote = Cluster.of_town(result.root).remote_url(_socket.gethostname())
    if as_json:
        out = {"root": str(result.root), "name": result.name, "created": result.created,
               "store": result.store}
        if remote:
            out["remote_url"] = remote
        echo_json(out)
    elif result.created:
        echo(f"✓ Created town {result.name!r} at {result.root}\n"
                   f"  Beads: {result.store}\n"
                   f"  Next: cd {result.root} && gt rig add <name> <git-url-or-path>")
        if remote:
            echo(f"  Other hosts join with: gt install DIR --store '{remote}'")
    else:
        echo(f"✓ Town {result.name!r} at {result.root} is already installed (checked)")


@gt.command()
@json_option
@pass_cli
def status(cli: CliContext, as_json: bool) -> None:
    """The town at a glance: rigs, agents, hooks, mail, convoys."""
    from gastown_tui.ops.status import town_status

    data = town_status(cli.town(), cli.store())
    if as_json:
        echo_json(data)
        return
    echo(f"Town {data['name']} ({data['root']})  owner: {data['owner'] or '-'}")
    echo(f"Beads: {data['beads']['open']} open, {data['beads']['ready']} ready")
    for agent in data["agents"]:
        echo(f"  {agent['address'] or agent['bead']}: {agent['state'] or '-'}"
                   f"{'  hook ' + agent['hook_bead'] if agent['hook_bead'] else ''}"
                   f"{'  ✉ ' + str(agent['unread_mail']) if agent['unread_mail'] else ''}")
    if not data["rigs"]:
        echo("No rigs yet: gt rig add <name> <git-url-or-path>")
    for rig in data["rigs"]:
        echo(f"Rig {rig['name']} ({rig['prefix']}): {rig['polecat_count']} polecats, "
                   f"MQ {rig['mq']['pending']} pending")
        for agent in rig["agents"]:
            echo(f"  {agent['address']}: {agent['state'] or '-'}"
                       f"{'  hook ' + agent['hook_bead'] if agent['hook_bead'] else ''}")
    for convoy in data["convoys"]:
        echo(f"🚚 {convoy['id']} {convoy['title']}: {convoy['completed']}/{convoy['total']}")


def _make_ctx(args: list[str]) -> tuple[list[str], CliContext]:
    rest, found = extract_global_flags(args, {"--town": True})
    return rest, CliContext(town_option=found.get("--town"), json_output="--json" in rest)


def main(argv: Sequence[str] | None = None) -> int:
    code = run(gt, argv, _make_ctx, "gt")
    if argv is None:
        sys.exit(code)
    return code
