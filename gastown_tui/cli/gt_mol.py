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
