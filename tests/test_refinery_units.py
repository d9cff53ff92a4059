"""Unit tests: the score formula, queue readiness, settings, and the pygit2 merge steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from refinery_helpers import RigEnv, make_rig_env

from gastown_tui.refinery import merge
from gastown_tui.refinery.score import classify, convoy_for_issue, entry_for, order, score
from gastown_tui.refinery.state import load_settings, parse_duration
from gastown_tui.town.errors import ValidationError

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_score_formula_matches_upstream():
    assert score(priority=4, mr_created_at=NOW, now=NOW) == 1000.0
    assert score(priority=0, mr_created_at=NOW, now=NOW) == 1400.0
    assert score(priority=2, mr_created_at=NOW - timedelta(hours=5), now=NOW) == 1205.0
    assert score(priority=2, mr_created_at=NOW, now=NOW, retry_count=2) == 1100.0
    assert score(priority=2, mr_created_at=NOW, now=NOW, retry_count=10) == 900.0  # capped at 300
    convoy = NOW - timedelta(hours=48)
    # a 48-hour-old P4 convoy beats a fresh P0 standalone MR (upstream's starvation rule)
    assert score(priority=4, mr_created_at=NOW, now=NOW, convoy_created_at=convoy) == 1480.0
    # clock skew never lowers a score; out-of-range priorities clamp
    assert score(priority=2, mr_created_at=NOW + timedelta(hours=3), now=NOW) == 1200.0
    assert score(priority=9, mr_created_at=NOW, now=NOW) == 1000.0
    assert score(priority=-3, mr_created_at=NOW, now=NOW) == 1400.0


@settings(deadline=None)  # a loaded CI machine must not turn arithmetic into a flake
@given(p=st.integers(0, 4), retries=st.integers(0, 50), hours=st.floats(0, 1000))
def test_score_properties(p: int, retries: int, hours: float):
    created = NOW - timedelta(hours=hours)
    s = score(priority=p, mr_created_at=created, now=NOW, retry_count=retries)
    assert s >= 1000 - 300 + 100 * (4 - p)
    assert score(priority=p, mr_created_at=created, now=NOW, retry_count=retries + 1) <= s
    if p > 0:
        assert score(priority=p - 1, mr_created_at=created, now=NOW, retry_count=retries) > s


def test_parse_duration():
    assert parse_duration("10m") == 600 and parse_duration("30s") == 30
    assert parse_duration("300") == 300 and parse_duration("1h30m") == 5400
    assert parse_duration("250ms") == 0.25 and parse_duration("") == 600
    for bad in ("ten", "5x", "0"):
        with pytest.raises(ValidationError):
            parse_duration(bad)


@pytest.fixture
def env(town: Path, tmp_path: Path):
    e = make_rig_env(town, tmp_path)
    yield e
    e.store.close_connection()


def test_settings_order_skip_empty_and_run_tests_off(env: RigEnv):
    env.set_gates(test_command="pytest -q", lint_command="ruff check .", setup_command=" ",
                  gate_timeout="90s")
    s = load_settings(env.rig)
    assert s.gates == (("lint", "ruff check ."), ("test", "pytest -q"))
    assert s.gate_timeout == 90 and s.delete_merged_branches
    env.set_gates(run_tests=False)
    assert load_settings(env.rig).gates == ()


def test_readiness_rules(env: RigEnv):
    _, mr = env.submit("r", {"r.txt": "r\n"})
    assert classify(env.store, env.mr(mr.id))[0] == "ready"
    env.store.update(mr.id, add_labels=["needs-fix"],
                     description_fields={"last_failed_sha": mr.commit_sha})
    assert classify(env.store, env.mr(mr.id))[0] == "blocked"
    # a new head was recorded without clearing the label: the new head deserves a try
    env.store.update(mr.id, description_fields={"commit_sha": "f" * 40})
    assert classify(env.store, env.mr(mr.id))[0] == "ready"
    env.store.update(mr.id, remove_labels=["needs-fix"])
    blocker = env.store.create("human says wait", prefix="gt")["id"]
    env.store.add_dependency(mr.id, blocker, "blocks")
    status, reason, blockers = classify(env.store, env.mr(mr.id))
    assert status == "blocked" and blocker in reason and blockers == (blocker,)
    env.store.set_status(blocker, "closed")
    assert classify(env.store, env.mr(mr.id))[0] == "ready"
    env.store.update(mr.id, changes={"status": "in_progress"})
    assert classify(env.store, env.mr(mr.id))[0] == "active"


def test_convoy_age_uses_oldest_open_convoy_and_external_form(env: RigEnv):
    src, mr = env.submit("tracked", {"t.txt": "t\n"})
    assert convoy_for_issue(env.store, src) is None
    old = env.store.create("old convoy", prefix="hq", issue_type="convoy")
    env.store.add_dependency(old["id"], f"external:gt:{src}", "tracks", check_cycle=False)
    new = env.store.create("new convoy", prefix="hq", issue_type="convoy")
    env.store.add_dependency(new["id"], src, "tracks", check_cycle=False)
    assert convoy_for_issue(env.store, src)[0] == old["id"]
    entry = entry_for(env.store, env.mr(mr.id))
    assert entry.convoy_id == old["id"] and entry.score > 1200
    env.store.set_status(old["id"], "closed")
    assert convoy_for_issue(env.store, src)[0] == new["id"]


def test_order_is_score_then_age_then_id(env: RigEnv):
    a = env.submit("a", {"a.txt": "a\n"}, priority=2)[1]
    b = env.submit("b", {"b.txt": "b\n"}, priority=2)[1]
    c = env.submit("c", {"c.txt": "c\n"}, priority=0)[1]
    entries = [entry_for(env.store, env.mr(m.id), NOW) for m in (a, b, c)]
    assert [e.mr.id for e in order(entries)] == [c.id, a.id, b.id]


def test_replay_fast_forward_keeps_commit_ids(env: RigEnv):
    _, mr = env.submit("ff", {"f.txt": "f\n"}, commits=3)
    repo = env.repo()
    head = merge.branch_head(repo, mr.branch)
    result = merge.replay(repo, head, merge.target_tip(repo, "main"), merge.committer(env.rig))
    assert result.fast_forward and result.new_tip == str(head) and result.replayed == 3


def test_replay_rewrites_onto_moved_main_and_drops_applied_changes(env: RigEnv):
    repo = env.repo()
    branch = "polecat/toast/x@1"
    env.commit(branch, {"same.txt": "same\n"}, message="already upstream")
    env.commit(branch, {"mine.txt": "mine\n"}, message="mine")
    env.commit("main", {"same.txt": "same\n"}, base="main", message="main got it too")
    env.commit("main", {"other.txt": "other\n"}, base="main", message="main moves on")
    onto = merge.target_tip(repo, "main")
    result = merge.replay(repo, merge.branch_head(repo, branch), onto, merge.committer(env.rig))
    assert result.ok and not result.fast_forward
    assert (result.replayed, result.skipped) == (1, 1)
    tip = repo[pygit2.Oid(hex=result.new_tip)]
    assert tip.parents[0].id == onto and tip.message == "mine"
    assert tip.author.name == "Toast" and tip.committer.name == "gastown/refinery"
    assert str(repo.references["refs/heads/main"].target) == str(onto)   # nothing moved
    # replaying what main already has is "already merged"
    again = merge.replay(repo, pygit2.Oid(hex=result.new_tip), pygit2.Oid(hex=result.new_tip),
                         merge.committer(env.rig))
    assert again.already_merged


def test_advance_target_is_compare_and_swap(env: RigEnv):
    repo = env.repo()
    onto = merge.target_tip(repo, "main")
    branch = "polecat/toast/cas@1"
    tip = env.commit(branch, {"cas.txt": "1\n"})
    env.commit("main", {"sneaky.txt": "x\n"}, base="main")   # someone moved main meanwhile
    with pytest.raises(merge.TargetMovedError):
        merge.advance_target(repo, "main", onto, tip)
    assert env.main_file("sneaky.txt") == "x\n" and env.main_file("cas.txt") is None


def test_sync_worktree_removes_deleted_files(env: RigEnv):
    repo = env.repo()
    onto = merge.target_tip(repo, "main")
    tip = env.commit("polecat/toast/del@1", {"app.py": None, "new/dir.txt": "d\n"})
    merge.advance_target(repo, "main", onto, tip)
    wt = env.rig.refinery_worktree
    assert merge.sync_worktree(wt, tip, "main")
    assert not (wt / "app.py").exists() and (wt / "new" / "dir.txt").read_text() == "d\n"
    assert pygit2.Repository(str(wt)).status() == {}
    assert not merge.sync_worktree(wt, tip, "other-branch")


def test_refinery_never_imports_textual_and_mq_stays_light():
    import json
    import subprocess
    import sys

    code = ("import json, sys\n"
            "import gastown_tui.cli.gt_mq, gastown_tui.cli.gt_refinery\n"
            "import gastown_tui.refinery.admin, gastown_tui.refinery.score\n"
            "light = sorted(m for m in sys.modules if m.split('.')[0] in ('pygit2', 'watchfiles'))\n"
            "import gastown_tui.refinery.loop, gastown_tui.refinery.gates\n"
            "print(json.dumps([light, 'textual' in sys.modules]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    light, textual = json.loads(out.stdout)
    assert light == [] and textual is False
