"""More of bd's verbs agents use (upstream beads' children, count, status/stats, delete,
defer/undefer, edit, epic, q, kv, where, version, doctor, dep tree/cycles), loaded only when
one of them runs."""

from __future__ import annotations

import click

from gastown_tui.cli.bd_group import pass_cli, scope_prefix
from gastown_tui.cli.common import CliContext, bead_line, echo, emit_json, split_csv


def _prefixes(cli: CliContext, any_prefix: bool) -> list[str] | None:
    return None if any_prefix else [scope_prefix(cli)]


@click.command(name="children")
@click.argument("parent_id")
@pass_cli
def children(cli: CliContext, parent_id: str) -> None:
    """Every child bead of a parent, closed ones too (bd list --parent P --status all)."""
    store = cli.store()
    store.get(parent_id)
    issues = store.list_issues(parent=parent_id, include_all=True, include_infra=True,
                               limit=0, sort="oldest")
    if cli.json_output:
        emit_json(issues)
        return
    if not issues:
        echo(f"No children of {parent_id}.")
    for issue in issues:
        echo(bead_line(issue))


_GROUPS = {"by_status": "status", "by_priority": "priority", "by_type": "issue_type",
           "by_assignee": "assignee"}


@click.command(name="count")
@click.option("-s", "--status", "statuses", multiple=True)
@click.option("-p", "--priority", type=int, default=None)
@click.option("-a", "--assignee", default=None)
@click.option("-t", "--type", "types", multiple=True)
@click.option("-l", "--label", "labels", multiple=True)
@click.option("--label-any", multiple=True)
@click.option("--no-assignee", is_flag=True)
@click.option("--all", "include_all", is_flag=True, help="Closed and pinned beads too.")
@click.option("--by-status", is_flag=True)
@click.option("--by-priority", is_flag=True)
@click.option("--by-type", is_flag=True)
@click.option("--by-assignee", is_flag=True)
@click.option("--by-label", is_flag=True)
@click.option("--any-prefix", is_flag=True)
@pass_cli
def count(cli: CliContext, statuses, priority, assignee, types, labels, label_any, no_assignee,
          include_all, by_status, by_priority, by_type, by_assignee, by_label,
          any_prefix) -> None:
    """Count beads matching filters: {count}, or {total, groups} with --by-<field>."""
    store = cli.store()
    issues = store.list_issues(
        prefixes=_prefixes(cli, any_prefix), statuses=split_csv(statuses) or None,
        include_all=include_all or bool(split_csv(statuses)), issue_types=split_csv(types) or
        None, assignee=assignee, no_assignee=no_assignee, labels=split_csv(labels),
        label_any=split_csv(label_any), priority=priority, include_ephemeral=False, limit=0,
        counts=False)
    chosen = [name for name, on in (("by_status", by_status), ("by_priority", by_priority),
                                    ("by_type", by_type), ("by_assignee", by_assignee),
                                    ("by_label", by_label)) if on]
    if len(chosen) > 1:
        raise click.UsageError("pick one --by-<field>")
    if not chosen:
        if cli.json_output:
            emit_json({"count": len(issues)}, schema=True)
        else:
            echo(len(issues))
        return
    groups: dict[str, int] = {}
    for issue in issues:
        if chosen[0] == "by_label":
            keys = issue.get("labels") or ["(none)"]
        else:
            keys = [str(issue.get(_GROUPS[chosen[0]], "") or "(none)")]
        for key in keys:
            groups[key] = groups.get(key, 0) + 1
    out = [{"group": k, "count": v} for k, v in sorted(groups.items())]
    if cli.json_output:
        emit_json({"total": len(issues), "groups": out}, schema=True)
        return
    echo(f"Total: {len(issues)}\n")
    for group in out:
        echo(f"{group['group']}: {group['count']}")


@click.command(name="status")
@click.option("--all", "include_all", is_flag=True, hidden=True)
@click.option("--assigned", is_flag=True, help="Only beads assigned to you.")
@click.option("--no-activity", is_flag=True, help="Skip the last day's activity.")
@click.option("--any-prefix", is_flag=True)
@pass_cli
def status(cli: CliContext, include_all, assigned, no_activity, any_prefix) -> None:
    """The store at a glance: counts by state, ready work, lead time, the last day's activity
    (alias: stats)."""
    from gastown_tui.ops import bd_views

    store = cli.store()
    summary = bd_views.statistics(store, _prefixes(cli, any_prefix))
    if assigned:
        mine = store.list_issues(prefixes=_prefixes(cli, any_prefix), assignee=store.actor,
                                 limit=0, counts=False)
        summary["assigned_to_me"] = len(mine)
    out = {"summary": summary}
    if not no_activity:
        out["recent_activity"] = bd_views.recent_activity(store)
    if cli.json_output:
        emit_json(out, schema=True)
        return
    echo(f"Issues: {summary['total_issues']} total, {summary['open_issues']} open, "
               f"{summary['in_progress_issues']} in progress, {summary['blocked_issues']} "
               f"blocked, {summary['closed_issues']} closed")
    echo(f"Ready: {summary['ready_issues']}  Deferred: {summary['deferred_issues']}  "
               f"Pinned: {summary['pinned_issues']}  Epics ready to close: "
               f"{summary['epics_eligible_for_closure']}")
    echo(f"Average lead time: {summary['average_lead_time_hours']}h")
    if "recent_activity" in out:
        act = out["recent_activity"]
        echo(f"Last 24h: {act['issues_created']} created, {act['issues_closed']} "
                   f"closed, {act['issues_updated']} updated")


@click.command(name="delete")
@click.argument("ids", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Delete (without it: a preview).")
@click.option("--cascade", is_flag=True, help="Delete their dependents too.")
@click.option("--dry-run", is_flag=True)
@click.option("--from-file", type=click.File("r"), default=None, help="Ids, one per line.")
@pass_cli
def delete(cli: CliContext, ids, force, cascade, dry_run, from_file) -> None:
    """Delete beads for good, with their labels, comments and links."""
    from gastown_tui.ops.bd_edits import delete as do_delete

    wanted = list(ids)
    if from_file is not None:
        wanted += [line.strip() for line in from_file if line.strip()]
    if not wanted:
        raise click.UsageError("name the beads to delete")
    result = do_delete(cli.store(), wanted, cascade=cascade, force=force, dry_run=dry_run)
    if not result.get("dry_run"):
        cli.log("beads_deleted", {"beads": result["deleted"]})
    if cli.json_output:
        emit_json(result, schema=True)
        return
    if result.get("dry_run"):
        echo(f"Would delete {result['deleted_count']} bead(s): "
                   f"{', '.join(result['deleted'])}")
        if result["orphaned_issues"]:
            echo(f"  ⚠ would orphan: {', '.join(result['orphaned_issues'])}")
        echo("To proceed: bd delete " + " ".join(wanted) + (" --cascade" if cascade
                                                                   else "") + " --force")
        return
    echo(f"✓ Deleted {result['deleted_count']} issue(s)\n  Removed "
               f"{result['dependencies_removed']} dependency link(s)")
    if result["orphaned_issues"]:
        echo(f"  ⚠ Orphaned {len(result['orphaned_issues'])} issue(s): "
                   f"{', '.join(result['orphaned_issues'])}")


@click.command(name="defer")
@click.argument("ids", nargs=-1, required=True)
@click.option("--until", default="", help="+1h, +3d, tomorrow, a date or an RFC3339 time.")
@pass_cli
def defer(cli: CliContext, ids, until) -> None:
    """Put beads on ice (status deferred, hidden from bd ready until --until)."""
    from gastown_tui.ops.bd_edits import defer as do_defer

    out = do_defer(cli.store(), list(ids), until)
    cli.log("bead_deferred", {"beads": [b["id"] for b in out], "until": until})
    if cli.json_output:
        emit_json(out)
        return
    for bead in out:
        echo(f"❄ Deferred {bead['id']}" + (f" until {bead['defer_until']}"
                                                 if bead.get("defer_until") else ""))


@click.command(name="undefer")
@click.argument("ids", nargs=-1, required=True)
@pass_cli
def undefer(cli: CliContext, ids) -> None:
    """Bring deferred beads back (open, no defer time)."""
    from gastown_tui.ops.bd_edits import undefer as do_undefer

    out = do_undefer(cli.store(), list(ids))
    if cli.json_output:
        emit_json(out)
        return
    for bead in out:
        echo(f"✓ Undeferred {bead['id']}")


_EDIT_FIELDS = {"title": "title", "description": "description", "design": "design",
                "notes": "notes", "acceptance": "acceptance_criteria"}


@click.command(name="edit")
@click.argument("bead_id")
@click.option("--title", "field_title", is_flag=True)
@click.option("--description", "field_description", is_flag=True, help="(the default)")
@click.option("--design", "field_design", is_flag=True)
@click.option("--notes", "field_notes", is_flag=True)
@click.option("--acceptance", "field_acceptance", is_flag=True)
@pass_cli
def edit(cli: CliContext, bead_id, field_title, field_description, field_design, field_notes,
         field_acceptance) -> None:
    """Edit one field of a bead in $EDITOR (agents: use bd update --<field> instead)."""
    import os
    import shlex
    import subprocess
    import tempfile

    chosen = [name for name, on in (("title", field_title), ("description", field_description),
                                    ("design", field_design), ("notes", field_notes),
                                    ("acceptance", field_acceptance)) if on] or ["description"]
    if len(chosen) > 1:
        raise click.UsageError("edit one field at a time")
    key = _EDIT_FIELDS[chosen[0]]
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or ""
    if not editor:
        raise click.UsageError("no $EDITOR set; use bd update <id> --"
                               f"{chosen[0] if chosen[0] != 'acceptance' else 'acceptance'} "
                               "'<text>'")
    store = cli.store()
    bead = store.get(bead_id)
    with tempfile.NamedTemporaryFile("w+", suffix=".md", delete=False) as fh:
        fh.write(bead.get(key) or "")
        path = fh.name
    try:
        # argument list, no shell: an $EDITOR with options is split as a shell would
        proc = subprocess.run([*shlex.split(editor), path], check=False)
        if proc.returncode != 0:
            raise click.ClickException(f"the editor exited with {proc.returncode}; "
                                       "nothing changed")
        with open(path, encoding="utf-8") as fh:
            text = fh.read().rstrip("\n")
    finally:
        os.unlink(path)
    if text == (bead.get(key) or ""):
        echo(f"No changes to {bead_id} ({chosen[0]})")
        return
    updated = store.update(bead_id, changes={key: text})
    cli.log("bead_updated", {"beads": [bead_id], "fields": [key]})
    if cli.json_output:
        emit_json([updated])
    else:
        echo(f"✓ Updated {bead_id} ({chosen[0]})")


@click.group(name="epic")
def epic() -> None:
    """Epics: status of their children; close the finished ones."""


@epic.command(name="status")
@click.option("--eligible-only", is_flag=True, help="Only epics whose children are all closed.")
@click.option("--any-prefix", is_flag=True)
@pass_cli
def epic_status(cli: CliContext, eligible_only, any_prefix) -> None:
    """Each epic with how many of its children are closed."""
    from gastown_tui.ops.bd_views import epic_status as status_of

    epics = status_of(cli.store(), _prefixes(cli, any_prefix), eligible_only=eligible_only)
    if cli.json_output:
        emit_json(epics)
        return
    if not epics:
        echo("No epics.")
    for item in epics:
        mark = "✓" if item["eligible_for_close"] else "○"
        echo(f"{mark} {item['epic']['id']} {item['epic']['title']}: "
                   f"{item['closed_children']}/{item['total_children']} children closed")


@epic.command(name="close-eligible")
@click.option("--dry-run", is_flag=True)
@click.option("--any-prefix", is_flag=True)
@pass_cli
def epic_close_eligible(cli: CliContext, dry_run, any_prefix) -> None:
    """Close every open epic whose children are all closed."""
    from gastown_tui.ops import beads as bead_ops
    from gastown_tui.ops.bd_views import epic_status as status_of

    store = cli.store()
    eligible = [e for e in status_of(store, _prefixes(cli, any_prefix), eligible_only=True)
                if e["epic"]["status"] != "closed"]
    ids = [e["epic"]["id"] for e in eligible]
    if not dry_run and ids:
        bead_ops.close(cli.town(), store, ids, reasons=["All children completed"])
    if cli.json_output:
        emit_json({"closed": [] if dry_run else ids, "count": len(ids), "dry_run": dry_run}
                  if ids else [])
        return
    echo(("Would close" if dry_run else "Closed") + f" {len(ids)} epic(s)"
               + (f": {', '.join(ids)}" if ids else ""))


@click.command(name="q")
@click.argument("title_words", nargs=-1, required=True)
@click.option("-p", "--priority", default="2")
@click.option("-t", "--type", "issue_type", default="task")
@click.option("-l", "--labels", multiple=True)
@pass_cli
def quick(cli: CliContext, title_words, priority, issue_type, labels) -> None:
    """Quick capture: create a bead and print only its id."""
    store = cli.store()
    issue = store.create(" ".join(title_words), prefix=scope_prefix(cli), priority=priority,
                         issue_type=issue_type, labels=split_csv(labels))
    cli.log("bead_created", {"bead": issue["id"], "title": issue["title"]})
    echo(issue["id"])


@click.group(name="kv")
def kv() -> None:
    """A small key-value store beside the beads (bd kv set|get|clear|list)."""


@kv.command(name="set")
@click.argument("key")
@click.argument("value")
@pass_cli
def kv_set(cli: CliContext, key, value) -> None:
    cli.store().kv_set(key, value)
    if cli.json_output:
        emit_json({"key": key, "value": value}, schema=True)
    else:
        echo(f"Set {key} = {value}")


@kv.command(name="get")
@click.argument("key")
@pass_cli
def kv_get(cli: CliContext, key) -> None:
    value = cli.store().kv_get(key)
    if cli.json_output:
        emit_json({"key": key, "value": value or "", "found": value is not None}, schema=True)
    elif value is None:
        echo(f"{key} (not set)", err=True)
    else:
        echo(value)
    if value is None:
        raise SystemExit(1)


@kv.command(name="clear")
@click.argument("key")
@pass_cli
def kv_clear(cli: CliContext, key) -> None:
    cli.store().kv_set(key, None)
    if cli.json_output:
        emit_json({"key": key, "deleted": "true"}, schema=True)
    else:
        echo(f"Deleted {key}")


@kv.command(name="list")
@pass_cli
def kv_list(cli: CliContext) -> None:
    pairs = cli.store().kv_all()
    if cli.json_output:
        emit_json(pairs, schema=True)
        return
    if not pairs:
        echo("No keys set.")
    for key, value in pairs.items():
        echo(f"{key} = {value}")


@click.command(name="where")
@pass_cli
def where(cli: CliContext) -> None:
    """Which store bd is using here, and which prefix."""
    town = cli.town()
    database = town.store_location
    if town.store_is_shared:  # a PostgreSQL URL: never print its password
        from gastown_tui.town.store.pg import describe

        database = describe(database)
    out = {"path": str(town.beads_dir), "prefix": scope_prefix(cli),
           "database_path": database}
    if cli.json_output:
        emit_json(out, schema=True)
    else:
        echo(f"{out['path']}\n  prefix: {out['prefix']}\n  database: "
                   f"{out['database_path']}")


@click.command(name="version")
@pass_cli
def version(cli: CliContext) -> None:
    """bd's version (gastown-tui's bd)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    try:
        number = pkg_version("gastown-tui")
    except PackageNotFoundError:
        number = "dev"
    if cli.json_output:
        emit_json({"version": number, "build": "gastown-tui (sqlite)"}, schema=True)
    else:
        echo(f"bd version {number} (gastown-tui, sqlite)")


@click.command(name="doctor")
@click.option("--fix", is_flag=True, help="Repair what can be repaired.")
@click.option("-y", "--yes", is_flag=True, hidden=True)
@click.option("-v", "--verbose", is_flag=True, help="Show passing checks too.")
@click.option("--dry-run", is_flag=True, hidden=True)
@pass_cli
def doctor(cli: CliContext, fix, yes, verbose, dry_run) -> None:
    """Check the bead store: integrity, links to missing beads, orphans, cycles."""
    from datetime import UTC, datetime

    from gastown_tui.ops.bd_views import doctor as run_doctor

    checks = run_doctor(cli.store(), fix=fix and not dry_run)
    ok = all(c["status"] == "ok" for c in checks)
    if cli.json_output:
        emit_json({"path": str(cli.town().beads_dir), "checks": checks, "overall_ok": ok,
                   "cli_version": "gastown-tui",
                   "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}, schema=True)
    else:
        for check in checks:
            if check["status"] == "ok" and not verbose:
                continue
            mark = {"ok": "✓", "warning": "⚠", "error": "✗"}[check["status"]]
            echo(f"{mark} {check['name']}: {check['message']}"
                       + (f"\n    fix: {check['fix']}" if check.get("fix") else ""))
        echo("✓ All checks passed" if ok else "Problems found (bd doctor --fix)")
    if not ok:
        raise SystemExit(1)


# upstream bd's built-in statuses and core work types, with its categories and descriptions
_STATUS_INFO = (
    ("open", "active", "○", "Available to work (default)"),
    ("in_progress", "wip", "◐", "Actively being worked on"),
    ("blocked", "wip", "●", "Blocked by a dependency"),
    ("deferred", "frozen", "❄", "Deliberately put on ice for later"),
    ("closed", "done", "✓", "Completed"),
    ("pinned", "frozen", "📌", "Persistent, stays open indefinitely"),
    ("hooked", "wip", "◇", "Attached to an agent's hook"),
)
_CUSTOM_STATUSES = (("staged_ready", "frozen"), ("staged_warnings", "frozen"))
_CORE_TYPES = (
    ("task", "General work item (default)"), ("bug", "Bug report or defect"),
    ("feature", "New feature or enhancement"), ("chore", "Maintenance or housekeeping"),
    ("epic", "Large body of work spanning multiple issues"),
    ("decision", "Architecture decision record (ADR)"),
    ("spike", "Timeboxed investigation to reduce uncertainty before committing to a story"),
    ("story", "User story describing a feature from the user's perspective"),
    ("milestone", "Marks completion of a set of related issues (contains no work itself)"),
)


@click.command(name="statuses")
@pass_cli
def statuses(cli: CliContext) -> None:
    """The valid statuses: bd's built-in ones and the custom ones Gas Town's convoys use."""
    if cli.json_output:
        emit_json({"built_in_statuses": [
            {"name": n, "category": c, "icon": i, "description": d}
            for n, c, i, d in _STATUS_INFO],
            "custom_statuses": [{"name": n, "category": c} for n, c in _CUSTOM_STATUSES]})
        return
    echo("Built-in statuses:")
    for name, category, icon, description in _STATUS_INFO:
        echo(f"  {icon} {name:<14} [{category:<6}]  {description}")
    echo("\nCustom statuses:")
    for name, category in _CUSTOM_STATUSES:
        echo(f"  ○ {name:<14} [{category:<6}]")


@click.command(name="types")
@pass_cli
def types(cli: CliContext) -> None:
    """The valid issue types: bd's core work types and the ones Gas Town adds."""
    from gastown_tui.town.store.records import TYPES

    core = [name for name, _ in _CORE_TYPES]
    custom = sorted(TYPES - set(core))
    if cli.json_output:
        emit_json({"core_types": [{"name": n, "description": d} for n, d in _CORE_TYPES],
                   "custom_types": custom})
        return
    echo("Core work types (built-in):")
    for name, description in _CORE_TYPES:
        echo(f"  {name:<14} {description}")
    echo("\nGas Town types:")
    for name in custom:
        echo(f"  {name}")
