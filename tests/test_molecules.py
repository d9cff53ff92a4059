"""Molecules as beads on a real town: bd cook, bd mol pour|wisp|bond|squash|burn with bd's
shapes, gt mol burn|squash|dag|attach|detach|attachment, channel events, and a sim polecat
whose work runs under a wisp that gt done squashes into a digest."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli
from tests.test_gates import GATED_FORMULA
from tests.waiting import wait_for

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)


@pytest.fixture
def rig(cli: Cli, rig_town: Path) -> Path:
    (rig_town / "formulas").mkdir(exist_ok=True)
    (rig_town / "formulas" / "gated-release.formula.toml").write_text(GATED_FORMULA)
    return rig_town / "gastown"


def show(cli: Cli, bead: str) -> dict:
    return cli.json("bd", "show", bead)[0]


def test_cook_keeps_or_fills_variables(cli: Cli, rig: Path):
    compiled = json.loads(cli.bd("cook", "gated-release", cwd=rig).stdout)
    assert compiled["steps"][0]["title"] == "Build {{feature}}"
    filled = json.loads(cli.bd("cook", "gated-release", "--var", "feature=login", cwd=rig).stdout)
    assert [s["title"] for s in filled["steps"]] == ["Build login", "Approval for login",
                                                     "Ship login"]
    bad = cli.bd("cook", "gated-release", "--var", "oops", ok=False, cwd=rig)
    assert "expected 'key=value'" in bad.stderr and "Traceback" not in bad.stderr


@ON_BOTH_BACKENDS
def test_pour_makes_a_persistent_molecule_whose_steps_run_in_order(cli: Cli, rig: Path):
    poured = cli.json("bd", "mol", "pour", "gated-release", "--var", "feature=login", cwd=rig)
    assert poured["phase"] == "liquid" and poured["created"] == 5
    ids = poured["id_mapping"]
    assert set(ids) == {"gated-release", "gated-release.build", "gated-release.approve",
                        "gated-release.gate-approve", "gated-release.ship"}
    assert all(v.startswith("gt-mol-") for v in ids.values())
    root = show(cli, poured["new_epic_id"])
    assert root["issue_type"] == "molecule" and not root.get("ephemeral")
    ready = [b["id"] for b in cli.json("bd", "ready", cwd=rig)]
    assert ids["gated-release.build"] in ready
    assert ids["gated-release.approve"] not in ready and ids["gated-release.ship"] not in ready
    gate = show(cli, ids["gated-release.gate-approve"])
    assert gate["issue_type"] == "gate" and gate["await_type"] == "human"
    dag = cli.json("gt", "mol", "dag", poured["new_epic_id"])
    assert dag["tier_groups"] == [[ids["gated-release.build"]], [ids["gated-release.approve"]],
                                  [ids["gated-release.ship"]]]
    assert dag["critical_path"] == [ids["gated-release.build"], ids["gated-release.approve"],
                                    ids["gated-release.ship"]]
    cli.bd("close", ids["gated-release.build"])
    assert ids["gated-release.approve"] not in [b["id"] for b in cli.json("bd", "ready", cwd=rig)]
    cli.bd("gate", "resolve", ids["gated-release.gate-approve"])
    assert ids["gated-release.approve"] in [b["id"] for b in cli.json("bd", "ready", cwd=rig)]
    progress = cli.json("bd", "mol", "progress", poured["new_epic_id"])
    assert (progress["completed"], progress["total"]) == (1, 3)


@ON_BOTH_BACKENDS
def test_wisp_squashes_into_a_digest_and_burn_leaves_nothing(cli: Cli, rig: Path):
    wisp = cli.json("bd", "mol", "wisp", "gated-release", "--var", "feature=w", cwd=rig)
    root = wisp["new_epic_id"]
    assert wisp["phase"] == "vapor" and root.startswith("gt-wisp-")
    assert root not in [b["id"] for b in cli.json("bd", "list", cwd=rig)]  # bd list hides wisps
    assert [w["id"] for w in cli.json("bd", "mol", "wisp", "list")["wisps"]] == [root]
    steps = [s["id"] for s in cli.json("bd", "mol", "show", root)["steps"]]
    assert len(steps) == 4  # three steps and a gate, in the order they were made
    cli.bd("close", steps[0], "-r", "built")
    squashed = cli.json("bd", "mol", "squash", root)
    assert squashed["squashed_count"] == 4 and squashed["deleted_count"] == 4
    assert squashed["wisp_squash"] is True
    digest = show(cli, squashed["digest_id"])
    assert digest["title"] == "Digest: gated-release" and digest["status"] == "closed"
    assert "**Completed**: 1/4" in digest["description"] and "*Outcome: built*" in \
        digest["description"]
    gone = cli.bd("show", steps[0], ok=False)
    assert gone.returncode == 1 and f"no bead '{steps[0]}'" in gone.stderr
    assert show(cli, root)["status"] == "closed"

    poured = cli.json("bd", "mol", "pour", "gated-release", "--var", "feature=x", cwd=rig)
    dry = cli.json("bd", "mol", "burn", poured["new_epic_id"], "--dry-run")
    assert dry["total_deleted"] == 5 and show(cli, poured["new_epic_id"])
    burned = cli.json("bd", "mol", "burn", poured["new_epic_id"])
    assert burned["total_deleted"] == 5 and burned["failed_count"] == 0
    assert cli.bd("show", poured["new_epic_id"], ok=False).returncode == 1
    missing = cli.bd("mol", "burn", "gt-nope", ok=False)
    assert missing.returncode == 1 and "gt-nope" in missing.stderr


@ON_BOTH_BACKENDS
def test_bond_attaches_a_formula_or_links_two_molecules(cli: Cli, rig: Path):
    a = cli.json("bd", "mol", "pour", "gated-release", "--var", "feature=a", cwd=rig)
    b = cli.json("bd", "mol", "pour", "gated-release", "--var", "feature=b", cwd=rig)
    linked = cli.json("bd", "mol", "bond", a["new_epic_id"], b["new_epic_id"])
    assert linked == {"schema_version": 1, "result_id": a["new_epic_id"],
                      "result_type": "compound_molecule", "bond_type": "sequential"}
    deps = show(cli, b["new_epic_id"])["dependencies"]
    assert [(d["id"], d["dependency_type"]) for d in deps] == [(a["new_epic_id"], "blocks")]
    spawned = cli.json("bd", "mol", "bond", "gated-release", a["new_epic_id"], "--type",
                       "parallel", "--var", "feature=c", cwd=rig)
    assert spawned["spawned"] == 5
    child_root = spawned["id_mapping"]["gated-release"]
    assert [(d["id"], d["dependency_type"]) for d in show(cli, child_root)["dependencies"]] == \
        [(a["new_epic_id"], "parent-child")]
    bad = cli.bd("mol", "bond", "gated-release", a["new_epic_id"], "--type", "sideways",
                 ok=False, cwd=rig)
    assert "unknown bond type 'sideways'" in bad.stderr


@ON_BOTH_BACKENDS
def test_gt_mol_verbs_on_the_molecule_attached_to_a_hook(cli: Cli, rig: Path):
    me = {"GT_ROLE": "gastown/polecats/nux"}
    bead = cli.json("bd", "create", "Feature y", cwd=rig)["id"]
    cli.gt("hook", bead, "gastown/polecats/nux")
    cli.bd("update", bead, "-d", "attached_formula: gated-release")
    wisp = cli.json("bd", "mol", "wisp", "gated-release", "--root-only", "--var",
                    "feature=y", cwd=rig)
    assert wisp["created"] == 1
    attached = cli.json("gt", "mol", "attach", wisp["new_epic_id"], env=me)
    assert attached["issue_id"] == bead and attached["attached_molecule"] == wisp["new_epic_id"]
    assert cli.json("gt", "mol", "attachment", bead)["attached_molecule"] == wisp["new_epic_id"]
    cli.gt("mol", "step", "done", "build", env=me)
    squashed = cli.json("gt", "mol", "squash", "--summary", "built, waiting on approval",
                        env=me)
    assert squashed["squashed"] == wisp["new_epic_id"] and squashed["root_closed"] is True
    digest = show(cli, squashed["digest"])
    assert digest["title"] == f"Digest: {wisp['new_epic_id']}" and digest["ephemeral"]
    assert "digest" in digest["labels"] and digest["status"] == "closed"
    assert "- Steps: 1/3 completed" in digest["description"]
    assert "built, waiting on approval" in digest["description"]
    assert "attached_molecule" not in cli.json("gt", "mol", "attachment", bead)
    assert cli.json("gt", "mol", "burn", env=me)["burned"] == ""  # nothing left to burn
    other = cli.json("bd", "mol", "wisp", "gated-release", "--var", "feature=z", cwd=rig)
    cli.gt("mol", "attach", bead, other["new_epic_id"])
    burned = cli.json("gt", "mol", "burn", "gastown/polecats/nux")
    assert burned["burned"] == other["new_epic_id"] and burned["children_closed"] == 4
    assert cli.json("gt", "mol", "detach", bead)["detached"] == ""


@ON_BOTH_BACKENDS
def test_events_on_a_channel_wake_a_waiter_and_idle_waits_back_off(cli: Cli, rig: Path):
    emitted = cli.json("gt", "mol", "step", "emit-event", "--channel", "refinery", "--type",
                       "MERGE_READY", "--payload", "polecat=nux")
    assert emitted["type"] == "MERGE_READY" and Path(emitted["path"]).exists()
    got = cli.json("gt", "mol", "step", "await-event", "--channel", "refinery", "--cleanup")
    assert got["reason"] == "event" and got["events"][0]["content"]["payload"] == \
        {"polecat": "nux"}
    assert not Path(emitted["path"]).exists()
    witness_bead = "gt-gastown-witness"
    started = time.monotonic()
    idle = cli.json("gt", "mol", "step", "await-event", "--channel", "refinery",
                    "--agent-bead", witness_bead, "--backoff-base", "1s", "--backoff-max", "5s")
    assert idle["reason"] == "timeout" and idle["idle_cycles"] == 1
    assert idle["effort_level"] == "abbreviated" and time.monotonic() - started >= 1.0
    assert "idle:1" in show(cli, witness_bead)["labels"]
    # The next wait is twice as long (2s) and ends early when an event arrives.
    timer = threading.Timer(0.5, lambda: cli.gt("mol", "step", "emit-event", "--channel",
                                                "refinery", "--type", "PATROL_WAKE"))
    timer.start()
    try:
        woke = cli.json("gt", "mol", "step", "await-event", "--channel", "refinery",
                        "--agent-bead", witness_bead, "--backoff-base", "1s")
    finally:
        timer.cancel()
    assert woke["reason"] == "event" and woke["idle_cycles"] == 0
    assert "idle:0" in show(cli, witness_bead)["labels"]
    bad = cli.gt("mol", "step", "emit-event", "--channel", "../x", "--type", "T", ok=False)
    assert "invalid channel name" in bad.stderr


def test_burned_beads_leave_the_control_room(cli: Cli, rig: Path, rig_town: Path,
                                             tmux_socket: str, monkeypatch):
    from gastown_tui.model.town_model import TownModel

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    poured = cli.json("bd", "mol", "pour", "gated-release", "--var", "feature=q", cwd=rig)
    build = poured["id_mapping"]["gated-release.build"]
    model = TownModel(rig_town)
    assert model.load().bead(build) is not None
    cli.bd("mol", "burn", poured["new_epic_id"])
    snap = model.apply([str(rig_town / ".beads" / "beads.db-wal")])
    assert snap is not None and snap.bead(build) is None


def test_a_polecat_works_under_a_wisp_that_gt_done_squashes(sim_town: Cli):
    cli = sim_town
    # the sleep keeps the sim from finishing before the hooked bead is read (sling returns
    # once the agent's screen settled, and a sim polecat is quick)
    bead = cli.json("bd", "create", "Small change", "-d",
                    "```sim\nsleep: 3\nwrite: small.txt | small\n```")["id"]
    slung = cli.json("gt", "sling", bead, "gastown")[0]
    hooked = show(cli, bead)
    molecule = hooked["description"].split("attached_molecule: ")[1].split("\n")[0]
    root = show(cli, molecule)
    assert root["issue_type"] == "molecule" and root["ephemeral"] and \
        root["title"] == "mol-polecat-work" and root["assignee"] == slung["agent"]
    wait_for(lambda: "merge_request:" in (show(cli, bead).get("description") or ""),
             what="the polecat to finish")
    assert show(cli, molecule)["status"] == "closed"
    digests = cli.json("bd", "list", "--all", "--label", "digest")
    digest = next(d for d in digests if d["title"] == f"Digest: {molecule}")
    assert "gt done --status COMPLETED; merge request" in show(cli, digest["id"])["description"]
    assert "attached_molecule: null" in show(cli, bead)["description"]
