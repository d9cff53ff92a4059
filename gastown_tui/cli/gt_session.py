"""`gt handoff`, `gt session status|stop|start|restart`, `gt worktree`: sessions as upstream's
prompts teach them."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.common import CliContext, DefaultGroup, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.command()
@click.argument("bead_or_role", required=False)
@click.option("-s", "--subject", default="", help="Subject of the handoff note.")
@click.option("-m", "--message", default="", help="The note: what is done, what is next.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the note from stdin.")
@click.option("-c", "--collect", is_flag=True,
              help="Add the current state (hook, mail, work in progress) to the note.")
@click.option("--auto", is_flag=True, help="Save the note only; do not restart (PreCompact).")
@click.option("--cycle", is_flag=True, help="Save and restart (the default; for hooks).")
@click.option("--reason", default="", help="Why (compaction, idle...): the subject's default.")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would happen; do nothing.")
@click.option("-y", "--yes", is_flag=True, help="Accepted for scripts: there is no prompt.")
@click.option("--no-git-check", is_flag=True, help="Accepted for scripts.")
@json_option
@pass_cli
def handoff(cli: CliContext, bead_or_role, subject, message, from_stdin, collect, auto, cycle,
            reason, dry_run, yes, no_git_check, as_json) -> None:
    """Hand off to a fresh session: a note to yourself, the hook kept, the session restarted
    in place; its `gt prime` shows the note. BEAD hooks that bead first; an agent address
    (mayor, <rig>/<name>) hands off that agent instead."""
    from gastown_tui.ops.handoff import handoff as do_handoff
    from gastown_tui.ops.handoff import perform_restart

    if from_stdin:
        if message:
            raise click.UsageError("use --stdin or -m, not both")
        message = sys.stdin.read().rstrip("\n")
    bead = target = None
    if bead_or_role:
        if _looks_like_bead(cli, bead_or_role):
            bead = bead_or_role
        else:
            target = bead_or_role
    town = cli.town()
    plan = do_handoff(town, cli.store(), cwd=cli.cwd, subject=subject or reason,
                      message=message, bead=bead, target=target, collect=collect,
                      restart=not auto, dry_run=dry_run)
    if as_json:
        echo_json(plan.as_json())
    elif dry_run:
        echo(f"Would send handoff note to {plan.agent}: {plan.subject}")
        echo(f"Would restart {plan.session} in {plan.cwd}" if plan.restart
                   else f"No restart: {plan.reason}")
    else:
        echo(f"📬 Handoff note {plan.mail} saved for {plan.agent}: {plan.subject}")
        if plan.hooked:
            echo(f"🪝 Hook kept: {plan.hooked}")
        echo(f"🤝 Restarting {plan.session} in place…" if plan.restart
                   else f"No restart: {plan.reason}")
    sys.stdout.flush()
    if plan.restart and not dry_run:
        perform_restart(town, plan)  # the last act: it may end this very process


def _looks_like_bead(cli: CliContext, text: str) -> bool:
    prefix, sep, rest = text.partition("-")
    return bool(sep and rest and "/" not in text and prefix in cli.town().prefixes())


@click.group()
def session() -> None:
    """Agent sessions by address: status, stop, start, restart."""


def _resolve(cli: CliContext, target: str):
    from gastown_tui.ops.nudge import resolve_target

    return resolve_target(cli.town(), target)


@session.command(name="status")
@click.argument("target")
@json_option
@pass_cli
def session_status(cli: CliContext, target, as_json) -> None:
    """Is the agent's session running, since when, doing what."""
    from gastown_tui.ops.sessions import host_of_agent, read_heartbeat, tmux_for

    town = cli.town()
    addr, name = _resolve(cli, target)
    host = host_of_agent(town, addr)
    info = next((s for s in tmux_for(town, host).list_sessions() if s.name == name), None)
    beat = read_heartbeat(town, name) or {}
    data = {"address": str(addr), "session": name, "host": host or "",
            "running": bool(info and not info.pane_dead),
            "exists": info is not None, "attached": info.attached if info else 0,
            "command": info.pane_current_command if info else "",
            "created": info.created if info else 0, "activity": info.activity if info else 0,
            "heartbeat": beat}
    if as_json:
        echo_json(data)
        return
    if info is None:
        echo(f"○ {addr}: no session {name}")
    else:
        state = "dead pane (remain-on-exit)" if info.pane_dead else "running"
        echo(f"● {addr}: session {name} {state}, running {data['command'] or '?'}")
        if beat:
            echo(f"  heartbeat: {beat.get('state', '?')} at {beat.get('ts', '?')}")


@session.command(name="stop")
@click.argument("target")
@json_option
@pass_cli
def session_stop(cli: CliContext, target, as_json) -> None:
    """Stop the agent's session and its processes (worktree, branch and hook stay)."""
    from gastown_tui.ops.sessions import host_of_agent
    from gastown_tui.ops.up import stop_session

    addr, name = _resolve(cli, target)
    step = stop_session(cli.town(), name, host=host_of_agent(cli.town(), addr))
    if as_json:
        echo_json(step.__dict__)
    else:
        echo(f"■ {name} stopped" if step.action == "stopped" else f"· {name}: not running")


@session.command(name="start")
@click.argument("target")
@pass_cli
def session_start(cli: CliContext, target) -> None:
    """Start a stopped agent's session again (a polecat with its hooked work, or the Mayor)."""
    from gastown_tui.ops.up import resume_polecats, start_mayor

    addr, name = _resolve(cli, target)
    town = cli.town()
    if addr.role == "mayor":
        step = start_mayor(town)
        echo(f"▶ {step.session} {step.action}")
        return
    steps = [s for s in resume_polecats(town) if s.session == name]
    if not steps:
        raise click.ClickException(f"{addr} was not started: it is running already, or has no "
                                   "hooked work or worktree (sling it new work instead)")
    echo(f"▶ {name} {steps[0].action} {steps[0].detail}")


@session.command(name="restart")
@click.argument("target")
@pass_cli
def session_restart(cli: CliContext, target) -> None:
    """Restart a running agent's session in place (a fresh context, same hook)."""
    from gastown_tui.ops.handoff import agent_cwd
    from gastown_tui.ops.sessions import host_of_agent, restart_agent, tmux_for

    addr, name = _resolve(cli, target)
    town = cli.town()
    host = host_of_agent(town, addr)
    if not tmux_for(town, host).has_session(name):
        raise click.ClickException(f"{addr} has no session {name} (start it: gt session "
                                   f"start {target})")
    session, _ = restart_agent(town, addr, agent_cwd(town, addr), topic_suffix="restart")
    echo(f"↻ {session} restarted")


@session.command(name="attach")
@click.argument("target")
@pass_cli
def session_attach(cli: CliContext, target) -> None:
    """Put this terminal in the agent's tmux session (on its host, through ssh -t); detach
    with the tmux prefix, then d."""
    import os

    from gastown_tui.ops.sessions import attach_argv, host_of_agent, session_address, tmux_for
    from gastown_tui.tmux.commands import tmux_env

    addr, name = _resolve(cli, target)
    town = cli.town()
    host = host_of_agent(town, addr)
    if not tmux_for(town, host).has_session(name):
        raise click.ClickException(f"{addr} has no session {session_address(host, name)}")
    argv = attach_argv(town, session_address(host, name))
    os.execvpe(argv[0], argv, tmux_env())  # noqa: S606 - an argument list, no shell


@click.group(cls=DefaultGroup, default="of-rig", invoke_without_command=True)
@click.pass_context
def worktree(ctx: click.Context) -> None:
    """Git worktrees of the town: `gt worktree list`, `gt worktree remove <rig>/<name>`.
    (Upstream's crew members also make worktrees of other rigs; here a crew member works in
    its own rig's clone (gt crew add), so the worktrees are the refineries' and the
    polecats'.)"""
    if ctx.invoked_subcommand is None:
        echo(ctx.get_help())


@worktree.command(name="of-rig", hidden=True)
@click.argument("rig")
@pass_cli
def worktree_of_rig(cli: CliContext, rig) -> None:
    """`gt worktree <rig>`: upstream's crew worktree in another rig."""
    cli.town().rig(rig)  # an unknown rig says so first
    raise click.ClickException(
        f"gt worktree {rig}: crew worktrees in other rigs are not built here; to work on "
        f"{rig}, add a crew member there (gt crew add <name> --rig {rig}) or file a bead "
        f"there (bd create --rig {rig} \"...\") and sling it (gt sling <bead> {rig})")


def _worktrees(cli: CliContext) -> list[dict]:
    from gastown_tui.ops.polecats import polecats

    town = cli.town()
    rows = [{"rig": rig.name, "name": "refinery", "path": str(rig.refinery_worktree),
             "branch": rig.default_branch, "exists": rig.refinery_worktree.is_dir()}
            for rig in town.rigs()]
    rows += [{"rig": p.rig, "name": p.name, "path": p.worktree, "branch": p.branch,
              "exists": p.worktree_exists, "state": p.state}
             for p in polecats(town, cli.store())]
    return rows


@worktree.command(name="list")
@json_option
@pass_cli
def worktree_list(cli: CliContext, as_json) -> None:
    """Every worktree of every rig: the refinery's and each polecat's."""
    rows = _worktrees(cli)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        mark = "✓" if row["exists"] else "✗"
        echo(f"{mark} {row['rig']}/{row['name']:<12} {row['branch']:<36} {row['path']}")


@worktree.command(name="remove")
@click.argument("target")
@click.option("-f", "--force", is_flag=True, help="Keep its unsaved work in the graveyard "
                                                   "and remove it anyway.")
@pass_cli
def worktree_remove(cli: CliContext, target, force) -> None:
    """Remove a polecat's worktree (the nuke safety checks apply; see gt polecat nuke)."""
    from gastown_tui.ops.nuke import nuke

    town = cli.town()
    if "/" not in target:
        raise click.ClickException(f"gt worktree remove {target}: name a polecat's worktree as "
                                   "<rig>/<name> (see gt worktree list); crew worktrees of "
                                   "other rigs are not built here")
    for result in nuke(town, cli.store(), [target], force=force):
        echo(f"✓ removed {result.worktree}")


def _attach_lifecycle() -> None:
    from gastown_tui.cli.gt_lifecycle import add_session_verbs

    add_session_verbs(session)


_attach_lifecycle()  # gt session list|capture|inject|check (cli/gt_lifecycle.py)
