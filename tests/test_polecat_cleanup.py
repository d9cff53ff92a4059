"""A finished polecat is clean when its work's content is on main, and `gt polecat stale
--cleanup` nukes every finished polecat with nuke's safety: real worktrees of the rig's bare
repo, the real Refinery replaying (rebasing) their branches onto main, real beads, and real
tmux sessions on a private server.

The case from issue 26: the Refinery merged a rebased copy of a polecat's commit, and a later
merge rewrote the same lines, so main is no descendant of the branch and merging the branch
again would conflict; nuke used to refuse "1 commit not merged to main"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gastown_tui.ops import nuke
from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.ops.context import open_store
from gastown_tui.ops.mr import create_mr
from gastown_tui.ops.namepool import allocate
from gastown_tui.ops.worktrees import create_polecat_worktree
from gastown_tui.refinery.process import process_mr
from gastown_tui.tmux.server import TownTmux
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore
from tests.conftest import git

RIG = "gastown"


@pytest.fixture
def env(rig_town: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch):
    for var in ("GT_ROLE", "BD_ACTOR", "BEADS_ACTOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    town = Town(rig_town)
    store = open_store(town, actor="tester")
    yield town, store
    store.close_connection()


def polecat(town: Town, store: BeadStore) -> tuple[str, Path, str, str]:
    """A slung polecat: its bead hooked, its worktree on its own branch (name, path, branch,
    bead)."""
    rig = town.rig(RIG)
    name = allocate(rig)
    bead = store.create(f"work for {name}", prefix=rig.prefix)["id"]
    path, branch = create_polecat_worktree(rig, name, bead)
    addr = Address("polecat", RIG, name)
    agent = ensure_agent_bead(store, addr, rig.prefix, state="working")
    store.update(agent["id"], description_fields={"hook_bead": bead, "branch": branch})
    store.update(bead, changes={"status": "hooked", "assignee": str(addr)})
    return name, path, branch, bead


def work(path: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (path / rel).write_text(text)
    git(path, "add", "--", *files)
    git(path, "commit", "-q", "-m", message)
    return git(path, "rev-parse", "HEAD").strip()


def done(town: Town, store: BeadStore, name: str, branch: str, bead: str, sha: str) -> str:
    """What `gt done` leaves: an MR for the branch, the agent done with it; then the
    Refinery processes it (replaying the branch onto main)."""
    rig = town.rig(RIG)
    agent = f"{rig.prefix}-{RIG}-polecat-{name}"
    mr, _ = create_mr(store, rig, branch=branch, target="main", source_issue=bead,
                      worker=name, commit_sha=sha, agent_bead=agent)
    store.update(agent, description_fields={"agent_state": "done", "active_mr": mr.id})
    result = process_mr(town, rig, mr.id)
    assert result.outcome == "merged", result
    return mr.id


def main_file(town: Town, path: str) -> str:
    return git(town.rig(RIG).bare_repo, "show", f"main:{path}")


def rebased_and_rewritten(town: Town, store: BeadStore) -> tuple[str, str]:
    """Polecat A's README line merged as a rebased copy, then B's merge rewrote the same line:
    A's branch is no ancestor of main and merging it again conflicts. C landed first, so A's
    merge was a replay. Returns (A, B, C)."""
    a, a_path, a_branch, a_bead = polecat(town, store)
    b, b_path, b_branch, b_bead = polecat(town, store)
    c, c_path, c_branch, c_bead = polecat(town, store)
    # C lands first so main moves on and A's merge is a replay, not a fast-forward.
    done(town, store, c, c_branch, c_bead, work(c_path, {"c.txt": "c\n"}, "c's work"))
    done(town, store, a, a_branch, a_bead, work(a_path, {"README.md": "from A\n"}, "A's line"))
    git(b_path, "pull", "-q", "--rebase", str(town.rig(RIG).bare_repo), "main")
    done(town, store, b, b_branch, b_bead, work(b_path, {"README.md": "from B\n"}, "B's line"))
    assert main_file(town, "README.md") == "from B\n"
    return a, b, c


def test_work_merged_as_a_rebased_copy_is_clean_even_after_later_rewrites(env) -> None:
    town, store = env
    a, _, _ = rebased_and_rewritten(town, store)
    rig = town.rig(RIG)
    a_path = rig.polecat_worktree(a)
    a_head = git(a_path, "rev-parse", "HEAD").strip()
    # main does not contain A's commit by ancestry (the Refinery replayed it)...
    ancestry = git(rig.bare_repo, "branch", "--contains", a_head, "--list", "main").strip()
    assert ancestry == ""
    # ...and the branch would no longer merge cleanly (B rewrote the line): content decides.
    assert nuke.check_safety(town, store, RIG, a) == []
    results = nuke.nuke(town, store, [f"{RIG}/{a}"])
    assert results[0].graveyard == () and not results[0].forced
    assert not a_path.exists()


def test_real_unmerged_work_is_still_refused(env) -> None:
    town, store = env
    rebased_and_rewritten(town, store)
    d, d_path, d_branch, d_bead = polecat(town, store)
    work(d_path, {"README.md": "from D, never merged\n"}, "D's line")
    store.update(d_bead, changes={"status": "closed"})  # off its hook: only the commit is left
    assert nuke.check_safety(town, store, RIG, d) == ["1 commit not merged to main"]
    with pytest.raises(nuke.NukeRefusedError):
        nuke.nuke(town, store, [f"{RIG}/{d}"])
    assert d_path.exists()


def gt(town: Town, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `gt`, as an operator runs it in the town."""
    return subprocess.run([str(Path(sys.executable).with_name("gt")), *args], cwd=town.root,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GT_NO_PROGRESS": "1"})


def test_stale_cleanup_nukes_every_finished_polecat_and_keeps_real_work(env) -> None:
    """Four finished polecats (three merged, one as a rebased copy later rewritten; one with a
    commit never merged), one stalled on its hook: --dry-run changes nothing, --cleanup nukes
    exactly the three."""
    town, store = env
    a, b, c = rebased_and_rewritten(town, store)
    d, d_path, _, d_bead = polecat(town, store)
    work(d_path, {"README.md": "from D, never merged\n"}, "D's line")
    store.update(d_bead, changes={"status": "closed"})
    w, w_path, _, _ = polecat(town, store)  # still on its hook
    rig = town.rig(RIG)
    # a finished polecat's session may still sit at its prompt: cleanup stops it too
    session = Address("polecat", RIG, a).session_name(rig.prefix)
    tmux = TownTmux(os.environ["GT_TMUX_SOCKET"], lock_dir=town.root / ".runtime" / "locks")
    tmux.new_session(session, rig.polecat_worktree(a), ["sh", "-c", "sleep 300"])

    dry = gt(town, "polecat", "stale", "--cleanup", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    verdicts = {v["Name"]: v for v in json.loads(dry.stdout)}
    assert {n for n, v in verdicts.items() if v["IsStale"]} == {a, b, c}
    assert verdicts[d]["Findings"] == ["1 commit not merged to main"]
    assert not verdicts[w]["IsStale"] and verdicts[w]["State"] == "stalled"
    assert verdicts[a]["HasActiveSession"] is True
    assert rig.polecat_worktree(a).exists() and tmux.has_session(session)

    done = gt(town, "polecat", "stale", RIG, "--cleanup")
    assert done.returncode == 0, done.stderr
    assert all(f"✓ nuked {RIG}/{n}" in done.stdout for n in (a, b, c)), done.stdout
    assert f"● kept {RIG}/{d}" in done.stdout and "1 commit not merged to main" in done.stdout
    assert "Nuked 3 finished polecat(s); kept 1 with work to keep." in done.stdout
    assert not rig.polecat_worktree(a).exists() and not rig.polecat_worktree(b).exists()
    assert not tmux.has_session(session)
    assert d_path.exists() and w_path.exists()
    assert git(d_path, "log", "-1", "--format=%s").strip() == "D's line"


def test_stale_names_an_unknown_rig_in_one_line(env) -> None:
    town, _ = env
    bad = gt(town, "polecat", "stale", "nosuchrig", "--cleanup")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "nosuchrig" in bad.stderr and len(bad.stderr.strip().splitlines()) <= 2
