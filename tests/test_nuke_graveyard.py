"""Nuke and the graveyard on real polecats: real worktrees of the rig's bare repo, real beads,
real tmux sessions on a private server (killed by the `tmux_socket` fixture).

The promise under test is operations.md's "nothing is ever lost": a nuke refuses while work
would be lost, and a forced nuke followed by a restore gives back the same working tree."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gastown_tui.cli.common import CliContext
from gastown_tui.ops import graveyard, graveyard_restore, nuke
from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.ops.context import open_store
from gastown_tui.ops.mr import create_mr
from gastown_tui.ops.namepool import allocate
from gastown_tui.ops.worktrees import create_polecat_worktree
from gastown_tui.tmux import proctree
from gastown_tui.tmux.commands import wait_until
from gastown_tui.tmux.server import TownTmux
from gastown_tui.town.errors import ConflictError, GasTownError, InvalidNameError, ValidationError
from gastown_tui.town.events import read_events
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore
from tests.conftest import git

RIG = "gastown"


@dataclass
class Polecat:
    name: str
    path: Path
    branch: str
    addr: Address
    session: str
    agent_bead: str
    bead: str

    @property
    def target(self) -> str:
        return f"{RIG}/{self.name}"


@pytest.fixture
def env(rig_town: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch):
    for var in ("GT_ROLE", "BD_ACTOR", "BEADS_ACTOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    town = Town(rig_town)
    store = open_store(town, actor="tester")
    yield town, store, TownTmux(tmux_socket, lock_dir=rig_town / ".runtime" / "locks")
    store.close_connection()


def make_polecat(town: Town, store: BeadStore, tmux: TownTmux | None, *,
                 hooked: bool = True) -> Polecat:
    rig = town.rig(RIG)
    name = allocate(rig)
    bead = store.create(f"work for {name}", prefix=rig.prefix)["id"] if hooked else ""
    path, branch = create_polecat_worktree(rig, name, bead or None)
    addr = Address("polecat", RIG, name)
    agent = ensure_agent_bead(store, addr, rig.prefix, state="working")
    store.update(agent["id"], description_fields={"hook_bead": bead or None, "branch": branch})
    if bead:
        store.update(bead, changes={"status": "hooked", "assignee": str(addr)})
    session = addr.session_name(rig.prefix)
    if tmux is not None:
        tmux.new_session(session, path, ["sh", "-c", "sleep 300 & sleep 300"])
    return Polecat(name, path, branch, addr, session, agent["id"], bead)


def session_pids(tmux: TownTmux, session: str) -> list[int]:
    """The pane process and its children, once the pane has started both sleeps."""
    found: list[int] = []

    def ready() -> bool:
        pane = next((s for s in tmux.list_sessions() if s.name == session), None)
        if pane is None:
            return False
        tree = proctree.tree_deepest_first([pane.pane_pid], proctree.process_table())
        found[:] = [p.pid for p in tree]
        return sum(1 for p in tree if p.pid != pane.pane_pid) >= 1
    assert wait_until(ready, 10, poll=0.02), f"session {session} never started its sleeps"
    return found


def bare(town: Town) -> pygit2.Repository:
    return pygit2.Repository(str(town.rig(RIG).bare_repo))


def commit_in(path: Path, files: dict[str, bytes], message: str = "work") -> None:
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    git(path, "add", "--", *files)
    git(path, "commit", "-q", "--allow-empty", "-m", message)


def snapshot(path: Path) -> dict[str, tuple[str, bytes, bool]]:
    """Every non-ignored file under path (outside .git): kind, bytes or link target, exec bit."""
    repo = pygit2.Repository(str(path))
    out = {}
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git" and not os.path.islink(os.path.join(root, d))]
        links = [d for d in os.listdir(root) if os.path.islink(os.path.join(root, d))]
        for name in {*files, *links} - {".git"}:
            full = Path(root, name)
            rel = full.relative_to(path).as_posix()
            if repo.path_is_ignored(rel):
                continue
            if full.is_symlink():
                out[rel] = ("link", os.readlink(full).encode(), False)
            else:
                out[rel] = ("file", full.read_bytes(), bool(full.stat().st_mode & stat.S_IXUSR))
    return out


def status(path: Path) -> str:
    return git(path, "status", "--porcelain=v1", "--untracked-files=all")


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD").strip()


def other_refs(town: Town, exclude: str) -> dict[str, str]:
    repo = bare(town)
    return {r: str(repo.references[r].target) for r in repo.references
            if r != f"refs/heads/{exclude}" and not r.startswith(graveyard.GRAVE_PREFIX)}


def make_dirty(p: Polecat) -> None:
    """Every kind of unsaved work: a commit, a modified, a staged, an untracked, a deleted,
    an executable and a symlinked file, plus an ignored file that is not work."""
    commit_in(p.path, {"lib.py": b"x = 1\n", "old.txt": b"old\n", ".gitignore": b"*.log\n"})
    (p.path / "README.md").write_text("modified\n")
    (p.path / "app.py").write_text("print('staged')\n")
    (p.path / "new_staged.txt").write_text("staged new\n")
    git(p.path, "add", "app.py", "new_staged.txt")
    (p.path / "app.py").write_text("print('staged, then changed again')\n")
    (p.path / "notes").mkdir()
    (p.path / "notes" / "todo.txt").write_bytes(b"untracked \xff bytes\n")
    (p.path / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (p.path / "run.sh").chmod(0o755)
    os.symlink("notes/todo.txt", p.path / "todo-link")
    (p.path / "old.txt").unlink()
    (p.path / "debug.log").write_text("ignored\n")


# -- refusals -----------------------------------------------------------------------------------


def test_dirty_polecat_is_refused_with_every_reason_and_nothing_changes(env) -> None:
    town, store, tmux = env
    p = make_polecat(town, store, tmux)
    rig = town.rig(RIG)
    git(p.path, "commit", "-q", "--allow-empty", "-m", "first")
    make_dirty(p)
    mr, _ = create_mr(store, rig, branch=p.branch, target="main", source_issue=p.bead,
                      worker=p.name, commit_sha=head(p.path), agent_bead=p.agent_bead)
    before_files, before_status = snapshot(p.path), status(p.path)
    before_events = len(list(read_events(town.root)))

    reasons = nuke.check_safety(town, store, RIG, p.name)
    assert reasons[0].startswith("7 uncommitted files (")
    assert "…" in reasons[0]
    # The empty commit holds no change (main has "it" by content); the other one is work.
    assert "1 commit not merged to main" in reasons
    assert f"open merge request {mr.id}" in reasons
    assert f"work on its hook: {p.bead}" in reasons

    with pytest.raises(nuke.NukeRefusedError) as refused:
        nuke.nuke(town, store, [p.target])
    message = str(refused.value)
    for reason in reasons:
        assert reason in message
    assert "--force" in message
    assert refused.value.findings == {str(p.addr): reasons}
    assert tmux.has_session(p.session)
    assert snapshot(p.path) == before_files and status(p.path) == before_status
    assert p.branch in bare(town).branches.local
    assert store.get(p.bead)["status"] == "hooked"
    assert parse_fields(store.get(p.agent_bead)["description"])["agent_state"] == "working"
    assert graveyard.list_graveyard(rig) == []
    assert len(list(read_events(town.root))) == before_events


def test_dry_run_reports_and_changes_nothing(env) -> None:
    town, store, tmux = env
    p = make_polecat(town, store, tmux)
    (p.path / "scratch.txt").write_text("unsaved\n")
    index_file = town.rig(RIG).bare_repo / "worktrees" / p.name / "index"
    before = (snapshot(p.path), status(p.path), index_file.read_bytes(),
              other_refs(town, ""), len(list(read_events(town.root))))

    for force in (False, True):
        [result] = nuke.nuke(town, store, [p.target], force=force, dry_run=True)
        assert result.dry_run and result.refused is not force
        assert result.findings == ("1 uncommitted file (scratch.txt)", f"work on its hook: {p.bead}")
        assert any(a.startswith("save 1 changed file") for a in result.actions)
        assert f"kill session {p.session} and its processes" in result.actions
    after = (snapshot(p.path), status(p.path), index_file.read_bytes(),
             other_refs(town, ""), len(list(read_events(town.root))))
    assert after == before
    assert tmux.has_session(p.session)
    assert store.get(p.bead)["assignee"] == str(p.addr)


def test_unknown_and_invalid_targets_are_clear_errors(env) -> None:
    town, store, _ = env
    assert nuke.check_safety(town, store, RIG, "nobody") == ["unknown polecat"]
    with pytest.raises(nuke.UnknownPolecatError, match="no polecat gastown/polecats/nobody"):
        nuke.nuke(town, store, ["gastown/nobody"], force=True)
    with pytest.raises(InvalidNameError):
        nuke.nuke(town, store, ["gastown/../etc"], force=True)
    with pytest.raises(InvalidNameError, match="not a polecat"):
        nuke.nuke(town, store, ["gastown/witness"], force=True)
    with pytest.raises(GasTownError, match="unknown rig"):
        nuke.nuke(town, store, ["nowhere/toast"], force=True)


# -- a clean nuke --------------------------------------------------------------------------------


def test_clean_hooked_polecat_nukes_without_a_grave_and_everything_is_gone(env) -> None:
    """No changes and no commits: only its hook needs --force, and nothing is saved."""
    town, store, tmux = env
    rig = town.rig(RIG)
    p = make_polecat(town, store, tmux, hooked=False)
    other = make_polecat(town, store, tmux)
    (other.path / "wip.txt").write_text("the other polecat's work\n")
    pids = session_pids(tmux, p.session)
    other_pids = session_pids(tmux, other.session)
    hooked = store.create("hooked work", prefix=rig.prefix)["id"]
    store.update(hooked, changes={"status": "in_progress", "assignee": str(p.addr)})
    assert nuke.check_safety(town, store, RIG, p.name) == [f"work on its hook: {hooked}"]
    store.update(hooked, changes={"status": "hooked"})
    refs_before = other_refs(town, p.branch)
    other_before = snapshot(other.path)

    [result] = nuke.nuke(town, store, [f"{RIG}/polecats/{p.name}"], force=True)

    assert result.graveyard == () and result.warnings == ()
    assert result.unassigned == (hooked,)
    assert not tmux.has_session(p.session)
    assert wait_until(lambda: not any(proctree.is_alive(pid) for pid in pids), 10, poll=0.02)
    assert not (rig.polecats_dir / p.name).exists()
    listed = git(rig.bare_repo, "worktree", "list", "--porcelain")
    assert str(p.path) not in listed and str(other.path) in listed
    assert p.branch not in bare(town).branches.local
    assert graveyard.list_graveyard(rig) == []
    fields = parse_fields(store.get(p.agent_bead)["description"])
    assert fields["agent_state"] == "nuked" and fields["hook_bead"] == ""
    assert fields["active_mr"] == ""
    bead = store.get(hooked)
    assert bead["status"] == "open" and not bead.get("assignee")
    [event] = [e for e in read_events(town.root) if e["type"] == "kill"]
    assert event["payload"]["agent"] == str(p.addr) and event["payload"]["graveyard"] == ""
    # nothing else moved: main, the refinery's worktree, the other polecat
    assert other_refs(town, p.branch) == refs_before
    assert tmux.has_session(other.session)
    assert all(proctree.is_alive(pid) for pid in other_pids)
    assert snapshot(other.path) == other_before
    assert store.get(other.bead)["assignee"] == str(other.addr)
    assert allocate(rig) == p.name  # the name is free again


def test_clean_polecat_without_hook_needs_no_force(env) -> None:
    town, store, tmux = env
    p = make_polecat(town, store, tmux, hooked=False)
    assert nuke.check_safety(town, store, RIG, p.name) == []
    [result] = nuke.nuke(town, store, [p.target])
    assert not result.forced and result.graveyard == ()
    assert not tmux.has_session(p.session)
    assert not p.path.exists()


def test_nuke_works_without_a_tmux_server(env, monkeypatch: pytest.MonkeyPatch) -> None:
    town, store, _ = env
    p = make_polecat(town, store, None, hooked=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no tmux binary at all
    [result] = nuke.nuke(town, store, [p.target])
    assert not p.path.exists()
    assert any("could not stop session" in w for w in result.warnings)


# -- forced nuke, graveyard and restore ----------------------------------------------------------


def test_forced_nuke_saves_everything_and_restore_gives_it_back(env) -> None:
    town, store, tmux = env
    rig = town.rig(RIG)
    p = make_polecat(town, store, tmux)
    other = make_polecat(town, store, tmux)
    make_dirty(p)
    pids = session_pids(tmux, p.session)
    files, state, sha = snapshot(p.path), status(p.path), head(p.path)
    assert "debug.log" not in files and "todo-link" in files
    refs_before = other_refs(town, p.branch)

    [result] = nuke.nuke(town, store, [p.target], force=True)

    assert len(result.graveyard) == 1
    assert not p.path.exists() and p.branch not in bare(town).branches.local
    assert wait_until(lambda: not any(proctree.is_alive(pid) for pid in pids), 10, poll=0.02)
    assert other_refs(town, p.branch) == refs_before
    assert tmux.has_session(other.session)
    [grave] = graveyard.list_graveyard(rig)
    assert grave.ref == result.graveyard_ref and grave.head == sha
    assert grave.polecat == f"{RIG}/{p.name}" and grave.branch == p.branch
    assert grave.bead == p.bead and grave.reason == "nuke --force"
    assert set(grave.files) == {"README.md", "app.py", "new_staged.txt", "notes/todo.txt",
                                "run.sh", "todo-link", "old.txt"}
    assert bare(town)[grave.commit].parents[0].id == pygit2.Oid(hex=sha)
    [event] = [e for e in read_events(town.root) if e["type"] == "kill"]
    assert event["payload"]["graveyard"] == grave.ref

    restored = graveyard_restore.restore(town, RIG, grave.short_ref, store=store)

    assert restored.name == p.name and restored.branch == p.branch
    assert Path(restored.worktree) == p.path
    assert head(p.path) == sha
    assert snapshot(p.path) == files
    assert status(p.path) == state  # staged stays staged, untracked stays untracked
    fields = parse_fields(store.get(p.agent_bead)["description"])
    assert fields["agent_state"] == "idle" and fields["branch"] == p.branch
    assert any(e["type"] == "graveyard_restore" for e in read_events(town.root))
    assert not (p.path / "debug.log").exists()  # ignored files are not work


def test_restore_under_a_taken_name_picks_another_and_suffixes_the_branch(env) -> None:
    town, store, _ = env
    rig = town.rig(RIG)
    p = make_polecat(town, store, None)
    (p.path / "a.txt").write_text("saved\n")
    [result] = nuke.nuke(town, store, [p.target], force=True)
    again = make_polecat(town, store, None)  # takes the freed name again
    assert again.name == p.name
    # someone else took the branch name meanwhile
    repo = bare(town)
    repo.branches.local.create(p.branch, repo.references["refs/heads/main"].peel(pygit2.Commit))

    restored = graveyard_restore.restore(town, rig, result.graveyard_ref, store=store)
    assert restored.name != p.name
    assert restored.branch == f"{p.branch}-restored"
    assert (Path(restored.worktree) / "a.txt").read_text() == "saved\n"
    with pytest.raises(ConflictError, match="in use"):
        graveyard_restore.restore(town, rig, result.graveyard_ref, as_name=p.name, store=store)
    named = graveyard_restore.restore(town, rig, result.graveyard_ref, as_name="phoenix", store=store)
    assert named.name == "phoenix" and (rig.polecat_worktree("phoenix") / "a.txt").exists()
    with pytest.raises(graveyard.GraveNotFoundError):
        graveyard_restore.restore(town, rig, f"{p.name}/20000101T000000Z-abcd", store=store)
    with pytest.raises(ValidationError):
        graveyard_restore.restore(town, rig, "../../etc", store=store)


def test_save_never_touches_the_worktree(env) -> None:
    town, store, _ = env
    rig = town.rig(RIG)
    p = make_polecat(town, store, None)
    make_dirty(p)
    index_file = rig.bare_repo / "worktrees" / p.name / "index"
    before = (snapshot(p.path), status(p.path), index_file.read_bytes())
    grave = graveyard.save(rig, p.name, bead=p.bead, reason="test")
    assert grave is not None and grave.saved_at.endswith("Z")
    assert (snapshot(p.path), status(p.path), index_file.read_bytes()) == before


def test_polecat_with_only_merged_work_is_clean(env) -> None:
    """The refinery replays commits onto main, so merged work is judged by content."""
    town, store, _ = env
    p = make_polecat(town, store, None, hooked=False)
    commit_in(p.path, {"feature.py": b"done = True\n"})
    assert nuke.check_safety(town, store, RIG, p.name) == ["1 commit not merged to main"]
    repo = bare(town)
    main = repo.references["refs/heads/main"].peel(pygit2.Commit)
    work = repo.branches.local[p.branch].peel(pygit2.Commit)
    sig = pygit2.Signature("refinery", "r@x")
    replayed = repo.create_commit(None, sig, sig, "replayed", work.tree.id, [main.id])
    repo.references["refs/heads/main"].set_target(replayed)
    assert nuke.check_safety(town, store, RIG, p.name) == []


# -- the property: forced nuke then restore is the identity --------------------------------------

NAMES = st.one_of(
    st.sampled_from(["README.md", "app.py"]),
    st.text(alphabet="abcxyz", min_size=1, max_size=3).map(lambda n: f"{n}.txt"),
    st.text(alphabet="abcxyz", min_size=1, max_size=3).map(lambda n: f"sub/{n}.txt"),
)
CONTENT = st.binary(max_size=24)
SCENARIO = st.fixed_dictionaries({
    "committed": st.dictionaries(NAMES, CONTENT, max_size=4),
    "staged": st.dictionaries(NAMES, CONTENT, max_size=3),
    "modified": st.dictionaries(NAMES, st.tuples(CONTENT, st.booleans()), max_size=4),
    "links": st.dictionaries(NAMES, st.sampled_from(["README.md", "missing", "../sub"]),
                             max_size=2),
    "deleted": st.dictionaries(NAMES, st.booleans(), max_size=3),
})
# CI runs 25 examples; GT_PROPERTY_EXAMPLES=500 digs deeper by hand.
EXAMPLES = int(os.environ.get("GT_PROPERTY_EXAMPLES", "25"))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=SCENARIO)
def test_forced_nuke_then_restore_gives_back_the_same_tree(env, scenario) -> None:
    town, store, _ = env
    p = make_polecat(town, store, None, hooked=False)
    if scenario["committed"]:
        commit_in(p.path, scenario["committed"])
    for rel, data in scenario["staged"].items():
        (p.path / rel).parent.mkdir(exist_ok=True)
        (p.path / rel).write_bytes(data)
        git(p.path, "add", "--", rel)
    for rel, (data, executable) in scenario["modified"].items():
        (p.path / rel).parent.mkdir(exist_ok=True)
        (p.path / rel).write_bytes(data)
        (p.path / rel).chmod(0o755 if executable else 0o644)
    for rel, link_target in scenario["links"].items():
        (p.path / rel).parent.mkdir(exist_ok=True)
        (p.path / rel).unlink(missing_ok=True)
        os.symlink(link_target, p.path / rel)
    for rel, staged in scenario["deleted"].items():
        if not os.path.lexists(p.path / rel):
            continue
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", "--", rel], cwd=p.path,
                                 capture_output=True).returncode == 0
        if staged and tracked:
            git(p.path, "rm", "-q", "-f", "--", rel)
        else:
            (p.path / rel).unlink()
    files, state, sha = snapshot(p.path), status(p.path), head(p.path)

    main = str(bare(town).references["refs/heads/main"].target)

    [result] = nuke.nuke(town, store, [p.target], force=True)
    assert not p.path.exists()
    if not result.graveyard:  # allowed only when nothing was there to lose
        repo = bare(town)
        assert state == "" and repo[sha].peel(pygit2.Tree).id == repo[main].peel(pygit2.Tree).id
        return
    restored = graveyard_restore.restore(town, RIG, result.graveyard_ref, store=store)

    assert head(p.path) == sha
    assert snapshot(p.path) == files
    assert status(p.path) == state
    nuke.nuke(town, store, [f"{RIG}/{restored.name}"], force=True)  # leave the pool as found


# -- the CLI, through click with a CliContext -----------------------------------------------------


def test_cli_refuses_nukes_lists_and_restores(env) -> None:
    from gastown_tui.cli.gt_polecat_nuke import graveyard as graveyard_cmd
    from gastown_tui.cli.gt_polecat_nuke import nuke as nuke_cmd

    town, store, tmux = env
    p = make_polecat(town, store, tmux)
    (p.path / "wip.txt").write_text("wip\n")
    runner = CliRunner()

    def invoke(cmd, *args: str):
        return runner.invoke(cmd, list(args), obj=CliContext(town_option=str(town.root)))

    refused = invoke(nuke_cmd, p.target)
    assert isinstance(refused.exception, nuke.NukeRefusedError)
    dry = invoke(nuke_cmd, RIG, "--all", "--dry-run")
    assert dry.exit_code == 0 and "refused without --force" in dry.output
    assert "1 uncommitted file (wip.txt)" in dry.output
    done = invoke(nuke_cmd, RIG, "--all", "--force", "--json")
    assert done.exit_code == 0, done.output
    assert not p.path.exists()
    listed = invoke(graveyard_cmd, "list", RIG, "--json")
    [entry] = json.loads(listed.output)
    assert entry["index"] == 1 and entry["files"] == ["wip.txt"]
    human = invoke(graveyard_cmd, "list")
    assert p.name in human.output and entry["ref"] in human.output
    back = invoke(graveyard_cmd, "restore", "1", "--as", "lazarus")
    assert back.exit_code == 0, back.output
    assert (town.rig(RIG).polecat_worktree("lazarus") / "wip.txt").read_text() == "wip\n"
    missing = invoke(graveyard_cmd, "restore", "7")
    assert "no grave number 7" in str(missing.exception)


def test_worktree_whose_branch_vanished_is_judged_against_main(env) -> None:
    """A branch deleted under a live worktree leaves HEAD unborn; its files still count."""
    town, store, _ = env
    rig = town.rig(RIG)
    p = make_polecat(town, store, None, hooked=False)
    (p.path / "left.txt").write_text("left behind\n")
    bare(town).references.delete(f"refs/heads/{p.branch}")
    assert nuke.check_safety(town, store, RIG, p.name) == ["1 uncommitted file (left.txt)"]
    [result] = nuke.nuke(town, store, [p.target], force=True)
    [grave] = graveyard.list_graveyard(rig, p.name)
    assert grave.ref == result.graveyard_ref and grave.files == ("left.txt",)
    assert grave.head == str(bare(town).references["refs/heads/main"].target)
    restored = graveyard_restore.restore(town, rig, grave.ref, store=store)
    assert (Path(restored.worktree) / "left.txt").read_text() == "left behind\n"


def test_zombie_session_without_worktree_is_nuked(env) -> None:
    town, store, tmux = env
    rig = town.rig(RIG)
    p = make_polecat(town, store, tmux, hooked=False)
    pids = session_pids(tmux, p.session)
    git(rig.bare_repo, "worktree", "remove", "--force", str(p.path))
    [result] = nuke.nuke(town, store, [p.target])
    assert not tmux.has_session(p.session)
    assert wait_until(lambda: not any(proctree.is_alive(pid) for pid in pids), 10, poll=0.02)
    assert p.branch not in bare(town).branches.local
    assert result.graveyard == ()
