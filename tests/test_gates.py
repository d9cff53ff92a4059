"""Gates on a real town: `bd gate` with bd's shapes, and sim polecats parked on a gate that a
timer (through the Deacon's patrol), a person (`bd gate resolve`) and a CI result (`bd gate
check` reading GitHub through the `gh` CLI) open, each then finishing its work."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli
from tests.waiting import wait_for

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)

GATED_FORMULA = """formula = "gated-release"
description = "Build, wait for a person's yes, ship"
type = "workflow"
version = 1

[[steps]]
id = "build"
title = "Build {{feature}}"

[[steps]]
id = "approve"
title = "Approval for {{feature}}"
needs = ["build"]
[steps.gate]
type = "human"

[[steps]]
id = "ship"
title = "Ship {{feature}}"
needs = ["approve"]
"""

# A stand-in for GitHub's CLI: `gh run view <id> --json ...` answers from a file the test
# writes, as GitHub would once the CI run finishes. No network is involved in the tests.
FAKE_GH = """#!{python}
import json, os, sys
state = json.load(open(os.environ["GH_FAKE_STATE"]))
args = sys.argv[1:]
if args[:2] == ["run", "view"] and args[2] in state:
    print(json.dumps(state[args[2]]))
    sys.exit(0)
print("run " + (args[2] if len(args) > 2 else "?") + " not found", file=sys.stderr)
sys.exit(1)
"""


def gates(cli: Cli, *extra: str) -> list[dict]:
    return cli.json("bd", "gate", "list", *extra)


def test_the_gate_types_formulas_park_on_are_the_ones_bd_gate_makes():
    from gastown_tui.formulas.model import AWAITABLE_GATES
    from gastown_tui.ops.gates import GATE_TYPES

    assert GATE_TYPES == AWAITABLE_GATES


@ON_BOTH_BACKENDS
def test_gate_verbs_block_and_release_ready_work(cli: Cli, rig_town: Path):
    rig = rig_town / "gastown"
    work = cli.json("bd", "create", "Ship it", cwd=rig)["id"]
    made = time.monotonic()
    timer = cli.json("bd", "gate", "create", "--blocks", work, "--type", "timer",
                     "--timeout", "6s", "--reason", "cool down", cwd=rig)
    # bd's shape: an Issue of type gate with its await fields; timeout in nanoseconds
    assert timer["issue_type"] == "gate" and timer["await_type"] == "timer"
    assert timer["timeout"] == 6_000_000_000 and timer["title"] == "Gate: timer"
    assert timer["schema_version"] == 1
    assert work not in [b["id"] for b in cli.json("bd", "ready", cwd=rig)]
    assert [b["id"] for b in cli.json("bd", "blocked", cwd=rig)] == [work]
    assert timer["id"] not in [b["id"] for b in cli.json("bd", "list", cwd=rig)]
    assert [g["id"] for g in gates(cli)] == [timer["id"]]
    pending = cli.json("bd", "gate", "check", "--type=timer")
    assert pending["checked"] == 1
    if time.monotonic() - made < 5:  # a loaded machine may take the 6 s to get here
        assert pending["resolved"] == 0

    def expired() -> bool:
        cli.json("bd", "gate", "check", "--type=timer")
        return cli.json("bd", "gate", "show", timer["id"])["status"] == "closed"

    wait_for(expired, timeout=20, what="the timer gate to expire")
    assert work in [b["id"] for b in cli.json("bd", "ready", cwd=rig)]
    closed = gates(cli, "--all")[0]
    assert closed["status"] == "closed" and closed["close_reason"].startswith("timer expired")

    human = cli.json("bd", "gate", "create", "--blocks", work, cwd=rig)
    assert human["await_type"] == "human"
    added = cli.json("bd", "gate", "add-waiter", human["id"], "mayor/")
    assert added["waiters"] == ["mayor/"] and added["added"] is True
    assert cli.json("bd", "gate", "check")["checked"] == 0  # people open human gates
    resolved = cli.json("bd", "gate", "resolve", human["id"], "-r", "approved")
    assert resolved["status"] == "closed" and resolved["woken"] == ["mayor/"]
    # the Mayor has no session: the word reaches it as mail
    assert any(m["subject"] == f"GATE_OPEN {human['id']}"
               for m in cli.json("gt", "mail", "inbox", "mayor/"))

    other = cli.json("bd", "create", "Upstream fix", cwd=rig)["id"]
    on_bead = cli.json("bd", "gate", "create", "--blocks", work, "--type", "bead",
                       "--await-id", f"gastown:{other}", cwd=rig)
    assert cli.json("bd", "gate", "check", "--type=bead")["resolved"] == 0
    cli.bd("close", other, cwd=rig)
    assert cli.json("bd", "gate", "check", "--type=bead")["resolved"] == 1
    assert cli.json("bd", "gate", "show", on_bead["id"])["status"] == "closed"

    bad = cli.bd("gate", "create", "--blocks", work, "--type", "later", ok=False, cwd=rig)
    assert bad.returncode == 1 and "unknown gate type 'later'" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    wrong = cli.bd("gate", "show", work, ok=False)
    assert "is not a gate issue" in wrong.stderr


@ON_BOTH_BACKENDS
def test_formula_step_parks_on_its_gate_until_a_person_opens_it(cli: Cli, rig_town: Path):
    (rig_town / "formulas").mkdir(exist_ok=True)
    (rig_town / "formulas" / "gated-release.formula.toml").write_text(GATED_FORMULA)
    rig = rig_town / "gastown"
    bead = cli.json("bd", "create", "Feature x", cwd=rig)["id"]
    cli.gt("hook", bead, "gastown/polecats/nux")
    cli.bd("update", bead, "-d", "attached_formula: gated-release")
    me = {"GT_ROLE": "gastown/polecats/nux"}
    early = cli.gt("mol", "step", "done", "approve", ok=False, env=me)
    assert "step approve is not reached yet" in early.stderr
    out = cli.gt("mol", "step", "done", "build", env=me).stdout
    assert "⏸ Next step approve is parked on gate" in out
    status = cli.json("gt", "mol", "status", env=me)
    gate = status["gates"][0]
    assert gate["step"] == "approve" and gate["await_type"] == "human"
    assert status["progress"]["blocked_steps"] == ["approve", "ship"]
    assert status["next_action"].startswith(f"parked on gate {gate['id']}")
    prime = cli.gt("prime", env=me).stdout
    assert "[⏸] [approve]" in prime and f"PARKED on gate {gate['id']}" in prime
    refused = cli.gt("mol", "step", "done", "approve", ok=False, env=me)
    assert f"parked on gate {gate['id']}" in refused.stderr
    cli.bd("gate", "resolve", gate["id"], "-r", "ship it")
    cli.gt("mol", "step", "done", "approve", env=me)
    assert cli.json("gt", "mol", "status", env=me)["progress"]["ready_steps"] == ["ship"]

    # A formula run makes the gated step a bead held by its gate: not ready (so the Deacon's
    # convoy feed leaves it alone) until the gate opens.
    run = cli.json("gt", "formula", "run", "gated-release", "--rig", "gastown",
                   "--var", "feature=login", "--dry-run")
    assert [b["gate"] for b in run["beads"]] == [None, {"type": "human", "await_id": "",
                                                        "timeout": ""}, None]
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.formula_run import molecule_progress
    from gastown_tui.ops.formula_run import run as run_formula
    from gastown_tui.town.layout import Town

    town = Town(rig_town)
    store = open_store(town, "mayor")
    try:
        result = run_formula(town, store, town.rig("gastown"), "gated-release",
                             {"feature": "login"}, sling_roots=False)
        build, approve, ship = result.beads
        assert approve.gate_bead and not build.gate_bead
        cli.bd("close", build.bead)
        ready = [b["id"] for b in cli.json("bd", "ready", cwd=rig)]
        assert approve.bead not in ready and ship.bead not in ready
        states = {i.id: i.state.value for i in molecule_progress(store, result.convoy).items}
        assert states == {"build": "done", "approve": "gated", "ship": "waiting"}
        cli.bd("close", approve.gate_bead)  # a plain bd close opens a gate too
        assert approve.bead in [b["id"] for b in cli.json("bd", "ready", cwd=rig)]
    finally:
        store.close_connection()


def _park(cli: Cli, title: str, gate_spec: str) -> tuple[str, str, str]:
    """A sim polecat whose work parks on a gate halfway (bead, agent, gate)."""
    bead = cli.json("bd", "create", title,
                    "-d", f"```sim\nwrite: {title.replace(' ', '_')}.txt | done\\n\n"
                          f"gate: {gate_spec}\ncommit: sim: {title}\n```")["id"]
    agent = cli.json("gt", "sling", bead, "gastown")[0]["agent"]

    def held() -> list[str]:
        return [g["id"] for g in gates(cli)
                if any(d["id"] == bead for d in cli.json("bd", "show", g["id"])[0]
                       .get("dependents", []))]

    gate = wait_for(held, what=f"{agent} to park on a gate")[0]
    return bead, agent, gate


def _submitted(cli: Cli, bead: str) -> bool:
    return "merge_request:" in (cli.json("bd", "show", bead)[0].get("description") or "")


@pytest.fixture
def ci(tmp_path: Path, sim_town: Cli) -> Cli:
    """The sim town with a `gh` on PATH that answers from a state file."""
    bindir = tmp_path / "ghbin"
    bindir.mkdir()
    gh = bindir / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    state = tmp_path / "gh-state.json"
    state.write_text(json.dumps({"4242": {"status": "in_progress", "conclusion": "",
                                          "name": "ci"}}))
    sim_town.env = {**sim_town.env, "GH_FAKE_STATE": str(state),
                    "PATH": f"{bindir}{os.pathsep}{sim_town.env['PATH']}"}
    return sim_town


@ON_BOTH_BACKENDS
def test_polecats_parked_on_gates_wake_when_timer_person_and_ci_open_them(ci: Cli,
                                                                          tmp_path: Path):
    cli = ci
    timed, timed_agent, timer = _park(cli, "timed work", "timer 2s")
    approved, approved_agent, human = _park(cli, "approved work", "human")
    tested, tested_agent, run = _park(cli, "tested work", "gh:run 4242")
    polecats = {p["address"]: p for p in cli.json("gt", "polecat", "list")}
    for agent, gate in ((timed_agent, timer), (approved_agent, human), (tested_agent, run)):
        assert polecats[agent]["state"] == "working"
        assert polecats[agent]["parked_on"] == gate
        assert f"parked on gate {gate}" in polecats[agent]["evidence"]
    assert not any(_submitted(cli, b) for b in (timed, approved, tested))

    # The timer: the Deacon's patrol opens it once it has run out, and wakes the polecat.
    wait_for(lambda: "opened gate " + timer in cli.gt("deacon", "run", "--once",
                                                     "--no-keep-alive").stdout,
             timeout=20, poll=0.5, what="the Deacon to open the timer gate")
    wait_for(lambda: _submitted(cli, timed), what="the timed polecat to finish after its gate")
    assert "GATE_OPEN " + timer in cli.gt("peek", timed_agent, "-n", "80").stdout
    assert not _submitted(cli, approved) and not _submitted(cli, tested)

    # A person: bd gate resolve opens it at once.
    resolved = cli.json("bd", "gate", "resolve", human, "-r", "approved by the overseer")
    assert resolved["woken"] == [approved_agent]
    wait_for(lambda: _submitted(cli, approved), what="the approved polecat to finish")

    # The CI result: still running, then green; bd gate check asks gh each time.
    assert cli.json("bd", "gate", "check", "--type=gh:run")["resolved"] == 0
    assert not _submitted(cli, tested)
    state = Path(cli.env["GH_FAKE_STATE"])
    state.write_text(json.dumps({"4242": {"status": "completed", "conclusion": "success",
                                          "name": "ci"}}))
    checked = cli.json("bd", "gate", "check", "--type=gh:run")
    assert checked["resolved"] == 1 and checked["gates"][0]["reason"] == \
        "workflow 'ci' succeeded"
    wait_for(lambda: _submitted(cli, tested), what="the tested polecat to finish")
    events = [json.loads(line)["type"] for line in
              (Path(cli.cwd).parent / ".events.jsonl").read_text().splitlines()]
    assert events.count("gate_opened") == 3


def test_failed_ci_run_escalates_instead_of_opening(ci: Cli):
    cli = ci
    work = cli.json("bd", "create", "Needs green CI")["id"]
    gate = cli.json("bd", "gate", "create", "--blocks", work, "--type", "gh:run",
                    "--await-id", "4242")["id"]
    Path(cli.env["GH_FAKE_STATE"]).write_text(json.dumps(
        {"4242": {"status": "completed", "conclusion": "failure", "name": "ci"}}))
    checked = cli.json("bd", "gate", "check", "--escalate")
    assert checked["escalated"] == 1 and checked["resolved"] == 0
    assert cli.json("bd", "gate", "show", gate)["status"] == "open"
    assert any(e["title"] == f"Gate escalation: {gate}"
               for e in cli.json("gt", "escalate", "list"))
    missing = cli.json("bd", "gate", "create", "--blocks", work, "--type", "gh:run",
                       "--await-id", "999")["id"]
    result = {g["id"]: g for g in cli.json("bd", "gate", "check")["gates"]}
    assert result[missing]["reason"] == "workflow run not found"


def test_a_gate_waiting_for_a_person_is_in_needs_you(cli: Cli, rig_town: Path, tmux_socket: str,
                                                      monkeypatch: pytest.MonkeyPatch):
    from gastown_tui.model.town_model import TownModel

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    rig = rig_town / "gastown"
    work = cli.json("bd", "create", "Deploy", cwd=rig)["id"]
    model = TownModel(rig_town)
    assert not [i for i in model.load().needs_you if i.kind == "gate"]
    gate = cli.json("bd", "gate", "create", "--blocks", work, "--reason", "sign-off", cwd=rig)
    wal = str(rig_town / ".beads" / "beads.db-wal")
    snap = model.apply([wal])
    items = [i for i in snap.needs_you if i.kind == "gate"]
    assert [(i.key, i.text) for i in items] == [
        (gate["id"], f"gate {gate['id']} waits for you (holds {work}): bd gate resolve")]
    timer = cli.json("bd", "gate", "create", "--blocks", work, "--type", "timer", "--timeout",
                     "1h", cwd=rig)
    snap = model.apply([wal])
    assert [i.key for i in snap.needs_you if i.kind == "gate"] == [gate["id"]]  # timers wait
    cli.bd("gate", "resolve", gate["id"])
    snap = model.apply([wal])
    assert not [i for i in snap.needs_you if i.kind == "gate"]
    assert timer["id"] != gate["id"]
