"""`bd gate`: async coordination gates (upstream beads' cmd/bd/gate.go), with bd's flags and
--json shapes."""

from __future__ import annotations

import click

from gastown_tui.cli.bd_group import pass_cli
from gastown_tui.cli.common import CliContext, echo, emit_json


@click.group(name="gate")
def gate() -> None:
    """Gates: async waits that block workflow steps.

    \b
    Gate types:
      human   - a person resolves it (bd gate resolve <id>)
      timer   - opens when --timeout has passed since it was made
      gh:run  - waits for a GitHub Actions run (await id: run id or workflow name)
      gh:pr   - waits for a pull request to merge
      bead    - waits for another bead to close (await id: [<rig>:]<bead-id>)

    The Deacon checks gates every patrol and wakes whoever waits on one that opened."""


def _line(g: dict) -> str:
    mark = "●" if g["status"] == "closed" else "○"
    info = g.get("await_type", "")
    if g.get("await_id"):
        info += f" {g['await_id']}"
    timeout = ""
    if g.get("timeout"):
        from gastown_tui.town.durations import format_duration, from_nanos

        timeout = f" (timeout: {format_duration(from_nanos(g['timeout']))})"
    return f"{mark} {g['id']} - {info}{timeout}"


@gate.command(name="list")
@click.option("-a", "--all", "include_all", is_flag=True, help="Show closed gates too.")
@click.option("-n", "--limit", type=int, default=50, show_default=True)
@pass_cli
def gate_list(cli: CliContext, include_all: bool, limit: int) -> None:
    """List gates (open ones by default)."""
    from gastown_tui.ops.gates import blocked_by, describe, list_gates

    store = cli.store()
    gates = list_gates(store, include_closed=include_all, limit=limit)
    if cli.json_output:
        emit_json(gates)
        return
    if not gates:
        echo("No gates found.")
        return
    opened = [g for g in gates if g["status"] != "closed"]
    closed = [g for g in gates if g["status"] == "closed"]
    for heading, group in (("⏳ Open Gates", opened), ("● Closed Gates", closed)):
        if not group:
            continue
        echo(f"\n{heading} ({len(group)}):\n")
        for g in group:
            echo(_line(g))
            held = blocked_by(store, g["id"])
            if held:
                echo(f"  Blocks: {', '.join(held)}")
            echo(f"  {describe(g)}")
    echo("\nTo resolve a gate: bd gate resolve <gate-id>")


@gate.command(name="create")
@click.option("--blocks", required=True, help="The bead the gate blocks (required).")
@click.option("-t", "--type", "gate_type", default="human", show_default=True,
              help="human, timer, gh:run, gh:pr or bead.")
@click.option("-r", "--reason", default="", help="Why the gate is there.")
@click.option("--await-id", default="", help="Run id or workflow name, PR number, bead id.")
@click.option("--timeout", default="", help="How long (e.g. 2h, 30m): a timer's length.")
@click.option("--waiter", "waiters", multiple=True, help="An address to wake when it opens.")
@pass_cli
def gate_create(cli: CliContext, blocks, gate_type, reason, await_id, timeout, waiters) -> None:
    """Create a gate that blocks a bead until it opens."""
    from gastown_tui.ops.gates import create

    g = create(cli.town(), cli.store(), blocks, gate_type=gate_type, reason=reason,
               await_id=await_id, timeout=timeout, waiters=list(waiters))
    if cli.json_output:
        emit_json(g, schema=True)
        return
    echo(f"✓ Created gate {g['id']} (type: {gate_type})\n  Blocks: {blocks}")
    if reason:
        echo(f"  Reason: {reason}")
    if timeout:
        echo(f"  Timeout: {timeout}")
    echo(f"\nResolve with: bd gate resolve {g['id']}")


@gate.command(name="show")
@click.argument("gate_id")
@pass_cli
def gate_show(cli: CliContext, gate_id: str) -> None:
    """Show a gate, what it blocks and who waits on it."""
    from gastown_tui.ops.gates import _gate, blocked_by, describe

    store = cli.store()
    g = _gate(store, gate_id)
    if cli.json_output:
        emit_json(g, schema=True)
        return
    mark = "●" if g["status"] == "closed" else "○"
    echo(f"{mark} {g['id']} - {g['title']}\n  Status: {g['status']}\n"
               f"  Await Type: {g.get('await_type', '')}")
    if g.get("await_id"):
        echo(f"  Await ID: {g['await_id']}")
    echo(f"  State: {describe(g)}")
    held = blocked_by(store, gate_id)
    if held:
        echo(f"  Blocks: {', '.join(held)}")
    if g.get("waiters"):
        echo("  Waiters:\n" + "\n".join(f"    - {w}" for w in g["waiters"]))
    if g.get("description"):
        echo("  Description: " + g["description"].replace("\n", "\n    "))


def _resolve(cli: CliContext, gate_id: str, reason: str) -> None:
    from gastown_tui.ops.gates import _gate, open_gate

    store = cli.store()
    _gate(store, gate_id)
    woken = open_gate(cli.town(), store, gate_id, reason or "resolved by " + (store.actor or
                                                                              "a person"))
    if cli.json_output:
        emit_json({**store.get(gate_id), "woken": woken}, schema=True)
        return
    echo(f"✓ Gate resolved: {gate_id}")
    if reason:
        echo(f"  Reason: {reason}")
    if woken:
        echo(f"  Woke: {', '.join(woken)}")


@gate.command(name="resolve")
@click.argument("gate_id")
@click.option("-r", "--reason", default="", help="Why the gate was resolved.")
@pass_cli
def gate_resolve(cli: CliContext, gate_id: str, reason: str) -> None:
    """Resolve (close) a gate by hand and wake whoever waits on it."""
    _resolve(cli, gate_id, reason)


@gate.command(name="close", hidden=True)
@click.argument("gate_id")
@click.option("-r", "--reason", default="")
@pass_cli
def gate_close(cli: CliContext, gate_id: str, reason: str) -> None:
    """Same as bd gate resolve (the Deacon's patrol formula says close)."""
    _resolve(cli, gate_id, reason)


@gate.command(name="check")
@click.option("-t", "--type", "type_filter", default="",
              help="gh, gh:run, gh:pr, timer, bead or all.")
@click.option("--dry-run", is_flag=True, help="Say what would happen; change nothing.")
@click.option("-e", "--escalate", is_flag=True, help="Escalate failed runs and closed PRs.")
@click.option("-l", "--limit", type=int, default=100, show_default=True)
@pass_cli
def gate_check(cli: CliContext, type_filter, dry_run, escalate, limit) -> None:
    """Evaluate open gates and open those whose condition holds."""
    from gastown_tui.ops.gates import check

    results = check(cli.town(), cli.store(), type_filter=type_filter, dry_run=dry_run,
                    escalate=escalate, limit=limit)
    counts = {"checked": len(results),
              "resolved": sum(1 for r in results if r.resolved and not r.error),
              "escalated": sum(1 for r in results if r.escalated),
              "errors": sum(1 for r in results if r.error), "dry_run": dry_run}
    if cli.json_output:
        emit_json({**counts, "gates": [r.as_json() for r in results]}, schema=True)
        return
    if not results:
        echo(f"No open gates of type '{type_filter}' found." if type_filter else
                   "No open gates found.")
        return
    for r in results:
        gid = r.gate["id"]
        if r.error:
            echo(f"✗ {gid}: error checking - {r.error}", err=True)
        elif r.resolved:
            echo(f"✓ {gid}: {'would resolve' if dry_run else 'resolved'} - {r.reason}"
                       + (f" (woke {', '.join(r.woken)})" if r.woken else ""))
        elif r.escalated:
            echo(f"⚠ {gid}: {'would escalate' if dry_run else 'ESCALATE'} - {r.reason}")
        else:
            echo(f"○ {gid}: pending - {r.reason}")
    echo(f"\nChecked {counts['checked']} gates: {counts['resolved']} resolved, "
               f"{counts['escalated']} escalated, {counts['errors']} errors")


@gate.command(name="add-waiter")
@click.argument("gate_id")
@click.argument("waiter")
@pass_cli
def gate_add_waiter(cli: CliContext, gate_id: str, waiter: str) -> None:
    """Register an address to wake when the gate opens."""
    from gastown_tui.ops.gates import add_waiter

    g, added = add_waiter(cli.town(), cli.store(), gate_id, waiter)
    if cli.json_output:
        emit_json({**g, "added": added}, schema=True)
    elif added:
        echo(f"✓ Added waiter to gate {gate_id}: {waiter}")
    else:
        echo(f"Waiter already registered on gate {gate_id}")


@gate.command(name="discover")
@click.option("-n", "--dry-run", is_flag=True)
@click.option("-b", "--branch", default="", help="Only runs of this branch.")
@click.option("-l", "--limit", type=int, default=10, show_default=True)
@pass_cli
def gate_discover(cli: CliContext, dry_run: bool, branch: str, limit: int) -> None:
    """Find the GitHub run id of gh:run gates that name none yet (most recent matching run)."""
    from gastown_tui.ops.gates import _gh, _gh_cwd, list_gates

    store = cli.store()
    town = cli.town()
    matched = []
    for g in list_gates(store, gate_type="gh:run"):
        if g.get("await_id"):
            continue
        args = ["run", "list", "--json", "databaseId,headBranch,createdAt,workflowName",
                "--limit", str(limit)]
        if branch:
            args += ["--branch", branch]
        runs, err = _gh(args, _gh_cwd(town, g))
        if err or not isinstance(runs, list) or not runs:
            echo(f"○ {g['id']}: {err or 'no runs found'}", err=bool(err))
            continue
        run_id = str(runs[0].get("databaseId", ""))
        if not dry_run:
            store.update(g["id"], changes={"await_id": run_id, "title": f"Gate: gh:run {run_id}"})
        matched.append({"gate": g["id"], "run_id": run_id})
    if cli.json_output:
        emit_json({"matched": matched, "dry_run": dry_run}, schema=True)
        return
    for m in matched:
        echo(f"✓ {m['gate']}: run {m['run_id']}" + (" (dry run)" if dry_run else ""))
    if not matched:
        echo("No gh:run gates without a run id.")
