"""`gt status --json`, `gt hook --json` and `gt mq list --json` carry every field upstream's
structs always print (internal/cmd/status.go TownStatus, molecule_status.go
MoleculeStatusInfo, beads.go Issue in steveyegge/gastown), with upstream's types, so a script
or an agent written for upstream reads them unchanged. Our extra fields may stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.waiting import wait_for

# Upstream's fields without `omitempty`: always present there, so a reader may index them.
TOWN_STATUS = {"name": str, "location": str, "agents": list, "rigs": list, "summary": dict}
TMUX_INFO = {"socket": str, "running": bool, "session_count": int}
OVERSEER_INFO = {"name": str, "source": str, "unread_mail": int}
AGENT_RUNTIME = {"name": str, "address": str, "session": str, "role": str, "running": bool,
                 "acp": bool, "has_work": bool, "unread_mail": int}
RIG_STATUS = {"name": str, "polecats": list, "polecat_count": int, "crews": list,
              "crew_count": int, "has_witness": bool, "has_refinery": bool}
AGENT_HOOK_INFO = {"agent": str, "role": str, "has_work": bool}
MQ_SUMMARY = {"pending": int, "in_flight": int, "blocked": int, "state": str, "health": str}
STATUS_SUM = {"rig_count": int, "polecat_count": int, "crew_count": int, "witness_count": int,
              "refinery_count": int, "active_hooks": int}
MOLECULE_STATUS = {"target": str, "role": str, "has_work": bool, "is_wisp": bool}
MOLECULE_PROGRESS = {"root_id": str, "root_title": str, "total_steps": int, "done_steps": int,
                     "in_progress_steps": int, "ready_steps": list, "blocked_steps": list,
                     "percent_complete": int, "complete": bool}
ISSUE = {"id": str, "title": str, "description": str, "status": str, "priority": int,
         "issue_type": str, "created_at": str, "updated_at": str}


def missing(value: dict, shape: dict[str, type], where: str) -> list[str]:
    wrong = []
    for key, kind in shape.items():
        if key not in value:
            wrong.append(f"{where}.{key} missing")
        elif not isinstance(value[key], kind) or (kind is int and isinstance(value[key], bool)):
            wrong.append(f"{where}.{key} is {type(value[key]).__name__}, upstream {kind.__name__}")
    return wrong


@pytest.fixture
def working_town(sim_town: Cli, rig_town: Path) -> tuple[Cli, dict]:
    """A town whose polecat has submitted its work: one MR in the queue (no Refinery is up to
    merge it), the bead still on the polecat's hook with its molecule."""
    cli = sim_town
    bead = cli.json("bd", "create", "Add a restock report", "-d", "Write the report.")["id"]
    slung = cli.json("gt", "sling", bead, "gastown")[0]
    wait_for(lambda: cli.json("gt", "mq", "list", "gastown"), what="the polecat's MR")
    return cli, {**slung, "bead": bead, "name": slung["agent"].rsplit("/", 1)[1]}


def test_status_json_has_upstreams_town_status_shape(working_town: tuple[Cli, dict]):
    cli, slung = working_town
    status = cli.json("gt", "status")
    wrong = missing(status, TOWN_STATUS, "status")
    wrong += missing(status["tmux"], TMUX_INFO, "tmux")
    wrong += missing(status["overseer"], OVERSEER_INFO, "overseer")
    wrong += missing(status["summary"], STATUS_SUM, "summary")
    for agent in status["agents"]:
        wrong += missing(agent, AGENT_RUNTIME, f"agents[{agent.get('name')}]")
    [rig] = status["rigs"]
    wrong += missing(rig, RIG_STATUS, "rigs[0]")
    wrong += missing(rig["mq"], MQ_SUMMARY, "rigs[0].mq")
    for hook in rig["hooks"]:
        wrong += missing(hook, AGENT_HOOK_INFO, "rigs[0].hooks[]")
    for agent in rig["agents"]:
        wrong += missing(agent, AGENT_RUNTIME, f"rigs[0].agents[{agent.get('name')}]")
    assert not wrong, wrong
    # upstream lists polecats by name and counts them; the mayor and deacon are town agents
    assert rig["polecats"] == [slung["name"]] and rig["polecat_count"] == 1
    assert {a["name"] for a in status["agents"]} >= {"mayor", "deacon"}
    assert status["tmux"]["running"] and status["summary"]["rig_count"] == 1
    assert any(h["agent"] == slung["agent"] and h["has_work"] for h in rig["hooks"])


def test_hook_json_is_upstreams_molecule_status_info(working_town: tuple[Cli, dict],
                                                     rig_town: Path):
    cli, slung = working_town
    who = slung["agent"]
    hook = cli.json("gt", "hook", cwd=Path(slung["worktree"]),
                    env={"GT_ROLE": who, "BD_ACTOR": who, "GT_RIG": "gastown",
                         "GT_POLECAT": slung["name"]})
    wrong = missing(hook, MOLECULE_STATUS, "hook")
    wrong += missing(hook["pinned_bead"], ISSUE, "hook.pinned_bead")
    wrong += missing(hook["progress"], MOLECULE_PROGRESS, "hook.progress")
    assert not wrong, wrong
    assert hook["target"] == who and hook["role"] == "polecat" and hook["has_work"]
    assert hook["pinned_bead"]["id"] == slung["bead"]
    assert hook["attached_formula"] == "mol-polecat-work"
    assert hook["progress"]["root_id"] == slung["bead"]
    assert hook["progress"]["total_steps"] > 0


def test_mq_list_json_is_upstreams_issue_list(working_town: tuple[Cli, dict]):
    cli, slung = working_town
    rows = cli.json("gt", "mq", "list", "gastown")
    assert isinstance(rows, list) and len(rows) == 1
    assert not missing(rows[0], ISSUE, "mq[0]"), missing(rows[0], ISSUE, "mq[0]")
    assert rows[0]["issue_type"] == "merge-request"
    assert slung["bead"] in rows[0]["description"]  # source_issue: <bead>, as upstream writes
