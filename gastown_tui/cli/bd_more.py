"""bd verbs beyond the basics: ready, blocked, dep, label, comments, search, export, import."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.bd_group import bd, pass_cli, scope_prefix
from gastown_tui.cli.common import CliContext, bead_line, echo, emit_json, split_csv
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.progress import Progress


@bd.command()
@click.option("-n", "--limit", type=int, default=100, show_default=True, help="0 for all.")
@click.option("-s", "--sort", default="priority", show_default=True,
              type=click.Choice(["priority", "hybrid", "oldest"]))
@click.option("-a", "--assignee", default=None)
@click.option("-u", "--unassigned", is_flag=True)
@click.option("-t", "--type", "types", multiple=True)
@click.option("-l", "--label", "labels", multiple=True)
@click.option("--label-any", multiple=True)
@click.option("--exclude-label", multiple=True)
@click.option("--exclude-type", multiple=True)
@click.option("--parent", default=None)
@click.option("--include-deferred", is_flag=True)
@click.option("--include-ephemeral", is_flag=True)
@click.option("--claim", is_flag=True, help="Atomically claim the first ready bead.")
@click.option("--gated", is_flag=True,
              help="Molecules whose gate closed and whose next step is ready (gate resume).")
@click.option("--explain", is_flag=True, help="Why each bead is ready or blocked.")
@click.option("--mol", "molecule", default=None, help="Ready steps of this molecule.")
@click.option("--any-prefix", is_flag=True)
@pass_cli
def ready(cli: CliContext, limit, sort, assignee, unassigned, types, labels, label_any,
          exclude_label, exclude_type, parent, include_deferred, include_ephemeral, claim,
          gated, explain, molecule, any_prefix) -> None:
    """Beads ready to work on: open, unblocked, not deferred, not infrastructure."""
    store = cli.store()
    if gated:
        _ready_gated(cli, store)
        return
    if explain:
        if claim:
            raise click.UsageError("--claim cannot be combined with --explain")
        _ready_explain(cli, store, None if any_prefix else [scope_prefix(cli)])
        return
    if molecule:
        _ready_mol(cli, store, molecule)
        return
    prefixes = None if any_prefix else [scope_prefix(cli)]
    issues = store.ready(prefixes=prefixes, limit=0 if claim else limit, sort=sort,
                         assignee=assignee, unassigned=unassigned,
                         issue_types=split_csv(types) or None, labels=split_csv(labels),
                         label_any=split_csv(label_any), exclude_labels=split_csv(exclude_label),
                         exclude_types=split_csv(exclude_type), parent=parent,
                         include_deferred=include_deferred, include_ephemeral=include_ephemeral)
    if claim:
        for issue in issues:
            try:
                claimed = store.update(issue["id"], claim=True)
            except GasTownError:
                continue  # someone else took it between the query and the claim
            cli.log("bead_claimed", {"bead": claimed["id"]})
            if cli.json_output:
                emit_json(claimed, schema=True)
            else:
                echo(f"✓ Claimed {claimed['id']}: {claimed['title']}")
            return
        raise GasTownError("no ready work to claim", fix="see 'bd blocked' for what is waiting")
    if cli.json_output:
        emit_json(issues)
        return
    if not issues:
        echo("No ready work.")
    for issue in issues:
        echo(bead_line(issue))


def _ready_explain(cli: CliContext, store, prefixes) -> None:
    from gastown_tui.ops.bd_views import explain

    data = explain(store, prefixes)
    if cli.json_output:
        emit_json(data, schema=True)
        return
    echo(f"Ready ({data['summary']['total_ready']}):")
    for item in data["ready"]:
        echo(f"  {item['id']} [P{item.get('priority', 2)}] {item['title']}\n"
                   f"    Reason: {item['reason']}")
    echo(f"\nBlocked ({data['summary']['total_blocked']}):")
    for item in data["blocked"]:
        by = ", ".join(f"{b['id']} [{b['status']}]" for b in item["blocked_by"])
        echo(f"  {item['id']} {item['title']}\n    Blocked by: {by}")
    for cycle in data.get("cycles", []):
        echo(f"\n⚠ Cycle: {' → '.join(cycle)}")


def _ready_mol(cli: CliContext, store, molecule: str) -> None:
    """bd ready --mol: the molecule's steps ready now, with their parallel groups."""
    root = store.get(molecule)
    children = [c for c in store.descendants(molecule)]
    ready = {b["id"]: b for b in store.ready(limit=0, include_ephemeral=True,
                                             parent=molecule)}
    steps = [{"issue": ready[c], "parallel_info": None} for c in children if c in ready]
    data = {"molecule_id": molecule, "molecule_title": root["title"],
            "total_steps": len(children), "ready_steps": len(steps), "steps": steps,
            "parallel_groups": {"ready": [s["issue"]["id"] for s in steps]} if steps else {}}
    if cli.json_output:
        emit_json(data, schema=True)
        return
    echo(f"{molecule}: {len(steps)} of {len(children)} steps ready")
    for step in steps:
        echo(bead_line(step["issue"]))


def _ready_gated(cli: CliContext, store) -> None:
    """bd ready --gated (upstream's mol_ready_gated.go): {molecules, count}."""
    from gastown_tui.ops.gates import gate_ready_molecules

    molecules = gate_ready_molecules(store)
    if cli.json_output:
        emit_json({"molecules": molecules, "count": len(molecules)}, schema=True)
        return
    if not molecules:
        echo("No molecules ready for gate-resume dispatch")
        return
    echo(f"Molecules ready for gate-resume dispatch ({len(molecules)}):\n")
    for n, mol in enumerate(molecules, start=1):
        gate = mol["closed_gate"]
        echo(f"{n}. {mol['molecule_id']}: {mol['molecule_title']}\n"
                   f"   Gate closed: {gate['id']} ({gate.get('await_type', '')})\n"
                   f"   Ready step: {mol['ready_step']['id']} - {mol['ready_step']['title']}\n")
    echo("To dispatch a step: gt sling <step-id> <rig>")


@bd.command()
@click.option("--parent", default=None)
@click.option("--any-prefix", is_flag=True)
@pass_cli
def blocked(cli: CliContext, parent, any_prefix) -> None:
    """Beads that are blocked, with what blocks them."""
    store = cli.store()
    issues = store.blocked(prefixes=None if any_prefix else [scope_prefix(cli)], parent=parent)
    if cli.json_output:
        emit_json(issues)
        return
    if not issues:
        echo("Nothing is blocked.")
    for issue in issues:
        echo(f"{bead_line(issue)}\n    blocked by: {', '.join(issue['blocked_by'])}")


@bd.group()
def dep() -> None:
    """Dependencies between beads (A depends on B)."""


@dep.command(name="add")
@click.argument("issue_id")
@click.argument("depends_on", required=False)
@click.option("-t", "--type", "dep_type", default="blocks", show_default=True)
@click.option("--blocked-by", default=None)
@click.option("--depends-on", "depends_on_opt", default=None)
@click.option("--no-cycle-check", is_flag=True)
@pass_cli
def dep_add(cli: CliContext, issue_id, depends_on, dep_type, blocked_by, depends_on_opt,
            no_cycle_check) -> None:
    """Make ISSUE_ID depend on DEPENDS_ON."""
    target = depends_on or blocked_by or depends_on_opt
    if not target:
        raise click.UsageError("name the bead it depends on")
    result = cli.store().add_dependency(issue_id, target, dep_type,
                                        check_cycle=not no_cycle_check)
    cli.log("dependency_added", {"bead": issue_id, "depends_on": target, "type": dep_type})
    if cli.json_output:
        emit_json({**result, "status": "added"}, schema=True)
    else:
        echo(f"✓ {issue_id} now depends on {target} ({dep_type})")


@dep.command(name="tree")
@click.argument("issue_id")
@click.option("--direction", type=click.Choice(["down", "up", "both"]), default="down",
              show_default=True, help="down: what it depends on; up: what depends on it.")
@click.option("--reverse", is_flag=True, help="Same as --direction=up.")
@click.option("-d", "--max-depth", type=int, default=50, show_default=True)
@click.option("--status", default="", help="Only beads with this status (the root always).")
@click.option("--show-all-paths", is_flag=True, help="Repeat nodes reached twice.")
@click.option("--format", "fmt", type=click.Choice(["", "mermaid"]), default="")
@pass_cli
def dep_tree(cli: CliContext, issue_id, direction, reverse, max_depth, status,
             show_all_paths, fmt) -> None:
    """The dependency tree under (or above) a bead."""
    from gastown_tui.ops.bd_views import mermaid, tree

    nodes = tree(cli.store(), issue_id, direction="up" if reverse else direction,
                 max_depth=max_depth, status=status, all_paths=show_all_paths)
    if cli.json_output:
        emit_json(nodes)
        return
    if fmt == "mermaid":
        echo(mermaid(nodes))
        return
    for node in nodes:
        edge = f"({node['edge_from_parent']}) " if node.get("edge_from_parent") else ""
        more = " …" if node["truncated"] else ""
        echo("  " * node["depth"] + ("└─ " if node["depth"] else "") + edge
                   + bead_line(node) + more)


@dep.command(name="cycles")
@pass_cli
def dep_cycles(cli: CliContext) -> None:
    """Every cycle of blocking dependencies in the store."""
    from gastown_tui.ops.bd_views import cycles

    store = cli.store()
    found = cycles(store)
    if cli.json_output:
        emit_json([[store.get(i) for i in cycle] for cycle in found])
        return
    if not found:
        echo("✓ No dependency cycles")
    for cycle in found:
        echo("⚠ " + " → ".join([*cycle, cycle[0]]))


@dep.command(name="remove")
@click.argument("issue_id")
@click.argument("depends_on")
@pass_cli
def dep_remove(cli: CliContext, issue_id, depends_on) -> None:
    """Remove the dependency of ISSUE_ID on DEPENDS_ON."""
    result = cli.store().remove_dependency(issue_id, depends_on)
    cli.log("dependency_removed", {"bead": issue_id, "depends_on": depends_on})
    if cli.json_output:
        emit_json(result, schema=True)
    else:
        echo(f"✓ Removed {issue_id} → {depends_on}")


dep.add_command(dep_remove, name="rm")


@dep.command(name="list")
@click.argument("ids", nargs=-1, required=True)
@click.option("--direction", type=click.Choice(["down", "up"]), default="down", show_default=True)
@click.option("-t", "--type", "dep_type", default=None)
@pass_cli
def dep_list(cli: CliContext, ids, direction, dep_type) -> None:
    """What beads depend on (down) or what depends on them (up)."""
    store = cli.store()
    if len(ids) > 1 and direction == "down":
        records = [r for i in ids for r in store.dependency_records(i)
                   if dep_type is None or r["type"] == dep_type]
        if cli.json_output:
            emit_json(records)
        else:
            for r in records:
                echo(f"{r['issue_id']} → {r['depends_on_id']} ({r['type']})")
        return
    details = store.details(ids[0])
    key = "dependencies" if direction == "down" else "dependents"
    items = [d for d in details.get(key, []) if dep_type is None or d["dependency_type"] == dep_type]
    if cli.json_output:
        emit_json(items)
        return
    for item in items:
        echo(f"{item['dependency_type']}: {bead_line(item)}")


@bd.group()
def label() -> None:
    """Labels on beads."""


@label.command(name="add")
@click.argument("issue_id")
@click.argument("labels", nargs=-1, required=True)
@pass_cli
def label_add(cli: CliContext, issue_id, labels) -> None:
    if not split_csv(labels):
        raise click.UsageError("a label cannot be empty: bd label add ID LABEL")
    store = cli.store()
    for lab in split_csv(labels):
        store.add_label(issue_id, lab)
    cli.log("label_added", {"bead": issue_id, "labels": split_csv(labels)})
    _labels_out(cli, store, issue_id)


@label.command(name="remove")
@click.argument("issue_id")
@click.argument("labels", nargs=-1, required=True)
@pass_cli
def label_remove(cli: CliContext, issue_id, labels) -> None:
    store = cli.store()
    store.get(issue_id)
    for lab in split_csv(labels):
        store.remove_label(issue_id, lab)
    cli.log("label_removed", {"bead": issue_id, "labels": split_csv(labels)})
    _labels_out(cli, store, issue_id)


@label.command(name="list")
@click.argument("issue_id")
@pass_cli
def label_list(cli: CliContext, issue_id) -> None:
    store = cli.store()
    store.get(issue_id)
    _labels_out(cli, store, issue_id)


def _labels_out(cli: CliContext, store, issue_id: str) -> None:
    labels = store.labels_of(issue_id)
    if cli.json_output:
        emit_json(labels)
    else:
        echo(f"{issue_id}: {', '.join(labels) or '(no labels)'}")


@bd.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-a", "--author", default=None, help="Author of an added comment.")
@click.option("-f", "--file", "file_", type=click.File("r"), default=None,
              help="Read the added comment from a file.")
@pass_cli
def comments(cli: CliContext, args: tuple[str, ...], author, file_) -> None:
    """List a bead's comments (`bd comments ID`) or add one (`bd comments add ID TEXT`)."""
    store = cli.store()
    if args[0] == "add":
        if len(args) < 2:
            raise click.UsageError("usage: bd comments add ID TEXT")
        body = file_.read() if file_ is not None else " ".join(args[2:])
        comment = store.add_comment(args[1], body, author=author)
        cli.log("commented", {"bead": args[1]})
        if cli.json_output:
            emit_json(comment, schema=True)
        else:
            echo(f"✓ Comment added to {args[1]}")
        return
    store.get(args[0])
    items = store.comments_of(args[0])
    if cli.json_output:
        emit_json(items)
    else:
        for c in items:
            echo(f"{c['created_at']} {c['author']}: {c['text']}")


@bd.command()
@click.argument("query")
@click.option("--open-only", is_flag=True)
@click.option("-n", "--limit", type=int, default=50, show_default=True)
@click.option("--any-prefix", is_flag=True)
@pass_cli
def search(cli: CliContext, query, open_only, limit, any_prefix) -> None:
    """Find beads whose id, title or description contains QUERY."""
    issues = cli.store().search(query, prefixes=None if any_prefix else [scope_prefix(cli)],
                                include_closed=not open_only, limit=limit)
    if cli.json_output:
        emit_json(issues)
        return
    if not issues:
        echo("No issues found.")
    for issue in issues:
        echo(bead_line(issue))


@bd.command(name="export")
@click.option("-o", "--output", default=None, help="Write to FILE (atomically) instead of stdout.")
@click.option("--all", "include_all", is_flag=True, help="Include wisps, templates and infra.")
@click.option("--include-infra", is_flag=True)
@click.option("--any-prefix", is_flag=True, help="Every rig and the town.")
@pass_cli
def export_cmd(cli: CliContext, output, include_all, include_infra, any_prefix) -> None:
    """Write bd JSONL: one issue per line with labels, dependencies and comments."""
    from gastown_tui.town.store.jsonl import export_to

    store = cli.store()
    prefixes = None if any_prefix else [scope_prefix(cli)]
    if output is None:
        # stdout may be a terminal: DEL, C1 controls and the like go out as \u escapes (the
        # same values); a file written with -o keeps bd's exact bytes.
        # Progress on stderr only while the records go to a file or pipe, not the same screen.
        with Progress.for_cli(json_output=cli.json_output or sys.stdout.isatty()) as progress:
            count = export_to(store, _JsonTextOut(sys.stdout), prefixes=prefixes,
                              include_all=include_all, include_infra=include_infra,
                              progress=progress)
        _say_scope(store, prefixes, count)
        return
    progress = Progress.for_cli(json_output=cli.json_output)
    import os
    import tempfile
    from pathlib import Path

    target = Path(output)
    from gastown_tui.town.jsonfile import file_mode_for

    mode = file_mode_for(target)  # the umask's mode, not mkstemp's 0600
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    os.fchmod(fd, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            count = export_to(store, fh, prefixes=prefixes, include_all=include_all,
                              include_infra=include_infra, progress=progress)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        progress.finish()
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if cli.json_output:
        emit_json({"path": str(target), "issues": count}, schema=True)
    else:
        echo(f"✓ Exported {count} issues to {target}", err=True)
        _say_scope(store, prefixes, count)


class _JsonTextOut:
    def __init__(self, out) -> None:
        self.out = out

    def write(self, text: str) -> int:
        from gastown_tui.town.safe_text import json_text

        return self.out.write(json_text(text))


def _say_scope(store, prefixes: list[str] | None, count: int) -> None:
    """On stderr, what was exported and what was not: an export that quietly left out
    another prefix's beads (an import at the town root, say) looks like a lost store."""
    if prefixes is None:
        return
    others = {row[0]: row[1] for row in store.conn.read(
        "SELECT prefix, count(*) FROM issues GROUP BY prefix")
        if row[0] not in prefixes}
    if others:
        listed = ", ".join(f"{p}- ({n})" for p, n in sorted(others.items()))
        echo(f"note: exported {count} issue(s) of prefix {', '.join(prefixes)}- (this "
                   f"directory's scope); not exported: {listed}. Everything: bd export "
                   "--any-prefix", err=True)


@bd.command(name="import")
@click.argument("source", default="-")
@click.option("--dry-run", is_flag=True)
@pass_cli
def import_cmd(cli: CliContext, source: str, dry_run: bool) -> None:
    """Import bd JSONL (a file, or - for stdin) or a Gas Town backup folder. Bad lines are
    reported with their number and the rest is imported; running it twice changes nothing."""
    from gastown_tui.town.store.jsonl import import_jsonl

    store = cli.store()
    with Progress.for_cli(json_output=cli.json_output) as progress:
        if source == "-":
            report = import_jsonl(store, "-", dry_run=dry_run, lines=sys.stdin.buffer,
                                  progress=progress)
        else:
            report = import_jsonl(store, source, dry_run=dry_run, progress=progress)
    if not dry_run:
        cli.log("import", {"source": report.source, "created": len(report.created),
                           "updated": len(report.updated), "errors": len(report.errors)})
    for file_label, number, problem in report.errors:
        echo(f"warning: {file_label}:{number}: {problem}", err=True)
    for dep_problem in report.skipped_dependencies:
        echo(f"warning: dependency skipped: {dep_problem}", err=True)
    if report.dangling_dependencies:
        shown = ", ".join(report.dangling_dependencies[:3])
        more = f" and {len(report.dangling_dependencies) - 3} more" \
            if len(report.dangling_dependencies) > 3 else ""
        echo(f"note: kept {len(report.dangling_dependencies)} dependencies whose target is "
                   f"not in this store ({shown}{more}): bd show lists them as missing, they "
                   "block nothing, and bd export writes them back", err=True)
    if cli.json_output:
        emit_json(report.as_json(), schema=True)
    else:
        prefix = "(dry run) " if dry_run else ""
        echo(f"{prefix}Imported from {report.source}: {len(report.created)} created, "
                   f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
                   f"{len(report.stale_skipped)} stale skipped, {len(report.errors)} bad lines")
    if report.errors:
        raise click.exceptions.Exit(3)
