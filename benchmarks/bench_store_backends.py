"""The bead store on SQLite and on PostgreSQL, side by side (issue 27), in one run on the same
machine:

- 30 processes x 100 updates of shared beads: updates per second, and updates lost (must be 0);
- a bead changed by another process -> on the control room's screen, p50/p95 over 50 changes
  (SQLite: watchfiles sees the file; PostgreSQL: the commit's NOTIFY; budget 100 ms p95);
- `bd show --json` and `gt hook --json` as whole processes, median of 30 (PostgreSQL's goal:
  within 1.5x of SQLite's).

PostgreSQL is a throwaway cluster in a temp folder (unix socket only), made with the
product's own cluster code, stopped and removed at the end.

Run: .venv/bin/python benchmarks/bench_store_backends.py
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PROCESSES = 30
UPDATES = 100
CHANGES = 50
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


def throughput(location: str) -> tuple[float, int]:
    from gastown_tui.town.store import BeadStore

    store = BeadStore(location, actor="bench")
    beads = [store.create(f"shared {i}", prefix="gt")["id"] for i in range(10)]
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(location, w, beads, start, results))
             for w in range(PROCESSES)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # every process imported and connected before the clock starts
    t0 = time.perf_counter()
    start.set()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    seen = sum(len((store.get(b).get("notes") or "").split("\n")) for b in beads)
    store.close_connection()
    return PROCESSES * UPDATES / wall, PROCESSES * UPDATES - seen


def process_times(towns: dict[str, Path]) -> dict[str, tuple[float, float]]:
    """Median wall times of `bd show` and `gt hook`, the backends' runs interleaved so a
    machine that grows busier during the run weighs on both alike."""
    from gastown_tui.ops.context import open_store
    from gastown_tui.town.layout import Town

    beads = {}
    for name, town in towns.items():
        store = open_store(Town(town), "bench")
        beads[name] = store.create("shown", prefix="hq")["id"]
        store.close_connection()
    env = {**os.environ, "GT_ROLE": "gastown/polecats/toast"}

    def timed(town: Path, *args: str) -> float:
        t = time.perf_counter()
        subprocess.run([str(BIN / args[0]), *args[1:]], cwd=town, env=env, check=True,
                       capture_output=True)
        return (time.perf_counter() - t) * 1000

    shows: dict[str, list[float]] = {n: [] for n in towns}
    hooks: dict[str, list[float]] = {n: [] for n in towns}
    for n in range(33):
        for name, town in towns.items():
            show = timed(town, "bd", "show", beads[name], "--json")
            hook = timed(town, "gt", "hook", "--json")
            if n >= 3:  # the first runs warm the page cache
                shows[name].append(show)
                hooks[name].append(hook)
    return {n: (statistics.median(shows[n]), statistics.median(hooks[n])) for n in towns}


async def _to_screen(town: Path, bead: str) -> list[float]:
    from gastown_tui.app import make_app
    from gastown_tui.ops.context import open_store
    from gastown_tui.screens.main import MainScreen
    from gastown_tui.town.layout import Town

    shown: dict[str, float] = {}
    original = MainScreen.show_snapshot

    def timed_show(self, snapshot):
        original(self, snapshot)
        for view in snapshot.beads:
            if view.title.startswith("bench change ") and view.title not in shown:
                shown[view.title] = time.perf_counter()

    MainScreen.show_snapshot = timed_show  # type: ignore[method-assign]
    store = open_store(Town(town), "bench")
    samples = []
    try:
        app = make_app(town)
        async with app.run_test(size=(200, 60)) as pilot:
            await app.wait_settled()
            await pilot.pause(1.0)
            for n in range(CHANGES):
                title = f"bench change {n}"
                written = await asyncio.to_thread(
                    lambda t=title: (store.update(bead, changes={"title": t}),
                                     time.perf_counter())[1])
                deadline = time.perf_counter() + 10
                while title not in shown:
                    if time.perf_counter() > deadline:
                        raise TimeoutError(f"change {n} never reached the screen")
                    await asyncio.sleep(0.002)
                samples.append(shown[title] - written)
                await asyncio.sleep(0.05)
    finally:
        MainScreen.show_snapshot = original  # type: ignore[method-assign]
        store.close_connection()
    return samples


def to_screen(town: Path) -> tuple[float, float]:
    from gastown_tui.ops.context import open_store
    from gastown_tui.town.layout import Town

    store = open_store(Town(town), "bench")
    for i in range(300):  # a town with some work in it
        store.create(f"work {i}", prefix="hq", priority=i % 4)
    bead = store.create("watched", prefix="hq", priority=0)["id"]
    store.close_connection()
    samples = asyncio.run(_to_screen(town, bead))
    ordered = sorted(samples)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    return pct(0.5), pct(0.95)


def main() -> int:
    from gastown_tui.ops.install import install
    from gastown_tui.town.store import cluster
    from gastown_tui.town.store.libpq import PgConn

    if not cluster.available():
        print("PostgreSQL is not installed: apt-get install postgresql", file=sys.stderr)
        return 1
    os.environ["GT_TMUX_SOCKET"] = f"gtbench-{uuid.uuid4().hex[:8]}"  # no agents: a quiet one
    work = Path(tempfile.mkdtemp(prefix="gt-bench-backends-", dir="/tmp"))
    work.chmod(0o711)
    pg = cluster.Cluster(work / "pg")
    rows: dict[str, dict[str, float]] = {"sqlite": {}, "postgres": {}}
    try:
        t = time.perf_counter()
        pg.init()
        pg.start()
        pg_start = time.perf_counter() - t
        admin = PgConn(pg.url().replace("/gastown?", "/postgres?"))

        def database(name: str) -> str:
            admin.execute(f"CREATE DATABASE {name}")
            return pg.url().replace("/gastown?", f"/{name}?")

        from gastown_tui.town.layout import Town

        cli_towns = {}
        for backend in ("sqlite", "postgres"):
            out = rows[backend]
            town = work / f"town-{backend}"
            url = database(f"bench_{backend}_tp") if backend == "postgres" else None
            install(town, name="bench", store=url)
            out["ups"], out["lost"] = throughput(Town(town).store_location)
            town3 = work / f"town3-{backend}"
            url3 = database(f"bench_{backend}_screen") if backend == "postgres" else None
            install(town3, name="bench", store=url3)
            out["p50"], out["p95"] = to_screen(town3)
            cli_towns[backend] = work / f"town2-{backend}"
            url2 = database(f"bench_{backend}_cli") if backend == "postgres" else None
            install(cli_towns[backend], name="bench", store=url2)
        for backend, (show, hook) in process_times(cli_towns).items():
            rows[backend]["show"], rows[backend]["hook"] = show, hook
        admin.close()
    finally:
        from gastown_tui.town.store.pg import close_all

        close_all()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    s, p = rows["sqlite"], rows["postgres"]
    print(f"PostgreSQL cluster: initdb + start {pg_start:.2f} s (throwaway, unix socket)")
    print(f"{'figure':<52} {'SQLite':>9} {'PostgreSQL':>11}   floor / goal")
    print(f"{f'{PROCESSES} processes x {UPDATES} updates: updates/s':<52} {s['ups']:>9.0f} "
          f"{p['ups']:>11.0f}   ≥ 300/s SQLite; PG: a town's few writes/s")
    print(f"{'updates lost (must be 0)':<52} {s['lost']:>9.0f} {p['lost']:>11.0f}   0")
    print(f"{'bead change -> on screen, p50 (ms)':<52} {s['p50']:>9.0f} {p['p50']:>11.0f}")
    print(f"{'bead change -> on screen, p95 (ms)':<52} {s['p95']:>9.0f} {p['p95']:>11.0f}"
          "   ≤ 100 ms")
    print(f"{'bd show --json, whole process, median of 30 (ms)':<52} {s['show']:>9.1f} "
          f"{p['show']:>11.1f}   PG ≤ 1.5x SQLite ({p['show'] / s['show']:.2f}x)")
    print(f"{'gt hook --json, whole process, median of 30 (ms)':<52} {s['hook']:>9.1f} "
          f"{p['hook']:>11.1f}   PG ≤ 1.5x SQLite ({p['hook'] / s['hook']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
