"""The refinery loop as a real process: kill it mid-merge, start two at once, stop it, wake it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from refinery_helpers import RigEnv, make_rig_env, py, wait_for

from gastown_tui.refinery.loop import run
from gastown_tui.refinery.state import heartbeat_path, read_state


@pytest.fixture
def env(town: Path, tmp_path: Path):
    e = make_rig_env(town, tmp_path)
    yield e
    e.store.close_connection()


class Loops:
    """Refinery loops started as `python -m gastown_tui.cli.gt_refinery run`; all are reaped."""

    def __init__(self, env: RigEnv, clean_env: dict[str, str]) -> None:
        self.env = env
        self.os_env = clean_env
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-m", "gastown_tui.cli.gt_refinery", "run",
                                 "gastown", "--poll", "2", *args], cwd=self.env.town.root,
                                env=self.os_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)


@pytest.fixture
def loops(env: RigEnv, clean_env: dict[str, str]):
    lp = Loops(env, clean_env)
    yield lp
    lp.close()


def _heartbeat(env: RigEnv) -> dict:
    path = heartbeat_path(env.town, env.rig)
    return json.loads(path.read_text()) if path.exists() else {}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_kill_during_gate_leaves_main_untouched_and_restart_merges(env: RigEnv, loops: Loops):
    env.set_gates(test_command=py("import time; time.sleep(120)"))
    start = env.main_sha()
    src, mr = env.submit("slow tests", {"s.txt": "s\n"})
    proc = loops.start()
    state = wait_for(lambda: (s := read_state(env.rig)) and s.get("stage") == "gates:test"
                     and s.get("gate_pgid") and s, what="the loop to reach the test gate")
    pgid = int(state["gate_pgid"])
    assert _group_alive(pgid)

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert env.main_sha() == env.upstream_main_sha() == start
    assert env.mr(mr.id).status == "in_progress"          # left claimed by the dead loop
    assert env.store.get(src)["status"] == "open"
    # the gate's group dies with its loop (gate_watch), not at the next loop start
    wait_for(lambda: not _group_alive(pgid), timeout=5, what="the orphaned gate to die")

    env.set_gates(test_command="")
    summary = run(env.town, env.rig, once=True)            # the restart
    assert any("back in the queue" in n for n in summary.recovered)
    assert [(r.mr_id, r.outcome) for r in summary.results] == [(mr.id, "merged")]
    assert env.main_file("s.txt") == "s\n" and env.upstream_main_sha() == env.main_sha()
    assert env.mr(mr.id).status == "closed"
    assert [e["payload"]["mr"] for e in env.events("merge_recovered")] == [mr.id]


def test_crash_after_target_moved_is_finished_by_the_restart(env: RigEnv):
    """Simulate a loop killed between the fast-forward and the bookkeeping."""
    from gastown_tui.refinery import merge
    from gastown_tui.refinery.state import StageRecorder

    src, mr = env.submit("half done", {"h.txt": "h\n"})
    env.store.update(mr.id, changes={"status": "in_progress", "assignee": "gastown/refinery"})
    repo = merge.open_repo(env.rig)
    onto = merge.target_tip(repo, "main")
    head = merge.branch_head(repo, mr.branch)
    replayed = merge.replay(repo, head, onto, merge.committer(env.rig))
    stage = StageRecorder(env.rig, mr.id)
    stage.stage_to("merging", head=str(head), onto=str(onto), new_tip=replayed.new_tip,
                   target="main")
    merge.advance_target(repo, "main", onto, replayed.new_tip)
    # ...killed here: main moved, nothing pushed, MR still claimed

    summary = run(env.town, env.rig, once=True)
    assert any("half done" in n for n in summary.recovered)
    assert env.upstream_main_sha() == env.main_sha() == replayed.new_tip
    assert env.mr(mr.id).status == "closed" and env.store.get(src)["status"] == "closed"
    assert (env.rig.refinery_worktree / "h.txt").read_text() == "h\n"
    assert summary.results == []


def test_two_loops_one_wins_and_sigterm_stops_cleanly(env: RigEnv, loops: Loops):
    first, second = loops.start(), loops.start()
    loser = wait_for(lambda: next((p for p in (first, second) if p.poll() is not None), None),
                     what="one loop to give up")
    winner = second if loser is first else first
    _, err = loser.communicate(timeout=30)
    assert loser.returncode == 1
    assert "already running" in err and "gt refinery status gastown" in err
    wait_for(lambda: _heartbeat(env).get("state") == "idle", what="the winner to idle")
    assert winner.poll() is None and _heartbeat(env)["pid"] == winner.pid

    winner.send_signal(signal.SIGTERM)
    out, _ = winner.communicate(timeout=30)
    assert winner.returncode == 0 and "stopped:" in out
    assert _heartbeat(env)["state"] == "stopped"


def test_idle_loop_wakes_on_a_new_mr(env: RigEnv, loops: Loops):
    proc = loops.start("--poll", "60")    # the poll alone would not wake it within the test
    wait_for(lambda: _heartbeat(env).get("state") == "idle", what="the loop to idle")
    _, mr = env.submit("arrives later", {"late.txt": "late\n"})
    wait_for(lambda: env.mr(mr.id).status == "closed", timeout=20, what="the merge")
    assert env.main_file("late.txt") == "late\n"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_sigterm_during_gate_puts_mr_back(env: RigEnv, loops: Loops):
    env.set_gates(test_command=py("import time; time.sleep(120)"))
    _, mr = env.submit("interrupted", {"i.txt": "i\n"})
    proc = loops.start()
    wait_for(lambda: (s := read_state(env.rig)) and s.get("stage") == "gates:test",
             what="the test gate")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "interrupted" in out
    assert env.mr(mr.id).status == "open" and env.main_file("i.txt") is None
    assert read_state(env.rig) is None


def test_queued_nudges_wake_the_loop_and_are_drained(env: RigEnv, loops: Loops):
    nudge = pytest.importorskip("gastown_tui.ops.nudge")
    proc = loops.start("--poll", "60")
    wait_for(lambda: _heartbeat(env).get("state") == "idle", what="the loop to idle")
    folder = nudge.queue_dir(env.town, "gt-refinery")
    nudge.enqueue(env.town, "gt-refinery", "MERGE_READY received", sender="gastown/toast")
    wait_for(lambda: not list(folder.glob("*.json")), timeout=20, what="the nudge to be taken")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert "nudge from gastown/toast: MERGE_READY received" in out
