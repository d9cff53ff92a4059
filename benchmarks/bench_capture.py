"""Per-pane capture cost: a `tmux capture-pane` subprocess vs the control-mode PaneObserver.

Starts a private tmux server with 30 sessions, each printing a line every 200 ms (a busy
town), measures the median cost of one capture both ways and of one control-room tick, prints
a table and always kills its server.

    .venv/bin/python benchmarks/bench_capture.py [--sessions 30] [--captures 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from gastown_tui.tmux.commands import wait_until
from gastown_tui.tmux.observer import PaneObserver
from gastown_tui.tmux.server import TownTmux

PRINT_LOOP = 'i=0; while :; do i=$((i+1)); echo "pane $1 line $i"; sleep 0.2; done'


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def timed(calls: int, call: Callable[[int], object]) -> list[float]:
    samples = []
    for index in range(calls):
        started = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--captures", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=40)
    options = parser.parse_args()

    socket = f"gtbench-{uuid.uuid4().hex[:8]}"
    tmux = TownTmux(socket)
    observer = PaneObserver(socket)
    names = [f"bench-{i:02d}" for i in range(options.sessions)]
    try:
        with tempfile.TemporaryDirectory() as cwd:
            for index, name in enumerate(names):
                tmux.new_session(name, cwd, ["sh", "-c", PRINT_LOOP, "sh", str(index)])
            ready = wait_until(
                lambda: all(any("line" in s for s in tmux.capture(n)) for n in names), 15.0
            )
            if not ready:
                print("sessions did not start printing", file=sys.stderr)
                return 1
            panes = [info.pane_id for info in tmux.list_sessions()]

            def pick(index: int) -> str:  # round-robin over all panes
                return panes[index % len(panes)]

            rows: list[tuple[str, float]] = []
            observer.capture(panes[0])  # connect outside the measurement
            for label, colours in (("plain", False), ("colours -e", True)):
                sub = timed(options.captures, lambda i, c=colours: tmux.capture(pick(i), colours=c))
                obs = timed(
                    options.captures, lambda i, c=colours: observer.capture(pick(i), colours=c)
                )
                rows.append((f"capture-pane, subprocess ({label})", median_ms(sub)))
                rows.append((f"capture-pane, observer   ({label})", median_ms(obs)))

            fmt = "#{pane_id} #{history_size} #{cursor_x} #{cursor_y} #{window_activity}"
            listing = timed(options.ticks, lambda i: tmux.run("list-panes", "-a", "-F", fmt))
            rows.append(("list-panes -a, subprocess", median_ms(listing)))
            listing = timed(
                options.ticks, lambda i: observer.command(["list-panes", "-a", "-F", fmt])
            )
            rows.append(("list-panes -a, observer", median_ms(listing)))

            # A control-room tick every 250 ms: one list-panes, captures of changed panes only.
            observer.poll_changes()
            tick_cost: list[float] = []
            changed: list[int] = []
            for _ in range(options.ticks):
                time.sleep(0.25)
                started = time.perf_counter()
                changed.append(len(observer.poll_changes()))
                tick_cost.append(time.perf_counter() - started)
            label = f"poll_changes tick ({statistics.median(changed):.0f} panes changed)"
            rows.append((label, median_ms(tick_cost)))
            naive = timed(max(3, options.ticks // 4), lambda i: [tmux.capture(p) for p in panes])
            rows.append((f"naive tick: {len(panes)} capture subprocesses", median_ms(naive)))

        width = max(len(label) for label, _ in rows)
        print(
            f"tmux capture cost, {options.sessions} sessions printing every 200 ms, "
            f"{os.cpu_count()} CPUs (median)"
        )
        print(f"{'what':<{width}}  {'ms':>8}")
        for label, value in rows:
            print(f"{label:<{width}}  {value:>8.3f}")
        return 0
    finally:
        observer.close()
        tmux.kill_server()
        tmpdir = os.environ.get("TMUX_TMPDIR", "/tmp")
        Path(tmpdir, f"tmux-{os.getuid()}", socket).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
