"""Many processes writing one town at once: no update is ever lost."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

WORKERS = 20
UPDATES = 50


def _worker(db_path: str, worker: int, bead_ids: list[str]) -> None:
    from gastown_tui.town.store import BeadStore

    store = BeadStore(db_path, actor=f"w{worker}")  # a path or a postgresql:// URL
    for n in range(UPDATES):
        bead = bead_ids[(worker + n) % len(bead_ids)]
        token = f"w{worker}-u{n}"
        kind = n % 3
        if kind == 0:
            store.update(bead, append_notes=token)
        elif kind == 1:
            store.add_label(bead, token)
        else:
            store.add_comment(bead, token)
    store.close_connection()


def _events_worker(town: str, worker: int) -> None:
    from gastown_tui.town.events import log_event

    for n in range(UPDATES):
        log_event(Path(town), "test", actor=f"w{worker}", payload={"n": n, "pad": "x" * 3000})


def test_twenty_processes_fifty_updates_each_lose_nothing(store):
    bead_ids = [store.create(f"shared {i}", prefix="gt")["id"] for i in range(5)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(store.location, w, bead_ids))
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    expected = {f"w{w}-u{n}" for w in range(WORKERS) for n in range(UPDATES)}
    seen: list[str] = []
    for bead_id in bead_ids:
        bead = store.get(bead_id)
        seen.extend((bead.get("notes") or "").split("\n") if bead.get("notes") else [])
        seen.extend(store.labels_of(bead_id))
        seen.extend(c["text"] for c in store.comments_of(bead_id))
    assert len(seen) == len(expected) == WORKERS * UPDATES
    assert set(seen) == expected
    assert store.integrity_check() == []


def test_event_log_lines_stay_whole_across_processes(town):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_events_worker, args=(str(town), w)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = (town / ".events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    tests = [e for e in events if e["type"] == "test"]
    assert len(tests) == 8 * UPDATES
    assert {(e["actor"], e["payload"]["n"]) for e in tests} == {
        (f"w{w}", n) for w in range(8) for n in range(UPDATES)}
