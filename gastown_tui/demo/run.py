"""The demo's command line: build the town, start it, then watch it in the control room or,
headless, print what lands, fails and is retried until the convoy lands."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from gastown_tui.demo import scenario

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
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for landing")
    return ap.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    work = Path(tempfile.mkdtemp(prefix="gastown-demo-")) if args.dir is None else None
    root = (args.dir or work / "town").resolve()  # type: ignore[operator]
    if root.exists() and any(root.iterdir()):
        print(f"gastown-tui demo: {root} is not empty (pick a new --dir)", file=sys.stderr)
        return 2
    started = time.monotonic()

    def say(text: str) -> None:
        if text:
            elapsed = time.monotonic() - started
            print(f"[{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}] {text}", flush=True)

    demo = None
    try:
        demo = scenario.build(root, say=say)
        scenario.start(demo, say=say)
        if args.headless or not _has_app():
            if not args.headless:
                say("the control room is not available here; following headless")
            return follow(demo, args, say)
        return _run_app(demo, args)
    except KeyboardInterrupt:
        return 130
    finally:
        if demo is not None and not args.keep:
            _stop(demo, say)
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
                shutil.rmtree(demo.upstream, ignore_errors=True)
        elif demo is not None:
            say(f"kept: town {demo.root} (agents still running; stop with: cd {demo.root} "
                "&& gt down -p)")


def follow(demo: scenario.DemoTown, args: argparse.Namespace, say) -> int:
    from gastown_tui.ops.context import open_store

    store = open_store(demo.town, "overseer")
    offset = 0
    deadline = time.monotonic() + args.timeout
    landed = False
    try:
        while time.monotonic() < deadline:
            offset, events = scenario.events_since(demo.root, offset)
            for event in events:
                fmt = INTERESTING.get(event.get("type", ""))
                if fmt is not None:
                    say(fmt(event.get("payload") or {}))
            if store.get(demo.convoy)["status"] == "closed":
                landed = True
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


def _has_app() -> bool:
    try:
        import gastown_tui.app  # noqa: F401
        from gastown_tui.app import make_app  # noqa: F401
    except ImportError:
        return False
    return sys.stdout.isatty()


def _run_app(demo: scenario.DemoTown, args: argparse.Namespace) -> int:
    from gastown_tui.app import make_app

    make_app(demo.town).run()
    return 0


def _stop(demo: scenario.DemoTown, say) -> None:
    from gastown_tui.ops.sessions import tmux_for

    try:
        tmux_for(demo.town).kill_server()
        say("stopped the demo's tmux server")
    except Exception:  # the demo is over; a tmux that is already gone is fine
        pass
