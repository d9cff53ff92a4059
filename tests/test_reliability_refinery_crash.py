"""kill -9 the refinery at random stages of a merge: main in the rig's bare repo (and upstream) is
the old tip or the complete merge, never a half state; every object reachable from a branch is
there; and the MR is retryable: the next run merges it.

Two ways to pick the moment: the real `gt refinery run <rig> --once` killed after a random delay
while a gate sleeps, and the same command run with a pause injected at one named step (replay,
just before or after the target ref moves, push, branch clean-up) and killed inside or just after
that pause, so the short steps between the gates and the end are hit for sure."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest
from refinery_helpers import RigEnv, make_rig_env, py
from reliability_helpers import Killable, fault_seed, soak

from gastown_tui.refinery.loop import run
from gastown_tui.refinery.state import read_state

BIN = Path(sys.executable).parent
INJECTION_POINTS = ("replay", "advance_target:before", "advance_target:after", "sync_worktree",
                    "push_target", "delete_branch")
RANDOM_KILLS = soak(3, 20)
INJECTED_ROUNDS = soak(1, 5)   # each round kills once at every injection point

# Runs `gt refinery run <rig> --once` with a pause at one step of refinery.merge: the step's
# name is printed when it is reached, then the process sleeps `hold` seconds and carries on.
DRIVER = """
import sys, time
from gastown_tui.refinery import merge
point, hold = sys.argv[1], float(sys.argv[2])
moved = []  # the start-up recovery refreshes the worktree too: only the one after the merge

def pause(name):
    if name == "advance_target:after":
        moved.append(True)
    if name == point and (name != "sync_worktree" or moved):
        sys.stdout.write("AT " + name + "\\n")
        sys.stdout.flush()
        time.sleep(hold)

def wrap(attr):
    original = getattr(merge, attr)
    def wrapped(*args, **kwargs):
        pause(attr)
        pause(attr + ":before")
        result = original(*args, **kwargs)
        pause(attr + ":after")
        return result
    setattr(merge, attr, wrapped)

for attr in ("replay", "advance_target", "sync_worktree", "push_target", "delete_branch"):
    wrap(attr)
from gastown_tui.cli.gt import main
sys.exit(main(["refinery", "run", sys.argv[3], "--once", "--poll", "1"]))
"""


@pytest.fixture
def env(town: Path, tmp_path: Path):
    e = make_rig_env(town, tmp_path)
    yield e
    e.store.close_connection()


def _files(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> dict[str, bytes]:
    """Every blob under tree, read (a missing or damaged object raises)."""
    out: dict[str, bytes] = {}
    for entry in tree:
        obj = repo[entry.id]
        path = prefix + entry.name
        if isinstance(obj, pygit2.Tree):
            out.update(_files(repo, obj, path + "/"))
        else:
            out[path] = obj.read_raw()
    return out


def _check_whole(repo_path: Path, where: str) -> None:
    """fsck by walking: every commit reachable from every branch, with its whole tree, reads
    back; and git's own fsck agrees (no missing or corrupt object, no broken link)."""
    repo = pygit2.Repository(str(repo_path))
    seen: set[str] = set()
    for name in repo.references:
        if not name.startswith("refs/heads/"):
            continue
        for commit in repo.walk(repo.references[name].peel(pygit2.Commit).id):
            if str(commit.id) in seen:
                continue
            seen.add(str(commit.id))
            _files(repo, commit.tree)
    proc = subprocess.run(["git", "--git-dir", str(repo_path), "fsck", "--no-dangling",
                           "--no-progress"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{where}: git fsck: {proc.stdout}{proc.stderr}"


def _assert_old_or_merged(env: RigEnv, old_tip: str, path: str, content: str,
                          where: str) -> str:
    """main is the old tip, or a descendant holding the old files plus the MR's change."""
    repo = env.repo()
    tip = env.main_sha()
    old_files = _files(repo, repo[old_tip].peel(pygit2.Commit).tree)
    if tip == old_tip:
        return "old tip"
    assert repo.descendant_of(pygit2.Oid(hex=tip), pygit2.Oid(hex=old_tip)), \
        f"{where}: main moved sideways to {tip}"
    files = _files(repo, repo[tip].peel(pygit2.Commit).tree)
    assert files == {**old_files, path: content.encode()}, f"{where}: main {tip} is a half merge"
    return "merged"


class Round:
    """One MR whose branch started from an older main (so the merge really replays commits)."""

    def __init__(self, env: RigEnv, n: int, gate_seconds: float) -> None:
        self.env = env
        self.path = f"crash/{n}.txt"
        self.content = f"merge {n}\n"
        env.set_gates(setup_command=py(f"import time; time.sleep({gate_seconds})"),
                      test_command=py(f"import time; time.sleep({gate_seconds})"))
        self.source, self.mr = env.submit(f"crash round {n}", {self.path: self.content})
        # main moves on after the branch was cut: the refinery must rebase, not fast-forward
        env.commit("main", {f"crash/main-{n}.txt": f"main {n}\n"}, message=f"main {n}")
        self.old_tip = env.main_sha()
        self.old_upstream = env.upstream_main_sha()

    def check_after_kill(self, where: str) -> str:
        env = self.env
        state = _assert_old_or_merged(env, self.old_tip, self.path, self.content, where)
        up = env.upstream_main_sha()
        # upstream: what it had, or exactly what the rig's main became (a push is one ref move)
        assert up in (self.old_upstream, env.main_sha()), f"{where}: upstream main is {up}"
        _check_whole(env.rig.bare_repo, where)
        _check_whole(env.upstream, where + " (upstream)")
        return state

    def check_retried(self, where: str) -> None:
        env = self.env
        env.set_gates(setup_command="", test_command="")
        summary = run(env.town, env.rig, once=True)
        assert env.mr(self.mr.id).status == "closed", f"{where}: {summary}"
        assert env.store.get(self.source)["status"] == "closed", where
        assert env.main_file(self.path) == self.content, where
        assert env.upstream_main_sha() == env.main_sha(), where
        assert (env.rig.refinery_worktree / self.path).read_text() == self.content, where
        assert read_state(env.rig) is None or read_state(env.rig).get("stage") == "done", where
        _check_whole(env.rig.bare_repo, where)


def test_kill_refinery_at_random_moments(env: RigEnv, clean_env: dict[str, str]):
    seed = fault_seed()
    rng = random.Random(seed)
    outcomes: list[str] = []
    for n in range(RANDOM_KILLS):
        rnd = Round(env, n, gate_seconds=0.3)
        proc = Killable([str(BIN / "gt"), "refinery", "run", "gastown", "--once", "--poll", "1"],
                        env=clean_env, cwd=env.town.root)
        # wait until it really works on the MR, then a random moment: a gate, a step after it
        # or the bookkeeping (or, now and then, already done)
        claimed = time.monotonic() + 30
        while env.mr(rnd.mr.id).status == "open" and proc.proc.poll() is None:
            assert time.monotonic() < claimed, f"seed {seed}: the loop never took the MR"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.9))
        stage = (read_state(env.rig) or {}).get("stage", "")
        proc.finish()
        where = f"seed {seed} random kill {n} (stage {stage or '?'})"
        outcomes.append(f"{stage or '-'}:{rnd.check_after_kill(where)}")
        rnd.check_retried(where)
    print(f"refinery random kills: {outcomes}, seed {seed}")


@pytest.mark.parametrize("point", INJECTION_POINTS)
def test_kill_refinery_at_each_merge_step(env: RigEnv, clean_env: dict[str, str], point: str):
    seed = fault_seed()
    rng = random.Random(seed)
    outcomes: list[str] = []
    for n in range(INJECTED_ROUNDS):
        rnd = Round(env, n, gate_seconds=0.0)
        hold = 0.2
        proc = Killable([sys.executable, "-c", DRIVER, point, str(hold), "gastown"],
                        env=clean_env, cwd=env.town.root)
        assert proc.wait_output(f"AT {point}".encode()), \
            f"seed {seed}: never reached {point}: {proc.stderr()}"
        # inside the pause, or just after the step went on
        time.sleep(rng.choice((0.0, rng.uniform(0, hold), hold + rng.uniform(0, 0.02))))
        stage = (read_state(env.rig) or {}).get("stage", "")
        proc.finish()
        where = f"seed {seed} kill at {point} round {n} (stage {stage or '?'})"
        outcomes.append(rnd.check_after_kill(where))
        rnd.check_retried(where)
    print(f"refinery kill at {point}: {outcomes}, seed {seed}")
