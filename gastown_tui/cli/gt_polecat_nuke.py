"""`gt polecat nuke <targets…> [--force] [--dry-run] [--all]`, `gt polecat stale [<rig>]
[--cleanup] [--dry-run]` and `gt polecat graveyard list|restore`: the CLI only translates; the verbs live in ops/nuke.py and ops/graveyard.py."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.command(name="nuke")
@click.argument("targets", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True,
              help="Nuke even with unsaved work: it is kept in the graveyard first.")
@click.option("--dry-run", is_flag=True, help="Show what would happen and change nothing.")
@click.option("--all", "all_polecats", is_flag=True,
              help="Nuke every polecat of the named rig(s).")
@json_option
@pass_cli
def nuke(cli: CliContext, targets: tuple[str, ...], force: bool, dry_run: bool,
         all_polecats: bool, as_json: bool) -> None:
    """Destroy polecats: session, processes, worktree, local branch, name.

    \b
    gt polecat nuke gastown/toast            refuses if anything would be lost
    gt polecat nuke gastown/toast --force    saves to the graveyard first, then nukes
    gt polecat nuke gastown --all --dry-run  what nuking every polecat would do
    """
    from gastown_tui.ops import nuke as ops

    town = cli.town()
    names = list(targets)
    if all_polecats:
        if any("/" in t for t in targets):
            raise click.UsageError("with --all, name rigs (gt polecat nuke <rig> --all)")
        names = [p for rig in targets for p in ops.rig_polecats(town, rig)]
        if not names:
            echo_json([]) if as_json else echo(f"No polecats in {', '.join(targets)}.")
            return
    results = ops.nuke(town, cli.store(), names, force=force, dry_run=dry_run)
    if as_json:
        echo_json([r.as_json() for r in results])
        return
    for r in results:
        _print_result(r)


def _print_result(r) -> None:
    if r.dry_run:
        verdict = " (refused without --force)" if r.refused else ""
        echo(f"Would nuke {r.target}{verdict}:")
        for reason in r.findings:
            echo(f"  ! {reason}")
        for step in r.actions:
            echo(f"  - {step}")
        return
    echo(f"✓ Nuked {r.target}")
    for step in r.actions:
        echo(f"  - {step}")
    for warning in r.warnings:
        echo(f"  ! {warning}")
    if r.graveyard_ref:
        echo(f"  restore with: gt polecat graveyard restore {r.graveyard_ref}")


@click.command(name="stale")
@click.argument("rig", required=False)
@click.option("--cleanup", is_flag=True,
              help="Nuke every finished polecat that would lose nothing.")
@click.option("--dry-run", is_flag=True, help="With --cleanup: say what would go, change nothing.")
@json_option
@pass_cli
def stale(cli: CliContext, rig: str | None, cleanup: bool, dry_run: bool, as_json: bool) -> None:
    """Finished polecats (done or idle) and whether each can go; --cleanup nukes them.

    \b
    A finished polecat goes when nuke would lose nothing: its work's content is on main
    (a rebased copy counts), no uncommitted file, no open merge request, nothing on its hook.
    Anything else is kept and reported, never forced.
    \b
    gt polecat stale                       every rig's polecats and their verdicts
    gt polecat stale gastown --cleanup     nuke the finished ones of a rig
    gt polecat stale --cleanup --dry-run   what a cleanup would nuke and keep
    """
    from gastown_tui.ops import polecat_stale as ops

    town = cli.town()
    if rig:
        town.rig(rig)  # an unknown rig is a one-line error before anything is read
    store = cli.store()
    if cleanup and not dry_run:
        results = ops.cleanup(town, store, rig)
    else:
        results = ops.detect(town, store, rig)
    if as_json:
        echo_json([r.as_json() for r in results])
        return
    if not results:
        echo("No polecats.")
        return
    for r in results:
        mark = ("✓ nuked" if r.nuked else "○ stale" if r.is_stale
                else "● kept" if r.findings or r.error else "· busy")
        echo(f"{mark} {r.target:<28} {r.reason}")
    nuked = sum(1 for r in results if r.nuked)
    stale_n = sum(1 for r in results if r.is_stale)
    kept = [r for r in results if r.findings or r.error]
    if cleanup and not dry_run:
        echo(f"Nuked {nuked} finished polecat(s); kept {len(kept)} with work to keep.")
    elif cleanup:
        echo(f"Would nuke {stale_n} finished polecat(s); would keep {len(kept)}.")
    else:
        echo(f"Summary: {stale_n} stale, {len(results) - stale_n} kept or active "
             "(--cleanup nukes the stale ones)")


@click.group(name="graveyard", invoke_without_command=True)
@click.pass_context
def graveyard(ctx: click.Context) -> None:
    """What nuked polecats left behind, and how to bring it back."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_graves)


@graveyard.command(name="list")
@click.argument("rig", required=False)
@json_option
@pass_cli
def list_graves(cli: CliContext, rig: str | None = None, as_json: bool = False) -> None:
    """Graves, newest first, numbered for `restore`."""
    from gastown_tui.ops import graveyard as ops

    town = cli.town()
    if rig is not None:
        town.rig(rig)  # an unknown rig is an error, not an empty list
    # Numbered across the whole town, so `restore N` means the same grave with or without a rig.
    numbered = [(i, e) for i, e in enumerate(ops.list_all(town), start=1)
                if rig is None or e.rig == rig]
    if as_json:
        echo_json([{"index": i, **e.as_json()} for i, e in numbered])
        return
    if not numbered:
        echo("The graveyard is empty.")
        return
    for i, e in numbered:
        bead = f" {e.bead}" if e.bead else ""
        echo(f"{i:>3}  {e.saved_at}  {e.polecat}{bead}  "
                   f"{len(e.files)} file(s)  head {e.head[:8]}  {e.branch}")
        echo(f"     {e.ref}  ({e.reason})" if e.reason else f"     {e.ref}")


@graveyard.command(name="restore")
@click.argument("ref_or_index")
@click.option("--rig", "rig_name", default=None, help="The rig the grave is in.")
@click.option("--as", "as_name", default=None, help="Restore under another polecat name.")
@json_option
@pass_cli
def restore(cli: CliContext, ref_or_index: str, rig_name: str | None, as_name: str | None,
            as_json: bool) -> None:
    """Bring a grave back as a polecat; its unsaved work shows as uncommitted changes."""
    from gastown_tui.ops import graveyard as ops
    from gastown_tui.town.errors import ValidationError

    town = cli.town()
    rigs = [town.rig(rig_name)] if rig_name else town.rigs()
    if ref_or_index.isdigit():
        entries = ops.list_all(town)
        index = int(ref_or_index)
        if not 1 <= index <= len(entries):
            raise ValidationError(f"no grave number {index} ({len(entries)} in the graveyard)",
                                  fix="see 'gt polecat graveyard list'")
        grave = entries[index - 1]
    else:
        grave = _find(ops, rigs, ref_or_index)
    from gastown_tui.ops.graveyard_restore import restore as do_restore

    result = do_restore(town, grave.rig, grave.ref, as_name=as_name, store=cli.store())
    if as_json:
        echo_json(result.as_json())
        return
    echo(f"✓ Restored {result.agent} from {grave.short_ref}")
    echo(f"  worktree {result.worktree} on branch {result.branch} at {result.head[:8]}")
    if result.files:
        echo(f"  {len(result.files)} file(s) back as uncommitted changes")
    if result.bead:
        echo(f"  it was working on {result.bead}: gt hook {result.bead} {result.agent}")


def _find(ops, rigs, ref: str):
    full = ops.normalize_ref(ref)
    for rig in rigs:
        try:
            return ops.find_grave(rig, full)
        except ops.GraveNotFoundError:
            continue
    raise ops.GraveNotFoundError(f"no grave {full}", fix="see 'gt polecat graveyard list'")
