"""`gt up`, `gt down`, `gt mayor start|stop|attach|status`, `gt polecat list`."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


def _killed_steps(stop) -> list:
    """The processes a stop had to SIGKILL (they ignored SIGTERM for the grace period)."""
    from gastown_tui.ops.up import SessionStep

    return [SessionStep("killed", str(k["pid"]), "stopped",
                        f"SIGKILL after the grace period: {k['command'] or '?'}")
            for k in getattr(stop, "killed", [])]


def _print_steps(steps) -> None:
    for s in steps:
        mark = {"started": "▶", "running": "●", "stopped": "■", "absent": "·",
                "skipped": "…", "kept": "●", "would stop": "□", "failed": "✗",
                "rested": "■", "manual": "✋"}.get(s.action, "?")
        echo(f"{mark} {s.address:<22} {s.session:<18} {s.action} {s.detail}")


@click.command()
@click.option("--agent", default=None, help="Runtime for the Mayor (e.g. sim).")
@click.option("--polecats/--no-polecats", default=True, show_default=True,
              help="Also restart polecats that a pause stopped with work on their hook.")
@click.option("-q", "--quiet", is_flag=True, help="Only show errors.")
@json_option
@pass_cli
def up(cli: CliContext, agent, polecats, quiet, as_json) -> None:
    """Start the Mayor, every rig's refinery and witness, the Deacon, and (after a pause)
    the polecats with hooked work."""
    from gastown_tui.ops.up import up as do_up
    from gastown_tui.town.progress import Progress

    with Progress.for_cli(json_output=as_json or quiet) as progress:
        steps = do_up(cli.town(), agent=agent, polecats=polecats, progress=progress)
    if as_json:
        echo_json([s.__dict__ for s in steps])
    elif not quiet:
        _print_steps(steps)


@click.command()
@click.option("--keep-polecats", is_flag=True,
              help="Leave polecat sessions running (stop only the Mayor and the loops).")
@click.option("-p", "--polecats", is_flag=True, hidden=True,
              help="Accepted for upstream's scripts: polecats are stopped anyway.")
@click.option("-a", "--all", "all_", is_flag=True,
              help="Full stop: also end the tmux server and any process of the town left "
                   "outside it.")
@click.option("--nuke", is_flag=True, help="Same as --all: kill the town's tmux server.")
@click.option("--dry-run", is_flag=True, help="Show what would stop; stop nothing.")
@click.option("-q", "--quiet", is_flag=True, help="Only show errors.")
@json_option
@pass_cli
def down(cli: CliContext, keep_polecats, polecats, all_, nuke, dry_run, quiet, as_json) -> None:
    """Pause the town: stop every session, polecats included. Worktrees, branches, hooks and
    beads stay; `gt up` brings the polecats back."""
    from gastown_tui.ops.up import down as do_down

    if keep_polecats and (all_ or nuke):
        raise click.UsageError("--keep-polecats cannot be combined with --all/--nuke "
                               "(they end the whole tmux server)")
    town = cli.town()
    full_stop = (all_ or nuke) and not dry_run
    steps = do_down(town, keep_polecats=keep_polecats, dry_run=dry_run, rest=not full_stop)
    stop = None
    if full_stop:
        from gastown_tui.ops.shutdown import stop_town
        from gastown_tui.ops.up import SessionStep, rest_step

        stop = stop_town(town)
        if stop.server_was_running:
            steps.append(SessionStep("tmux server", stop.socket, "stopped"))
        if stop.stopped_pids:
            steps.append(SessionStep("strays", "", "stopped",
                                     f"{len(stop.stopped_pids)} process(es) of the town outside "
                                     "tmux: " + ", ".join(map(str, stop.stopped_pids))))
        steps.extend(_killed_steps(stop))
        resting = rest_step(town)  # once every process of the town is gone
        if resting is not None:
            steps.append(resting)
    if as_json:
        echo_json([s.__dict__ for s in steps])
    elif not quiet:
        if not [s for s in steps if s.address != "store"]:
            echo("Nothing was running.")
        _print_steps(steps)
    if stop is not None and not stop.ok:
        raise click.ClickException("; ".join(stop.problems) + " (kill them by hand)")


@click.command()
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("-f", "--force", is_flag=True, help="Same as --yes.")
@click.option("--nuclear", is_flag=True,
              help="Also remove polecats with unsaved work (saved to the graveyard first).")
@json_option
@pass_cli
def shutdown(cli: CliContext, yes, force, nuclear, as_json) -> None:
    """Done for the day: stop every session and the tmux server, then remove each polecat's
    worktree and branch when nothing would be lost (the nuke checks). Polecats with unsaved
    work are kept unless --nuclear, which keeps that work in the graveyard first."""
    import sys

    from gastown_tui.ops.shutdown import shutdown as do_shutdown

    town = cli.town()
    if not (yes or force):
        if not sys.stdin.isatty():
            raise click.UsageError("gt shutdown stops the whole town and removes polecat "
                                   "worktrees; pass --yes to confirm")
        click.confirm(f"Stop every agent of {town.root} and remove finished polecats?",
                      abort=True)
    from gastown_tui.town.progress import Progress

    with Progress.for_cli(json_output=as_json) as progress:
        report = do_shutdown(town, cli.store("overseer"), nuclear=nuclear, progress=progress)
    if as_json:
        echo_json(report.as_json())
    else:
        stop = report.stop
        echo(f"■ tmux server {stop.socket} "
             + ("stopped" if stop.server_was_running else "was not running"))
        if stop.stopped_pids:
            echo(f"■ stopped {len(stop.stopped_pids)} process(es) left outside tmux")
        for target in report.removed:
            echo(f"✓ removed {target}")
        for target, why in report.kept.items():
            echo(f"● kept {target}: {'; '.join(why)} (gt shutdown --nuclear to remove)")
        if report.store:
            echo(f"■ the town's PostgreSQL {report.store}")
        for ref in report.graves:
            echo(f"  saved to {ref}")
        for line in _killed_steps(stop):
            echo(f"■ {line.detail} (pid {line.session})")
        if report.rest is not None:
            echo(f"■ store: {report.rest.line()}")
            for problem in report.rest.problems:
                echo(f"✗ store: {problem}")
    if not report.stop.ok:
        raise click.ClickException("; ".join(report.stop.problems) + " (kill them by hand)")


@click.group()
def mayor() -> None:
    """The Mayor's session (hq-mayor)."""


@mayor.command(name="start")
@click.option("--agent", default=None, help="Runtime for the Mayor (claude, codex, sim, …).")
@pass_cli
def mayor_start(cli: CliContext, agent) -> None:
    """Start the Mayor's session and see it past its runtime's start-up dialogs."""
    from gastown_tui.ops.up import start_mayor

    _print_steps([start_mayor(cli.town(), agent=agent, say=echo)])


@mayor.command(name="stop")
@pass_cli
def mayor_stop(cli: CliContext) -> None:
    from gastown_tui.ops.up import stop_session

    _print_steps([stop_session(cli.town(), "hq-mayor")])


@mayor.command(name="status")
@json_option
@pass_cli
def mayor_status(cli: CliContext, as_json) -> None:
    from gastown_tui.ops.sessions import tmux_for

    running = tmux_for(cli.town()).has_session("hq-mayor")
    if as_json:
        echo_json({"session": "hq-mayor", "running": running})
    else:
        echo(f"hq-mayor: {'running' if running else 'stopped'}")


@mayor.command(name="attach")
@pass_cli
def mayor_attach(cli: CliContext) -> None:
    """Attach your terminal to the Mayor (detach with C-b d)."""
    import os
    import subprocess

    from gastown_tui.ops.sessions import tmux_for
    from gastown_tui.tmux.socket import tmux_argv

    tmux = tmux_for(cli.town())
    if not tmux.has_session("hq-mayor"):
        raise click.ClickException("the Mayor is not running: gt mayor start")
    verb = "switch-client" if os.environ.get("TMUX") else "attach-session"
    raise click.exceptions.Exit(subprocess.call(tmux_argv(tmux.socket, verb, "-t", "=hq-mayor")))


@click.group()
def polecat() -> None:
    """Polecats: list them, nuke them, restore them from the graveyard."""


@polecat.command(name="list")
@click.argument("rig", required=False)
@json_option
@pass_cli
def polecat_list(cli: CliContext, rig, as_json) -> None:
    """Every polecat with its derived state (working, idle, stalled, zombie, done, blocked,
    rate-limited) and, where it needs you, the evidence."""
    from gastown_tui.ops.polecats import polecats

    town = cli.town()
    infos = polecats(town, cli.store(), town.rig(rig) if rig else None, screens=True)
    if as_json:
        echo_json([i.as_json() for i in infos])
        return
    if not infos:
        echo("No polecats. Sling work to a rig: gt sling <bead> <rig>")
    for i in infos:
        issue = f"{i.issue} {i.issue_title}" if i.issue else "-"
        line = f"{i.address:<30} {i.state:<12} {'●' if i.session_running else '○'} {issue}"
        if i.host:
            line += f"  @{i.host}"
        if i.state in ("blocked", "rate-limited", "stalled", "zombie", "host unreachable"):
            line += f"\n{'':<30} ⚠ {i.evidence}"
        echo(line)


def _attach_mayor_restart() -> None:
    from gastown_tui.cli.gt_lifecycle import add_role_verbs

    add_role_verbs(mayor, "mayor", verbs=("restart",))


_attach_mayor_restart()  # gt mayor restart (cli/gt_lifecycle.py)


def _attach_nuke_commands() -> None:
    try:
        from gastown_tui.cli.gt_polecat_nuke import graveyard, nuke, stale
    except ImportError:
        return
    polecat.add_command(nuke)
    polecat.add_command(stale)
    polecat.add_command(graveyard)


_attach_nuke_commands()


@polecat.command(name="status")
@click.argument("target")
@json_option
@pass_cli
def polecat_status(cli: CliContext, target, as_json) -> None:
    """One polecat in detail: state and its evidence, hook, branch, worktree, session."""
    from gastown_tui.ops.nuke import check_safety, resolve_target
    from gastown_tui.ops.polecats import polecats

    town = cli.town()
    found = resolve_target(town, target)
    store = cli.store()
    infos = [i for i in polecats(town, store, found.rig, screens=True) if i.name == found.name]
    if not infos:
        raise click.ClickException(f"no polecat {found.addr} (see gt polecat list "
                                   f"{found.rig.name})")
    info = infos[0]
    unsafe = check_safety(town, store, found.rig, found.name) \
        if info.worktree_exists and info.state != "host unreachable" else []
    data = {**info.as_json(), "would_lose": unsafe}
    if as_json:
        echo_json(data)
        return
    echo(f"{info.address}: {info.state} ({info.evidence})")
    echo(f"  hook: {info.issue + ' ' + info.issue_title if info.issue else '-'}")
    echo(f"  session: {info.session_address} "
         f"{'running' if info.session_running else 'stopped'}"
         f"   heartbeat: {info.heartbeat or '-'}")
    echo(f"  branch: {info.branch or '-'}   MR: {info.active_mr or '-'}")
    echo(f"  worktree: {info.worktree}{'' if info.worktree_exists else ' (missing)'}")
    echo("  nuke would lose: " + ("; ".join(unsafe) if unsafe else "nothing"))


@polecat.command(name="remove")
@click.argument("targets", nargs=-1, required=True)
@click.option("--all", "all_", is_flag=True, help="Every polecat of the rig named.")
@click.option("-f", "--force", is_flag=True,
              help="Remove even with unsaved work (kept in the graveyard first).")
@json_option
@pass_cli
def polecat_remove(cli: CliContext, targets, all_, force, as_json) -> None:
    """Remove polecats: their session, worktree and branch (the nuke safety checks apply:
    a polecat with unsaved work is refused unless --force)."""
    from gastown_tui.ops.nuke import nuke, rig_polecats

    town = cli.town()
    names = [t for rig in targets for t in rig_polecats(town, rig)] if all_ else list(targets)
    results = nuke(town, cli.store(), names, force=force)
    if as_json:
        echo_json([r.as_json() for r in results])
        return
    for r in results:
        echo(f"✓ removed {r.target}" + (f" (saved to {r.graveyard_ref})"
                                              if r.graveyard_ref else ""))


@polecat.command(name="spawn", context_settings={"ignore_unknown_options": True,
                                                 "allow_extra_args": True})
@click.pass_context
def polecat_spawn(ctx: click.Context) -> None:
    """There is no spawn: gt sling <bead> <rig> makes a polecat with its work."""
    raise click.ClickException("gt polecat spawn: there is no such step here (nor upstream); "
                               "a polecat is born with its work: gt sling <bead> <rig>")
