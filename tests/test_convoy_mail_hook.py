"""Convoys land and mail their owner; mail round trip; hooks; gt status."""

from __future__ import annotations

import json


def test_convoy_tracks_work_and_lands_when_all_closed(cli, rig_town):
    rig_dir = rig_town / "gastown"
    ids = [cli.json("bd", "create", f"task {i}", cwd=rig_dir)["id"] for i in range(3)]
    convoy = cli.json("gt", "convoy", "create", "Widget release", *ids, "--owner", "mayor/")
    assert convoy["id"].startswith("hq-cv-") and convoy["total"] == 3
    assert convoy["completed"] == 0 and convoy["lifecycle"] == "system-managed"
    assert {t["id"] for t in convoy["tracked"]} == set(ids)
    assert set(convoy["tracked"][0]) >= {"id", "title", "status", "dependency_type", "issue_type",
                                         "blocked", "assignee", "labels", "worker", "worker_age"}
    listed = cli.json("gt", "convoy", "list")
    assert [(c["id"], c["completed"], c["total"]) for c in listed] == [(convoy["id"], 0, 3)]
    cli.bd("close", ids[0], ids[1], cwd=rig_dir)
    status = cli.json("gt", "convoy", "status", convoy["id"])
    assert status["completed"] == 2 and status["status"] == "open"
    out = cli.bd("close", ids[2], cwd=rig_dir).stdout
    assert "Convoy landed" in out
    status = cli.json("gt", "convoy", "status", convoy["id"])
    assert status["status"] == "closed" and status["completed"] == 3
    inbox = cli.json("gt", "mail", "inbox", "mayor/")
    assert [m["subject"] for m in inbox] == ["🚚 Convoy landed: Widget release"]
    assert convoy["id"] in inbox[0]["body"]
    events = [json.loads(line)["type"] for line in
              (rig_town / ".events.jsonl").read_text().splitlines()]
    assert "convoy_landed" in events
    # adding work reopens it
    more = cli.json("bd", "create", "late task", cwd=rig_dir)["id"]
    reopened = cli.json("gt", "convoy", "add", convoy["id"], more)
    assert reopened["status"] == "open" and reopened["total"] == 4


def test_empty_convoy_never_lands_and_manual_close(cli):
    convoy = cli.json("gt", "convoy", "create", "Nothing yet")
    assert cli.json("gt", "convoy", "check") == []
    a = cli.json("bd", "create", "a")["id"]
    cli.gt("convoy", "add", convoy["id"], a)
    proc = cli.gt("convoy", "close", convoy["id"], ok=False)
    assert "still tracks open work" in proc.stderr
    assert cli.json("gt", "convoy", "close", convoy["id"], "--force")["status"] == "closed"


def test_mail_send_inbox_read_archive(cli, rig_town):
    sent = cli.json("gt", "mail", "send", "gastown/polecats/toast", "-s", "FIX_NEEDED toast",
                    "-m", "tests fail", "--from", "gastown/refinery")
    assert sent["to"] == "gastown/toast" and sent["from"] == "gastown/refinery"
    inbox = cli.json("gt", "mail", "inbox", "gastown/toast")
    assert [(m["subject"], m["read"]) for m in inbox] == [("FIX_NEEDED toast", False)]
    msg = cli.json("gt", "mail", "read", "1", "--identity", "gastown/toast")
    assert msg["body"] == "tests fail" and msg["read"] is True
    assert cli.json("gt", "mail", "inbox", "gastown/toast", "--unread") == []
    cli.gt("mail", "archive", sent["id"], "--identity", "gastown/toast")
    assert cli.json("gt", "mail", "inbox", "gastown/toast") == []
    assert len(cli.json("gt", "mail", "inbox", "gastown/toast", "--all")) == 1
    # the agent's own identity comes from GT_ROLE
    cli.gt("mail", "send", "mayor/", "-s", "HELP: stuck",
           env={"GT_ROLE": "gastown/polecats/toast"})
    mayor = cli.json("gt", "mail", "inbox", env={"GT_ROLE": "mayor"})
    assert mayor[0]["from"] == "gastown/toast"
    assert cli.json("bd", "ready") == []  # mail is never ready work


def test_hook_attach_show_conflict_detach(cli, rig_town):
    rig_dir = rig_town / "gastown"
    bead = cli.json("bd", "create", "work", cwd=rig_dir)["id"]
    hooked = cli.json("gt", "hook", bead, "gastown/polecats/toast")
    assert hooked["status"] == "hooked" and hooked["assignee"] == "gastown/polecats/toast"
    mine = cli.json("gt", "hook", env={"GT_ROLE": "gastown/polecats/toast"}, cwd=rig_dir)
    assert mine["bead"]["id"] == bead
    line = cli.gt("hook", "show", "gastown/toast").stdout
    assert line.strip() == f"gastown/polecats/toast: {bead} 'work' [hooked]"
    proc = cli.gt("hook", bead, "gastown/polecats/nux", ok=False)
    assert "already hooked by gastown/polecats/toast" in proc.stderr and "--force" in proc.stderr
    moved = cli.json("gt", "hook", bead, "gastown/polecats/nux", "--force")
    assert moved["assignee"] == "gastown/polecats/nux"
    assert [h["agent"] for h in cli.json("gt", "hook", "show")] == ["gastown/polecats/nux"]
    cli.gt("hook", "detach", bead)
    assert cli.json("bd", "show", bead)[0]["status"] == "open"
    cli.bd("close", bead)
    proc = cli.gt("hook", bead, "gastown/polecats/nux", ok=False)
    assert "is closed" in proc.stderr
    proc = cli.gt("hook", bead, "../etc/passwd", ok=False)
    assert "invalid" in proc.stderr and proc.stderr.count("\n") == 1


def test_gt_status_json(cli, rig_town):
    rig_dir = rig_town / "gastown"
    bead = cli.json("bd", "create", "work", cwd=rig_dir)["id"]
    cli.gt("hook", bead, "gastown/witness")
    cli.gt("mail", "send", "mayor/", "-s", "hi")
    data = cli.json("gt", "status")
    assert data["name"] == "testtown"
    mayor = next(a for a in data["agents"] if a["address"] == "mayor")
    assert mayor["unread_mail"] == 1 and mayor["state"] == "idle"
    rig = data["rigs"][0]
    assert rig["name"] == "gastown" and rig["has_witness"] and rig["has_refinery"]
    witness = next(a for a in rig["agents"] if a["role"] == "witness")
    assert witness["hook_bead"] == bead and witness["has_work"]
    assert "gastown" in cli.gt("status").stdout


def test_every_verb_appends_an_event(cli, rig_town):
    before = len((rig_town / ".events.jsonl").read_text().splitlines())
    bead = cli.json("bd", "create", "x")["id"]
    cli.gt("hook", bead, "mayor")
    cli.gt("mail", "send", "mayor/", "-s", "s")
    cli.bd("close", bead)
    events = [json.loads(line) for line in
              (rig_town / ".events.jsonl").read_text().splitlines()[before:]]
    assert [e["type"] for e in events] == ["bead_created", "hook", "mail", "bead_closed"]
    assert events[0]["source"] == "bd" and events[0]["payload"]["bead"] == bead
    assert all(set(e) == {"ts", "source", "type", "actor", "payload", "visibility"}
               for e in events)
