"""`gt hooks [list] | sync | install`: the hook and settings files this town writes per
runtime, whether each is in place, and rewriting them."""

from __future__ import annotations

from pathlib import Path

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli
from gastown_tui.town.errors import GasTownError

worktree_option = click.option(
    "--worktree", "worktree", default=None, type=click.Path(file_okay=False, path_type=Path),
    help="Also the files an agent working in this directory gets (Gemini CLI, OpenCode).")


class _HooksGroup(click.Group):
    """`gt hooks` alone lists (upstream requires a subcommand; listing is what one wants)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0].startswith("-") and args[0] not in ("-h", "--help"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_HooksGroup)
def hooks() -> None:
    """The hook files this town writes for each runtime.

    \b
    Claude Code: one settings.json per role (mayor/, deacon/, <rig>/polecats, <rig>/witness,
    <rig>/refinery, <rig>/crew), passed with --settings. Gemini CLI (.gemini/settings.json)
    and OpenCode (.opencode/plugins/gastown.js): in the agent's working directory.
    Every agent start rewrites its own; these commands look at and rewrite them all.

    \b
    gt hooks list                         # every location and whether it is in sync
    gt hooks list --worktree <dir>        # and the files of an agent working there
    gt hooks sync [--dry-run]             # rewrite what is missing or out of sync
    """


def _town_worktree(cli: CliContext, worktree: Path | None) -> Path | None:
    if worktree is None:
        return None
    town = cli.town()
    resolved = (cli.cwd / worktree).resolve()
    try:
        resolved.relative_to(town.root.resolve())
    except ValueError:
        raise GasTownError(f"{worktree} is not inside the town {town.root}",
                           fix="name an agent's worktree of this town") from None
    if not resolved.is_dir():
        raise GasTownError(f"no directory {worktree}", fix="name an existing worktree")
    return resolved


@hooks.command(name="list")
@worktree_option
@json_option
@pass_cli
def hooks_list(cli: CliContext, worktree: Path | None, as_json: bool) -> None:
    """Show every managed hook file and its status (in sync, out of sync, missing)."""
    from gastown_tui.ops.hooks import list_targets

    targets = list_targets(cli.town(), _town_worktree(cli, worktree))
    if as_json:
        echo_json({"targets": [t.as_json() for t in targets]})
        return
    width = max(len(t.target) for t in targets)
    echo(f"{'Target':<{width}}  {'Runtime':<8}  {'Status':<11}  Path")
    for t in targets:
        echo(f"{t.target:<{width}}  {t.runtime:<8}  {t.status:<11}  {t.path}")
    stale = sum(t.status != "in sync" for t in targets)
    if stale:
        echo(f"\n{stale} not in sync: 'gt hooks sync' rewrites them (each agent start does too)")


def _sync(cli: CliContext, worktree: Path | None, dry_run: bool, as_json: bool) -> None:
    from gastown_tui.ops.hooks import sync

    changed = sync(cli.town(), _town_worktree(cli, worktree), dry_run=dry_run)
    if not dry_run and changed:
        cli.log("hooks_sync", {"written": [str(t.path) for t in changed]}, source="gt")
    if as_json:
        echo_json({"dry_run": dry_run, "written": [t.as_json() for t in changed]})
        return
    verb = "would write" if dry_run else "wrote"
    for t in changed:
        echo(f"{'○' if dry_run else '✓'} {verb} {t.path} ({t.target}, {t.runtime})")
    if not changed:
        echo("✓ every hook file is in sync")


@hooks.command(name="sync")
@worktree_option
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@json_option
@pass_cli
def hooks_sync(cli: CliContext, worktree: Path | None, dry_run: bool, as_json: bool) -> None:
    """Rewrite every hook file that is missing or out of sync."""
    _sync(cli, worktree, dry_run, as_json)


@hooks.command(name="install")
@click.argument("hook_name", required=False)
@worktree_option
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@json_option
@pass_cli
def hooks_install(cli: CliContext, hook_name: str | None, worktree: Path | None, dry_run: bool,
                  as_json: bool) -> None:
    """Install the town's hooks (the same as sync). Upstream installs one named hook from a
    registry; this town writes one fixed set per runtime, so a hook name is refused."""
    if hook_name:
        raise GasTownError(f"no hook registry here, so no hook {hook_name!r}: this town writes "
                           "one fixed hook set per runtime",
                           fix="'gt hooks install' (or 'gt hooks sync') writes all of them")
    _sync(cli, worktree, dry_run, as_json)
