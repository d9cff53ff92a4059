"""Figure 5: store throughput with 30 processes updating beads at once, and lost updates (must
be zero); plus `bd show --json` and `gt hook --json` as whole processes started fresh, against
the floor `python -c pass` timed in the same run, interleaved with them (goal: within 5x).

Run: .venv/bin/python benchmarks/bench_store_throughput.py [--store sqlite|postgres|both]

--store picks the town's backend: sqlite (the default store, one file), postgres (a throwaway
PostgreSQL cluster in a temp folder, unix socket only, which the town joins by URL as
`gt install --store postgresql://...` does), or both (the default when PostgreSQL is
installed; one after the other, each with its own floor)."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROCESSES = 30
UPDATES = 100
RUNS = 30  # timed runs of each command, after WARMUP runs that fill the page cache
WARMUP = 3
GOAL = 5.0
BIN = Path(sys.executable).parent


def _writer(location: str, worker: int, beads: list[str], start, results) -> None:
    from gastown_tui.town.store import BeadStore

    store = BeadStore(location, actor=f"w{worker}")
    start.wait()
    t = time.perf_counter()
    for n in range(UPDATES):
        store.update(beads[(worker + n) % len(beads)], append_notes=f"w{worker}-{n}")
    results.put((worker, time.perf_counter() - t))
    store.close_connection()


def throughput(location: str) -> tuple[float, int, list[str]]:
    """Updates per second with PROCESSES writers at once, updates lost, and the beads."""
    from gastown_tui.town.store import BeadStore

    store = BeadStore(location, actor="bench")
    beads = [store.create(f"shared {i}", prefix="gt")["id"] for i in range(10)]
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(location, w, beads, start, results))
             for w in range(PROCESSES)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let every process import and connect before the clock starts
    t0 = time.perf_counter()
    start.set()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    total = PROCESSES * UPDATES
    seen = sum(len((store.get(b).get("notes") or "").split("\n")) for b in beads)
    store.close_connection()
    return total / wall, total - seen, beads


def process_times(town: Path, bead: str) -> dict[str, tuple[float, float]]:
    """Median wall and CPU (user + system) ms of each command, the floor's runs interleaved
    with the commands' so a machine that grows busier during the run weighs on all alike.
    `gt hook` twice: for a polecat with nothing on its hook, and for one with a bead hooked."""
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.hook import attach
    from gastown_tui.town.layout import Town

    store = open_store(Town(town), "bench")
    attach(Town(town), store, bead, "gastown/polecats/nux")
    store.close_connection()
    idle = {**os.environ, "GT_ROLE": "gastown/polecats/toast"}
    busy = {**os.environ, "GT_ROLE": "gastown/polecats/nux"}
    commands = {
        "floor": ([sys.executable, "-c", "pass"], idle),
        "show": ([str(BIN / "bd"), "show", bead, "--json"], idle),
        "hook": ([str(BIN / "gt"), "hook", "--json"], idle),
        "hooked": ([str(BIN / "gt"), "hook", "--json"], busy),
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for n in range(WARMUP + RUNS):
        for name, (argv, env) in commands.items():
            t = time.perf_counter()
            proc = subprocess.Popen(argv, cwd=town, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            _, status, usage = os.wait4(proc.pid, 0)  # its own CPU time, not the shell's
            wall = (time.perf_counter() - t) * 1000
            proc.returncode = os.waitstatus_to_exitcode(status)
            assert proc.stderr is not None
            err = proc.stderr.read()
            proc.stderr.close()
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.decode()}")
            if n >= WARMUP:
                walls[name].append(wall)
                cpus[name].append((usage.ru_utime + usage.ru_stime) * 1000)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]))
            for name in commands}


def run_backend(backend: str, work: Path, url: str | None) -> list[str]:
    from gastown_tui.ops.install import install
    from gastown_tui.town.layout import Town

    town = work / f"town-{backend}"
    install(town, name="bench", store=url)
    location = Town(town).store_location
    ups, lost, beads = throughput(location)
    times = process_times(town, beads[0])
    floor_wall, floor_cpu = times["floor"]
    label = "SQLite" if backend == "sqlite" else "PostgreSQL"
    lines = [f"[{label}]",
             f"{f'{PROCESSES} processes x {UPDATES} updates: updates per second':<58} "
             f"{ups:>12.0f}",
             f"{'updates lost (must be 0)':<58} {lost:>12d}",
             f"{f'python -c pass, the floor, median of {RUNS} (ms)':<58} {floor_wall:>12.1f}"]
    for key, what in (("show", "bd show --json"), ("hook", "gt hook --json"),
                      ("hooked", "gt hook --json with a bead hooked")):
        wall, cpu = times[key]
        ok = "✓" if wall / floor_wall <= GOAL else "✗ over"
        label = f"{what}, median of {RUNS} (ms)" if key == "hooked" else \
            f"{what}, whole process, median of {RUNS} (ms)"
        lines.append(f"{label:<58} {wall:>12.1f}   "
                     f"{wall / floor_wall:.2f}x the floor (CPU {cpu / floor_cpu:.2f}x)  "
                     f"goal ≤ {GOAL:.0f}x {ok}")
    return lines


def main() -> int:
    from gastown_tui.town.store import cluster

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default=None,
                        help="the town's backend (default: both when PostgreSQL is installed)")
    args = parser.parse_args()
    choice = args.store or ("both" if cluster.available() else "sqlite")
    backends = ["sqlite", "postgres"] if choice == "both" else [choice]
    if "postgres" in backends and not cluster.available():
        print("PostgreSQL is not installed: apt-get install postgresql", file=sys.stderr)
        return 1
    os.environ["GT_TMUX_SOCKET"] = "gtbench-throughput"  # no agents run: a quiet one
    work = Path(tempfile.mkdtemp(prefix="gt-bench-store-", dir="/tmp"))
    work.chmod(0o711)  # the cluster's user (postgres, when we are root) must reach it
    pg = None
    lines: list[str] = []
    try:
        for backend in backends:
            url = None
            if backend == "postgres":
                from gastown_tui.town.store.libpq import PgConn

                pg = cluster.Cluster(work / "pg")
                pg.init()
                pg.start()
                admin = PgConn(pg.url().replace("/gastown?", "/postgres?"))
                admin.execute("CREATE DATABASE bench_cli")
                admin.close()
                url = pg.url().replace("/gastown?", "/bench_cli?")
            lines += run_backend(backend, work, url)
    finally:
        if pg is not None:
            from gastown_tui.town.store.pg import close_all

            close_all()
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'figure':<58} {'value':>12}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
