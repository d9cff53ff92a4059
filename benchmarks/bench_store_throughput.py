"""Figure 5: store throughput with 30 processes updating beads at once, and lost updates (must
be zero); plus `bd show` and `gt hook` as whole processes (median wall time).

Run: .venv/bin/python benchmarks/bench_store_throughput.py"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROCESSES = 30
UPDATES = 100
BIN = Path(sys.executable).parent


def _writer(db: str, worker: int, beads: list[str], start, results) -> None:
    from gastown_tui.town.store import BeadStore

    store = BeadStore(Path(db), actor=f"w{worker}")
    start.wait()
    t = time.perf_counter()
    for n in range(UPDATES):
        store.update(beads[(worker + n) % len(beads)], append_notes=f"w{worker}-{n}")
    results.put((worker, time.perf_counter() - t))
    store.close_connection()


def main() -> None:
    from gastown_tui.ops.install import install
    from gastown_tui.town.store import BeadStore

    tmp = Path(tempfile.mkdtemp(prefix="gt-bench-store-"))
    town = tmp / "town"
    install(town, name="bench")
    db = town / ".beads" / "beads.db"
    store = BeadStore(db, actor="bench")
    beads = [store.create(f"shared {i}", prefix="gt")["id"] for i in range(10)]
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(db), w, beads, start, results))
             for w in range(PROCESSES)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every process import and connect before the clock starts
    t0 = time.perf_counter()
    start.set()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    total = PROCESSES * UPDATES
    seen = sum(len((store.get(b).get("notes") or "").split("\n")) for b in beads)
    env = {**os.environ, "GT_ROLE": "gastown/polecats/toast"}

    def timed(*args: str) -> float:
        t = time.perf_counter()
        subprocess.run([str(BIN / args[0]), *args[1:]], cwd=town, env=env, check=True,
                       capture_output=True)
        return (time.perf_counter() - t) * 1000

    show = statistics.median(timed("bd", "show", beads[0], "--json") for _ in range(30))
    hook = statistics.median(timed("gt", "hook", "--json") for _ in range(30))
    print(f"{'figure':<58} {'value':>12}")
    print(f"{f'{PROCESSES} processes x {UPDATES} updates: updates per second':<58} "
          f"{total / wall:>12.0f}")
    print(f"{'updates lost (must be 0)':<58} {total - seen:>12d}")
    print(f"{'bd show --json, whole process, median of 30 (ms)':<58} {show:>12.1f}")
    print(f"{'gt hook --json, whole process, median of 30 (ms)':<58} {hook:>12.1f}")
    store.close_connection()


if __name__ == "__main__":
    main()
