"""The demo's command line: build the town, start it, then watch it in the control room or,
headless, print what lands, fails and is retried until the convoy lands."""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from gastown_tui.demo import scenario
from gastown_tui.demo.story import Story
from gastown_tui.town.layout import Town

INTERESTING = {
    "sling": lambda p: f"slung {p.get('bead')} → {p.get('target')}",
    "done": lambda p: f"{p.get('bead')} submitted as {p.get('mr')}",
    "merge_started": lambda p: f"refinery: merging {p.get('mr')} ({p.get('issue', '')})",
    "merged": lambda p: f"✓ merged {p.get('mr')} ({p.get('issue', '')})",
    "merge_failed": lambda p: (f"✗ {p.get('mr')} failed: {p.get('type')}"
                               + (f" in {', '.join(p.get('files') or [])}" if p.get('files') else "")
                               + (f" ({p.get('error')})" if p.get('error') else "")),
    "polecat_nudged": lambda p: f"witness nudged {p.get('polecat')} (GUPP, {p.get('status')})",
    "polecat_checked": lambda p: f"witness: {p.get('polecat')} {p.get('state')}: {p.get('action')}",
    "mail": lambda p: (f"mail to {p.get('to')}: {p.get('subject')}"
                       if str(p.get("subject", "")).startswith(("FIX_NEEDED", "🚚")) else ""),
    "convoy_landed": lambda p: f"🚚 convoy landed: {p.get('title')}",
    "escalation": lambda p: f"⚠ escalation {p.get('id')} [{p.get('severity')}]",
}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="gastown-tui demo",
                                 description="A demo town: sim agents land a convoy.")
    ap.add_argument("--dir", type=Path, help="build the town here (default: a temp dir)")
    ap.add_argument("--headless", action="store_true", help="no screen: print progress lines")
    ap.add_argument("--until-landed", action="store_true",
                    help="exit 0 only when the convoy landed and main's tests pass")
    ap.add_argument("--keep", action="store_true", help="leave the town and its agents running")
    ap.add_argument("--remove", action="store_true",
                    help="delete the demo's temp town when it ends (headless runs do; after "
                         "the control room it is kept, its agents stopped, to look at main)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for landing")
    ap.add_argument("--store", default="sqlite", metavar="sqlite|postgres|URL",
                    help="the bead store: sqlite (default), postgres (a PostgreSQL cluster "
                         "inside the demo town), or a postgresql:// URL of an empty database")
    return ap.parse_args(list(argv))


class Terminated(Exception):
    """SIGTERM or SIGHUP: end the demo as Ctrl-C would, so its town is stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated(signum)


# run_app(town, on_stop, story): `on_stop(exit)` is how the demo asks the control room to exit;
# `story(show_caption)` is called by the control room once its first frame is on screen.
Caption = Callable[[str], None]
AppRunner = Callable[[Town, Callable[[Callable[[], None]], None], Callable[[Caption], None]],
                     int]


def main(argv: Sequence[str] | None = None, *, run_app: AppRunner | None = None) -> int:
    """`run_app(town, on_stop)` runs the control room until the user quits (the CLI passes
    it: the demo sits below the app in the layers); `on_stop(exit)` is how the demo asks it
    to exit on SIGTERM/SIGHUP. Without one, or without a terminal, the demo is headless."""
    args = parse(sys.argv[1:] if argv is None else argv)
    from gastown_tui.ops.store_admin import check_choice
    from gastown_tui.town.errors import GasTownError

    try:
        check_choice(args.store)
    except GasTownError as exc:
        print(f"gastown-tui demo: {exc}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="gastown-demo-")) if args.dir is None else None
    if work is not None and args.store == "postgres":
        work.chmod(0o711)  # as root the cluster runs as the postgres user, who must reach it
    root = (args.dir or work / "town").resolve()  # type: ignore[operator]
    if root.exists() and any(root.iterdir()):
        print(f"gastown-tui demo: {root} is not empty (pick a new --dir)", file=sys.stderr)
        return 2
    started = time.monotonic()

    def say(text: str) -> None:
        if text:
            elapsed = time.monotonic() - started
            print(f"[{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}] {text}", flush=True)

    previous = {sig: signal.signal(sig, _raise_terminated) for sig in (signal.SIGTERM,
                                                                        signal.SIGHUP)}
    # Ctrl-C must stop the demo even when we were started with SIGINT ignored (a background
    # job of a script), where Python would not turn it into KeyboardInterrupt by itself.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    code = 1
    headless = args.headless or run_app is None or not sys.stdout.isatty()
    # The temp town is kept after the control room (to look at main), removed after a
    # headless run (CI makes many), unless --remove says otherwise.
    remove = args.remove or headless
    try:
        demo = scenario.build(root, say=say, store=args.store)
        if headless:
            if not args.headless:
                say("the control room is not available here; following headless")
            scenario.start(demo, say=say)
            code = follow(demo, args, say)
        else:
            assert run_app is not None
            code = _run_app(demo, run_app)
    except KeyboardInterrupt:
        say("interrupted")
        code = 130
    except Terminated as exc:
        say(f"stopped by signal {signal.Signals(exc.signum).name}")
        code = 128 + exc.signum
    finally:
        # A second signal while we clean up must not cut the clean-up short.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        try:
            if args.keep:
                say(f"kept: town {root} (agents still running; stop with: cd {root} "
                    "&& gt down --all)")
            else:
                if (root / "mayor").is_dir() and not _stop(root, say):
                    code = code or 1
                if work is not None and remove:
                    shutil.rmtree(work, ignore_errors=True)
                    say(f"removed {work}")
                elif (root / "mayor").is_dir():
                    _say_kept(root, work, say)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return code


def _say_kept(root: Path, work: Path | None, say) -> None:
    repo = root / scenario.RIG / ".repo.git"
    say(f"kept the demo town: {root} (its agents are stopped)")
    say(f"  main as the Refinery landed it: git -C {shlex.quote(str(repo))} log --oneline main")
    if work is not None:
        say(f"  remove it: rm -rf {shlex.quote(str(work))}   (or run the demo with --remove)")
    else:  # --dir: the user's folder; its upstream repository is beside it
        upstream = root.parent / f"{root.name}-upstream.git"
        say(f"  remove it: rm -rf {shlex.quote(str(root))} {shlex.quote(str(upstream))}")


def follow(demo: scenario.DemoTown, args: argparse.Namespace, say) -> int:
    from gastown_tui.ops.context import open_store

    store = open_store(demo.town, "overseer")
    story = Story()
    offset = 0
    deadline = time.monotonic() + args.timeout
    landed = False
    merged: set[str] = set()
    beads = {bead_id for bead_id, _title, _kind in demo.beads}
    try:
        while time.monotonic() < deadline:
            offset, events = scenario.events_since(demo.root, offset)
            for event in events:
                payload = event.get("payload") or {}
                if event.get("type") == "merged":
                    merged.add(str(payload.get("issue", "")))
                fmt = INTERESTING.get(event.get("type", ""))
                if fmt is not None:
                    say(fmt(payload))
                for line in story.feed(event):
                    say(f"▶ {line}")
            # The refinery closes the last bead (which lands the convoy) a moment before it
            # logs that merge: wait for the log to tell every merge too.
            if not landed and store.get(demo.convoy)["status"] == "closed":
                landed = True
                deadline = min(deadline, time.monotonic() + 15)  # a bead closed otherwise
            if landed and beads <= merged:
                break
            time.sleep(0.5)
    finally:
        store.close_connection()
    if not landed:
        say(f"✗ the convoy did not land within {args.timeout:.0f}s")
        return 1
    files = scenario.snapshot_files(demo)
    say(f"main now holds: {', '.join(files)}")
    if args.until_landed:
        scratch = Path(tempfile.mkdtemp(prefix="gastown-demo-check-"))
        try:
            ok, last = scenario.main_passes_tests(demo, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        say(("✓ main's tests pass" if ok else "✗ main's tests fail") + (f": {last}" if last else ""))
        return 0 if ok else 1
    return 0


def tell_story(demo: scenario.DemoTown, show: Caption, stop: threading.Event) -> None:
    """The demo as the control room shows it (on a thread of its own, started once the
    first frame is on screen): start the agents, then caption each beat as the town's event
    log shows it happen, until the story is told or `stop` is set."""
    show(f"the town is built: {len(demo.beads)} beads in convoy {demo.convoy}, 0/"
         f"{len(demo.beads)} done; starting the agents (gt sling, gt up)…")
    try:
        scenario.start(demo, say=lambda _line: None)  # the screen shows what they do
    except Exception as exc:  # shown, not raised: the control room keeps the terminal
        show(f"✗ the demo could not start its agents: {exc}")
        return
    story = Story()
    show(f"agents started: {len(demo.beads)} sim polecats at work; watch the wall and the "
         "Refinery queue")
    offset = 0
    while not stop.is_set() and not story.finished:
        offset, events = scenario.events_since(demo.root, offset)
        for event in events:
            for line in story.feed(event):
                show(line)
        stop.wait(0.25)


def _run_app(demo: scenario.DemoTown, run_app: AppRunner) -> int:
    import asyncio

    received: list[int] = []
    exits: list[Callable[[], None]] = []
    stop = threading.Event()
    tellers: list[threading.Thread] = []

    def story(show: Caption) -> None:
        # Called on the control room's loop: the agents start on a thread, never there.
        teller = threading.Thread(target=tell_story, args=(demo, show, stop),
                                  name="demo-story", daemon=True)
        tellers.append(teller)
        teller.start()

    def on_signal(signum: int, frame) -> None:
        # Raising inside Textual's loop would be caught by a task; ask the app to exit instead
        # (call_soon_threadsafe wakes the loop), then stop the town as after a normal quit.
        received.append(signum)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise Terminated(signum) from None
        for app_exit in exits:
            loop.call_soon_threadsafe(app_exit)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        code = run_app(demo.town, exits.append, story)
    finally:
        stop.set()
        for teller in tellers:  # a quit during `gt up`: let it finish before the town stops
            teller.join(timeout=120)
    if received:
        raise Terminated(received[0])
    return code


def _stop(root: Path, say) -> bool:
    """Stop the demo town's tmux server and every agent process; False (and say why, with
    the pid and socket) when something would not stop."""
    from gastown_tui.ops import store_admin
    from gastown_tui.ops.shutdown import stop_town
    from gastown_tui.town.errors import GasTownError
    from gastown_tui.town.layout import Town

    town = Town(root)
    report = stop_town(town)
    for killed in report.killed:
        say(f"had to SIGKILL pid {killed['pid']} ({killed['command'] or '?'}): it ignored "
            "SIGTERM")
    try:
        step = store_admin.stop(town)  # the demo town's own PostgreSQL, if it has one
    except GasTownError as exc:
        report.problems.append(exc.problem)
        step = None
    if report.ok:
        say(f"stopped the demo's tmux server ({report.socket}) and its agents"
            + (", and its PostgreSQL" if step is not None else "") + ": none is left")
        return True
    for problem in report.problems:
        say(f"✗ could not stop the demo cleanly: {problem} (socket {report.socket})")
    return False
