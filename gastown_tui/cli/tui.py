"""`gastown-tui`: the control room, its headless snapshot mode, and the demo.

    gastown-tui [--town DIR] [--read-only]
    gastown-tui snapshot [--town DIR] [--screen NAME] [--size WxH] [--read-only] --out FILE
    gastown-tui serve [--town DIR] [--read-only] [--host ADDR] [--port N] [--token TOKEN]
    gastown-tui demo [...]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from gastown_tui.town.errors import GasTownError

DEMO_NOT_BUILT = """gastown-tui demo: the demo town is not built yet.

What works today: the town engine (gt, bd), agents in tmux (gt sling/nudge/nuke), the refinery
and the control room: run `gastown-tui` inside a town (make one with `gt install DIR`).
"""
SCREENS_HELP = ("main, convoys, beads, mail, events, polecat:<rig>/<name>, convoy:<id>, "
                "bead:<id>")


def _parser(prog: str, snapshot: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Render one frame of a screen headless and exit." if snapshot
        else "The Gas Town control room. Subcommands: snapshot, serve, demo.")
    parser.add_argument("--town", metavar="DIR", help="the town (default: found from the "
                        "current directory, then GT_ROOT)")
    parser.add_argument("--read-only", action="store_true",
                        help="hide every action that changes the town")
    if snapshot:
        parser.add_argument("--screen", default="main", help=f"one of: {SCREENS_HELP}")
        parser.add_argument("--size", default="160x48", help="WIDTHxHEIGHT (default 160x48)")
        parser.add_argument("--out", required=True, type=Path, help="FILE.svg or FILE.txt")
    return parser


SERVE_DESCRIPTION = """\
Serve the control room to a web browser (textual-serve): each browser connection runs its own
control room on this town.

Safe by default: the server listens on 127.0.0.1 only, and every request (the page, its
assets and its websocket) needs a token. It prints the URL to open, with ?token=...; the
browser then keeps the token in a cookie for this server. Requests without the right token
get 401/403. Scripts may send the token as `Authorization: Bearer TOKEN`."""

SERVE_EPILOG = """\
token: a random one is generated at each start unless --token or $GASTOWN_SERVE_TOKEN gives
one (at least 16 characters of A-Z a-z 0-9 . _ ~ -). Prefer the environment variable: an
argument is visible to other users in `ps`.

host: --host 0.0.0.0 (or any address other than loopback) lets other machines connect; it
prints a warning, because the token is then the only protection and the traffic is plain
HTTP. To reach the control room from elsewhere, prefer an SSH tunnel to the default:
`ssh -L 8000:127.0.0.1:8000 HOST`."""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (0-65535)")
    return port


def _serve_parser() -> argparse.ArgumentParser:
    from gastown_tui.app.serve import DEFAULT_HOST, DEFAULT_PORT, TOKEN_ENV

    parser = argparse.ArgumentParser(prog="gastown-tui serve", description=SERVE_DESCRIPTION,
                                     epilog=SERVE_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--town", metavar="DIR", help="the town (default: found from the "
                        "current directory, then GT_ROOT)")
    parser.add_argument("--read-only", action="store_true",
                        help="serve a control room that hides every action that changes the town")
    parser.add_argument("--host", default=DEFAULT_HOST, metavar="ADDR",
                        help=f"address to listen on (default {DEFAULT_HOST}, this machine only; "
                        "anything else warns, see below)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, metavar="N",
                        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--token", metavar="TOKEN",
                        help=f"the token every request must carry (default: ${TOKEN_ENV}, "
                        "else a random one)")
    return parser


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise GasTownError(f"bad --size {text!r}", fix="use WIDTHxHEIGHT, e.g. 160x48") from None
    if not (20 <= width <= 1000 and 5 <= height <= 500):
        raise GasTownError(f"--size {text} is out of range", fix="use e.g. 80x24 to 400x120")
    return width, height


def _fail(error: GasTownError) -> int:
    sys.stderr.write(f"gastown-tui: {error}\n")
    return error.exit_code


def run_app(args: list[str]) -> int:
    # No cyclic garbage collection until the first whole frame (the app resumes it): its
    # passes over every object the imports made cost ~40 ms of start-up; reference counting
    # still frees everything that is not in a cycle. The forked first read inherits it.
    gc.disable()
    options = _parser("gastown-tui", snapshot=False).parse_args(args)
    from gastown_tui.town.layout import Town

    try:
        town = Town.find(explicit=options.town)
    except GasTownError as error:
        return _fail(error)
    # The town's first read starts now, in a child, while the control room imports Textual.
    from gastown_tui.model.first_read import FirstRead

    first_read = FirstRead.start(town.root)
    from gastown_tui.app import make_app

    make_app(town, read_only=options.read_only, first_read=first_read, gc_paused=True).run()
    return 0


def run_snapshot(args: list[str]) -> int:
    options = _parser("gastown-tui snapshot", snapshot=True).parse_args(args)
    from gastown_tui.town.layout import Town

    try:
        town = Town.find(explicit=options.town)
        size = _size(options.size)
        from gastown_tui.app.headless import render

        render(town, options.screen, size, options.out, read_only=options.read_only)
    except GasTownError as error:
        return _fail(error)
    except OSError as error:
        sys.stderr.write(f"gastown-tui: cannot write {options.out}: {error.strerror}\n")
        return 1
    return 0


def run_serve(args: list[str]) -> int:
    options = _serve_parser().parse_args(args)
    from gastown_tui.town.layout import Town

    try:
        town = Town.find(explicit=options.town)
        from gastown_tui.app.serve import serve

        return serve(town.root, host=options.host, port=options.port, token=options.token,
                     read_only=options.read_only)
    except GasTownError as error:
        return _fail(error)


def run_demo(args: list[str]) -> int:
    if importlib.util.find_spec("gastown_tui.demo") is not None:
        import gastown_tui.demo as demo

        return int(demo.main(args, run_app=_demo_app) or 0)
    sys.stdout.write(DEMO_NOT_BUILT)
    return 0


def _demo_app(town, on_stop, story) -> int:
    """The demo's control room: it runs until the user quits; `on_stop` gets its exit;
    `story` starts the agents once the first frame is on screen and captions the beats."""
    from gastown_tui.app import make_app

    app = make_app(town, story=story)
    on_stop(app.exit)
    app.run()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["snapshot"]:
        code = run_snapshot(args[1:])
    elif args[:1] == ["serve"]:
        code = run_serve(args[1:])
    elif args[:1] == ["demo"]:
        code = run_demo(args[1:])
    else:
        code = run_app(args)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":  # `python -m gastown_tui.cli.tui`: what `serve` runs per browser
    main()
