"""Store figures: create/update latency, `bd show` and `gt hook` as whole processes, 10k import.

Run: .venv/bin/python benchmarks/bench_store.py   (prints a table; touches only a temp dir)"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    from gastown_tui.ops.install import install
    from gastown_tui.town.store import BeadStore
    from gastown_tui.town.store.jsonl import import_jsonl

    tmp = Path(tempfile.mkdtemp(prefix="gt-bench-"))
    town = tmp / "town"
    install(town, name="bench")
    store = BeadStore(town / ".beads" / "beads.db", actor="bench")
    ids: list[str] = []
    create_ms = timed(lambda: ids.append(store.create("bench bead", prefix="gt")["id"]), 300)
    update_ms = timed(lambda: store.update(ids[0], append_notes="x"), 300)

    lines = [json.dumps({"id": f"bk-{i:05d}", "title": f"imported {i}", "priority": i % 5,
                         "status": "closed" if i % 3 == 0 else "open",
                         "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
                         "labels": ["a", "b"] if i % 2 else [],
                         "dependencies": ([{"issue_id": f"bk-{i:05d}",
                                            "depends_on_id": f"bk-{i - 1:05d}", "type": "blocks",
                                            "created_at": "2026-01-01T00:00:00Z"}] if i else [])})
             for i in range(10_000)]
    t = time.perf_counter()
    report = import_jsonl(store, "bench", lines=lines)
    import_s = time.perf_counter() - t
    assert len(report.created) == 10_000

    t = time.perf_counter()
    store.ready(limit=100)
    ready_ms = (time.perf_counter() - t) * 1000

    env = {**os.environ, "GT_ROLE": "gastown/polecats/toast"}

    def proc(*args: str) -> None:
        subprocess.run([str(BIN / args[0]), *args[1:]], cwd=town, env=env, check=True,
                       capture_output=True)

    show_ms = timed(lambda: proc("bd", "show", ids[0], "--json"), 30)
    hook_ms = timed(lambda: proc("gt", "hook", "--json"), 30)
    python_ms = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 30)

    rows = [
        ("bead create (in process, 10k-bead store later)", statistics.median(create_ms), "ms"),
        ("bead update (append notes)", statistics.median(update_ms), "ms"),
        ("import 10,000 bd JSONL beads with deps", import_s, "s"),
        ("bd ready on 10,300 beads (in process)", ready_ms, "ms"),
        ("bd show --json, whole process (median of 30)", statistics.median(show_ms), "ms"),
        ("gt hook --json, whole process (median of 30)", statistics.median(hook_ms), "ms"),
        ("python -c pass, the floor", statistics.median(python_ms), "ms"),
    ]
    print(f"{'figure':<50} {'value':>10}")
    for name, value, unit in rows:
        print(f"{name:<50} {value:>8.2f} {unit}")
    store.close_connection()


if __name__ == "__main__":
    main()
