"""Crew on a real town: gt crew add|list|status|start|stop|remove with upstream's shapes, and a
crew workspace used beside polecats: a person's change pushed from the crew clone and a
polecat's merged by the Refinery both reach main, and the control room shows both workers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli, git
from tests.waiting import wait_for

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)


@ON_BOTH_BACKENDS
def test_crew_workspaces_are_full_clones_with_their_state(cli: Cli, rig_town: Path):
    made = cli.json("gt", "crew", "add", "mel", "--rig", "gastown")
    clone = rig_town / "gastown" / "crew" / "mel"
    assert made["clone_path"] == str(clone) and made["branch"] == "main"
    assert (clone / "README.md").exists() and (clone / ".git").is_dir()
    assert git(clone, "status", "--porcelain") == ""  # its state file stays out of git
    assert git(clone, "config", "user.name").strip() == "mel"
    again = cli.gt("crew", "add", "mel", "--rig", "gastown", ok=False)
    assert "crew mel already exists in gastown" in again.stderr
    branched = cli.json("gt", "crew", "add", "ann", "--rig", "gastown", "--branch")
    assert branched["branch"] == "crew/ann"
    listed = cli.json("gt", "crew", "list", "--rig", "gastown")
    assert [(i["name"], i["branch"], i["has_session"], i["git_clean"]) for i in listed] == [
        ("ann", "crew/ann", False, True), ("mel", "main", False, True)]
    assert cli.json("bd", "show", "gt-gastown-crew-mel")[0]["labels"] == ["gt:agent"]
    (clone / "scratch.txt").write_text("wip\n")
    status = cli.json("gt", "crew", "status", "mel", "--rig", "gastown")
    assert status["git_clean"] is False and status["git_untracked"] == ["scratch.txt"]
    refused = cli.gt("crew", "remove", "mel", "--rig", "gastown", ok=False)
    assert "crew mel has 1 changed file(s)" in refused.stderr and "--force" in refused.stderr
    bead = cli.json("bd", "create", "For mel", cwd=rig_town / "gastown")["id"]
    slung = cli.json("gt", "sling", bead, "gastown", "--crew", "mel")[0]
    assert slung["agent"] == "gastown/crew/mel" and slung["session"] == ""
    removed = cli.json("gt", "crew", "remove", "mel", "--rig", "gastown", "--force", "--purge")
    assert removed[0]["released"] == [bead] and not clone.exists()
    assert cli.json("bd", "show", bead)[0]["status"] == "open"
    bad = cli.gt("crew", "add", "../x", "--rig", "gastown", ok=False)
    assert "invalid crew name" in bad.stderr and "Traceback" not in bad.stderr


@pytest.fixture
def bare_sim_town(tmp_path: Path, upstream: Path, clean_env: dict[str, str],
                  tmux_socket: str) -> tuple[Cli, Path]:
    """A sim town whose rig's upstream is a bare repository (pushes land there)."""
    from gastown_tui.ops.install import install
    from gastown_tui.ops.rig import rig_add
    from gastown_tui.town.layout import Town

    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(upstream), str(origin)], check=True)
    root = tmp_path / "town"
    install(root, name="crewtown", owner="o@example.com")
    rig_add(Town(root), "gastown", str(origin))
    settings = root / "settings" / "config.json"
    settings.write_text(json.dumps({**json.loads(settings.read_text()),
                                    "default_agent": "sim"}))
    return Cli(root / "gastown", {**clean_env, "GT_TMUX_SOCKET": tmux_socket}), origin


def test_a_crew_workspace_works_beside_polecats(bare_sim_town, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    cli, origin = bare_sim_town
    cli.gt("crew", "add", "mel")
    clone = Path(cli.cwd) / "crew" / "mel"
    mel = {"GT_ROLE": "gastown/crew/mel", "BD_ACTOR": "gastown/crew/mel"}
    polecat_bead = cli.json("bd", "create", "Polecat change",
                            "-d", "```sim\nwrite: polecat.txt | from a polecat\\n\n```")["id"]
    crew_bead = cli.json("bd", "create", "Crew change")["id"]
    polecat = cli.json("gt", "sling", polecat_bead, "gastown")[0]
    cli.gt("sling", crew_bead, "gastown", "--crew", "mel")
    hook = cli.json("gt", "hook", env=mel, cwd=clone)
    assert hook["pinned_bead"]["id"] == crew_bead
    assert "Crew mel of rig gastown" in cli.gt("prime", env=mel, cwd=clone).stdout
    # A person's work in the crew clone: commit, bring it up to date, push, close the bead.
    (clone / "crew.txt").write_text("from the crew\n")
    git(clone, "add", "crew.txt")
    git(clone, "commit", "-q", "-m", "crew: add crew.txt")
    git(clone, "pull", "-q", "--rebase", "origin", "main")
    git(clone, "push", "-q", "origin", "HEAD:main")
    cli.bd("close", crew_bead, "-r", "pushed crew.txt", env=mel)
    assert cli.json("gt", "crew", "status", "mel")["unpushed"] == 0
    # The polecat's work goes through the merge queue on top of the crew's push.
    wait_for(lambda: "merge_request:" in cli.json("bd", "show", polecat_bead)[0]["description"],
             what="the polecat to submit")
    cli.gt("refinery", "run", "gastown", "--once")
    assert cli.json("bd", "show", polecat_bead)[0]["status"] == "closed"
    files = git(origin, "ls-tree", "--name-only", "main").split()
    assert "crew.txt" in files and "polecat.txt" in files
    # The control room shows the crew member beside the polecats.
    monkeypatch.setenv("GT_TMUX_SOCKET", cli.env["GT_TMUX_SOCKET"])
    from gastown_tui.model.town_model import TownModel

    started = cli.json("gt", "crew", "start", "mel")
    assert started[0]["action"] == "started" and started[0]["session"] == "gt-crew-mel"
    wait_for(lambda: cli.json("gt", "crew", "status", "mel")["has_session"],
             what="the crew session")
    snap = TownModel(Path(cli.cwd).parent).load()
    workers = {a.address: (a.role, a.state) for a in snap.workers}
    assert workers["gastown/crew/mel"] == ("crew", "idle")
    assert workers[polecat["agent"]][0] == "polecat"
    stopped = cli.json("gt", "crew", "stop", "mel")
    assert stopped[0]["action"] == "stopped"
    snap = TownModel(Path(cli.cwd).parent).load()
    assert {a.address: a.state for a in snap.workers}["gastown/crew/mel"] == "away"


def test_a_crew_tile_says_crew_and_where_the_person_is():
    from datetime import UTC, datetime

    from gastown_tui.model.snapshot import AgentView
    from gastown_tui.widgets.polecat_wall import tile_head

    mel = AgentView(address="gastown/crew/mel", role="crew", rig="gastown", name="mel",
                    session="gt-crew-mel", state="away", hooked_bead="gt-a3f",
                    hooked_title="Fix it", branch="main",
                    evidence="hooked gt-a3f; no session (a person may work the clone)")
    head, facts = tile_head(mel, datetime.now(UTC), 100)[:2]
    assert "mel (crew)" in head.plain and "gt-a3f" in head.plain and "● away" in head.plain
    assert "a person may work the clone" in facts.plain and "⎇ main" in facts.plain
