"""`bd prime` (the beads workflow for an agent) and `bd rename-prefix` (refused, with why).
`bd formula` is the same group as `gt formula`, loaded lazily by bd's group."""

from __future__ import annotations

import click

from gastown_tui.cli.bd_group import bd, pass_cli, scope_prefix
from gastown_tui.cli.common import CliContext, echo

PRIME = """# Beads workflow (bd) in {scope}

Beads are this town's issues, in one SQLite store ({db}). Ids are <prefix>-<hash>; bd
finds any bead by its prefix from anywhere in the town.

Find work
  bd ready                              open beads with no open blockers
  bd list --status=open                 open beads here (--any-prefix: the whole town)
  bd show <id>                          one bead: fields, notes, dependencies, comments
  bd blocked                            what waits on what
  bd search <text>

Work on it
  bd update <id> --claim                take it (open → in_progress, you)
  bd update <id> --notes "..."          save findings (they outlive your session)
  bd update <id> --design "..."         save a structured analysis
  bd close <id> --reason "..."          finished (no-changes: say why)

File new work
  bd create "title" -t bug|task|feature -p 0-4 [-d "description"]
  bd create --rig <rig> "title"         in another rig; --prefix hq for the town
  bd dep add <x> <y>                    x needs y (x waits until y closes)

Statuses: open, in_progress, blocked, deferred, closed, pinned, hooked (no "done").
Every command takes --json.
"""


@bd.command(name="prime")
@pass_cli
def prime(cli: CliContext) -> None:
    """Print the beads workflow for an AI agent (what to run, in order)."""
    town = cli.town()
    echo(PRIME.format(scope=f"prefix {scope_prefix(cli)}-", db=town.db_path), nl=False)


@bd.command(name="rename-prefix")
@click.argument("new_prefix")
@click.option("--dry-run", is_flag=True)
@click.option("--repair", is_flag=True)
@pass_cli
def rename_prefix(cli: CliContext, new_prefix, dry_run, repair) -> None:
    """Not in a Gas Town town: a rig's prefix is fixed when the rig is added."""
    town = cli.town()
    raise click.ClickException(
        f"bd rename-prefix {new_prefix}: in a Gas Town town each rig's prefix is set by "
        f"`gt rig add --prefix` and is part of branch, session and merge-request names, so "
        f"beads are never renamed here ({town.root}); to settle a prefix clash, remove the "
        "rig and add it again with --prefix")
