"""`bd backup [status|restore]`: the store's rolling JSONL backup in .beads/backup (upstream
bd's JSONL backup commands; town/store/backup.py does the work)."""

from __future__ import annotations

from pathlib import Path

import click

from gastown_tui.cli.bd_group import pass_cli
from gastown_tui.cli.common import CliContext, echo, emit_json
from gastown_tui.town.errors import GasTownError


def _sqlite_town(cli: CliContext):
    """The town, when its store is the SQLite file the backup is of."""
    from gastown_tui.town.store.backend import display, is_pg

    town = cli.town()
    if is_pg(town.store_location):
        raise GasTownError(f"the store is PostgreSQL ({display(town.store_location)}): the JSONL "
                           "backup is the SQLite store's", fix="back up the server (pg_dump), "
                           "or move the beads with 'gt store migrate'")
    return town


@click.group(invoke_without_command=True)
@click.option("--force", is_flag=True, help="Write a backup even if nothing changed.")
@pass_cli
@click.pass_context
def backup(ctx: click.Context, cli: CliContext, force: bool) -> None:
    """Back up the bead store: every table as JSONL in .beads/backup (the Deacon also does this
    every few minutes, and gt down / gt shutdown before they stop). Refused when the store has
    lost beads the last backup has: that backup is the copy that still has them."""
    if ctx.invoked_subcommand is not None:
        return
    from gastown_tui.town.store.backup import write_backup

    town = _sqlite_town(cli)
    state, written = write_backup(town.db_path, force=force)
    if written:
        cli.log("backup", {"issues": state.counts.get("issues", 0)})
    if cli.json_output:
        emit_json({**state.as_json(), "written": written, "path": str(town.db_path.parent
                                                                      / "backup")})
        return
    if not written:
        echo(f"Backup unchanged (nothing changed since {state.timestamp}; --force writes one)")
        return
    c = state.counts
    echo(f"Backup complete: {c.get('issues', 0)} issues, {c.get('events', 0)} events, "
         f"{c.get('comments', 0)} comments, {c.get('dependencies', 0)} deps, "
         f"{c.get('labels', 0)} labels, {c.get('config', 0)} config")


@backup.command(name="status")
@pass_cli
def status(cli: CliContext) -> None:
    """When the last backup was taken and what it holds."""
    from gastown_tui.town.store.backup import backup_dir, read_state

    folder = backup_dir(_sqlite_town(cli).db_path)
    state = read_state(folder)
    if cli.json_output:
        emit_json({"path": str(folder), "jsonl": state.as_json() if state else None})
        return
    if state is None:
        echo(f"No backup has been taken yet ({folder}); take one with: bd backup")
        return
    c = state.counts
    echo(f"JSONL Backup ({folder}):\n  Last backup: {state.timestamp}\n"
         f"  Counts: {c.get('issues', 0)} issues, {c.get('events', 0)} events, "
         f"{c.get('comments', 0)} comments, {c.get('dependencies', 0)} deps, "
         f"{c.get('labels', 0)} labels, {c.get('config', 0)} config")


@backup.command(name="restore")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be restored; change nothing.")
@pass_cli
def restore(cli: CliContext, path: Path | None, dry_run: bool) -> None:
    """Restore the store from a backup folder (default .beads/backup). A store that still
    reads gets back what it lacks (a newer record is never overwritten); a damaged one is set
    aside as beads.db.damaged-<time> and rebuilt from the backup."""
    from gastown_tui.town.store.backup import restore as do_restore

    town = _sqlite_town(cli)
    result = do_restore(town.db_path, path, dry_run=dry_run, actor=cli.actor or "restore")
    report = result.report
    if not dry_run:
        cli.log("backup_restore", {"source": result.source, "created": len(report.created),
                                   "set_aside": result.set_aside})
    for file_label, number, problem in report.errors:
        echo(f"warning: {file_label}:{number}: {problem}", err=True)
    if cli.json_output:
        emit_json(result.as_json(), schema=True)
        return
    if result.set_aside:
        echo(f"The damaged store was set aside as {result.set_aside}")
    prefix = "(dry run) " if dry_run else ""
    echo(f"{prefix}Restored from {result.source}: {len(report.created)} created, "
         f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
         f"{len(report.stale_skipped)} newer in the store (kept), {len(report.errors)} bad lines")
