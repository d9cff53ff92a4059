"""The scheduler on a sim town: a town held at its cap (beads beyond it wait in a visible
queue and start as slots free), a rig's own cap, the memory gate, pause and clear."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli
from tests.waiting import wait_for

HANG = "```sim\nhang: true\n```"


def configure(root: Path, scheduler: dict, rig: dict | None = None) -> None:
    settings = root / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["scheduler"] = scheduler
    settings.write_text(json.dumps(data))
    if rig is not None:
        rig_settings = root / "gastown" / "settings" / "config.json"
        data = json.loads(rig_settings.read_text()) if rig_settings.exists() else {}
        data["scheduler"] = rig
        rig_settings.write_text(json.dumps(data))


def working(cli: Cli) -> list[str]:
    return sorted(p["issue"] for p in cli.json("gt", "polecat", "list")
                  if p["session_running"] and p["issue"])


def test_a_town_held_at_its_cap_starts_queued_beads_as_slots_free(sim_town: Cli,
                                                                   rig_town: Path,
                                                                   monkeypatch):
    from gastown_tui.model.town_model import TownModel
    from gastown_tui.widgets.header import header_text

    cli = sim_town
    configure(rig_town, {"max_polecats": 2})
    beads = [cli.json("bd", "create", f"Task {n}", "-d", HANG)["id"] for n in range(4)]
    slung = cli.json("gt", "sling", *beads, "gastown")
    started = [s for s in slung if s["agent"]]
    waiting = [s for s in slung if s["queued"]]
    assert [s["bead"] for s in started] == beads[:2]  # oldest first
    assert [s["bead"] for s in waiting] == beads[2:] and not any(s["agent"] for s in waiting)
    assert len({s["convoy"] for s in slung}) == 1 and slung[0]["convoy"]  # one batch convoy
    status = cli.json("gt", "scheduler", "status")
    assert status["active_polecats"] == 2 and status["max_polecats"] == 2
    assert status["queued_total"] == 2 and status["queued_ready"] == 2
    assert [b["id"] for b in status["beads"]] == beads[2:]
    assert status["rigs"]["gastown"] == {"active": 2, "max_polecats": -1, "free": 0}
    assert working(cli) == sorted(beads[:2])
    held = cli.json("gt", "scheduler", "run")
    assert held["dispatched"] == [] and held["waiting"] == 2 and held["reason"] == "capacity"
    text = cli.gt("scheduler", "status").stdout
    assert "Active:    2 polecats (town cap: 2)" in text and "2 total, 2 ready" in text
    assert [b["id"] for b in cli.json("gt", "scheduler", "list")] == beads[2:]
    monkeypatch.setenv("GT_TMUX_SOCKET", cli.env["GT_TMUX_SOCKET"])
    model = TownModel(rig_town)
    snap = model.load()
    model.close()
    assert snap.queued == tuple(beads[2:]) and "⏳ 2 queued" in header_text(snap, None).plain
    # one polecat finishes (a GUPP nudge wakes the sim, which commits and runs gt done)
    cli.gt("nudge", started[0]["agent"], "GUPP: carry on", "--mode", "immediate")
    wait_for(lambda: beads[0] not in working(cli), timeout=60, what="the first polecat done")
    cli.gt("deacon", "run", "--once", "--no-keep-alive")  # the Deacon's patrol dispatches
    wait_for(lambda: working(cli) == sorted([beads[1], beads[2]]), timeout=30,
             what="the third bead started in the freed slot")
    after = cli.json("gt", "scheduler", "status")
    assert after["active_polecats"] == 2 and [b["id"] for b in after["beads"]] == [beads[3]]
    events = [json.loads(line) for line in (rig_town / ".events.jsonl").read_text().splitlines()]
    kinds = [e["type"] for e in events if e["type"].startswith("scheduler_")]
    assert kinds.count("scheduler_enqueue") == 4 and kinds.count("scheduler_dispatch") == 3


def test_a_rigs_own_cap_the_memory_gate_pause_and_clear(sim_town: Cli, rig_town: Path):
    cli = sim_town
    configure(rig_town, {"max_polecats": 10}, rig={"max_polecats": 1})
    beads = [cli.json("bd", "create", f"Task {n}", "-d", HANG)["id"] for n in range(3)]
    slung = cli.json("gt", "sling", *beads, "gastown")
    assert [bool(s["agent"]) for s in slung] == [True, False, False]
    status = cli.json("gt", "scheduler", "status")
    assert status["rigs"]["gastown"]["max_polecats"] == 1 and status["queued_total"] == 2
    assert cli.json("gt", "scheduler", "run")["reason"] == "rig capacity"
    # the memory gate: more free memory asked for than any machine has
    configure(rig_town, {"max_polecats": 10, "min_free_memory_mb": 10**9}, rig={})
    gated = cli.json("gt", "scheduler", "run")
    assert gated["dispatched"] == [] and gated["reason"].startswith("memory: ")
    assert cli.json("gt", "scheduler", "status")["gate"]["open"] is False
    assert "Gate:      CLOSED: memory:" in cli.gt("scheduler", "status").stdout
    configure(rig_town, {"max_polecats": 10}, rig={})
    assert "Scheduler paused" in cli.gt("scheduler", "pause").stdout
    paused = cli.json("gt", "scheduler", "run")
    assert paused["dispatched"] == [] and paused["reason"].startswith("paused by")
    assert cli.json("gt", "scheduler", "status")["paused"] is True
    cli.gt("scheduler", "resume")
    assert "Removed" in cli.gt("scheduler", "clear", "--bead", beads[2]).stdout
    resumed = cli.json("gt", "scheduler", "run")
    assert [d["bead"] for d in resumed["dispatched"]] == [beads[1]]
    assert cli.json("gt", "scheduler", "status")["queued_total"] == 0
    assert cli.json("bd", "show", beads[2])[0]["status"] == "open"  # cleared, not slung
    bad = cli.gt("sling", beads[2], "gastown", "--account", "ghost", ok=False)
    assert "Traceback" not in bad.stderr


def test_without_caps_sling_starts_at_once_and_the_queue_stays_empty(sim_town: Cli):
    cli = sim_town
    bead = cli.json("bd", "create", "Now", "-d", HANG)["id"]
    slung = cli.json("gt", "sling", bead, "gastown")[0]
    assert slung["agent"] and not slung["queued"]
    status = cli.json("gt", "scheduler", "status")
    assert status["deferred"] is False and status["queued_total"] == 0
    assert "No beads scheduled." in cli.gt("scheduler", "list").stdout
