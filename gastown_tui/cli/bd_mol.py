"""`bd mol` and `bd cook` (upstream beads' cmd/bd/mol*.go, wisp.go, cook.go): formulas turned
into molecules of beads, with bd's flags and --json shapes."""

from __future__ import annotations

import click

from gastown_tui.cli.bd_group import pass_cli, scope_prefix
from gastown_tui.cli.common import CliContext, DefaultGroup, dumps, echo, emit_json


def _vars(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"invalid variable format {pair!r}, expected 'key=value'",
                                     param_hint="'--var'")
        out[key.strip()] = value
    return out


def _rig_name(cli: CliContext) -> str | None:
    town = cli.town()
    if cli.rig_option:
        return cli.rig_option
    rig = town.rig_at(cli.cwd)
    return rig.name if rig else None


@click.group(name="mol")
def mol() -> None:
    """Molecules: formulas instantiated as beads.

    \b
      pour    persistent molecule (liquid): <prefix>-mol-* beads
      wisp    ephemeral molecule (vapor): <prefix>-wisp-*, pruned when closed and old
      bond    attach a formula to a molecule, or link two molecules
      squash  condense a molecule's steps into a digest
      burn    delete a molecule without a trace
      show, progress, ready --gated"""


def _spawn(cli: CliContext, proto: str, pairs, assignee, dry_run, *, ephemeral: bool,
           root_only: bool = False) -> None:
    from gastown_tui.ops.mol_spawn import spawn

    result = spawn(cli.town(), cli.store(), proto, prefix=scope_prefix(cli),
                   values=_vars(pairs), ephemeral=ephemeral, root_only=root_only,
                   assignee=assignee or "", rig=_rig_name(cli), dry_run=dry_run)
    if cli.json_output:
        emit_json(result.as_json(), schema=True)
        return
    if dry_run:
        echo(f"Dry run: would create {len(result.planned)} issue(s) from {proto}")
        for item in result.planned:
            echo(f"  - {item['title']} ({item['issue_type']})")
        return
    echo(f"✓ Created {'wisp' if ephemeral else 'molecule'}: {result.created} issues\n"
               f"  Root issue: {result.new_epic_id}\n  Phase: {result.phase}")
    echo(f"\nNext steps:\n  bd ready --mol {result.new_epic_id}   # runnable steps\n"
               f"  bd mol squash {result.new_epic_id}    # condense to a digest\n"
               f"  bd mol burn {result.new_epic_id}      # discard")


_spawn_options = [
    click.argument("proto"),
    click.option("--var", "pairs", multiple=True, help="key=value (repeatable)."),
    click.option("--assignee", default="", help="Assign the root to this agent."),
    click.option("--dry-run", is_flag=True, help="Show what would be created."),
]


def _with(options):
    def wrap(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn
    return wrap


@mol.command(name="pour")
@_with(_spawn_options)
@pass_cli
def pour(cli: CliContext, proto, pairs, assignee, dry_run) -> None:
    """Instantiate a formula as a persistent molecule (liquid phase)."""
    _spawn(cli, proto, pairs, assignee, dry_run, ephemeral=False)


@mol.group(name="wisp", cls=DefaultGroup, default="create")
def wisp() -> None:
    """Create (bd mol wisp <formula>) or manage ephemeral molecules (list, gc)."""


@wisp.command(name="create")
@_with(_spawn_options)
@click.option("--root-only", is_flag=True, help="Only the root (steps inlined at prime time).")
@pass_cli
def wisp_create(cli: CliContext, proto, pairs, assignee, dry_run, root_only) -> None:
    """Instantiate a formula as a wisp (vapor phase: ephemeral, not exported)."""
    _spawn(cli, proto, pairs, assignee, dry_run, ephemeral=True, root_only=root_only)


@wisp.command(name="list")
@click.option("--all", "include_all", is_flag=True, help="Closed wisps too.")
@pass_cli
def wisp_list(cli: CliContext, include_all: bool) -> None:
    """List wisp molecules (those untouched for a day are flagged old)."""
    from gastown_tui.ops.mol_spawn import wisps

    data = wisps(cli.store(), include_closed=include_all)
    if cli.json_output:
        emit_json(data, schema=True)
        return
    if not data["wisps"]:
        echo("No wisps.")
    for item in data["wisps"]:
        echo(f"{item['id']} [{item['status']}] {item['title']}"
                   + ("  (old)" if item.get("old") else ""))


@wisp.command(name="gc")
@click.option("--age", default="1h", show_default=True, help="Closed for at least this long.")
@click.option("--closed", is_flag=True, help="Accepted for upstream's form (only closed "
                                             "wisps are ever collected).")
@click.option("--dry-run", is_flag=True)
@pass_cli
def wisp_gc(cli: CliContext, age: str, closed: bool, dry_run: bool) -> None:
    """Delete closed wisps older than --age (gt krc prune does this by TTL class)."""
    from gastown_tui.ops.krc import prune_store

    result = prune_store(cli.town(), cli.store(), dry_run=dry_run, override_ttl=age)
    if cli.json_output:
        emit_json(result, schema=True)
        return
    verb = "would delete" if dry_run else "deleted"
    echo(f"✓ {verb} {result['pruned']} closed wisp(s) older than {age}")


@mol.command(name="bond")
@click.argument("a")
@click.argument("b")
@click.option("--type", "bond_type", default="sequential", show_default=True,
              help="sequential, parallel or conditional.")
@click.option("--var", "pairs", multiple=True)
@click.option("--ephemeral", is_flag=True, help="Spawn as a wisp whatever the target is.")
@click.option("--pour", "pour_flag", is_flag=True, help="Spawn persistent whatever the target.")
@click.option("--as", "as_title", default="", hidden=True)
@click.option("--ref", default="", hidden=True)
@click.option("--dry-run", is_flag=True)
@pass_cli
def bond(cli: CliContext, a, b, bond_type, pairs, ephemeral, pour_flag, as_title, ref,
         dry_run) -> None:
    """Bond a formula to a molecule (spawn and attach), or two molecules together."""
    from gastown_tui.ops.mol_spawn import bond as do_bond

    phase = True if ephemeral else False if pour_flag else None
    result = do_bond(cli.town(), cli.store(), a, b, bond_type=bond_type, values=_vars(pairs),
                     ephemeral=phase, rig=_rig_name(cli), dry_run=dry_run)
    if cli.json_output:
        emit_json(result, schema=True)
        return
    spawned = f", spawned {result['spawned']}" if result.get("spawned") else ""
    echo(f"✓ Bonded {a} + {b} ({bond_type}{spawned}) → {result['result_id']}")


@mol.command(name="squash")
@click.argument("molecule_id")
@click.option("--summary", default="", help="Your summary (instead of the generated one).")
@click.option("--keep-children", is_flag=True, help="Keep the steps after the digest.")
@click.option("--dry-run", is_flag=True)
@pass_cli
def squash(cli: CliContext, molecule_id, summary, keep_children, dry_run) -> None:
    """Condense a molecule's ephemeral steps into one permanent digest."""
    from gastown_tui.ops.mol_spawn import squash as do_squash

    result = do_squash(cli.town(), cli.store(), molecule_id, summary=summary,
                       keep_children=keep_children, dry_run=dry_run)
    if cli.json_output:
        emit_json(result.as_json(), schema=True)
        return
    if not result.squashed_count:
        echo(f"No ephemeral children found for molecule {molecule_id}")
    elif dry_run:
        echo(f"Dry run: would squash {result.squashed_count} ephemeral children of "
                   f"{molecule_id}")
    else:
        echo(f"✓ Squashed molecule: {result.squashed_count} children → 1 digest\n"
                   f"  Digest ID: {result.digest_id}")
        if result.deleted_count:
            echo(f"  Deleted: {result.deleted_count} wisps")
        if result.wisp_squash:
            echo(f"  Root auto-closed: {molecule_id}")


@mol.command(name="burn")
@click.argument("molecule_ids", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True)
@click.option("--force", "-y", "--yes", is_flag=True, help="No confirmation (there is none).")
@pass_cli
def burn(cli: CliContext, molecule_ids, dry_run, force) -> None:
    """Delete molecules (root, steps, gates) without a digest."""
    from gastown_tui.ops.mol_spawn import burn as do_burn

    result = do_burn(cli.town(), cli.store(), list(molecule_ids), dry_run=dry_run)
    if cli.json_output:
        emit_json(result, schema=True)
        return
    for item in result["results"]:
        if item.get("error"):
            echo(f"✗ {item['molecule_id']}: {item['error']}", err=True)
        else:
            echo(f"🔥 {'Would burn' if dry_run else 'Burned'} {item['molecule_id']}: "
                       f"{item['deleted_count']} issue(s)")
    if result["failed_count"]:
        raise SystemExit(1)


@mol.command(name="show")
@click.argument("molecule_id")
@pass_cli
def show(cli: CliContext, molecule_id) -> None:
    """A molecule's root and steps."""
    store = cli.store()
    root = store.details(molecule_id)
    steps = [store.get(c) for c in store.descendants(molecule_id)]
    if cli.json_output:
        emit_json({"root": root, "steps": steps, "count": len(steps)}, schema=True)
        return
    echo(f"{root['id']} [{root['status']}] {root['title']}")
    for step in steps:
        mark = "✓" if step["status"] == "closed" else "○"
        echo(f"  {mark} {step['id']} [{step.get('issue_type')}] {step['title']}")


@mol.command(name="progress")
@click.argument("molecule_id")
@pass_cli
def progress(cli: CliContext, molecule_id) -> None:
    """How many of a molecule's steps are closed."""
    store = cli.store()
    root = store.get(molecule_id)
    steps = [store.get(c) for c in store.descendants(molecule_id)]
    steps = [s for s in steps if s.get("issue_type") != "gate"]
    done = sum(1 for s in steps if s["status"] == "closed")
    data = {"molecule_id": molecule_id, "molecule_title": root["title"], "total": len(steps),
            "completed": done, "in_progress": sum(1 for s in steps
                                                   if s["status"] == "in_progress"),
            "percent": int(100 * done / len(steps)) if steps else 100}
    if cli.json_output:
        emit_json(data, schema=True)
    else:
        echo(f"{molecule_id}: {done}/{len(steps)} steps ({data['percent']}%)")


@mol.command(name="ready")
@click.option("--gated", is_flag=True, help="Molecules a closed gate released.")
@pass_cli
def ready_gated(cli: CliContext, gated: bool) -> None:
    """Molecules ready for gate-resume dispatch (same as bd ready --gated)."""
    from gastown_tui.cli.bd_more import _ready_gated

    _ready_gated(cli, cli.store())


@mol.command(name="distill", context_settings={"ignore_unknown_options": True,
                                               "allow_extra_args": True})
@click.pass_context
def distill(ctx: click.Context) -> None:
    """Not built: write the formula TOML by hand (bd formula show <name> for the shape)."""
    raise click.ClickException("bd mol distill: extracting a formula from an epic is not "
                               "built here; write formulas/<name>.formula.toml by hand")


@click.command(name="cook")
@click.argument("formula")
@click.option("--var", "pairs", multiple=True, help="key=value: runtime mode (vars filled).")
@click.option("--mode", type=click.Choice(["compile", "runtime"]), default=None)
@click.option("--dry-run", is_flag=True, help="Show the steps only.")
@click.option("--persist", is_flag=True, help="Also store it as a proto molecule (template).")
@click.option("--force", is_flag=True, hidden=True)
@click.option("--prefix", "proto_prefix", default="", hidden=True)
@click.option("--search-path", multiple=True, hidden=True)
@pass_cli
def cook(cli: CliContext, formula, pairs, mode, dry_run, persist, force, proto_prefix,
         search_path) -> None:
    """Compile a formula: the resolved formula as JSON (compile mode keeps {{vars}})."""
    from gastown_tui.cli.formula_cmd import show_json
    from gastown_tui.ops.mol_spawn import cook as do_cook
    from gastown_tui.ops.mol_spawn import spawn

    values = _vars(pairs)
    runtime = mode == "runtime" or (mode is None and bool(values))
    resolved = do_cook(cli.town(), formula, values, rig=_rig_name(cli), runtime=runtime)
    data = show_json(resolved)
    if dry_run:
        echo(f"Dry run: {resolved.name} ({resolved.type}), {len(resolved.steps)} steps")
        for step in resolved.steps:
            echo(f"  - {step.id}: {step.title}")
        return
    if persist:
        result = spawn(cli.town(), cli.store(), formula, prefix=scope_prefix(cli),
                       values=values, rig=_rig_name(cli), require_all=runtime)
        store = cli.store()
        for bead_id in result.id_mapping.values():
            store.update(bead_id, changes={"is_template": True}, add_labels=["template"])
        out = {"proto_id": result.new_epic_id, "formula": resolved.name,
               "created": result.created, "variables": sorted(resolved.vars)}
        if cli.json_output:
            emit_json(out, schema=True)
        else:
            echo(f"✓ Cooked proto {result.new_epic_id} ({result.created} issues)")
        return
    click.echo(dumps(data))  # bd cook prints the compiled formula as JSON
