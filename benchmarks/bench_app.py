"""Control-room budgets (control-room.md), measured headless on the large synthetic town of
town_generator.py (3 rigs, 30 live sim polecats, 10k beads with dependencies, 200 MRs,
20 convoys, 50k events):

- first full frame (budget 0.6 s): to the paint after the first complete snapshot and the
  panes' first poll; against a bare Textual app with the same kinds of widgets (the floor);
- a change on disk (a bead's title) on screen: p50/p95 over 50 changes (budget 100 ms p95);
- a changed visible pane drawn by its tile: p50/p95 over 20 changes (budget 250 ms);
- idle CPU of the control room over 60 s with 30 live panes printing a line a second
  (budget 2 %), against a naive loop capturing every pane every 500 ms for as long, and
  against a bare Textual app repainting as many tiles as often (Textual's floor);
- peak RSS of a fresh control-room process on the town (budget 200 MB).

Everything runs on a private tmux server that is always killed; prints a table.

    .venv/bin/python benchmarks/bench_app.py [--rigs 3] [--polecats 30] [--beads 10000]
        [--mrs 200] [--convoys 20] [--events 50000] [--agent sim|loop] [--idle 60]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


async def first_frame(root: Path, *, whole_read: bool = False) -> float:
    # Like the floor, which defines its app class before its clock starts: the app's modules
    # (and Textual) are imported first; what they import lazily as the town loads is counted.
    import gastown_tui.app.app  # noqa: F401
    from gastown_tui.app import make_app
    from gastown_tui.model.first_read import FirstRead

    started = time.perf_counter()
    # As the CLI starts the control room: the cyclic GC paused until the first whole frame,
    # the town's first read forked (the CLI forks before its imports, so this child starts
    # later and copies more than the user's does).
    gc.disable()
    first_read = FirstRead.start(root)
    assert first_read is not None, "the first read did not fork (threads running?)"
    app = make_app(root, first_read=first_read, gc_paused=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await app.wait_settled()  # the town's snapshot and the panes' first poll are in
        await drawn(pilot)
        took = time.perf_counter() - started
        if whole_read:  # (peak RSS) this process's own full read, with the bead lists, too
            await until(lambda: app.snapshot is not None and app.snapshot.beads,
                        "the full read with the bead lists", 30.0)
            await pilot.pause()
        return took


async def drawn(pilot) -> None:
    """Until the screen has handled what is queued and painted it. Not pilot.pause() nor
    wait_for_scheduled_animations(): both also wait for the whole process to go idle (up to
    a second), which counted the work done after the frame (the bead lists and the full read
    that follow the first snapshot)."""
    await pilot.app.screen.wait_for_refresh()


async def latencies(root: Path, bead: str, changes: int, pane_changes: int,
                    idle_seconds: float):
    """`bead` is on a polecat's hook, so the snapshot always carries it (and a change to it
    goes through the heavier path: agents are re-derived too)."""
    from gastown_tui.app import make_app
    from gastown_tui.ops.context import open_store
    from gastown_tui.screens.main import MainScreen
    from gastown_tui.tmux.server import TownTmux
    from gastown_tui.tmux.socket import socket_name
    from gastown_tui.town.layout import Town
    from gastown_tui.widgets.polecat_wall import PolecatWall

    shown: dict[str, float] = {}
    original = MainScreen.show_snapshot

    def timed_show(self, snapshot):
        original(self, snapshot)
        for bead in snapshot.beads:
            if bead.title.startswith("bench change ") and bead.title not in shown:
                shown[bead.title] = time.perf_counter()

    MainScreen.show_snapshot = timed_show  # type: ignore[method-assign]
    # A pane change counts when its tile draws it (builds the strips the screen shows).
    drawn: dict[str, float] = {}
    # ... when the compositor asks the wall for a line that shows it.
    original_build = PolecatWall.render_line

    def timed_build(self, y):
        strip = original_build(self, y)
        text = strip.text
        if "MARK" in text:
            for mark in re.findall(r"MARK\d+x", text):
                drawn.setdefault(mark, time.perf_counter())
        return strip

    PolecatWall.render_line = timed_build  # type: ignore[method-assign]
    store = open_store(Town(root), "bench")
    tmux = TownTmux(socket_name(root))
    disk, panes = [], []
    app = make_app(root)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await app.wait_settled()
            await pilot.pause(1.0)
            for n in range(changes):
                title = f"bench change {n}"
                written = await asyncio.to_thread(
                    lambda t=title: (store.update(bead, changes={"title": t}),
                                     time.perf_counter())[1])
                await until(lambda t=title: t in shown, f"change {n} on screen")
                disk.append(shown[title] - written)
                await asyncio.sleep(0.05)
            # Panes whose tile is wholly on screen: a line below the viewport is never drawn.
            followed = sorted(app.screen.query_one(PolecatWall).visible_sessions(whole=True))
            for n in range(pane_changes):
                session, mark = followed[n % len(followed)], f"MARK{n}x"
                # Output comes at any moment, not just after a tick: a random phase.
                await asyncio.sleep(random.uniform(0.0, 0.3))
                sent = time.perf_counter()
                await asyncio.to_thread(tmux.run, "send-keys", "-t", f"={session}:",
                                        f"echo {mark}", "Enter")
                await until(lambda m=mark: m in drawn, f"pane change {n} drawn")
                panes.append(drawn[mark] - sent)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(idle_seconds)
            idle = 100.0 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    finally:
        MainScreen.show_snapshot = original  # type: ignore[method-assign]
        PolecatWall.render_line = original_build  # type: ignore[method-assign]
        store.close_connection()
    return disk, panes, idle


async def floor_frame() -> float:
    """The floor for figure 1: a bare Textual app with the same kinds of widgets and no data."""
    from textual.app import App, ComposeResult
    from textual.containers import Grid
    from textual.widgets import DataTable, Footer, Input, RichLog, Static

    class Floor(App):
        CSS = "Grid { grid-size: 3 2; }"

        def compose(self) -> ComposeResult:
            yield Static("header")
            with Grid():
                yield RichLog(max_lines=100)
                yield Static("polecats")
                yield DataTable()
                yield DataTable()
                yield RichLog(max_lines=100)
                yield Input()
            yield Footer()

    started = time.perf_counter()
    app = Floor()
    async with app.run_test(size=(200, 60)) as pilot:
        await drawn(pilot)
        return time.perf_counter() - started


async def floor_idle_cpu(seconds: float, tiles: int = 30, visible: int = 7) -> float:
    """The floor for figure 4: a bare Textual app laid out like the main screen (header, two
    rows of bordered boxes, a scrolling wall of 5-line tiles, footer), no town and no tmux,
    where each of the tiles on screen gets a new line once a second (random phases) through
    a 4 Hz tick, as the observer delivers them. What repainting alone costs in Textual."""
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.containers import Horizontal, Vertical, VerticalScroll
    from textual.reactive import reactive
    from textual.widget import Widget
    from textual.widgets import DataTable, Footer, Input, RichLog, Static

    class Tile(Widget):
        """The cheapest tile Textual offers: plain text, repainted without a layout pass."""

        DEFAULT_CSS = "Tile { height: 5; }"
        text: reactive[str] = reactive("")

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

        def render(self) -> Text:
            return Text(self.text)

    class FloorWall(App):
        CSS = """
        Horizontal { height: 1fr; }
        Vertical, VerticalScroll { border: round $panel; height: 1fr; }
        #chat { width: 36%; }
        """

        def compose(self) -> ComposeResult:
            yield Static("header")
            with Horizontal():
                with Vertical(id="chat"):
                    yield RichLog()
                    yield Input()
                with VerticalScroll():
                    for n in range(tiles):
                        yield Tile(f"cat{n:02d}\n  facts\n  │ step 0\n  │ step 0\n  │ step 0")
            with Horizontal():
                yield Vertical(Static("convoys"))
                yield Vertical(DataTable())
                yield Vertical(RichLog())
            yield Footer()

    app = FloorWall()
    phase = [random.random() for _ in range(visible)]
    step = [0] * visible
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        wall = list(app.query(Tile))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while time.perf_counter() - wall0 < seconds:
            now = time.perf_counter() - wall0
            for n in range(visible):
                due = int(now - phase[n]) + 1
                if due > step[n]:
                    step[n] = due
                    lines = "\n".join(f"  │ step {k}" for k in range(due - 2, due + 1))
                    wall[n].text = f"cat{n:02d}\n  facts\n{lines}"
            await asyncio.sleep(0.25)
        return 100.0 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)


def naive_loop_cpu(socket: str, seconds: float) -> float:
    """The comparison for figure 4: capture every pane by subprocess every 500 ms, as peers do;
    CPU of this process and its tmux children, in % of one core."""
    import resource

    sessions = subprocess.run(["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"],
                              capture_output=True, text=True).stdout.split()

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    c0, w0 = cpu(), time.perf_counter()
    while time.perf_counter() - w0 < seconds:
        tick = time.perf_counter()
        for session in sessions:
            subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-e", "-t",
                            f"={session}:"], capture_output=True)
        time.sleep(max(0.0, 0.5 - (time.perf_counter() - tick)))
    return 100.0 * (cpu() - c0) / (time.perf_counter() - w0)


def in_fresh_process(flag: str, root: Path | None = None) -> float:
    """Run one measurement in a new interpreter, as a user starting the control room would:
    this process holds the whole town it just built, and its garbage collector with it."""
    args = [sys.executable, __file__, flag] + ([str(root)] if root is not None else [])
    out = subprocess.run(args, capture_output=True, text=True, env=os.environ, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"{flag} failed: {out.stderr.strip()[-500:]}")
    return float(out.stdout.strip().splitlines()[-1])


def peak_rss_mb(root: Path) -> float:
    """Figure 7: peak RSS of a fresh process that opens the control room on the town."""
    return in_fresh_process("--rss-of", root)


async def until(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(0.002)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000.0


def settle(root: Path, quiet: float = 3.0, limit: float = 60.0) -> float:
    """Wait until the thirty agents have started (each primes itself, reads its hook and
    writes a note): the figures are for a town at work, not one booting. Returns the wait."""
    from gastown_tui.ops.context import open_store
    from gastown_tui.town.layout import Town

    store = open_store(Town(root), "bench")
    started = time.perf_counter()
    try:
        seq, still_since = store.current_seq(), time.perf_counter()
        while time.perf_counter() - started < limit:
            time.sleep(0.25)
            now_seq = store.current_seq()
            if now_seq != seq:
                seq, still_since = now_seq, time.perf_counter()
            elif time.perf_counter() - still_since >= quiet:
                break
    finally:
        store.close_connection()
    return time.perf_counter() - started


def main() -> int:
    from town_generator import add_town_arguments, build_large_town, kill_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_town_arguments(parser)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--idle", type=float, default=60.0,
                        help="seconds of idle CPU measured, ours and the naive loop's")
    parser.add_argument("--rss-of", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--frame-of", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--floor-frame", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.frame_of is not None:
        print(asyncio.run(first_frame(options.frame_of)))
        return 0
    if options.floor_frame:
        print(asyncio.run(floor_frame()))
        return 0
    if options.rss_of is not None:
        import resource

        asyncio.run(first_frame(options.rss_of, whole_read=True))
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return 0
    socket = f"gtbench-{uuid.uuid4().hex[:8]}"
    os.environ["GT_TMUX_SOCKET"] = socket
    with tempfile.TemporaryDirectory(prefix="gt-bench-app-") as tmp:
        # The server goes first: its agents write into the town until they are killed.
        try:
            started = time.perf_counter()
            town = build_large_town(Path(tmp), socket, rigs=options.rigs,
                                    polecats=options.polecats, beads=options.beads,
                                    mrs=options.mrs, convoys=options.convoys,
                                    events=options.events, agent=options.agent)
            built = time.perf_counter() - started
            root = town.root
            settled = settle(root)
            frames = [in_fresh_process("--frame-of", root) for _ in range(3)]
            floors = [in_fresh_process("--floor-frame") for _ in range(3)]
            disk, panes, idle = asyncio.run(latencies(root, town.first_hooked, options.changes,
                                                      20, options.idle))
            naive = naive_loop_cpu(socket, options.idle)
            floor_cpu = asyncio.run(floor_idle_cpu(min(options.idle, 30.0)))
            rss = peak_rss_mb(root)
        finally:
            kill_server(socket)
    live = len(town.sessions)
    print(f"{town.counts_line()} (built in {built:.1f} s, agents settled {settled:.1f} s later)")
    print(f"{'measure':<44} {'p50':>9} {'p95':>9} {'budget':>10}")
    print(f"{'first full frame (3 runs, median)':<44} "
          f"{statistics.median(frames) * 1000:>7.0f}ms {max(frames) * 1000:>7.0f}ms {'600ms':>10}")
    print(f"{f'bead change on disk -> on screen ({len(disk)})':<44} "
          f"{pct(disk, 0.5):>7.0f}ms {pct(disk, 0.95):>7.0f}ms {'100ms p95':>10}")
    print(f"{f'visible pane change -> on screen ({len(panes)})':<44} "
          f"{pct(panes, 0.5):>7.0f}ms {pct(panes, 0.95):>7.0f}ms {'250ms':>10}")
    print(f"{f'idle CPU, {live} live panes ({options.idle:.0f} s)':<44} "
          f"{idle:>8.1f}% {'':>9} {'2%':>10}")
    print(f"{f'  naive loop: capture-pane x{live} every 500 ms':<44} {naive:>8.1f}% "
          f"{'':>9} {f'{naive / max(idle, 0.01):.0f}x ours':>10}")
    print(f"{'  floor: bare Textual app repainting 7 tiles':<44} {floor_cpu:>8.1f}% "
          f"{'':>9} {'':>10}")
    print(f"{'  floor: bare Textual app, same widgets':<44} "
          f"{statistics.median(floors) * 1000:>7.0f}ms {max(floors) * 1000:>7.0f}ms {'':>10}")
    print(f"{'peak RSS of the control room':<44} {rss:>7.0f}MB {'':>9} {'200MB':>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
