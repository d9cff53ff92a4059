"""Lifecycle verbs added to the existing groups: `gt rig status|boot|reboot|restart|shutdown`,
`gt witness|refinery|deacon start|stop|restart|attach`, `gt mayor restart`,
`gt session list|capture|inject|check` (ops/lifecycle.py does the work)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo, rig_here
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

MARK = {"started": "▶", "running": "●", "stopped": "■", "absent": "·", "skipped": "○",
        "restarted": "↻", "failed": "✗"}


def _steps(steps, as_json: bool) -> None:
    if as_json:
        echo_json([s.__dict__ for s in steps])
        return
    for s in steps:
        detail = f" ({s.detail})" if s.detail else ""
        echo(f"{MARK.get(s.action, '·')} {s.session} {s.action}{detail}")
    failed = [s for s in steps if s.action == "failed"]
    if failed:
        raise click.exceptions.Exit(1)


def _rig(cli: CliContext, name: str | None):
    return rig_here(cli, name)


def _attach_tmux(cli: CliContext, session: str, hint: str) -> None:
    import os
    import subprocess

    from gastown_tui.ops.sessions import tmux_for
    from gastown_tui.tmux.socket import tmux_argv

    tmux = tmux_for(cli.town())
    if not tmux.has_session(session):
        raise click.ClickException(f"{session} is not running ({hint})")
    verb = "switch-client" if os.environ.get("TMUX") else "attach-session"
    raise click.exceptions.Exit(subprocess.call(tmux_argv(tmux.socket, verb, "-t",
                                                          f"={session}")))


# ---------------------------------------------------------------------------- roles
def add_role_verbs(group: click.Group, role: str, *, verbs=("start", "stop", "restart",
                                                             "attach")) -> None:
    """start/stop/restart/attach for one role; the Witness and Refinery take a rig (named, or
    the one you are in)."""
    per_rig = role in ("witness", "refinery")
    title = role.capitalize()

    def rig_arg(f):
        return click.argument("rig_name", required=False)(f) if per_rig else f

    def target(cli: CliContext, rig_name):
        return _rig(cli, rig_name) if per_rig else None

    if "start" in verbs:
        @group.command(name="start", help=f"Start the {title}'s session.")
        @rig_arg
        @json_option
        @pass_cli
        def start(cli: CliContext, as_json, rig_name=None) -> None:
            from gastown_tui.ops.lifecycle import start_role

            _steps([start_role(cli.town(), role, target(cli, rig_name))], as_json)

    if "stop" in verbs:
        again = (" (the Deacon starts it again on its next patrol unless the rig is parked)"
                 if per_rig else " (gt up starts it again)")
        @group.command(name="stop", help=f"Stop the {title}'s session{again}.")
        @rig_arg
        @json_option
        @pass_cli
        def stop(cli: CliContext, as_json, rig_name=None) -> None:
            from gastown_tui.ops.lifecycle import stop_role

            _steps([stop_role(cli.town(), role, target(cli, rig_name))], as_json)

    if "restart" in verbs:
        @group.command(name="restart", help=f"Stop then start the {title}"
                       + (" (a fresh context in the same pane)." if role == "mayor" else "."))
        @rig_arg
        @json_option
        @pass_cli
        def restart(cli: CliContext, as_json, rig_name=None) -> None:
            from gastown_tui.ops.lifecycle import restart_role

            _steps(restart_role(cli.town(), role, target(cli, rig_name)), as_json)

    if "attach" in verbs:
        @group.command(name="attach", help=f"Attach your terminal to the {title}'s session "
                       "(detach with C-b d).")
        @rig_arg
        @pass_cli
        def attach(cli: CliContext, rig_name=None) -> None:
            from gastown_tui.ops.lifecycle import role_session

            _, session = role_session(cli.town(), role, target(cli, rig_name))
            _attach_tmux(cli, session, f"gt {role} start")


# ---------------------------------------------------------------------------- rigs
def add_rig_verbs(rig: click.Group) -> None:
    @rig.command(name="status")
    @click.argument("rig_name", required=False)
    @json_option
    @pass_cli
    def rig_status(cli: CliContext, rig_name, as_json) -> None:
        """A rig in detail: its witness and refinery, its merge queue, its polecats."""
        from gastown_tui.ops.lifecycle import rig_status as status

        info = status(cli.town(), cli.store(), _rig(cli, rig_name))
        if as_json:
            echo_json(info)
            return
        echo(f"Rig {info['name']} ({info['state']})  prefix {info['beads_prefix']}  "
             f"{info['path']}")
        for role in ("witness", "refinery"):
            loop = info[role]
            extra = f", queue {loop['queue']}" if role == "refinery" else ""
            echo(f"  {'●' if loop['running'] else '○'} {role:<9} "
                 f"{'running' if loop['running'] else 'stopped'}"
                 f"{' (' + loop['state'] + ')' if loop['state'] else ''}{extra}")
        echo(f"  Polecats: {len(info['polecats'])}")
        for p in info["polecats"]:
            echo(f"    {'●' if p['session_running'] else '○'} {p['name']:<16} {p['state']:<12} "
                 f"{p['issue'] or '-'}")

    @rig.command(name="boot")
    @click.argument("rig_name")
    @json_option
    @pass_cli
    def rig_boot(cli: CliContext, rig_name, as_json) -> None:
        """Start the rig's witness and refinery (polecats start when work is slung)."""
        from gastown_tui.ops.lifecycle import rig_boot as boot

        _steps(boot(cli.town(), _rig(cli, rig_name)), as_json)

    for name, doc in (("reboot", "Restart the rig's witness and refinery."),
                      ("restart", "Restart the rig's witness and refinery (stop, then "
                                  "start).")):
        @rig.command(name=name, help=doc)
        @click.argument("rig_names", nargs=-1, required=True)
        @json_option
        @pass_cli
        def rig_reboot(cli: CliContext, rig_names, as_json) -> None:
            from gastown_tui.ops.lifecycle import rig_reboot as reboot

            steps = []
            for rig_name in rig_names:
                steps += reboot(cli.town(), _rig(cli, rig_name))
            _steps(steps, as_json)

    @rig.command(name="shutdown")
    @click.argument("rig_name")
    @json_option
    @pass_cli
    def rig_shutdown(cli: CliContext, rig_name, as_json) -> None:
        """Stop every session of the rig: polecats, crew, refinery, witness. Worktrees,
        branches and hooks stay (gt rig boot, then gt up --polecats, resumes them); the
        Deacon restarts the witness and refinery unless you park the rig."""
        from gastown_tui.ops.lifecycle import rig_shutdown as shutdown

        target = _rig(cli, rig_name)
        _steps(shutdown(cli.town(), cli.store(), target), as_json)
        if not as_json:
            echo(f"✓ Rig {target.name} shut down (keep it down: gt rig park {target.name})")


# ---------------------------------------------------------------------------- sessions
def add_session_verbs(session: click.Group) -> None:
    @session.command(name="list")
    @click.option("--rig", default=None, help="Only this rig's sessions.")
    @json_option
    @pass_cli
    def session_list(cli: CliContext, rig, as_json) -> None:
        """Every session of the town and whose it is."""
        from gastown_tui.ops.lifecycle import session_list as listing

        found = listing(cli.town(), rig)
        if as_json:
            echo_json(found)
            return
        if not found:
            echo("No sessions running.")
        for s in found:
            echo(f"{'●' if s['running'] else '✗'} {s['session_id']:<28} {s['address']}")

    @session.command(name="capture")
    @click.argument("target")
    @click.argument("count", required=False, type=click.IntRange(min=1))
    @click.option("-n", "--lines", type=click.IntRange(min=1), default=None,
                  help="Number of lines to capture (default 100).")
    @pass_cli
    def session_capture(cli: CliContext, target, count, lines) -> None:
        """The last lines of an agent's pane (as gt peek)."""
        from gastown_tui.ops.nudge import resolve_target
        from gastown_tui.ops.sessions import tmux_for

        town = cli.town()
        addr, name = resolve_target(town, target)
        tmux = tmux_for(town)
        if not tmux.has_session(name):
            raise click.ClickException(f"{addr} is not running (no session {name})")
        want = lines or count or 100
        out = tmux.capture(name, lines=want)
        while out and not out[-1].strip():
            out.pop()
        for line in out[-want:]:
            echo(line)

    @session.command(name="inject")
    @click.argument("target")
    @click.option("-m", "--message", default=None, help="Message to inject.")
    @click.option("-f", "--file", "path", type=click.Path(dir_okay=False), default=None,
                  help="File to read the message from.")
    @pass_cli
    def session_inject(cli: CliContext, target, message, path) -> None:
        """Type a message into an agent's pane now (gt nudge waits until it is idle and is
        usually what you want)."""
        from pathlib import Path

        from gastown_tui.ops.lifecycle import inject

        if path:
            try:
                message = Path(path).read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise click.ClickException(f"cannot read {path}: {exc}") from None
        if message is None:
            raise click.UsageError("pass the message: -m 'text' or -f FILE")
        session = inject(cli.town(), target, message)
        echo(f"✓ Injected into {session}")

    @session.command(name="check")
    @click.argument("rig", required=False)
    @json_option
    @pass_cli
    def session_check(cli: CliContext, rig, as_json) -> None:
        """Each polecat's session health: ok, missing (hooked work, no session), dead pane,
        zombie (session without worktree). Exit 1 when any is unhealthy."""
        from gastown_tui.ops.lifecycle import session_check as check

        found = check(cli.town(), cli.store(), rig)
        bad = [c for c in found if c["status"] in ("missing", "dead", "zombie")]
        if as_json:
            echo_json(found)
        else:
            if not found:
                echo("No polecats.")
            for c in found:
                mark = "✓" if c["status"] in ("ok", "idle") else "✗"
                echo(f"{mark} {c['rig']}/{c['polecat']:<16} {c['status']:<8} {c['detail']}")
            echo(f"\n{len(found) - len(bad)} healthy, {len(bad)} need attention")
        if bad:
            raise click.exceptions.Exit(1)
