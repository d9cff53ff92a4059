"""`gt mol`: the molecule on a hook (status, current, progress), its steps (step done,
step await-signal), and attaching one from mail."""

from __future__ import annotations

import time

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group(name="mol")
def mol() -> None:
    """Molecules: the formula work on a hook and how far it is."""


def _agent(target: str | None):
    from gastown_tui.ops.hook import canonical_agent, self_address
    from gastown_tui.town.names import parse_address

    return parse_address(canonical_agent(target) if target else self_address())


def _show(view, as_json: bool) -> None:
    if as_json:
        echo_json(view.as_json())
    else:
        echo(view.text())


@mol.command(name="status")
@click.argument("target", required=False)
@json_option
@pass_cli
def mol_status(cli: CliContext, target, as_json) -> None:
    """What is on an agent's hook (default: yours) and its steps."""
    from gastown_tui.ops.molecule import view

    _show(view(cli.town(), cli.store(), _agent(target)), as_json)


@mol.command(name="current")
@click.argument("identity", required=False)
@json_option
@pass_cli
def mol_current(cli: CliContext, identity, as_json) -> None:
    """The step to work on now."""
    from gastown_tui.ops.molecule import view

    result = view(cli.town(), cli.store(), _agent(identity))
    current = result.progress.current if result.progress else None
    if as_json:
        echo_json({"agent": result.agent, "current": current,
                   "hooked": result.hooked["id"] if result.hooked else None})
    elif result.hooked is None:
        echo(f"{result.agent}: nothing on the hook")
    elif current is None:
        echo("No step left: the molecule is complete (gt done)." if result.progress
                   else f"{result.hooked['id']}: no molecule attached; the bead is the work")
    else:
        echo(f"Current step: {current}")


@mol.command(name="progress")
@click.argument("root")
@json_option
@pass_cli
def mol_progress(cli: CliContext, root, as_json) -> None:
    """A formula run's progress, by its convoy (or any of its step beads)."""
    from gastown_tui.formulas.progress import format_checklist
    from gastown_tui.ops.formula_run import molecule_progress
    from gastown_tui.town.fields import parse_fields

    store = cli.store()
    bead = store.get(root)
    convoy = root if bead.get("issue_type") == "convoy" else \
        parse_fields(bead.get("description", "")).get("molecule", "")
    if not convoy:
        raise click.ClickException(f"{root} is not part of a formula run (no molecule field); "
                                   "for the formula on a hook see gt mol status")
    progress = molecule_progress(store, convoy)
    if as_json:
        echo_json({"convoy": convoy, "done": progress.done, "total": progress.total,
                   "current": progress.current,
                   "steps": [{"id": i.id, "title": i.title, "state": i.state.value}
                             for i in progress.items]})
    else:
        echo(f"{convoy}: {progress.done}/{progress.total} steps done")
        echo(format_checklist(progress))


@mol.command(name="attach-from-mail")
@click.argument("mail_id")
@json_option
@pass_cli
def mol_attach_from_mail(cli: CliContext, mail_id, as_json) -> None:
    """Attach the molecule a message names (attached_molecule: <id>) to your hook."""
    from gastown_tui.ops.molecule import attach_from_mail

    result = attach_from_mail(cli.town(), cli.store(), _agent(None), mail_id)
    if as_json:
        echo_json(result)
    else:
        echo(f"✓ Attached molecule from mail\n  Mail: {result['mail']}\n"
                   f"  Hook: {result['hook']}\n  Molecule: {result['molecule']}\n"
                   "Hint: run 'gt hook' to see it, 'gt prime' for its steps")


@mol.group(name="step")
def step() -> None:
    """One step of the molecule: done, or wait for a signal."""


@step.command(name="done")
@click.argument("step_id")
@json_option
@pass_cli
def step_done_cmd(cli: CliContext, step_id, as_json) -> None:
    """Mark a step done (a step bead, or a step of your hooked bead's formula) and show the
    next one."""
    from gastown_tui.ops.molecule import step_done

    result = step_done(cli.town(), cli.store(), _agent(None), step_id)
    if as_json:
        echo_json(result.as_json())
        return
    echo(f"✓ {step_id} done")
    if result.progress is not None:
        nxt = result.progress.current
        parked = [g for g in result.gates if g["status"] != "closed"]
        if nxt:
            echo(f"Next step: {nxt}")
        elif parked:
            gate = parked[0]
            echo(f"⏸ Next step {gate['step']} is parked on gate {gate['id']}: "
                       f"{gate['state']}.\nStop here: you are nudged (GATE_OPEN) when it opens.")
        elif result.progress.complete:
            echo("All steps done: run gt done.")
        else:
            echo("No step is ready: the rest wait on others (gt mol status).")


def _await_signal(cli: CliContext, timeout: str, quiet: bool, as_json: bool) -> None:
    from gastown_tui.patrol.verdicts import parse_duration

    seconds = parse_duration(timeout, -1.0)
    if seconds < 0:
        raise click.BadParameter(f"{timeout!r} is not a duration (e.g. 30s, 5m)",
                                 param_hint="'--timeout'")
    path = cli.town().events_path
    try:
        start = path.stat().st_size
    except OSError as exc:
        raise click.ClickException(f"cannot open the event feed {path}: {exc}") from exc
    deadline = time.monotonic() + seconds
    events: list[str] = []
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else 0
        if size > start:
            with path.open("rb") as fh:
                fh.seek(start)
                events = [line.decode(errors="replace") for line in fh.read().splitlines()
                          if line.strip()]
            break
        time.sleep(0.1)
    reason = "signal" if events else "timeout"
    if as_json:
        import json

        echo_json({"reason": reason, "events": [json.loads(e) for e in events if e.startswith("{")]})
    elif not quiet:
        echo(f"[await-signal] {reason}" + (f": {len(events)} new event(s)" if events else
                                                 f" after {timeout}"))
        for line in events[:10]:
            echo(f"  {line}")


_await_options = [
    click.option("--timeout", default="60s", show_default=True,
                 help="How long to wait for a new event on the town's feed."),
    click.option("--quiet", is_flag=True, help="No output."),
    click.option("--backoff-base", default="", hidden=True),
    click.option("--backoff-mult", type=int, default=2, hidden=True),
    click.option("--backoff-max", default="", hidden=True),
    click.option("--agent-bead", default="", hidden=True),
    json_option,
]


def _with_await_options(fn):
    for option in reversed(_await_options):
        fn = option(fn)
    return fn


@step.command(name="await-signal")
@_with_await_options
@pass_cli
def step_await_signal(cli: CliContext, timeout, quiet, backoff_base, backoff_mult, backoff_max,
                      agent_bead, as_json) -> None:
    """Wait until something happens in the town (a new line on .events.jsonl) or the timeout;
    exit 0 either way and say which."""
    _await_signal(cli, timeout, quiet, as_json)


@mol.command(name="await-signal")
@_with_await_options
@pass_cli
def await_signal(cli: CliContext, timeout, quiet, backoff_base, backoff_mult, backoff_max,
                 agent_bead, as_json) -> None:
    """Same as gt mol step await-signal."""
    _await_signal(cli, timeout, quiet, as_json)


def _target(target: str | None):
    return _agent(target)


@mol.command(name="burn")
@click.argument("target", required=False)
@json_option
@pass_cli
def mol_burn(cli: CliContext, target, as_json) -> None:
    """Discard the molecule attached to your work (or TARGET's) without a digest."""
    from gastown_tui.ops.mol_lifecycle import burn

    result = burn(cli.town(), cli.store(), _target(target))
    if as_json:
        echo_json(result)
    elif not result["burned"]:
        echo(f"ℹ No molecule attached to {result['from']} - nothing to burn")
    else:
        echo(f"🔥 Burned molecule {result['burned']} from {result['from']}"
                   + (f"\n  Closed {result['children_closed']} step issues"
                      if result["children_closed"] else ""))


@mol.command(name="squash")
@click.argument("target", required=False)
@click.option("--summary", default="", help="A summary for the digest (what the cycle found).")
@click.option("--no-digest", is_flag=True, help="Close it without a digest bead.")
@click.option("--jitter", default="", help="Sleep up to this long first (e.g. 10s).")
@json_option
@pass_cli
def mol_squash(cli: CliContext, target, summary, no_digest, jitter, as_json) -> None:
    """Condense the molecule attached to your work into a digest (a permanent-enough record,
    aggregated daily by gt patrol digest)."""
    import random

    from gastown_tui.ops.mol_lifecycle import squash
    from gastown_tui.town.durations import parse_duration

    if jitter:
        time.sleep(random.uniform(0, parse_duration(jitter, what="--jitter")))
    result = squash(cli.town(), cli.store(), _target(target), summary=summary,
                    no_digest=no_digest)
    if as_json:
        echo_json(result)
    elif not result["squashed"]:
        echo(f"ℹ No molecule attached to {result['from']} - nothing to squash")
    else:
        echo(f"📦 Squashed molecule {result['squashed']}"
                   + (" (no digest)" if no_digest else f" → digest {result['digest']}"))


@mol.command(name="dag")
@click.argument("molecule_id")
@click.option("--tiers", is_flag=True, help="Group by execution tier.")
@click.option("--tree", is_flag=True, default=True, hidden=True)
@json_option
@pass_cli
def mol_dag(cli: CliContext, molecule_id, tiers, tree, as_json) -> None:
    """A molecule's steps as a dependency DAG in execution tiers."""
    from gastown_tui.ops.mol_lifecycle import dag

    info = dag(cli.store(), molecule_id)
    if as_json:
        echo_json(info)
        return
    marks = {"closed": "✓", "in_progress": "⧖", "hooked": "⧖"}
    echo(f"{info['root_id']}: {info['root_title']} ({info['total_nodes']} steps, "
               f"{info['tiers']} tiers)")
    for number, group in enumerate(info["tier_groups"]):
        echo(f"  Tier {number}:")
        for node_id in group:
            node = info["nodes"][node_id]
            mark = marks.get(node["status"], "◌" if node.get("dependencies") and any(
                info["nodes"][d]["status"] != "closed" for d in node["dependencies"]) else "○")
            echo(f"    {mark} {node_id} {node['title']}")
    if info["critical_path"]:
        echo(f"  Critical path: {' → '.join(info['critical_path'])}")


@mol.command(name="attach")
@click.argument("first")
@click.argument("second", required=False)
@json_option
@pass_cli
def mol_attach(cli: CliContext, first, second, as_json) -> None:
    """Attach a molecule to a bead: `gt mol attach <bead> <molecule>`, or `<molecule>` for
    the bead on your hook."""
    from gastown_tui.ops.hook import hooked_for, self_address
    from gastown_tui.ops.mol_lifecycle import attach

    store = cli.store()
    if second is None:
        hooked = hooked_for(store, self_address())
        if hooked is None:
            raise click.UsageError("nothing on your hook: name the bead, "
                                   "gt mol attach <bead> <molecule>")
        pinned, molecule = hooked["id"], first
    else:
        pinned, molecule = first, second
    result = attach(cli.town(), store, pinned, molecule)
    if as_json:
        echo_json(result)
    else:
        echo(f"✓ Attached {molecule} to {pinned}\n  attached_at: "
                   f"{result.get('attached_at', '')}")


@mol.command(name="detach")
@click.argument("pinned")
@json_option
@pass_cli
def mol_detach(cli: CliContext, pinned, as_json) -> None:
    """Remove the molecule attachment from a bead."""
    from gastown_tui.ops.mol_lifecycle import detach

    result = detach(cli.town(), cli.store(), pinned)
    if as_json:
        echo_json(result)
    elif result["detached"]:
        echo(f"✓ Detached {result['detached']} from {pinned}")
    else:
        echo(f"ℹ No molecule attached to {pinned}")


@mol.command(name="attachment")
@click.argument("pinned")
@json_option
@pass_cli
def mol_attachment(cli: CliContext, pinned, as_json) -> None:
    """Which molecule a bead carries."""
    from gastown_tui.ops.mol_lifecycle import attachment

    result = attachment(cli.store(), pinned)
    if as_json:
        echo_json(result)
        return
    echo(f"{result['issue_id']}: {result['issue_title']}\nStatus: {result['status']}")
    if result.get("attached_molecule"):
        echo(f"\nAttached Molecule:\n  ID: {result['attached_molecule']}"
                   + (f"\n  Attached at: {result['attached_at']}"
                      if result.get("attached_at") else ""))
    else:
        echo("\nNo molecule attached")


@step.command(name="emit-event")
@click.option("--channel", required=True, help="Event channel (e.g. refinery).")
@click.option("--type", "event_type", required=True, help="Event type (e.g. MERGE_READY).")
@click.option("--payload", "payload", multiple=True, help="key=value (repeatable).")
@json_option
@pass_cli
def step_emit_event(cli: CliContext, channel, event_type, payload, as_json) -> None:
    """Write an event file to <town>/events/<channel>/ for await-event subscribers."""
    from gastown_tui.ops.channel_events import emit

    path = emit(cli.town(), channel, event_type, list(payload))
    if as_json:
        echo_json({"path": str(path), "channel": channel, "type": event_type})
    else:
        echo(str(path))


@step.command(name="await-event")
@click.option("--channel", required=True, help="Event channel to watch.")
@click.option("--timeout", default="60s", show_default=True)
@click.option("--backoff-base", default="", help="Backoff base (e.g. 60s).")
@click.option("--backoff-mult", type=int, default=2, show_default=True)
@click.option("--backoff-max", default="", help="Backoff cap (e.g. 10m).")
@click.option("--agent-bead", default="", help="Agent bead tracking idle cycles.")
@click.option("--quiet", is_flag=True)
@click.option("--cleanup", is_flag=True, help="Delete the event files read.")
@json_option
@pass_cli
def step_await_event(cli: CliContext, channel, timeout, backoff_base, backoff_mult,
                     backoff_max, agent_bead, quiet, cleanup, as_json) -> None:
    """Wait for event files on a channel (pending ones return at once), or the timeout."""
    from gastown_tui.ops.channel_events import await_events

    result = await_events(cli.town(), cli.store(), channel, timeout=timeout,
                          backoff_base=backoff_base, backoff_mult=backoff_mult,
                          backoff_max=backoff_max, agent_bead=agent_bead, cleanup=cleanup)
    if as_json:
        echo_json(result)
        return
    if quiet:
        return
    if result["reason"] == "event":
        echo(f"✓ {len(result['events'])} event(s) received")
        for event in result["events"]:
            echo(f"  → {event['content'].get('type', '?')}")
    else:
        echo(f"⏱ Timeout (idle cycle: {result.get('idle_cycles', 0)})")
    echo("\nEFFORT: full Run full patrol." if result["effort_level"] == "full" else
               "\nEFFORT: reduced Run ABBREVIATED patrol: quick checks only, skip optional "
               "steps.")
