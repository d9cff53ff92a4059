"""gt convoy watch|unwatch|stranded|land|stage|launch on real towns: shapes, refusals, and
sim polecats working a staged convoy wave by wave."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli
from tests.waiting import wait_for

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)


@ON_BOTH_BACKENDS
def test_watchers_are_told_when_the_convoy_lands(cli: Cli, rig_town: Path):
    rig = rig_town / "gastown"
    bead = cli.json("bd", "create", "Watched work", cwd=rig)["id"]
    convoy = cli.json("gt", "convoy", "create", "Watched", bead)["id"]
    first = cli.json("gt", "convoy", "watch", convoy, "--addr", "gastown/crew/mel")
    assert first == {"convoy_id": convoy, "address": "gastown/crew/mel", "watch_type": "mail",
                     "status": "subscribed"}
    again = cli.json("gt", "convoy", "watch", convoy, "--addr", "gastown/crew/mel")
    assert again["status"] == "already_watching"
    cli.json("gt", "convoy", "watch", convoy, "--addr", "gastown/crew/ann")
    nudged = cli.json("gt", "convoy", "watch", convoy, "--nudge", "--addr", "mayor/")
    assert nudged["watch_type"] == "nudge"
    gone = cli.json("gt", "convoy", "unwatch", convoy, "--addr", "gastown/crew/ann")
    assert gone["status"] == "unsubscribed"
    assert cli.json("gt", "convoy", "unwatch", convoy, "--addr", "nobody/x")["status"] == \
        "not_watching"
    description = cli.json("bd", "show", convoy)[0]["description"]
    assert "Watchers: gastown/crew/mel" in description and \
        "nudge_watchers: mayor/" in description
    cli.bd("close", bead, cwd=rig)
    assert cli.json("gt", "convoy", "status", convoy)["status"] == "closed"
    mel = cli.json("gt", "mail", "inbox", "gastown/crew/mel")
    assert [m["subject"] for m in mel] == ["🚚 Convoy landed: Watched"]
    assert cli.json("gt", "mail", "inbox", "gastown/crew/ann") == []
    who = cli.gt("convoy", "watch", convoy, ok=False)
    assert "could not tell who you are; pass --addr" in who.stderr


@ON_BOTH_BACKENDS
def test_stranded_lists_convoys_nobody_is_moving(cli: Cli, rig_town: Path):
    rig = rig_town / "gastown"
    ready = cli.json("bd", "create", "Ready and unassigned", cwd=rig)["id"]
    busy = cli.json("bd", "create", "Being worked", cwd=rig)["id"]
    cli.gt("hook", busy, "gastown/polecats/nux")
    waiting = cli.json("gt", "convoy", "create", "Waiting", ready)["id"]
    moving = cli.json("gt", "convoy", "create", "Moving", busy)["id"]
    empty = cli.json("gt", "convoy", "create", "Empty")["id"]
    found = {c["id"]: c for c in cli.json("gt", "convoy", "stranded")}
    assert set(found) == {waiting, empty}
    assert found[waiting]["ready_issues"] == [ready] and found[waiting]["ready_count"] == 1
    assert found[empty]["tracked_count"] == 0
    assert moving not in found


@ON_BOTH_BACKENDS
def test_land_is_for_owned_convoys_and_refuses_open_work(cli: Cli, rig_town: Path):
    rig = rig_town / "gastown"
    bead = cli.json("bd", "create", "Owned work", cwd=rig)["id"]
    plain = cli.json("gt", "convoy", "create", "Plain", bead)["id"]
    refused = cli.gt("convoy", "land", plain, ok=False)
    assert "is not an owned convoy" in refused.stderr and "gt convoy close" in refused.stderr
    owned = cli.json("gt", "convoy", "create", "Owned", bead, "--owned", "--owner",
                     "gastown/crew/mel")["id"]
    open_work = cli.gt("convoy", "land", owned, ok=False)
    assert f"has 1 open issue(s): {bead}" in open_work.stderr
    dry = cli.json("gt", "convoy", "land", owned, "--force", "--dry-run")
    assert dry["dry_run"] and not dry["landed"] and dry["open"] == [bead]
    landed = cli.json("gt", "convoy", "land", owned, "--force")
    assert landed["landed"] and cli.json("gt", "convoy", "status", owned)["status"] == "closed"
    assert any(m["subject"] == "🚚 Convoy landed: Owned"
               for m in cli.json("gt", "mail", "inbox", "gastown/crew/mel"))
    assert cli.json("gt", "convoy", "land", owned)["already_closed"] is True


@ON_BOTH_BACKENDS
def test_stage_reports_waves_gates_and_refuses_cycles(cli: Cli, rig_town: Path):
    rig = rig_town / "gastown"
    epic = cli.json("bd", "create", "Release 1", "-t", "epic", cwd=rig)["id"]
    a = cli.json("bd", "create", "Schema", "--parent", epic, cwd=rig)["id"]
    b = cli.json("bd", "create", "API", "--parent", epic, cwd=rig)["id"]
    c = cli.json("bd", "create", "Docs", "--parent", epic, cwd=rig)["id"]
    cli.bd("dep", "add", b, a)
    cli.bd("gate", "create", "--blocks", c, "--reason", "legal review")
    staged = cli.json("gt", "convoy", "stage", epic)
    assert staged["status"] == "staged_warnings" and staged["errors"] == []
    assert [[t["id"] for t in w["tasks"]] for w in staged["waves"]] == [[a], [b]]
    assert staged["waves"][1]["tasks"][0]["blocked_by"] == [a]
    assert [g["id"] for g in staged["gated"]] == [c]
    assert staged["warnings"][0]["category"] == "gated"
    convoy = cli.json("gt", "convoy", "status", staged["convoy_id"])
    assert convoy["status"] == "staged_warnings" and convoy["title"] == "Release 1"
    assert {t["id"] for t in convoy["tracked"]} == {a, b, c}
    refused = cli.gt("convoy", "launch", staged["convoy_id"], ok=False)
    assert "has warnings" in refused.stderr and "--force" in refused.stderr
    assert cli.json("gt", "convoy", "list", "--status", "staged_warnings")[0]["id"] == \
        staged["convoy_id"]
    # a cycle stages nothing
    x = cli.json("bd", "create", "X", cwd=rig)["id"]
    y = cli.json("bd", "create", "Y", cwd=rig)["id"]
    cli.bd("dep", "add", x, y)
    cli.bd("dep", "add", y, x, "--no-cycle-check")
    bad = cli.run("gt", "convoy", "stage", x, y, "--json", ok=False)
    assert bad.returncode == 1 and '"category": "cycle"' in bad.stdout
    assert '"convoy_id": ""' in bad.stdout


@ON_BOTH_BACKENDS
def test_launch_slings_wave_one_and_the_deacon_feeds_the_next(sim_town: Cli):
    cli = sim_town
    first = cli.json("bd", "create", "Wave one")["id"]
    second = cli.json("bd", "create", "Wave two")["id"]
    cli.bd("dep", "add", second, first)
    staged = cli.json("gt", "convoy", "stage", first, second, "--title", "Two waves")
    assert staged["status"] == "staged_ready"
    launched = cli.json("gt", "convoy", "launch", staged["convoy_id"])
    assert [(d["bead"], d["success"]) for d in launched["dispatched"]] == [(first, True)]
    assert cli.json("bd", "show", second)[0]["status"] == "open"  # wave 2 waits
    wait_for(lambda: "merge_request:" in cli.json("bd", "show", first)[0]["description"],
             what="wave one's polecat to submit")
    cli.bd("close", first, "-r", "merged by hand for the test")
    out = cli.gt("deacon", "run", "--once", "--no-keep-alive").stdout
    assert f"fed {second}" in out
    assert cli.json("bd", "show", second)[0]["status"] in ("hooked", "in_progress")


def test_landing_an_owned_convoy_cleans_up_its_polecats(sim_town: Cli):
    cli = sim_town
    bead = cli.json("bd", "create", "Owned change")["id"]
    convoy = cli.json("gt", "convoy", "create", "Mine", bead, "--owned")["id"]
    slung = cli.json("gt", "sling", bead, "gastown")[0]
    assert slung["convoy"] == convoy  # sling keeps the convoy that already tracks it
    wait_for(lambda: "merge_request:" in cli.json("bd", "show", bead)[0]["description"],
             what="the polecat to submit")
    name = slung["agent"].rsplit("/", 1)[1]
    worktree = Path(cli.cwd) / "polecats" / name
    assert worktree.exists()
    landed = cli.json("gt", "convoy", "land", convoy, "--force")
    assert landed["landed"] and landed["worktrees"] == [slung["agent"]]
    assert not worktree.exists()
    assert name not in [p["name"] for p in cli.json("gt", "polecat", "list")]
