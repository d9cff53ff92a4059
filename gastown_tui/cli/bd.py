"""`bd`: the beads command line (bd's subset that Gas Town and its agents use)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from gastown_tui.cli import bd_agent, bd_more  # noqa: F401  (their verbs join the group)
from gastown_tui.cli.bd_group import GLOBAL_FLAGS, bd, pass_cli, scope_prefix
from gastown_tui.cli.common import (
    CliContext,
    bead_line,
    echo,
    emit_json,
    extract_global_flags,
    run,
    split_csv,
)
from gastown_tui.town.errors import GasTownError


@bd.command()
@click.argument("title_words", nargs=-1)
@click.option("--title", "title_opt", help="Title (instead of the positional words).")
@click.option("-t", "--type", "issue_type", default="task", show_default=True)
@click.option("-p", "--priority", default="2", show_default=True, help="0-4 or P0-P4.")
@click.option("-d", "--description", default=None)
@click.option("--body-file", type=click.File("r"), help="Read the description from a file (- for stdin).")
@click.option("-a", "--assignee", default="")
@click.option("-l", "--labels", multiple=True, help="Comma-separated labels.")
@click.option("--parent", default=None, help="Make a child of this bead (id P.N).")
@click.option("--deps", multiple=True, help="id, blocks:X, depends-on:X, discovered-from:X ...")
@click.option("--id", "bead_id", default=None, help="Explicit id.")
@click.option("--ephemeral", is_flag=True, help="A wisp (<prefix>-wisp-...).")
@click.option("--defer", default=None, help="Hide from ready work until this RFC3339 time.")
@click.option("--due", default=None)
@click.option("--notes", default=None)
@click.option("--design", default=None, help="Design notes (structured analysis).")
@click.option("--acceptance", default=None, help="Acceptance criteria.")
@click.option("--prefix", "prefix_opt", default=None,
              help="Create under this prefix (hq or hq- for the town) instead of the scope's.")
@click.option("--silent", is_flag=True, help="Print only the new id.")
@pass_cli
def create(cli: CliContext, title_words: tuple[str, ...], title_opt: str | None, issue_type: str,
           priority: str, description: str | None, body_file, assignee: str,
           labels: tuple[str, ...], parent: str | None, deps: tuple[str, ...],
           bead_id: str | None, ephemeral: bool, defer: str | None, due: str | None,
           notes: str | None, design: str | None, acceptance: str | None,
           prefix_opt: str | None, silent: bool) -> None:
    """Create a bead (alias: new). In a rig it gets the rig's prefix; --rig R files it in
    another rig, --prefix hq in the town."""
    title = title_opt or " ".join(title_words)
    if not title.strip():
        raise click.UsageError('a bead needs a title: bd create "title" (or --title)')
    if body_file is not None:
        description = body_file.read()
    dep_pairs: list[tuple[str, str]] = []
    for spec in split_csv(deps):
        kind, _, target = spec.partition(":")
        if not target:
            dep_pairs.append(("blocks", kind))
        elif kind == "blocks":
            dep_pairs.append(("blocks-reverse", target))
        elif kind in ("depends-on", "blocked-by"):
            dep_pairs.append(("blocks", target))
        else:
            dep_pairs.append((kind, target))
    fields = {k: v for k, v in {"defer_until": defer, "due_at": due, "notes": notes,
                                "design": design, "acceptance_criteria": acceptance}.items() if v}
    prefix = scope_prefix(cli)
    if prefix_opt:
        prefix = prefix_opt.strip().rstrip("-")
        known = cli.town().prefixes()
        if prefix not in known:
            raise click.UsageError(f"unknown prefix {prefix_opt!r}: this town has "
                                   f"{', '.join(sorted(known))} (see gt rig list)")
    store = cli.store()
    issue = store.create(title, prefix=prefix, description=description or "",
                         issue_type=issue_type, priority=priority, assignee=assignee,
                         labels=split_csv(labels), parent=parent, deps=dep_pairs,
                         bead_id=bead_id, ephemeral=ephemeral, fields=fields)
    cli.log("bead_created", {"bead": issue["id"], "title": issue["title"]})
    if cli.json_output:
        emit_json(issue, schema=True)
    elif silent:
        echo(issue["id"])
    else:
        echo(f"✓ Created issue: {issue['id']}\n  Title: {issue['title']}\n"
                   f"  Priority: P{issue['priority']}\n  Status: {issue['status']}")


@bd.command(name="list")
@click.option("-s", "--status", "statuses", multiple=True, help="Comma-separated statuses.")
@click.option("--all", "include_all", is_flag=True, help="Include closed and pinned beads.")
@click.option("-t", "--type", "types", multiple=True)
@click.option("-a", "--assignee", default=None)
@click.option("--no-assignee", is_flag=True)
@click.option("-l", "--label", "labels", multiple=True, help="Must have all of these.")
@click.option("--label-any", multiple=True)
@click.option("--exclude-label", multiple=True)
@click.option("--parent", default=None)
@click.option("--id", "ids", multiple=True)
@click.option("-p", "--priority", type=int, default=None)
@click.option("--include-infra", is_flag=True, help="Include agent, rig, role and message beads.")
@click.option("-n", "--limit", type=int, default=50, show_default=True, help="0 for all.")
@click.option("--sort", default="priority", show_default=True)
@click.option("--flat", is_flag=True, help="Accepted for compatibility; output is always flat.")
@click.option("--ready", "ready_only", is_flag=True, help="Only ready work.")
@click.option("--any-prefix", is_flag=True, help="Every rig and the town, not just this scope.")
@pass_cli
def list_cmd(cli: CliContext, statuses, include_all, types, assignee, no_assignee, labels,
             label_any, exclude_label, parent, ids, priority, include_infra, limit, sort, flat,
             ready_only, any_prefix) -> None:
    """List beads (open and in progress by default)."""
    store = cli.store()
    prefixes = None if (any_prefix or ids) else [scope_prefix(cli)]
    if ready_only:
        issues = store.ready(prefixes=prefixes, limit=limit)
    else:
        issues = store.list_issues(
            prefixes=prefixes, statuses=split_csv(statuses) or None, include_all=include_all,
            issue_types=split_csv(types) or None, assignee=assignee, no_assignee=no_assignee,
            labels=split_csv(labels), label_any=split_csv(label_any),
            exclude_labels=split_csv(exclude_label), parent=parent, ids=split_csv(ids) or None,
            priority=priority, include_infra=include_infra or bool(split_csv(labels)),
            limit=limit, sort=sort)
    if cli.json_output:
        emit_json(issues)
        return
    if not issues:
        echo("No issues found.")
    for issue in issues:
        echo(bead_line(issue))


@bd.command()
@click.argument("ids", nargs=-1, required=True)
@pass_cli
def show(cli: CliContext, ids: tuple[str, ...]) -> None:
    """Show beads with their dependencies, dependents and comments."""
    store = cli.store()
    details = [store.details(bead_id) for bead_id in ids]
    if cli.json_output:
        emit_json(details)
        return
    for d in details:
        echo(bead_line(d))
        for key in ("created_at", "updated_at", "closed_at", "close_reason", "assignee", "owner"):
            if d.get(key):
                echo(f"  {key}: {d[key]}")
        if d.get("description"):
            echo("\n" + "\n".join("  " + line for line in d["description"].splitlines()))
        for key, heading in (("design", "DESIGN"), ("acceptance_criteria", "ACCEPTANCE CRITERIA"),
                             ("notes", "NOTES")):
            if d.get(key):
                echo(f"\n  {heading}\n" + "\n".join("  " + line
                                                         for line in d[key].splitlines()))
        if d.get("dependencies") or d.get("dependents") or d.get("comments"):
            echo("")
        for dep in d.get("dependencies", []):
            echo(f"  → {dep['dependency_type']}: {dep['id']} [{dep['status']}] {dep['title']}")
        for dep in d.get("dependents", []):
            echo(f"  ← {dep['dependency_type']}: {dep['id']} [{dep['status']}] {dep['title']}")
        for c in d.get("comments", []):
            echo(f"  💬 {c['author']} {c['created_at']}: {c['text']}")
        echo("")


@bd.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("-s", "--status", default=None)
@click.option("--claim", is_flag=True, help="Atomically take the bead (open → in_progress, you).")
@click.option("-a", "--assignee", default=None)
@click.option("--title", default=None)
@click.option("-d", "--description", default=None)
@click.option("--notes", default=None)
@click.option("--append-notes", default=None)
@click.option("--design", default=None, help="Design notes (structured analysis).")
@click.option("--acceptance", default=None, help="Acceptance criteria.")
@click.option("--add-label", multiple=True)
@click.option("--remove-label", multiple=True)
@click.option("--set-labels", default=None, help="Replace all labels (comma-separated).")
@click.option("-p", "--priority", default=None)
@click.option("-t", "--type", "issue_type", default=None)
@click.option("--defer", default=None)
@click.option("--due", default=None)
@click.option("--metadata", default=None, help="JSON object.")
@click.option("--set-metadata", "set_metadata", multiple=True, help="key=value into metadata.")
@click.option("--unset-metadata", "unset_metadata", multiple=True, help="Drop a metadata key.")
@click.option("--parent", default=None, help="New parent bead ('' removes the parent).")
@click.option("--ephemeral", is_flag=True, help="Make it a wisp (not exported, prunable).")
@click.option("--persistent", is_flag=True, help="Make a wisp permanent.")
@pass_cli
def update(cli: CliContext, ids, status, claim, assignee, title, description, notes, append_notes,
           design, acceptance, add_label, remove_label, set_labels, priority, issue_type, defer,
           due, metadata, set_metadata, unset_metadata, parent, ephemeral, persistent) -> None:
    """Update beads."""
    if ephemeral and persistent:
        raise click.UsageError("--ephemeral and --persistent contradict each other")
    changes = {k: v for k, v in {
        "status": status, "assignee": assignee, "title": title, "description": description,
        "notes": notes, "design": design, "acceptance_criteria": acceptance,
        "priority": priority, "issue_type": issue_type, "defer_until": defer,
        "due_at": due, "metadata": metadata}.items() if v is not None}
    if ephemeral or persistent:
        changes["ephemeral"] = bool(ephemeral)
    store = cli.store()
    out = []
    for bead_id in ids:
        mine = dict(changes)
        if set_metadata or unset_metadata:
            from gastown_tui.ops.bd_edits import merged_metadata

            mine["metadata"] = merged_metadata(store.get(bead_id), set_metadata, unset_metadata)
        out.append(store.update(bead_id, changes=mine, append_notes=append_notes,
                                add_labels=split_csv(add_label),
                                remove_labels=split_csv(remove_label),
                                set_labels=split_csv([set_labels]) if set_labels is not None
                                else None, claim=claim))
    if parent is not None:
        from gastown_tui.ops.bd_edits import reparent

        out = [reparent(store, bead_id, parent) for bead_id in ids]
    cli.log("bead_updated", {"beads": [i["id"] for i in out],
                             "fields": sorted(changes) + (["claim"] if claim else [])})
    if cli.json_output:
        emit_json(out)
    else:
        for issue in out:
            echo(f"✓ Updated {issue['id']}: {issue['title']}")


@bd.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("-r", "--reason", "reasons", multiple=True, help="One per id, or one for all.")
@click.option("-m", "--message", "--resolution", "--comment", "alias_reasons", multiple=True,
              hidden=True)
@click.option("--reason-file", type=click.File("r"), default=None,
              help="Read the reason from a file (- for stdin).")
@click.option("-f", "--force", is_flag=True, help="Close despite open children or blockers.")
@click.option("--continue", "advance", is_flag=True,
              help="Go on to the molecule's next step (claimed unless --no-auto).")
@click.option("--no-auto", is_flag=True, help="With --continue: show it, do not claim it.")
@click.option("--suggest-next", is_flag=True, help="Show what closing this unblocked.")
@click.option("--claim-next", is_flag=True, help="Claim the next ready bead.")
@click.option("--session", default=None, help="The runtime session closing it.")
@pass_cli
def close(cli: CliContext, ids, reasons, alias_reasons, reason_file, force, advance, no_auto,
          suggest_next, claim_next, session) -> None:
    """Close beads (and land convoys whose work is all closed)."""
    from gastown_tui.ops import bd_views
    from gastown_tui.ops import beads as bead_ops

    reasons = list(reasons) + list(alias_reasons)
    if reason_file is not None:
        reasons.append(reason_file.read().strip())
    if (advance or suggest_next) and len(ids) > 1:
        raise click.UsageError("--continue and --suggest-next work when closing a single issue")
    store = cli.store()
    closed, landed = bead_ops.close(cli.town(), store, list(ids), reasons=reasons, force=force)
    import os

    session = session or os.environ.get("CLAUDE_SESSION_ID", "")
    if session:  # which runtime session closed it (bd's closed_by_session)
        closed = [store.update(issue["id"], changes={"closed_by_session": session})
                  for issue in closed]
    extra: dict = {}
    if suggest_next:
        extra["unblocked"] = bd_views.newly_unblocked(store, closed[0]["id"])
    if advance:
        result = bd_views.advance(store, closed[0]["id"], claim=not no_auto)
        if result is not None:
            extra["continue"] = result
    if claim_next and not advance:
        for issue in store.ready(prefixes=[scope_prefix(cli)], limit=0):
            try:
                extra["claimed"] = store.update(issue["id"], claim=True)
                break
            except GasTownError:
                continue
    if cli.json_output:
        emit_json({"closed": closed, **extra} if extra else closed)
        return
    for issue in closed:
        echo(f"✓ Closed {issue['id']}: {issue.get('close_reason', '')}")
    for convoy in landed:
        echo(f"🚚 Convoy landed: {convoy['id']} {convoy['title']}")
    if extra.get("unblocked"):
        echo("\nNewly unblocked:")
        for issue in extra["unblocked"]:
            echo(f"  • {issue['id']}: {issue['title']} (P{issue.get('priority', 2)})")
    step = extra.get("continue")
    if step:
        if step["molecule_complete"]:
            echo(f"\n✓ Molecule {step['molecule_id']} complete")
        elif step.get("next_step"):
            verb = "Claimed" if step["auto_advanced"] else "Next"
            echo(f"\n→ {verb} step: {step['next_step']['id']}: "
                       f"{step['next_step']['title']}")
        else:
            echo("\nNo step is ready yet: the rest wait on others")
    if extra.get("claimed"):
        echo(f"✓ Auto-claimed next ready issue: {extra['claimed']['id']}")


@bd.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("--reason", default=None)
@pass_cli
def reopen(cli: CliContext, ids, reason) -> None:
    """Reopen closed beads."""
    from gastown_tui.ops import beads as bead_ops

    out = bead_ops.reopen(cli.town(), cli.store(), list(ids), reason=reason)
    if cli.json_output:
        emit_json(out)
    else:
        for issue in out:
            echo(f"↻ Reopened {issue['id']}: {issue['title']}")


def _make_ctx(args: list[str]) -> tuple[list[str], CliContext]:
    rest, found = extract_global_flags(args, GLOBAL_FLAGS)
    import os

    env_json = os.environ.get("BD_JSON", "").lower() in ("1", "true", "yes")
    town = found.get("--town")
    if not town and found.get("--db"):
        town = str(Path(found["--db"]).resolve().parent.parent)
    return rest, CliContext(town_option=town, json_output=bool(found.get("--json")) or env_json,
                            actor=found.get("--actor"), rig_option=found.get("--rig"))


def main(argv: Sequence[str] | None = None) -> int:
    code = run(bd, argv, _make_ctx, "bd")
    if argv is None:
        sys.exit(code)
    return code
