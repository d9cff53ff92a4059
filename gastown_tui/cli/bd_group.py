"""bd's command group and what its verbs share (bd.py, bd_more.py, bd_agent.py add to it)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext
from gastown_tui.cli.lazy import LazyGroup

pass_cli = click.make_pass_decorator(CliContext)
GLOBAL_FLAGS = {"--json": False, "--actor": True, "--rig": True, "--town": True, "--db": True}


def scope_prefix(cli: CliContext) -> str:
    """The prefix bd works on: --rig, else the rig whose directory we are in, else hq."""
    town = cli.town()
    if cli.rig_option:
        return town.rig(cli.rig_option).prefix
    rig = town.rig_at(cli.cwd)
    return rig.prefix if rig else "hq"


class BdGroup(LazyGroup):
    """bd's verbs; `bd formula` (pydantic, tomlkit) and `bd backup` load only when they run."""

    LAZY = {"formula": "gastown_tui.cli.formula_cmd:formula",
            "backup": "gastown_tui.cli.bd_backup:backup",
            "gate": "gastown_tui.cli.bd_gate:gate", "mol": "gastown_tui.cli.bd_mol:mol",
            "cook": "gastown_tui.cli.bd_mol:cook",
            **{verb: f"gastown_tui.cli.bd_extra:{attr}" for verb, attr in (
                ("children", "children"), ("count", "count"), ("status", "status"),
                ("delete", "delete"), ("defer", "defer"), ("undefer", "undefer"),
                ("edit", "edit"), ("epic", "epic"), ("q", "quick"), ("kv", "kv"),
                ("where", "where"), ("version", "version"), ("doctor", "doctor"),
                ("statuses", "statuses"), ("types", "types"))}}
    ALIASES = {"new": "create", "protomolecule": "mol", "stats": "status"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:  # upstream's commands not built here answer with the way instead
            from gastown_tui.cli.upstream_answers import answer_command

            found = answer_command("bd", cmd_name)
        return found


@click.group(cls=BdGroup, context_settings={"help_option_names": ["-h", "--help"]})
def bd() -> None:
    """Beads: the town's issue store. Global flags (anywhere on the line): --json, --actor NAME,
    --rig RIG, --town DIR. Inside <town>/<rig>/ bd works on that rig's prefix; at the town root
    on hq."""


