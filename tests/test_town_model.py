"""TownModel and TownSnapshot on a real fixture town: the first snapshot, then deltas."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gastown_tui.model import sources as model_sources
from gastown_tui.model.town_model import TownModel
from gastown_tui.model.watch_filter import ChangeSet, changes_from_paths
from tests.fixtures.towns import NOW, DemoTown, build_demo_town


@pytest.fixture
def demo(tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch) -> DemoTown:
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    return build_demo_town(tmp_path, socket=tmux_socket)


def fixed_clock():
    return NOW


def store_of(root: Path):
    from gastown_tui.town.store import BeadStore

    return BeadStore(root / ".beads" / "beads.db", actor="tester")


def test_first_snapshot_derives_every_part(demo: DemoTown):
    model = TownModel(demo.root, clock=fixed_clock)
    snap = model.load()
    assert snap.name == "gt" and [r.name for r in snap.rigs] == ["beads", "gastown"]
    states = {a.label: (a.state, a.session_running) for a in snap.polecats}
    assert states == {"beads/obsidian": ("stalled", False), "gastown/furiosa": ("working", True),
                      "gastown/nux": ("done", True), "gastown/slit": ("idle", True),
                      "gastown/toast": ("zombie", True)}
    furiosa = snap.agent("gastown/polecats/furiosa")
    assert furiosa is not None and furiosa.hooked_bead == "gt-a3f"
    assert (furiosa.ahead, furiosa.dirty, furiosa.dirty_paths) == (2, 1, ("src/auth/tokens.py",))
    assert furiosa.branch.startswith("polecat/furiosa/gt-a3f@")
    assert furiosa.hooked_since == "2026-03-14T09:06:00Z" and furiosa.heartbeat
    assert "hooked gt-a3f" in furiosa.evidence
    mayor = snap.agent("mayor")
    assert mayor is not None and mayor.state == "running"
    assert snap.agent("gastown/refinery").pending_nudges == 1  # gt done poked it
    auth = snap.convoy("hq-cv-auth")
    assert auth is not None and (auth.completed, auth.total) == (1, 5)
    assert {t.id: t.glyph for t in auth.tracked} == {
        "gt-a1": "✓", "gt-a3f": "▶", "gt-b71": "▶", "gt-c4d": "✗", "gt-a9": "○"}
    assert snap.convoy("hq-cv-rel").landed
    queue = [(m.id, m.position, m.stage) for m in snap.merge_queue]
    assert queue[0] == (demo.mrs["done"], 1, "gates:test")
    assert (demo.mrs["conflict"], 3, "conflict") in queue
    gastown = snap.refinery("gastown")
    assert gastown.stage == "gates:test" and gastown.log_tail[-1].startswith("tests/test_api.py")
    assert [m.subject for m in snap.mail] == ["HELP: obsidian is stuck on bd-9c2",
                                              "Convoy landed: Release 0.1"]
    kinds = [i.kind for i in snap.needs_you]
    # "Convoy landed" is routine: it stays in the mail, not in Needs-you
    assert kinds == ["escalation", "conflict", "stalled", "zombie", "mail"]
    ready = [b.id for b in snap.beads if b.ready]
    assert "gt-a9" in ready and "gt-c4d" not in ready
    assert snap.bead("gt-c4d").blocked
    assert snap.bead_counts.hooked == 2 and snap.bead_counts.closed >= 2
    assert snap.events[-1].type == "nudge" and snap.banners == ()
    assert snap.taken_at == NOW


def test_snapshot_is_immutable_and_hashable(demo: DemoTown):
    snap = TownModel(demo.root, clock=fixed_clock).load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.name = "other"  # type: ignore[misc]
    assert hash(snap) == hash(dataclasses.replace(snap))
    assert isinstance(snap.agents, tuple) and isinstance(snap.convoys[0].tracked, tuple)


def test_a_bead_changed_on_disk_is_in_the_next_snapshot(demo: DemoTown):
    model = TownModel(demo.root, clock=fixed_clock)
    first = model.load()
    store = store_of(demo.root)
    store.update("gt-q7r", changes={"title": "Trim the event log at start"})
    store.close_connection()
    wal = str(demo.root / ".beads" / "beads.db-wal")
    second = model.apply([wal])
    assert second is not None and second.generation == first.generation + 1
    assert second.bead("gt-q7r").title == "Trim the event log at start"
    assert second.store_seq > first.store_seq
    # nothing else moved: the same parts, the same objects
    assert second.convoys == first.convoys and second.polecats == first.polecats
    assert model.apply([wal]) is None  # no new change in the store: no new snapshot
    assert model.apply([str(demo.root / "README.md")]) is None


def test_worktree_facts_are_recomputed_only_for_changed_worktrees(
        demo: DemoTown, monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    real = model_sources.worktree_facts

    def counting(rig, name):
        calls.append(name)
        return real(rig, name)

    monkeypatch.setattr(model_sources, "worktree_facts", counting)
    model = TownModel(demo.root, clock=fixed_clock)
    model.load()
    assert sorted(calls) == ["furiosa", "nux", "obsidian", "slit"]
    calls.clear()
    nux = demo.root / "gastown" / "polecats" / "nux" / "gastown"
    (nux / "scratch.txt").write_text("wip\n")
    snap = model.apply([str(nux / "scratch.txt")])
    assert calls == ["nux"]
    assert snap is not None and snap.agent("gastown/polecats/nux").dirty == 1


def test_the_first_read_leaves_the_worktrees_to_the_next_read(demo: DemoTown):
    """pygit2 (its import and the worktrees) took a large town's first read past the moment
    the control room was ready to draw it: the first read (deferred) reads no worktree and
    says so, the tiles keep their branch, and the next read (the one that brings the bead
    lists) reads them all, with nothing else to prompt it."""
    from gastown_tui.model.watch_filter import ChangeSet

    for name in ("nux", "obsidian", "furiosa", "slit"):  # every polecat has an edit
        rig = "beads" if name == "obsidian" else "gastown"
        (demo.root / rig / "polecats" / name / rig / "scratch.txt").write_text("wip\n")
    full = TownModel(demo.root).load()
    truth = {a.address: (a.dirty, a.ahead, a.branch) for a in full.polecats}
    model = TownModel(demo.root, clock=fixed_clock)
    first = model.load(defer_bead_lists=True)
    trees = [a for a in first.polecats if a.worktree_exists]
    assert len(trees) == 4 and all(truth[a.address][0] >= 1 for a in trees)
    assert all(a.worktree_pending and (a.dirty, a.ahead) == (0, 0) for a in trees)
    assert all(a.branch == truth[a.address][2] for a in trees)  # the bead's, shown meanwhile
    assert polecat_screen_facts(first, trees[0].address) == "(reading the worktree…)"
    second = model.apply(ChangeSet(bead_lists=True))
    assert second is not None
    assert [(a.address, a.dirty, a.ahead, a.worktree_pending) for a in second.polecats
            if a.worktree_exists] == [(a.address, *truth[a.address][:2], False) for a in trees]
    dirty, ahead, _ = truth[trees[-1].address]
    assert polecat_screen_facts(second, trees[-1].address).startswith(
        f"↑{ahead} ahead  ✎{dirty} uncommitted")
    model.close()


def polecat_screen_facts(snapshot, address: str) -> str:
    """What the polecat screen says of the worktree, after the branch."""
    from gastown_tui.screens.polecat import polecat_facts

    text = polecat_facts(snapshot.agent(address), address, snapshot).plain
    line = next(ln for ln in text.splitlines() if ln.startswith("branch: "))
    return line.split("  ", 1)[1].strip()


def test_refinery_stage_file_moves_the_queue(demo: DemoTown):
    model = TownModel(demo.root, clock=fixed_clock)
    model.load()
    state = demo.root / "gastown" / ".runtime" / "refinery" / "state.json"
    state.write_text(json.dumps({"mr": demo.mrs["done"], "stage": "merging",
                                 "started_at": "2026-03-14T09:36:00Z",
                                 "stage_started_at": "2026-03-14T09:41:30Z"}))
    snap = model.apply([str(state)])
    assert snap is not None and snap.merge_queue[0].stage == "merging"
    assert snap.refinery("gastown").log_tail == ()
    state.unlink()  # the loop went idle: missing means idle
    snap = model.apply([str(state)])
    assert snap is not None and snap.refinery("gastown").stage == ""


def test_events_are_read_from_where_the_log_stopped(demo: DemoTown):
    from gastown_tui.town.events import log_event

    model = TownModel(demo.root, clock=fixed_clock)
    before = model.load().events
    log_event(demo.root, "patrol", actor="gastown/witness", payload={"checked": 5})
    snap = model.apply([str(demo.root / ".events.jsonl")])
    assert snap is not None and snap.events[:-1] == before[-len(snap.events) + 1:]
    assert (snap.events[-1].type, snap.events[-1].summary) == ("patrol", "checked=5")


def test_town_missing_shows_a_banner_and_recovers(demo: DemoTown, tmp_path: Path):
    model = TownModel(demo.root, clock=fixed_clock)
    model.load()
    away = tmp_path / "elsewhere"
    demo.root.rename(away)
    snap = model.apply(ChangeSet(full=True))
    assert snap is not None and [b.kind for b in snap.banners] == ["town_missing"]
    assert snap.polecats  # the last known state stays on screen under the banner
    away.rename(demo.root)
    snap = model.load()
    assert snap.banners == () and len(snap.polecats) == 5


def test_locked_store_shows_a_banner_and_recovers(demo: DemoTown,
                                                  monkeypatch: pytest.MonkeyPatch):
    # A store held in exclusive mode by another process; the store's own knob keeps the
    # wait short. (In WAL mode an ordinary writer never blocks readers.)
    monkeypatch.setenv("GT_STORE_BUSY_TIMEOUT_MS", "100")
    model = TownModel(demo.root, clock=fixed_clock)
    model.load()
    model.close()
    holder = sqlite3.connect(demo.root / ".beads" / "beads.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        snap = model.apply(ChangeSet(store=True))
        assert snap is not None and [b.kind for b in snap.banners] == ["store_locked"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    snap = model.apply(ChangeSet(store=True))
    assert snap is not None and snap.banners == ()


def test_no_tmux_server_is_a_banner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GT_TMUX_SOCKET", "gttest-nobody-listens")
    demo = build_demo_town(tmp_path, socket=None)
    snap = TownModel(demo.root, clock=fixed_clock).load()
    assert [b.kind for b in snap.banners] == ["tmux_down"]
    assert {a.state for a in snap.polecats} == {"stalled", "done", "idle"}


async def test_follow_yields_a_snapshot_per_batch(demo: DemoTown):
    model = TownModel(demo.root, clock=fixed_clock)
    stream = model.follow()
    first = await anext(stream)
    store = store_of(demo.root)
    await asyncio.to_thread(store.update, "gt-k2m", changes={"priority": 0})
    store.close_connection()
    second = await asyncio.wait_for(anext(stream), 10)
    assert second.bead("gt-k2m").priority == 0 and second.generation > first.generation
    model.poke()  # sessions unchanged: the poke yields nothing new, the stream keeps going
    (demo.root / ".runtime" / "heartbeats" / "gt-nux.json").write_text(
        json.dumps({"ts": "2026-03-14T09:41:00Z", "state": "working"}))
    third = await asyncio.wait_for(anext(stream), 10)
    assert third.agent("gastown/polecats/nux").heartbeat == "2026-03-14T09:41:00Z"
    await stream.aclose()


async def test_follow_draws_the_town_first_and_fills_the_bead_lists_next(demo: DemoTown):
    """The first snapshot (what the main screen draws) skips the ready/open lists only the
    beads screen shows, and the worktrees' facts; the next one carries them, with nothing
    else to prompt it."""
    full = TownModel(demo.root, clock=fixed_clock).load()
    model = TownModel(demo.root, clock=fixed_clock)
    stream = model.follow()
    first = await anext(stream)
    unread = tuple(dataclasses.replace(a, ahead=0, dirty=0, dirty_paths=(), worktree_pending=True)
                   if a.worktree_exists else a for a in full.polecats)
    assert first.polecats == unread and first.convoys == full.convoys
    assert first.beads == ()
    second = first
    while not second.beads:  # (a file event on the way may bring the worktrees first)
        second = await asyncio.wait_for(anext(stream), 10)
    assert second.polecats == full.polecats
    assert second.beads == full.beads and second.bead_counts == full.bead_counts
    assert any(b.ready for b in second.beads)
    await stream.aclose()


async def test_a_change_made_while_the_first_frame_is_drawn_is_not_lost(demo: DemoTown):
    """The control room's first read comes before the file watch, which starts only once
    the first frame is drawn: a bead changed in between is read after the watch is up, and
    a change after that is seen as it happens."""
    model = TownModel(demo.root, clock=fixed_clock)
    model.prefetch()
    drawn = asyncio.Event()
    stream = model.follow(watch_after=drawn)
    first = await anext(stream)
    assert model.prefetched_ready() is first  # a screen mounting now draws this one
    store = store_of(demo.root)
    try:
        await asyncio.to_thread(store.update, "gt-k2m", changes={"priority": 0})
        assert first.agent("gastown/polecats/nux") is not None
        drawn.set()
        snapshot = first
        while snapshot.bead("gt-k2m") is None or snapshot.bead("gt-k2m").priority != 0:
            snapshot = await asyncio.wait_for(anext(stream), 10)
        await asyncio.to_thread(store.update, "gt-k2m", changes={"priority": 3})
        while snapshot.bead("gt-k2m").priority != 3:
            snapshot = await asyncio.wait_for(anext(stream), 10)
    finally:
        store.close_connection()
        await stream.aclose()


def test_filter_keeps_only_the_files_that_matter(tmp_path: Path):
    root = tmp_path
    rigs = frozenset({"gastown"})

    def classify(*paths: str) -> ChangeSet:
        return changes_from_paths(root, rigs, [str(root / p) for p in paths])

    assert classify(".beads/beads.db-wal").store
    assert not classify(".beads/beads.db-shm")
    assert classify(".events.jsonl").events and classify("mayor/rigs.json").full
    assert classify("gastown/.repo.git/refs/heads/main").rig_refs == {"gastown"}
    assert classify("gastown/.repo.git/worktrees/nux/index").worktrees == {("gastown", "nux")}
    assert not classify("gastown/.repo.git/objects/ab/cdef")
    assert classify("gastown/polecats/nux/gastown/src/a.py").worktrees == {("gastown", "nux")}
    assert not classify("gastown/polecats/nux/gastown/__pycache__/a.pyc")
    assert classify("gastown/polecats/nux").polecat_dirs == {"gastown"}
    assert classify("gastown/.runtime/refinery/state.json").refinery == {"gastown"}
    assert classify("gastown/.runtime/refinery/logs/gt-1-test.log").gate_logs == {"gastown"}
    assert classify("gastown/.runtime/witness/state.json").witness == {"gastown"}
    assert not classify("gastown/.runtime/witness/state.json.tmp")
    assert classify(".runtime/heartbeats/gt-nux.json").heartbeats == {"gt-nux"}
    assert classify(".runtime/nudge_queue/gt-nux/1-ab.json").nudges == {"gt-nux"}
    assert not classify(".runtime/nudge_queue/gt-nux/.lock")
    assert not classify("other/polecats/x/file") and not classify("../outside")


def test_model_layer_imports_no_textual():
    code = ("import sys\nimport gastown_tui.model.town_model, gastown_tui.model.snapshot\n"
            "print([m for m in sys.modules if m.split('.')[0] == 'textual'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_first_read_in_a_forked_child_gives_the_same_town(demo: DemoTown):
    """`gastown-tui` forks the town's first read before importing Textual: in a process with
    no thread yet (as the CLI is), the child's snapshot is the town, and the model's own
    next snapshot comes after it (a later generation), so the screen takes it as news."""
    code = f"""
import asyncio, json, sys
from pathlib import Path
from gastown_tui.model.first_read import FirstRead
root = Path({str(demo.root)!r})
first = FirstRead.start(root)
assert first is not None, "no fork"
from gastown_tui.model.town_model import TownModel
model = TownModel(root)
model.prefetch(first)
async def main():
    seen = []
    async for snapshot in model.follow():
        seen.append(snapshot)
        if len(seen) == 1:
            model.poke()
        else:
            break
    return seen
first_snap, second = asyncio.run(main())
direct = TownModel(root).load(defer_bead_lists=True)
print(json.dumps({{"agents": [a.address for a in first_snap.agents],
                  "direct": [a.address for a in direct.agents],
                  "convoys": [c.id for c in first_snap.convoys],
                  "direct_convoys": [c.id for c in direct.convoys],
                  "generations": [first_snap.generation, second.generation]}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "GT_TMUX_SOCKET": demo.socket})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["agents"] == out["direct"] and out["convoys"] == out["direct_convoys"]
    assert out["agents"] and out["generations"][1] > out["generations"][0]

