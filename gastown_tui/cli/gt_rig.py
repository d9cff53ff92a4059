"""`gt rig add/list/remove`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo, rig_here
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
    from gastown_tui.town.progress import Progress

    with Progress.for_cli(json_output=as_json) as progress:
        result = do_add(cli.town(), name, source, prefix=prefix, branch=branch,
                        progress=progress)
    if as_json:
        echo_json({"name": result.rig.name, "prefix": result.rig.prefix,
                   "default_branch": result.default_branch, "head": result.head,
                   "path": str(result.rig.path), "git_url": result.rig.git_url,
                   "warnings": list(result.warnings)})
    else:
        echo(f"✓ Added rig {name} (prefix {result.rig.prefix}, branch "
             f"{result.default_branch} at {result.head[:8]})\n"
             f"  refinery worktree: {result.rig.refinery_worktree}")
    for warning in result.warnings:
        echo(f"⚠ {warning}", err=True)


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
        echo("No rigs. Add one with: gt rig add <name> <git-url-or-path>")
    for r in rigs:
        echo(f"{r['name']:<16} {r['prefix']:<6} {r['default_branch']:<10} "
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
        echo(f"✓ Removed rig {name}" + (" and deleted its directory" if delete else
                                              " (files kept)"))


def _state_command(name: str, state: str, on: bool, doc: str):
    @rig.command(name=name, help=doc)
    @click.argument("rig_name", required=False)
    @json_option
    @pass_cli
    def command(cli: CliContext, rig_name, as_json) -> None:
        from gastown_tui.ops.rig_state import set_state

        town = cli.town()
        target = _rig_here(cli, rig_name)
        result = set_state(town, target, state, on)
        if as_json:
            echo_json(result)
            return
        verb = {"park": "parked", "unpark": "unparked", "dock": "docked",
                "undock": "undocked"}[name]
        stopped = f"; stopped {', '.join(result['stopped'])}" if result["stopped"] else ""
        echo(f"✓ Rig {target.name} {verb}{stopped}" if result["changed"]
                   else f"· Rig {target.name} was already {verb}")
    return command


_rig_here = rig_here


_state_command("park", "parked", True,
               "Pause a rig: stop its witness and refinery; no slinging; gt up skips it.")
_state_command("unpark", "parked", False, "Undo gt rig park.")
_state_command("dock", "docked", True,
               "Put a rig to sleep until undocked (as park, kept across restarts).")
_state_command("undock", "docked", False, "Undo gt rig dock.")


@rig.command(name="stop")
@click.argument("rig_name", required=False)
@pass_cli
def rig_stop(cli: CliContext, rig_name) -> None:
    """Stop the rig's witness and refinery now (the Deacon restarts them unless parked)."""
    from gastown_tui.ops.rig_state import stop_loops

    target = _rig_here(cli, rig_name)
    stopped = stop_loops(cli.town(), target)
    echo(f"■ stopped {', '.join(stopped)}" if stopped else
               f"· nothing of {target.name} was running")


@rig.command(name="start")
@click.argument("rig_name", required=False)
@pass_cli
def rig_start(cli: CliContext, rig_name) -> None:
    """Start the rig's witness and refinery now."""
    from gastown_tui.ops.rig_state import refuse_if_asleep
    from gastown_tui.ops.up import start_rig_loops

    target = _rig_here(cli, rig_name)
    refuse_if_asleep(target)
    for step in start_rig_loops(cli.town(), target):
        echo(f"{'▶' if step.action == 'started' else '●'} {step.session} {step.action}")


@rig.group(name="config")
def rig_config_group() -> None:
    """A rig's settings."""


@rig_config_group.command(name="set")
@click.argument("rig_name")
@click.argument("key")
@click.argument("value")
@click.option("--global", "global_", is_flag=True, help="Accepted for upstream's scripts: "
                                                        "rig settings here are one file.")
@pass_cli
def rig_config_set(cli: CliContext, rig_name, key, value, global_) -> None:
    """Set one setting of a rig (its config.json)."""
    from gastown_tui.ops.rig_state import config_set

    result = config_set(cli.town().rig(rig_name), key, value)
    echo(f"✓ {result['rig']}: {result['key']} = {result['value']}")


@rig_config_group.command(name="show")
@click.argument("rig_name")
@json_option
@pass_cli
def rig_config_show(cli: CliContext, rig_name, as_json) -> None:
    """A rig's settings."""
    from gastown_tui.ops.rig_state import rig_config

    cfg = rig_config(cli.town().rig(rig_name))
    if as_json:
        echo_json(cfg)
    else:
        for key, value in sorted(cfg.items()):
            echo(f"{key}: {value}")


def _attach_lifecycle() -> None:
    from gastown_tui.cli.gt_lifecycle import add_rig_verbs

    add_rig_verbs(rig)


_attach_lifecycle()  # gt rig status|boot|reboot|restart|shutdown (cli/gt_lifecycle.py)


@rig.command(name="reset")
@click.option("--handoff", is_flag=True, help="Clear handoff content.")
@click.option("--mail", is_flag=True, help="Clear stale mail messages (the role's inbox).")
@click.option("--stale", is_flag=True,
              help="Reset orphaned in_progress issues (no active session).")
@click.option("--dry-run", is_flag=True, help="Show what would be reset without making changes.")
@click.option("--role", "role_name", default=None,
              help="Role to reset (default: auto-detect from GT_ROLE or the directory).")
@json_option
@pass_cli
def rig_reset(cli: CliContext, handoff: bool, mail: bool, stale: bool, dry_run: bool,
              role_name: str | None, as_json: bool) -> None:
    """Reset rig state (handoff content, mail, stale issues); all of it without flags.

    \b
    gt rig reset                    # reset all state of the role here
    gt rig reset --handoff          # clear handoff content only
    gt rig reset --mail             # archive the role's mail only
    gt rig reset --stale --dry-run  # which in_progress beads have no polecat session left
    """
    from gastown_tui.ops.rig_reset import rig_reset as do_reset
    from gastown_tui.ops.role import current, parse_role
    from gastown_tui.town.errors import GasTownError
    from gastown_tui.town.names import Address, validate_agent_name

    town = cli.town()
    here = current(town, cli.cwd)
    if role_name:
        role_, rig_name, name = parse_role(role_name)
        rig_name, name = rig_name or here.rig, name or here.polecat
    else:
        role_, rig_name, name = here.role, here.rig, here.polecat
    if role_ not in ("mayor", "deacon", "witness", "refinery", "polecat", "crew"):
        raise GasTownError(f"could not detect role (got {role_})", fix="use --role to specify")
    rig_info = town.rig(rig_name) if rig_name else town.rig_at(cli.cwd)
    if role_ in ("witness", "refinery", "polecat", "crew") and rig_info is None:
        raise GasTownError(f"role {role_} needs a rig", fix="run it inside the rig or pass "
                           "--role <rig>/<role>")
    if role_ in ("polecat", "crew"):
        validate_agent_name(name or "", kind=role_)
    addr = Address(role_, rig_info.name if role_ not in ("mayor", "deacon") else None,
                   name if role_ in ("polecat", "crew") else None)
    every = not (handoff or mail or stale)
    prefix = rig_info.prefix if rig_info is not None else "hq"
    report = do_reset(town, cli.store("overseer"), addr, prefix, handoff=every or handoff,
                      mail=every or mail, stale=every or stale, dry_run=dry_run)
    if as_json:
        echo_json(report.as_json())
        return
    would = "would " if dry_run else ""
    if report.handoff_cleared is not None:
        echo(f"✓ {'Would clear' if dry_run else 'Cleared'} handoff content for {addr} "
             f"({len(report.handoff_cleared)} note(s))")
    if report.mail_archived is not None:
        echo(f"✓ {would}archive {len(report.mail_archived)} message(s) of {addr}" if dry_run
             else f"✓ Cleared mail: {len(report.mail_archived)} archived" if report.mail_archived
             else "✓ No mail to clear")
    if report.stale_reset is not None:
        for entry in report.stale_reset:
            echo(f"  {entry['id']}: {entry['assignee']} (no session) → open")
        for entry in report.stale_skipped:
            echo(f"  {entry['id']}: {entry['assignee']} (persistent, skipped)")
        if report.stale_reset or report.stale_skipped:
            echo(f"{'(dry-run) Would reset' if dry_run else '✓ Reset'} "
                 f"{len(report.stale_reset)} issues, skip {len(report.stale_skipped)} persistent")
        else:
            echo("✓ No stale issues found")
