"""`gt formula list|show`: browse the formulas visible from a town and one of its rigs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gastown_tui.cli.common import echo
from gastown_tui.formulas.resolve import FormulaLibrary
from gastown_tui.formulas.resolved import ResolvedFormula
from gastown_tui.town.errors import GasTownError, NoTownError, UnknownRigError, ValidationError
from gastown_tui.town.layout import find_town_root


def _town_root(ctx: click.Context) -> Path | None:
    obj = ctx.obj
    if obj is not None and hasattr(obj, "town_or_none"):
        town = obj.town_or_none()
        return None if town is None else Path(town.root)
    try:  # called without the gt root group (tests, scripts): find the town the same way
        return find_town_root()
    except NoTownError:
        return None


def _library(ctx: click.Context, rig: str | None) -> FormulaLibrary:
    root = _town_root(ctx)
    # `gt --rig NAME formula ...` works too when the gt root group records a global --rig.
    rig = rig or getattr(ctx.obj, "rig_option", None)
    if rig is not None:
        if root is None:
            raise NoTownError(
                f"--rig {rig}: not inside a town", fix="run from inside a town or set GT_ROOT"
            )
        library = FormulaLibrary(root, rig)  # validates the name before it touches a path
        if not (root / rig).is_dir():
            raise UnknownRigError(f"no rig named {rig!r} in {root}", fix="gt rig list")
        return library
    return FormulaLibrary(root)


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(
                f"--var {pair!r}: expected KEY=VALUE", fix="e.g. --var issue=gt-a3f"
            )
        values[key.strip()] = value
    return values


def _extra_vars(args: list[str]) -> dict[str, str]:
    """Upstream's `--problem="..."` style: any other `--key=value` (or `--key value`) is a
    variable of the formula."""
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise click.UsageError(f"unexpected argument {arg!r}: variables are --key=value "
                                   "or --var key=value")
        key, sep, value = arg[2:].partition("=")
        if not sep:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise click.UsageError(f"--{key} needs a value (--{key}=VALUE)")
            value = args[i + 1]
            i += 1
        values[key] = value
        i += 1
    return values


def _first_line(text: str, limit: int = 72) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


rig_option = click.option("--rig", metavar="NAME", help="Also see the formulas of this rig.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("formula")
def formula() -> None:
    """Formulas: the workflow templates molecules are made from."""


@formula.command("list")
@rig_option
@json_option
@click.pass_context
def list_formulas(ctx: click.Context, rig: str | None, as_json: bool) -> None:
    """List the formulas visible here (rig, then town, then shipped)."""
    library = _library(ctx, rig)
    as_json = as_json or bool(getattr(ctx.obj, "json_output", False))
    rows: list[dict[str, Any]] = []
    for source in library.sources():
        try:
            model = library.load(source.name).model
            kind, description = model.type or "", _first_line(model.description)
        except GasTownError as exc:
            # One broken file must not hide the others; show it, with its error.
            kind, description = "invalid", str(exc)
        rows.append(
            {
                "name": source.name,
                "type": kind,
                "description": description,
                "source": source.tier,
                "path": str(source.path),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        echo("No formulas found.")
        return
    width = max(len(r["name"]) for r in rows)
    echo(f"{'NAME':<{width}}  {'TYPE':<9}  {'SOURCE':<7}  DESCRIPTION")
    for r in rows:
        echo(f"{r['name']:<{width}}  {r['type']:<9}  {r['source']:<7}  {r['description']}")


@formula.command("show")
@click.argument("name")
@click.option(
    "--var", "pairs", multiple=True, metavar="KEY=VALUE", help="Fill a variable (repeatable)."
)
@click.option("--resolve", "show_path", is_flag=True,
              help="Show the resolution path: every tier searched, the file that wins.")
@rig_option
@json_option
@click.pass_context
def show_formula(
    ctx: click.Context, name: str, pairs: tuple[str, ...], show_path: bool, rig: str | None,
    as_json: bool
) -> None:
    """Show a formula resolved: its variables and its steps in order, with their needs."""
    values = _parse_vars(pairs)
    library = _library(ctx, rig)
    if show_path and not as_json:
        winner = library.find(name)
        echo(f"Resolution of {name} (most specific first):")
        for tier, folder in library.search_path():
            path = folder / f"{name}.formula.toml"
            mark = "→" if path == winner.path else ("·" if path.is_file() else " ")
            state = "wins" if path == winner.path else ("shadowed" if path.is_file()
                                                          else "not there")
            echo(f"  {mark} {tier:<8} {path}  ({state})")
        echo("")
    as_json = as_json or bool(getattr(ctx.obj, "json_output", False))
    # Showing is for reading: required variables without a value stay as {{placeholders}}.
    resolved = library.resolve(name, values, require_all=False)
    for warning in resolved.warnings:
        echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(show_json(resolved), indent=2))
    else:
        echo(show_text(resolved))


def show_json(resolved: ResolvedFormula) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": resolved.name,
        "type": resolved.type,
        "description": resolved.description,
        "source": resolved.source,
        "path": resolved.path,
        "vars": {
            name: {"description": v.description, "required": v.required, "default": v.default}
            for name, v in resolved.vars.items()
        },
        "steps": [
            {"id": s.id, "title": s.title, "description": s.description, "needs": list(s.needs)}
            for s in resolved.steps
        ],
    }
    if resolved.type == "convoy":
        data["inputs"] = {
            name: {
                "description": i.description,
                "type": i.type,
                "required": i.required,
                "required_unless": list(i.required_unless),
                "default": i.default,
            }
            for name, i in resolved.inputs.items()
        }
        data["legs"] = [
            {"id": leg.id, "title": leg.title, "focus": leg.focus, "description": leg.description}
            for leg in resolved.legs
        ]
        syn = resolved.synthesis
        data["synthesis"] = (
            None
            if syn is None
            else {
                "title": syn.title,
                "description": syn.description,
                "depends_on": list(syn.depends_on),
            }
        )
    if resolved.type == "aspect":
        data["aspects"] = [a.model_dump() for a in resolved.aspects]
        data["advice"] = [a.model_dump(by_alias=True) for a in resolved.advice]
    return data


def show_text(resolved: ResolvedFormula) -> str:
    lines = [f"{resolved.name}  ({resolved.type}, {resolved.source}: {resolved.path})"]
    if resolved.description.strip():
        lines += ["", resolved.description.strip()]
    if resolved.vars:
        lines += ["", "Vars:"]
        for name, var in resolved.vars.items():
            if var.required:
                detail = "required"
            else:
                detail = f"default {json.dumps(var.default)}" if var.default is not None else ""
            value = resolved.values.get(name)
            shown = f" = {json.dumps(value)}" if value is not None else ""
            lines.append(f"  {name}{shown}  [{detail}]  {_first_line(var.description)}".rstrip())
    if resolved.inputs:
        lines += ["", "Inputs:"]
        for name, spec in resolved.inputs.items():
            if spec.required_unless:
                need = "required unless " + ", ".join(spec.required_unless)
            else:
                need = "required" if spec.required else "optional"
            lines.append(f"  {name}  [{need}]  {_first_line(spec.description)}")
    if resolved.steps:
        lines += ["", "Template:" if resolved.type == "expansion" else "Steps:"]
        for number, step in enumerate(resolved.steps, 1):
            needs = f"  (needs {', '.join(step.needs)})" if step.needs else ""
            lines.append(f"  {number:>2}. {step.id}: {step.display_title}{needs}")
    if resolved.legs:
        lines += ["", "Legs (parallel):"]
        lines += [f"  - {leg.id}: {leg.title or leg.id}  - {leg.focus}" for leg in resolved.legs]
    if resolved.synthesis is not None:
        deps = ", ".join(resolved.synthesis.depends_on) or "all legs"
        lines += ["", f"Synthesis: {resolved.synthesis.title} (after {deps})"]
    if resolved.advice:
        lines += ["", "Advice:"]
        for rule in resolved.advice:
            inserted = [f"before {s.id}" for s in rule.before_steps]
            inserted += [f"after {s.id}" for s in rule.after_steps]
            lines.append(f"  {rule.target or '(pointcuts)'}: {', '.join(inserted)}")
    if resolved.aspects:
        lines += ["", "Aspects (parallel):"]
        lines += [f"  - {a.id}: {a.title or a.id}" for a in resolved.aspects]
    return "\n".join(lines)


@formula.command("run", context_settings={"ignore_unknown_options": True,
                                          "allow_extra_args": True})
@click.argument("name")
@click.option("--var", "pairs", multiple=True, metavar="KEY=VALUE", help="Set a variable.")
@click.option("--dry-run", is_flag=True, help="Show the beads it would create; create nothing.")
@click.option("--no-sling", is_flag=True, help="Create the beads but sling nothing.")
@rig_option
@json_option
@click.pass_context
def run_formula(ctx: click.Context, name: str, pairs: tuple[str, ...], dry_run: bool,
                no_sling: bool, rig: str | None, as_json: bool) -> None:
    """Instantiate a workflow or convoy formula as beads in a rig and start its first work."""
    from gastown_tui.ops.formula_run import run

    cli = ctx.obj
    town = cli.town()
    rig_name = rig or cli.rig_option
    rig_info = town.rig(rig_name) if rig_name else town.rig_at(cli.cwd)
    if rig_info is None:
        raise UnknownRigError("which rig should the formula run in?",
                              fix="pass --rig NAME or run it inside a rig's directory")
    values = {**_extra_vars(ctx.args), **_parse_vars(pairs)}
    result = run(town, cli.store(), rig_info, name, values, dry_run=dry_run,
                 sling_roots=not no_sling)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
        return
    head = "Would create" if dry_run else f"Created convoy {result.convoy} with"
    echo(f"{head} {len(result.beads)} beads for {result.formula} ({result.type}) "
               f"in {result.rig}:")
    for item in result.beads:
        needs = f"  after {', '.join(item.needs)}" if item.needs else ""
        where = f"  → {item.slung_to}" if item.slung_to else ""
        echo(f"  {item.bead or '-':<12} {item.key}: {item.title}{needs}{where}")


@formula.command("status")
@click.argument("convoy_id")
@json_option
@click.pass_context
def molecule_status(ctx: click.Context, convoy_id: str, as_json: bool) -> None:
    """A formula run (its convoy) as a checklist of steps."""
    from gastown_tui.formulas.progress import format_checklist
    from gastown_tui.ops.formula_run import molecule_progress

    progress = molecule_progress(ctx.obj.store(), convoy_id)
    if as_json:
        click.echo(json.dumps({"done": progress.done, "total": progress.total,
                               "current": progress.current,
                               "items": [{"id": i.id, "title": i.title, "state": i.state}
                                         for i in progress.items]}, indent=2))
    else:
        echo(format_checklist(progress))
