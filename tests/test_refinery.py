"""The refinery on real git repositories and real towns: order, conflicts, gates, convoys."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pygit2
import pytest
from refinery_helpers import RigEnv, make_rig_env, py

from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.ops import mail as mail_ops
from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.refinery.loop import run
from gastown_tui.refinery.process import process_mr
from gastown_tui.refinery.score import next_ready, queue
from gastown_tui.refinery.state import gate_worktree_path, read_state
from gastown_tui.town.fields import get_field
from gastown_tui.town.names import Address


@pytest.fixture
def env(town: Path, tmp_path: Path):
    e = make_rig_env(town, tmp_path)
    yield e
    e.store.close_connection()


def _commits_since(env: RigEnv, old: str) -> list[str]:
    repo = env.repo()
    walker = repo.walk(repo.references["refs/heads/main"].target)
    walker.hide(pygit2.Oid(hex=old))
    return [c.message for c in walker]


def test_two_mrs_merge_in_score_order_and_reach_upstream(env: RigEnv):
    start = env.main_sha()
    low_src, low = env.submit("low priority", {"low.txt": "low\n"}, priority=3)
    high_src, high = env.submit("high priority", {"high.txt": "high\n"}, priority=1)
    ensure_agent_bead(env.store, Address("polecat", "gastown", "toast"), "gt",
                      state="idle", active_mr=low.id)
    assert [e.mr.id for e in queue(env.store, env.rig)] == [high.id, low.id]

    summary = run(env.town, env.rig, once=True)

    assert [(r.mr_id, r.outcome) for r in summary.results] == [(high.id, "merged"),
                                                                 (low.id, "merged")]
    # main in the rig's bare repo and in the bare upstream hold both, in score order
    assert env.main_sha() == env.upstream_main_sha() != start
    assert env.main_file("high.txt") == "high\n" and env.main_file("low.txt") == "low\n"
    assert _commits_since(env, start) == ["low priority (0)", "high priority (0)"]
    # the refinery worktree shows the new main, files and index alike
    wt = env.rig.refinery_worktree
    assert (wt / "high.txt").read_text() == "high\n" and (wt / "low.txt").exists()
    assert pygit2.Repository(str(wt)).status() == {}
    for src, mr in ((low_src, low), (high_src, high)):
        done = env.mr(mr.id)
        assert done.status == "closed" and done.fields["close_reason"] == "merged"
        assert done.fields["merge_commit"]
        source = env.store.get(src)
        assert source["status"] == "closed" and source["close_reason"] == f"Merged in {mr.id}"
        assert env.repo().references.get(f"refs/heads/{mr.branch}") is None
    agent = env.store.get("gt-gastown-polecat-toast")
    assert get_field(agent["description"], "active_mr") == ""
    assert [e["payload"]["mr"] for e in env.events("merged")] == [high.id, low.id]
    assert len(env.events("merge_started")) == 2
    assert read_state(env.rig)["stage"] == "done"
    assert not gate_worktree_path(env.rig).exists()


def test_conflict_blocks_mr_with_task_and_leaves_main_alone(env: RigEnv):
    _, first = env.submit("first edit", {"README.md": "first\n"})
    src, second = env.submit("second edit", {"README.md": "second\n"}, worker="nux")
    process_mr(env.town, env.rig, first.id)
    main_after_first = env.main_sha()

    result = process_mr(env.town, env.rig, second.id)

    assert result.outcome == "conflict" and result.conflicts == ("README.md",)
    assert env.main_sha() == env.upstream_main_sha() == main_after_first
    assert env.main_file("README.md") == "first\n"
    mr = env.mr(second.id)
    assert mr.status == "open" and "needs-rebase" in mr.labels and mr.retry_count == 1
    assert mr.fields["last_conflict_sha"] == main_after_first
    task = env.store.get(mr.fields["conflict_task_id"])
    assert task["issue_type"] == "task" and task["priority"] == 1
    assert task["title"] == "Resolve merge conflicts: second edit"
    assert task["assignee"] == "gastown/polecats/nux"
    assert "README.md" in task["description"] and second.branch in task["description"]
    assert main_after_first in task["description"]
    deps = env.store.dependency_records(second.id)
    assert [(d["depends_on_id"], d["type"]) for d in deps] == [(task["id"], "blocks")]
    [entry] = queue(env.store, env.rig)
    assert entry.status == "blocked" and next_ready(env.store, env.rig) is None
    assert env.events("merge_failed")[-1]["payload"]["type"] == "conflict"
    assert env.store.get(src)["status"] == "open"

    # the worker rebases onto main, resolves, and resubmits: ready again, and it merges
    resubmitted = env.resubmit(mr, {"README.md": "first\nsecond\n"}, reset=True)
    assert "needs-rebase" not in resubmitted.labels
    assert next_ready(env.store, env.rig).mr.id == second.id
    assert process_mr(env.town, env.rig, second.id).outcome == "merged"
    assert env.main_file("README.md") == "first\nsecond\n"
    assert env.store.get(task["id"])["status"] == "closed"


def test_failing_gate_mails_fix_needed_then_fixed_resubmit_merges(env: RigEnv):
    env.set_gates(test_command=f"{shlex.quote(sys.executable)} check.py", gate_timeout="60s")
    start = env.main_sha()
    src, mr = env.submit("buggy change", {"app.py": "print('BUG')\n"})

    result = process_mr(env.town, env.rig, mr.id)

    assert result.outcome == "gates-failed" and result.failed_gate == "test"
    assert env.main_sha() == env.upstream_main_sha() == start
    failed = env.mr(mr.id)
    assert failed.status == "open" and "needs-fix" in failed.labels
    assert failed.retry_count == 1 and next_ready(env.store, env.rig) is None
    [mail] = mail_ops.inbox(env.store, "gastown/toast")
    assert mail["subject"] == "FIX_NEEDED toast" and mail["from"] == "gastown/refinery"
    body = mail["body"]
    for line in (f"Branch: {mr.branch}", f"Issue: {src}", "Polecat: toast", "Rig: gastown",
                 "Target: main", "Failure-Type: tests", f"MR-Bead-ID: {mr.id}",
                 "Attempt-Number: 1"):
        assert line in body.splitlines()
    assert "Failed-At: " in body
    assert "FAILED: app.py still has a BUG" in body
    log = env.rig.path / ".runtime" / "refinery" / "logs" / f"{mr.id}-test.log"
    assert "FAILED: app.py still has a BUG" in log.read_text()
    assert not gate_worktree_path(env.rig).exists()

    fixed = env.resubmit(failed, {"app.py": "print('fixed')\n"})
    assert "needs-fix" not in fixed.labels
    assert next_ready(env.store, env.rig).mr.id == mr.id
    assert process_mr(env.town, env.rig, mr.id).outcome == "merged"
    assert env.main_file("app.py") == "print('fixed')\n"
    assert env.upstream_main_sha() == env.main_sha()
    assert env.store.get(src)["status"] == "closed"


def test_gate_timeout_fails_the_gate(env: RigEnv):
    env.set_gates(build_command=py("import time; time.sleep(30)"), gate_timeout="300ms")
    _, mr = env.submit("slow build", {"x.txt": "x\n"})
    result = process_mr(env.town, env.rig, mr.id)
    assert result.outcome == "gates-failed" and result.failed_gate == "build"
    assert "timed out" in result.detail


def test_convoy_lands_only_after_all_three_merge(env: RigEnv):
    mrs = [env.submit(f"part {n}", {f"part{n}.txt": f"{n}\n"}) for n in range(3)]
    convoy = convoy_ops.create(env.town, env.store, "Three parts", [s for s, _ in mrs],
                               owner="mayor/")
    assert queue(env.store, env.rig)[0].convoy_id == convoy["id"]
    for n, (_, mr) in enumerate(mrs):
        assert process_mr(env.town, env.rig, mr.id).outcome == "merged"
        status = convoy_ops.status(env.store, convoy["id"])
        if n < 2:
            assert status["status"] == "open" and status["completed"] == n + 1
            assert mail_ops.inbox(env.store, "mayor/") == []
    assert convoy_ops.status(env.store, convoy["id"])["status"] == "closed"
    [mail] = mail_ops.inbox(env.store, "mayor/")
    assert mail["subject"] == "🚚 Convoy landed: Three parts"


def test_vanished_branch_closes_the_mr(env: RigEnv):
    _, mr = env.submit("gone", {"g.txt": "g\n"})
    env.repo().branches.local.delete(mr.branch)
    assert process_mr(env.town, env.rig, mr.id).outcome == "branch-missing"
    bead = env.store.get(mr.id)
    assert bead["status"] == "closed" and bead["close_reason"] == "Branch no longer exists"


def test_claim_is_compare_and_swap(env: RigEnv):
    _, mr = env.submit("claimed", {"c.txt": "c\n"})
    env.store.update(mr.id, changes={"status": "in_progress"})
    result = process_mr(env.town, env.rig, mr.id)
    assert result.outcome == "skipped" and env.main_file("c.txt") is None


def test_non_bare_upstream_refuses_push_and_main_lives_in_the_rig(town: Path, upstream: Path):
    from gastown_tui.ops.rig import rig_add
    from gastown_tui.town.layout import Town
    from gastown_tui.town.store import BeadStore

    rig_add(Town(town), "gastown", str(upstream))   # conftest's upstream: main checked out
    t = Town(town)
    env = RigEnv(t, t.rig("gastown"), BeadStore(t.db_path, actor="tester"), upstream)
    before = env.upstream_main_sha()
    _, mr = env.submit("local only", {"l.txt": "l\n"})
    result = process_mr(env.town, env.rig, mr.id)
    assert result.outcome == "merged" and "non-bare" in result.push_error
    assert env.main_file("l.txt") == "l\n" and env.upstream_main_sha() == before
    assert env.events("push_failed")[0]["payload"]["mr"] == mr.id
    env.store.close_connection()


def test_mq_cli_list_status_retry_reject(env: RigEnv, clean_env: dict[str, str]):
    import subprocess

    env.set_gates(test_command=py("import sys; print('nope'); sys.exit(3)"))
    _, failing = env.submit("will fail", {"f.txt": "f\n"})
    _, other = env.submit("other", {"o.txt": "o\n"}, priority=3)
    process_mr(env.town, env.rig, failing.id)

    def mq(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "gastown_tui.cli.gt_mq", *args],
                              cwd=env.town.root, env=clean_env, capture_output=True, text=True,
                              timeout=60)
        assert (proc.returncode == 0) == ok, proc.stderr
        return proc

    rows = json.loads(mq("list", "gastown", "--json").stdout)
    # P2 with one retry (1200 - 50) still outranks a fresh P3 (1100)
    assert [r["id"] for r in rows] == [failing.id, other.id]
    # upstream's shape: the MR beads as bd prints them, with the queue's fields added
    assert {"id", "title", "description", "status", "priority", "labels", "created_at",
            "branch", "source_issue", "worker", "queue_status", "score", "retry_count",
            "target"} <= set(rows[0])
    assert all(r["status"] == "open" for r in rows)  # the bead's status, as bd says it
    by_id = {r["id"]: r for r in rows}
    assert by_id[failing.id]["queue_status"] == "blocked" and "needs-fix" in by_id[failing.id]["labels"]
    assert by_id[other.id]["queue_status"] == "ready"
    assert [r["id"] for r in json.loads(mq("list", "gastown", "--ready", "--json").stdout)] == \
        [other.id]
    detail = json.loads(mq("status", failing.id, "--json").stdout)
    assert detail["retry_count"] == 1 and detail["logs"][0].endswith(f"{failing.id}-test.log")
    assert "needs-fix" in mq("list", "gastown").stdout

    retried = json.loads(mq("retry", failing.id, "--json").stdout)
    assert retried["status"] == "ready" and "needs-fix" not in retried["labels"]
    rejected = json.loads(mq("reject", other.id, "-r", "duplicate work", "--json").stdout)
    assert rejected["bead_status"] == "closed" and rejected["close_reason"] == "rejected: duplicate work"
    assert "already closed" in mq("reject", other.id, "-r", "again", ok=False).stderr
    assert [e["payload"]["mr"] for e in env.events("mq_reject")] == [other.id]


def test_refinery_status_cli(env: RigEnv, clean_env: dict[str, str]):
    import subprocess

    env.submit("queued", {"q.txt": "q\n"})
    proc = subprocess.run([sys.executable, "-m", "gastown_tui.cli.gt_refinery", "status",
                           "gastown", "--json"], cwd=env.town.root, env=clean_env,
                          capture_output=True, text=True, timeout=60, check=True)
    data = json.loads(proc.stdout)
    assert data["running"] is False and data["queue"] == {"ready": 1, "blocked": 0, "active": 0}
    assert data["stage"] is None and data["next"]


def test_upstream_commits_are_fetched_first_and_kept(env: RigEnv, tmp_path: Path):
    from refinery_helpers import git

    clone = tmp_path / "human"
    git(tmp_path, "clone", "-q", str(env.upstream), str(clone))
    (clone / "human.txt").write_text("pushed by a person\n")
    git(clone, "add", "human.txt")
    git(clone, "commit", "-q", "-m", "direct push")
    git(clone, "push", "-q", "origin", "main")
    _, mr = env.submit("polecat work", {"p.txt": "p\n"})

    assert process_mr(env.town, env.rig, mr.id).outcome == "merged"
    assert env.main_file("human.txt") == "pushed by a person\n"
    assert env.main_file("p.txt") == "p\n" and env.upstream_main_sha() == env.main_sha()


def test_branch_a_polecat_stands_on_is_kept(env: RigEnv):
    _, mr = env.submit("still checked out", {"k.txt": "k\n"})
    repo = env.repo()
    path = env.rig.polecat_worktree("toast")
    path.parent.mkdir(parents=True)
    repo.add_worktree("toast", str(path), repo.references[f"refs/heads/{mr.branch}"])
    result = process_mr(env.town, env.rig, mr.id)
    assert result.outcome == "merged"
    assert f"branch {mr.branch}: checked-out" in result.notes
    assert repo.references.get(f"refs/heads/{mr.branch}") is not None


RESUBMIT_SCRIPT = """import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from refinery_helpers import RigEnv
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore
town = Town(Path({town!r}))
env = RigEnv(town, town.rig("gastown"), BeadStore(town.db_path, actor="gastown/polecats/toast"),
             Path("."))
env.resubmit(env.mr({mr!r}), {{"more.txt": "more\\n"}})
"""


def test_resubmit_during_the_merge_requeues_the_mr(env: RigEnv, tmp_path: Path):
    src, mr = env.submit("moving target", {"one.txt": "1\n"})
    script = tmp_path / "resubmit.py"
    script.write_text(RESUBMIT_SCRIPT.format(tests=str(Path(__file__).parent),
                                             town=str(env.town.root), mr=mr.id))
    env.set_gates(test_command=f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")

    first = process_mr(env.town, env.rig, mr.id)   # the worker resubmits while gates run
    assert first.outcome == "merged" and "requeued" in first.notes[0]
    assert env.main_file("one.txt") == "1\n" and env.main_file("more.txt") is None
    assert env.mr(mr.id).status == "open" and env.store.get(src)["status"] != "closed"

    env.set_gates(test_command="")
    assert process_mr(env.town, env.rig, mr.id).outcome == "merged"
    assert env.main_file("more.txt") == "more\n"
    assert env.mr(mr.id).status == "closed" and env.store.get(src)["status"] == "closed"
