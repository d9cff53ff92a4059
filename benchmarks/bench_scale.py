"""How the control room's costs grow with the number of agents: the synthetic town at 10, 30
and 100 live sim polecats (3 rigs, 10k beads, 200 MRs, 20 convoys, 50k events each time), and
for each: the first full frame (fresh processes, median of 7), idle CPU (30 s), a visible pane's
new line to its tile drawn (p95 of 20), peak RSS, and the naive capture loop's CPU beside it.

The wall draws only the tiles in view, and the observer follows only their panes, so idle CPU
should follow the visible tiles (the same at every size) rather than the agents.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 10,30,100] [--idle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_app import (
    in_fresh_process,
    latencies,
    naive_loop_cpu,
    pct,
    peak_rss_mb,
    settle,
)
from town_generator import build_large_town, kill_server

# Fresh processes per size: at 100 live polecats (each narrating a line a second, ~11% of a
# two-core machine) a median of 3 moved the 100 ÷ 10 ratio between 1.06 and 1.45 run to run.
FRAMES = 7


def one_size(polecats: int, idle: float) -> dict[str, float]:
    socket = f"gtbench-{uuid.uuid4().hex[:8]}"
    os.environ["GT_TMUX_SOCKET"] = socket
    with tempfile.TemporaryDirectory(prefix="gt-bench-scale-") as tmp:
        try:
            town = build_large_town(Path(tmp), socket, rigs=3, polecats=polecats)
            settle(town.root)
            frames = [in_fresh_process("--frame-of", town.root) for _ in range(FRAMES)]
            _, panes, idle_cpu = asyncio.run(latencies(town.root, town.first_hooked, 5, 20,
                                                       idle))
            naive = naive_loop_cpu(socket, idle)
            rss = peak_rss_mb(town.root)
        finally:
            kill_server(socket)
    return {"frame": statistics.median(frames) * 1000, "idle": idle_cpu,
            "pane_p95": pct(panes, 0.95), "rss": rss, "naive": naive}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,30,100")
    parser.add_argument("--idle", type=float, default=30.0)
    options = parser.parse_args()
    sizes = [int(n) for n in options.sizes.split(",")]
    rows = {n: one_size(n, options.idle) for n in sizes}
    print(f"{'scale: live polecats':<24} {'first frame':>12} {'idle CPU':>9} "
          f"{'pane→tile p95':>14} {'RSS':>8} {'naive loop':>11} {'naive/ours':>11}")
    for n, r in rows.items():
        print(f"{f'scale {n} polecats':<24} {r['frame']:>10.0f}ms {r['idle']:>8.1f}% "
              f"{r['pane_p95']:>12.0f}ms {r['rss']:>6.0f}MB {r['naive']:>10.1f}% "
              f"{r['naive'] / max(r['idle'], 0.01):>10.1f}x")
    print("goals at 100: idle CPU < 3% of a core, RSS < 250 MB; idle CPU flat with agents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
