"""bd as agents call it: flags anywhere, --json shapes, scope by directory, one-line errors."""

from __future__ import annotations

import json
import sqlite3

import pytest


def test_create_show_update_close_json_shapes(cli):
    created = cli.json("bd", "create", "Fix it", "-p", "1", "-l", "a,b", "-d", "why")
    assert created["schema_version"] == 1 and created["id"].startswith("hq-")
    shown = cli.json("bd", "show", created["id"])
    assert isinstance(shown, list) and shown[0]["title"] == "Fix it"
    assert shown[0]["labels"] == ["a", "b"] and shown[0]["dependency_count"] == 0
    updated = cli.json("bd", "update", created["id"], "--status", "in_progress",
                       "--add-label", "c", "--append-notes", "n1")
    assert updated[0]["status"] == "in_progress" and "c" in updated[0]["labels"]
    closed = cli.json("bd", "close", created["id"], "-r", "done")
    assert closed[0]["status"] == "closed" and closed[0]["close_reason"] == "done"
    listed = cli.json("bd", "list")
    assert listed == []
    assert [b["id"] for b in cli.json("bd", "list", "--all")] == [created["id"]]
    reopened = cli.json("bd", "reopen", created["id"])
    assert reopened[0]["status"] == "open"


def test_scope_follows_the_directory_and_rig_flag(cli, rig_town):
    rig_dir = rig_town / "gastown" / "refinery" / "rig"
    in_rig = cli.json("bd", "create", "rig work", cwd=rig_dir)
    at_town = cli.json("bd", "create", "town work")
    assert in_rig["id"].startswith("gt-") and at_town["id"].startswith("hq-")
    assert [b["id"] for b in cli.json("bd", "list", cwd=rig_dir)] == [in_rig["id"]]
    assert [b["id"] for b in cli.json("bd", "list")] == [at_town["id"]]
    assert [b["id"] for b in cli.json("bd", "ready", "--rig", "gastown")] == [in_rig["id"]]
    # show works on any id from anywhere in the town
    assert cli.json("bd", "show", at_town["id"], cwd=rig_dir)[0]["title"] == "town work"


def test_ready_blocked_dep_label_comments_search(cli):
    a = cli.json("bd", "create", "alpha")["id"]
    b = cli.json("bd", "create", "beta", "--deps", a)["id"]
    assert [x["id"] for x in cli.json("bd", "ready")] == [a]
    blocked = cli.json("bd", "blocked")
    assert blocked[0]["id"] == b and blocked[0]["blocked_by"] == [a]
    deps = cli.json("bd", "dep", "list", b)
    assert deps[0]["id"] == a and deps[0]["dependency_type"] == "blocks"
    assert cli.json("bd", "dep", "list", a, "--direction", "up")[0]["id"] == b
    cli.bd("dep", "remove", b, a)
    assert {x["id"] for x in cli.json("bd", "ready")} == {a, b}
    res = cli.json("bd", "dep", "add", b, a)
    assert res == {"schema_version": 1, "status": "added", "issue_id": b, "depends_on_id": a,
                   "type": "blocks"}
    assert cli.json("bd", "label", "add", b, "ui") == ["ui"]
    assert cli.json("bd", "label", "remove", b, "ui") == []
    comment = cli.json("bd", "comments", "add", b, "hello", "there")
    assert comment["text"] == "hello there"
    assert cli.json("bd", "comments", b)[0]["text"] == "hello there"
    assert [x["id"] for x in cli.json("bd", "search", "alph")] == [a]
    claimed = cli.json("bd", "ready", "--claim", "--actor", "gastown/polecats/toast")
    assert claimed["id"] == a and claimed["assignee"] == "gastown/polecats/toast"


@pytest.mark.parametrize("args,needle", [
    (["show", "hq-nope"], "no bead 'hq-nope'"),
    (["update", "hq-nope", "-s", "open"], "no bead"),
    (["create", "x", "-p", "9"], "out of range"),
    (["create", "x", "-t", "spaceship"], "unknown issue type"),
    (["dep", "add", "hq-a", "hq-b"], "no bead"),
])
def test_errors_are_one_line(cli, args, needle):
    proc = cli.bd(*args, ok=False)
    assert proc.returncode != 0
    assert needle in proc.stderr and proc.stderr.count("\n") == 1
    proc = cli.bd(*args, "--json", ok=False)
    err = json.loads(proc.stderr)
    assert err["schema_version"] == 1 and needle in err["error"]


def test_closed_cycle_and_locked_errors(cli, town):
    a = cli.json("bd", "create", "a")["id"]
    b = cli.json("bd", "create", "b", "--deps", a)["id"]
    proc = cli.bd("dep", "add", a, b, ok=False)
    assert "cycle" in proc.stderr and proc.stderr.count("\n") == 1
    proc = cli.bd("close", b, ok=False)
    assert f"blocked by open {a}" in proc.stderr
    cli.bd("close", a)
    proc = cli.bd("close", a, ok=False)
    assert "already closed" in proc.stderr and f"bd reopen {a}" in proc.stderr
    holder = sqlite3.connect(str(town / ".beads" / "beads.db"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        proc = cli.bd("create", "x", ok=False, env={"GT_STORE_BUSY_TIMEOUT_MS": "200"})
        assert "locked by another process" in proc.stderr and proc.stderr.count("\n") == 1
    finally:
        holder.execute("ROLLBACK")


def test_export_to_stdout_and_file_and_import_back(cli, tmp_path, clean_env):
    cli.bd("create", "one", "-l", "x")
    cli.bd("create", "two")
    out = cli.bd("export").stdout.splitlines()
    assert len(out) == 2 and all(json.loads(line)["_type"] == "issue" for line in out)
    target = tmp_path / "dump.jsonl"
    cli.bd("export", "-o", str(target))
    assert target.read_text().splitlines() == out

    from tests.conftest import Cli

    other = tmp_path / "other"
    Cli(tmp_path, clean_env).gt("install", str(other))
    bad = tmp_path / "with-bad.jsonl"
    bad.write_text(target.read_text() + "{broken\n")
    proc = Cli(other, clean_env).bd("import", str(bad), ok=False)
    assert proc.returncode == 3 and f"{bad}:3: not JSON" in proc.stderr
    titles = sorted(b["title"] for b in Cli(other, clean_env).json("bd", "list"))
    assert titles == ["one", "two"]
    report = Cli(other, clean_env).json("bd", "import", str(target))
    assert report["created"] == 0 and report["unchanged"] == 2
