"""A finished polecat is clean when its work's content is on main, and `gt polecat stale
--cleanup` nukes every finished polecat with nuke's safety: real worktrees of the rig's bare
repo, the real Refinery replaying (rebasing) their branches onto main, real beads, and real
tmux sessions on a private server.

The case from issue 26: the Refinery merged a rebased copy of a polecat's commit, and a later
merge rewrote the same lines, so main is no descendant of the branch and merging the branch
again would conflict; nuke used to refuse "1 commit not merged to main"."""

from __future__ import annotations

from pathlib import Path

import pytest

from gastown_tui.ops import nuke
from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.ops.context import open_store
from gastown_tui.ops.mr import create_mr
from gastown_tui.ops.namepool import allocate
from gastown_tui.ops.worktrees import create_polecat_worktree
from gastown_tui.refinery.process import process_mr
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
    A's branch is no ancestor of main and merging it again conflicts. Returns (A, B)."""
    a, a_path, a_branch, a_bead = polecat(town, store)
    b, b_path, b_branch, b_bead = polecat(town, store)
    c, c_path, c_branch, c_bead = polecat(town, store)
    # C lands first so main moves on and A's merge is a replay, not a fast-forward.
    done(town, store, c, c_branch, c_bead, work(c_path, {"c.txt": "c\n"}, "c's work"))
    done(town, store, a, a_branch, a_bead, work(a_path, {"README.md": "from A\n"}, "A's line"))
    git(b_path, "pull", "-q", "--rebase", str(town.rig(RIG).bare_repo), "main")
    done(town, store, b, b_branch, b_bead, work(b_path, {"README.md": "from B\n"}, "B's line"))
    assert main_file(town, "README.md") == "from B\n"
    return a, b


def test_work_merged_as_a_rebased_copy_is_clean_even_after_later_rewrites(env) -> None:
    town, store = env
    a, _ = rebased_and_rewritten(town, store)
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
