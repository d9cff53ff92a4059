"""`gt plugin list|show|run|history|sync` (upstream gastown's cmd/plugin.go)."""

from __future__ import annotations

from pathlib import Path

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group()
def plugin() -> None:
    """Plugins: periodic automation the Deacon hands to dogs.

    \b
    Locations: <town>/plugins/<name>/plugin.md (town), <rig>/plugins/<name>/ (rig, wins).
    Gates: cooldown (duration), cron (schedule), condition (check), event (on), manual.
    A run.sh beside plugin.md is run as it is; otherwise a dog follows the instructions."""


@plugin.command(name="list")
@json_option
@pass_cli
def plugin_list(cli: CliContext, as_json) -> None:
    """Every plugin found, town-level and per rig."""
    from gastown_tui.ops.plugins import discover

    found, problems = discover(cli.town())
    for problem in problems:
        echo(f"⚠ {problem}", err=True)
    if as_json:
        echo_json([p.summary() for p in found])
        return
    if not found:
        echo(f"○ No plugins discovered\n\n  Plugin directories:\n    "
                   f"{cli.town().root / 'plugins'}/\n\n  Create a plugin by adding a directory "
                   "with plugin.md")
        return
    echo(f"● Discovered {len(found)} plugin(s)\n")
    for p in found:
        where = f"rig {p.rig_name}" if p.rig_name else "town"
        tag = "exec-wrapper" if p.execution_type == "exec-wrapper" else p.gate_type
        echo(f"  {p.name} [{tag}] ({where})")
        if p.description:
            echo(f"    {p.description[:70]}")


@plugin.command(name="show")
@click.argument("name")
@json_option
@pass_cli
def plugin_show(cli: CliContext, name, as_json) -> None:
    """A plugin's settings, gate and instructions."""
    from gastown_tui.ops.plugins import gate_open, get

    town = cli.town()
    p = get(town, name)
    if as_json:
        echo_json(p.as_json())
        return
    ok, why = gate_open(town, cli.store(), p)
    echo(f"Plugin: {p.name}\nPath: {p.path}\nDescription: {p.description}\n"
               f"Location: {p.location}{f' ({p.rig_name})' if p.rig_name else ''}\n"
               f"Version: {p.version}\n\nGate:\n  Type: {p.gate_type}")
    for key in ("duration", "schedule", "check", "on"):
        if (p.gate or {}).get(key):
            echo(f"  {key.capitalize()}: {p.gate[key]}")
    echo(f"  Now: {'open' if ok else 'closed'} ({why})")
    if p.has_run_script:
        echo("\nExecution: run.sh")
    if p.instructions:
        lines = p.instructions.splitlines()
        echo("\nInstructions:\n" + "\n".join("  " + ln for ln in lines[:10])
                   + (f"\n  ... ({len(lines) - 10} more lines)" if len(lines) > 10 else ""))


@plugin.command(name="run")
@click.argument("name")
@click.option("--force", is_flag=True, help="Bypass the gate check.")
@click.option("--dry-run", is_flag=True, help="Say what would happen.")
@json_option
@pass_cli
def plugin_run(cli: CliContext, name, force, dry_run, as_json) -> None:
    """Run a plugin now: run.sh is run here; otherwise its instructions are printed for
    whoever runs it. Either way a receipt is recorded."""
    from gastown_tui.ops.plugins import RunOutcome, gate_open, get, record_run, run_script

    town = cli.town()
    store = cli.store()
    p = get(town, name)
    ok, why = gate_open(town, store, p)
    if p.gate_type == "manual":
        ok, why = True, "manual: run on request"
    if dry_run:
        if as_json:
            echo_json({"plugin": p.name, "gate_open": ok, "gate": why, "dry_run": True})
        else:
            echo(f"Plugin: {p.name}\nLocation: {p.path}\nGate type: {p.gate_type}\n"
                       + (f"Gate open: would execute ({why})" if ok else
                          f"Gate closed: {why} (use --force to override)"))
        return
    if not ok and not force:
        if as_json:
            echo_json({"plugin": p.name, "gate_open": False, "gate": why, "ran": False})
        else:
            echo(f"⚠ Gate closed: {why}\n  Use --force to bypass gate check")
        return
    if p.has_run_script:
        outcome = run_script(town, store, p)
    else:
        if not as_json:
            echo(f"● Running plugin: {p.name}\n\nInstructions:\n{p.instructions}")
        receipt = record_run(town, store, p, "success", "Manual run via gt plugin run")
        outcome = RunOutcome(p.name, "success", receipt)
    outcome.gate = why
    if as_json:
        echo_json({**outcome.as_json(), "ran": True})
        return
    if p.has_run_script:
        echo(f"{'✓' if outcome.result == 'success' else '✗'} {p.name}: run.sh "
                   f"exited {outcome.exit_code}")
        for line in outcome.output[-10:]:
            echo(f"  | {line}")
    echo(f"\n● Recorded run: {outcome.receipt}")
    if outcome.result == "failure":
        raise SystemExit(1)


@plugin.command(name="history")
@click.argument("name")
@click.option("--limit", type=int, default=10, show_default=True)
@json_option
@pass_cli
def plugin_history(cli: CliContext, name, limit, as_json) -> None:
    """Recent runs of a plugin (its receipts), newest first."""
    from gastown_tui.ops.plugins import runs

    items = runs(cli.store(), name)[:limit] if limit > 0 else runs(cli.store(), name)
    if as_json:
        echo_json([{k: v for k, v in r.items() if k != "result"} for r in items])
        return
    if not items:
        echo(f"○ No execution history for plugin: {name}")
        return
    echo(f"● Execution history for {name} ({len(items)} runs)\n")
    for r in items:
        mark = {"success": "✓", "failure": "✗"}.get(r["result"], "○")
        echo(f"  {mark} {r['created_at'][:16].replace('T', ' ')}  {r['id']}")


@plugin.command(name="sync")
@click.option("--source", default="", help="Directory holding <name>/plugin.md folders.")
@click.option("--clean", is_flag=True, help="Remove plugins the source does not have.")
@click.option("--dry-run", is_flag=True)
@json_option
@pass_cli
def plugin_sync(cli: CliContext, source, clean, dry_run, as_json) -> None:
    """Copy plugins from a source directory into the town's plugins/."""
    from gastown_tui.ops.plugins import sync

    if not source:
        raise click.UsageError("name the source: --source <dir> (upstream syncs from a "
                               "gastown checkout's plugins/; this town ships none)")
    result = sync(cli.town(), Path(source).expanduser().resolve(), clean=clean,
                  dry_run=dry_run)
    if as_json:
        echo_json({**result, "dry_run": dry_run})
        return
    verb = "would copy" if dry_run else "↑"
    for name in result["copied"]:
        echo(f"  {verb} {name}")
    for name in result["removed"]:
        echo(f"  × {name}")
    echo(f"✓ {len(result['copied'])} copied, {len(result['skipped'])} already current"
               + (f", {len(result['removed'])} removed" if result["removed"] else ""))
