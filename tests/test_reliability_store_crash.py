"""kill -9 at random points of bead writes: the store stays whole and every acknowledged write
is still there. A writer acknowledges a write only after its transaction committed, so a write
in flight may or may not have landed, but an acknowledged one must never be lost, and nothing
may be half-applied."""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict

from reliability_helpers import Killable, fault_seed, soak, writer_argv

from gastown_tui.town.fields import parse_fields
from gastown_tui.town.store import BeadStore

ROUNDS = soak(25, 250)       # two writers per round: 50 kills (500 under GT_SOAK=1)
WRITERS_PER_ROUND = 2
_TOKEN = re.compile(r"^(?P<tag>[a-z0-9-]+)-(?P<n>\d+)$")


def _acks(output: bytes) -> list[tuple[str, str, str]]:
    """The acknowledged writes; a torn last line (killed mid-print) was never acknowledged."""
    lines = output.split(b"\n")
    complete = lines[:-1]  # whatever follows the last newline is a torn print
    out = []
    for raw in complete:
        op, bead, token = raw.decode().split(" ")
        if op != "ready":
            out.append((op, bead, token))
    return out


def test_kill_9_during_writes_loses_no_acknowledged_write(store_location: str, clean_env):
    """On both backends: SQLite (kills land mid-transaction and mid-checkpoint) and
    PostgreSQL (the server rolls a killed client's transaction back and frees its locks)."""
    seed = fault_seed()
    rng = random.Random(seed)
    db = store_location
    setup = BeadStore.create_at(db, actor="setup")
    shared = [setup.create(f"shared {i}", prefix="gt")["id"] for i in range(6)]
    setup.close_connection()

    acked: list[tuple[str, str, str]] = []
    kills = 0
    delays: list[float] = []
    started = time.monotonic()
    for round_no in range(ROUNDS):
        writers = [Killable(writer_argv(db, f"w{k}-r{round_no}", rng.randrange(1 << 30), shared),
                            env=clean_env) for k in range(WRITERS_PER_ROUND)]
        for w in writers:
            assert w.wait_output(b"ready -"), f"seed {seed}: writer died early: {w.stderr()}"
        for w in writers:
            # mostly short (the kill lands mid-transaction or mid-checkpoint), sometimes none
            delay = rng.choice((0.0, rng.uniform(0, 0.05), rng.uniform(0.02, 0.25)))
            delays.append(delay)
            time.sleep(delay)
            assert w.proc.poll() is None, f"seed {seed}: writer exited: {w.stderr()}"
            w.kill()
            kills += 1
        for w in writers:
            acked.extend(_acks(w.finish()))
    elapsed = time.monotonic() - started

    store = BeadStore(db, actor="checker")
    try:
        problems = store.integrity_check()
        assert problems == [], f"seed {seed}: {problems}"
        _check_acknowledged(store, acked, seed)
        _check_atomicity(store, seed)
        # the store still takes writes, with a fresh connection after all those crashes
        after = store.create("after the crashes", prefix="gt")
        store.update(after["id"], append_notes="still writable", add_labels=["alive"])
        store.add_comment(after["id"], "and comments")
        assert store.get(after["id"])["notes"] == "still writable"
        assert store.integrity_check() == []
    finally:
        store.close_connection()
    assert kills == ROUNDS * WRITERS_PER_ROUND
    assert len(acked) > kills, f"seed {seed}: the writers barely wrote ({len(acked)} acks)"
    print(f"store crash: {kills} kills, {len(acked)} acknowledged writes checked, "
          f"{elapsed:.1f}s, seed {seed}")


def _check_acknowledged(store: BeadStore, acked: list[tuple[str, str, str]], seed: int) -> None:
    last_field: dict[tuple[str, str], int] = {}
    for op, bead, token in acked:
        issue = store.get(bead)  # a create's bead must exist too
        where = f"seed {seed}: {op} {token} on {bead}"
        if op == "create":
            assert issue["title"] == token, where
        elif op == "note":
            assert token in (issue.get("notes") or "").split("\n"), where
        elif op == "label":
            assert token in store.labels_of(bead), where
        elif op == "comment":
            assert token in [c["text"] for c in store.comments_of(bead)], where
        elif op == "big":
            # later big writes by others may have replaced it, but never with half a value
            token_part, _, pad = (issue.get("design") or "").partition(" ")
            assert _TOKEN.match(token_part) and pad == "x" * 20000, where
        elif op == "field":
            m = _TOKEN.match(token)
            assert m, where
            key = (bead, m["tag"])
            last_field[key] = max(last_field.get(key, 0), int(m["n"]))
    # description fields: each writer's field holds its last acknowledged value, or the one
    # write it had in flight when it died (committed, never acknowledged): never an older one
    for (bead, tag), n in last_field.items():
        value = parse_fields(store.get(bead).get("description", "")).get(tag.replace("-", "_"))
        m = _TOKEN.match(value or "")
        assert m and m["tag"] == tag and int(m["n"]) >= n, \
            f"seed {seed}: {bead} field {tag} is {value!r}, acknowledged {tag}-{n}"


def _check_atomicity(store: BeadStore, seed: int) -> None:
    """Each write is one transaction: its rows and its audit event land together or not at all."""
    read = store.conn.read
    issues = {r[0] for r in read("SELECT id FROM issues")}
    created = {r[0] for r in read("SELECT issue_id FROM events WHERE event_type = 'created'")}
    assert issues == created, f"seed {seed}: beads without their created event or vice versa"
    label_rows = defaultdict(int)
    for iid, label in read("SELECT issue_id, label FROM labels"):
        label_rows[(iid, label)] += 1
    label_events = defaultdict(int)
    for iid, value in read("SELECT issue_id, new_value FROM events "
                           "WHERE event_type = 'label_added'"):
        label_events[(iid, value)] += 1
    assert label_rows == label_events, f"seed {seed}: labels and label events disagree"
    comments = sorted(r[0] for r in read("SELECT issue_id FROM comments"))
    commented = sorted(r[0] for r in read("SELECT issue_id FROM events "
                                          "WHERE event_type = 'commented'"))
    assert comments == commented, f"seed {seed}: comments and comment events disagree"
    seq = int(read("SELECT value FROM meta WHERE key = 'seq'")[0][0])
    top = read("SELECT max(change_seq) FROM issues")[0][0] or 0
    assert seq >= top, f"seed {seed}: change sequence {seq} behind a row's {top}"
