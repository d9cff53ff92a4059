"""`gt host add|list|remove|check`: the town's other machines, reached over ssh; and the
hidden `gt host serve-op`, which a host's gt runs when the town asks it for something."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, DefaultGroup, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.group(cls=DefaultGroup, default="list")
def host() -> None:
    """Other machines that run the town's polecats (over ssh; beads in PostgreSQL).

    \b
    gt host add b user@10.0.0.7 --capacity 4     check it and record it
    gt host list [--check]                       hosts, their polecats and room
    gt host check b                              ssh, gt version, tmux, git, the store
    gt sling gt-abc gastown --host b             a polecat there
    gt host remove b                             forget it (it must run no polecat)
    """


def _print_report(report, verb: str) -> None:
    data = report.as_json()
    mark = "✓" if report.ok else ("✗" if report.reachable else "⚠")
    state = "" if report.reachable else "  host unreachable"
    echo(f"{mark} {verb} {data['name']} ({data['target']}){state}")
    for check in report.checks:
        echo(f"    {'✓' if check.ok else '✗'} {check.name}: {check.detail}")


@host.command(name="add")
@click.argument("name")
@click.argument("target", metavar="USER@HOST[:PORT]")
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=None,
              help="ssh port (or give it as USER@HOST:PORT).")
@click.option("-i", "--identity", default=None, metavar="FILE",
              help="Private key for ssh (default: ssh's own).")
@click.option("--town-path", default=None, metavar="DIR",
              help="The host's town folder (default: ~/gt-<town name> there).")
@click.option("--gt", "gt_path", default=None, metavar="PATH",
              help="The host's gt program (default: this gt's path there, else gt on PATH).")
@click.option("--capacity", type=click.IntRange(0, 10_000), default=None,
              help="Polecats it may run at once (default 4).")
@click.option("--store-host", default=None, metavar="ADDR",
              help="The address of this machine's PostgreSQL as the host reaches it "
                   "(default: the cluster's listen address, else what the host sees ssh "
                   "come from).")
@json_option
@pass_cli
def host_add(cli: CliContext, name, target, port, identity, town_path, gt_path, capacity,
             store_host, as_json) -> None:
    """Check a host (BatchMode ssh, its gt version, tmux, git, the store) and record it."""
    from gastown_tui.ops.hosts import add_host

    report = add_host(cli.town(), name, target, port=port, identity=identity,
                      town_path=town_path, gt=gt_path, capacity=capacity,
                      store_host=store_host)
    if as_json:
        echo_json(report.as_json())
    else:
        _print_report(report, report.action)


@host.command(name="list")
@click.option("--check", "do_check", is_flag=True, help="Reach each host (one ssh each).")
@json_option
@pass_cli
def host_list(cli: CliContext, do_check, as_json) -> None:
    """The town's hosts, where their towns live, their polecats and room."""
    from gastown_tui.ops.hosts import list_hosts

    reports = list_hosts(cli.town(), check=do_check)
    if as_json:
        echo_json([r.as_json() for r in reports])
        return
    if not reports:
        echo("No hosts: every polecat runs here. Add one with gt host add NAME "
                   "USER@HOST")
        return
    for report in reports:
        data = report.as_json()
        reach = "" if not do_check else ("  reachable" if report.reachable
                                         else "  host unreachable: " + report.checks[0].detail)
        echo(f"{data['name']}: {data['target']}  town {data['town_path']}  "
             f"polecats {len(report.polecats)}/{data['capacity']}{reach}")
        for polecat in report.polecats:
            echo(f"    {polecat}")


@host.command(name="check")
@click.argument("name")
@json_option
@pass_cli
def host_check(cli: CliContext, name, as_json) -> None:
    """Reach the host again: ssh, gt version, tmux, git, the store; refresh its town folder.
    Exit status 1 when something fails (an unreachable host included)."""
    from gastown_tui.ops.hosts import check_host

    report = check_host(cli.town(), name)
    if as_json:
        echo_json(report.as_json())
    else:
        _print_report(report, "host")
    if not report.ok:
        raise SystemExit(1)


@host.command(name="remove")
@click.argument("name")
@click.option("--keep-server", is_flag=True, help="Leave the host's tmux server running.")
@json_option
@pass_cli
def host_remove(cli: CliContext, name, keep_server, as_json) -> None:
    """Forget a host that runs none of the town's polecats (its tmux server is stopped)."""
    from gastown_tui.ops.hosts import remove_host

    report = remove_host(cli.town(), name, keep_server=keep_server)
    if as_json:
        echo_json(report.as_json())
    else:
        _print_report(report, "removed")


@host.command(name="serve-op", hidden=True)
@click.option("--root", required=True)
@click.argument("op")
def host_serve_op(root, op) -> None:
    """(run by the town over ssh) One request on stdin as JSON, the answer on stdout."""
    import json
    import sys

    from gastown_tui.ops.host_side import serve
    from gastown_tui.town.errors import GasTownError

    try:
        raw = sys.stdin.read()
        request = json.loads(raw) if raw.strip() else {}
        if not isinstance(request, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        click.echo(json.dumps({"ok": False, "error": f"bad request: {exc}",
                               "fix": "the town and host run different gt versions"}))
        raise SystemExit(1) from None
    try:
        answer = serve(root, op, request)
    except GasTownError as exc:
        click.echo(json.dumps({"ok": False, "error": exc.problem, "fix": exc.fix,
                               "code": exc.code}))
        raise SystemExit(1) from None
    except Exception as exc:  # the town shows it as one line, not a traceback
        click.echo(json.dumps({"ok": False, "error": f"{op} failed: {type(exc).__name__}: "
                                                     f"{exc}"[:400],
                               "fix": f"run gt doctor on that host (town folder {root})"}))
        raise SystemExit(1) from None
    click.echo(json.dumps(answer))
