"""The bd verbs agents use beyond the basics, on a real town, with bd's --json shapes: dep
tree/cycles, children, count, status/stats, delete, defer/undefer, edit, epic, q, kv, where,
version, doctor; close --continue/--suggest-next, ready --explain/--mol, update --parent/
--ephemeral."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)


@pytest.fixture
def rig(rig_town: Path) -> Path:
    return rig_town / "gastown"


def bd(cli: Cli, rig: Path, *args: str, **kw):
    return cli.json("bd", *args, cwd=rig, **kw)


def ids(items) -> list[str]:
    return [i["id"] for i in items]


@ON_BOTH_BACKENDS
def test_dep_tree_cycles_children_and_ready_explain(cli: Cli, rig: Path):
    top = bd(cli, rig, "create", "Top")["id"]
    mid = bd(cli, rig, "create", "Mid")["id"]
    low = bd(cli, rig, "create", "Low")["id"]
    cli.bd("dep", "add", top, mid, cwd=rig)
    cli.bd("dep", "add", mid, low, cwd=rig)
    down = bd(cli, rig, "dep", "tree", top)
    assert [(n["id"], n["depth"], n["parent_id"]) for n in down] == [
        (top, 0, ""), (mid, 1, top), (low, 2, mid)]
    assert down[1]["edge_from_parent"] == "blocks" and down[0]["truncated"] is False
    up = bd(cli, rig, "dep", "tree", low, "--direction", "up")
    assert ids(up) == [low, mid, top]
    assert ids(bd(cli, rig, "dep", "tree", top, "--max-depth", "1")) == [top, mid]
    assert "flowchart TD" in cli.bd("dep", "tree", top, "--format", "mermaid", cwd=rig).stdout
    assert bd(cli, rig, "dep", "cycles") == []
    cli.bd("dep", "add", low, top, "--no-cycle-check", cwd=rig)
    cycles = bd(cli, rig, "dep", "cycles")
    assert len(cycles) == 1 and sorted(ids(cycles[0])) == sorted([top, mid, low])
    explained = bd(cli, rig, "ready", "--explain")
    assert explained["summary"]["cycle_count"] == 1 and len(explained["cycles"]) == 1
    cli.bd("dep", "remove", low, top, cwd=rig)
    explained = bd(cli, rig, "ready", "--explain")
    assert ids(explained["ready"]) == [low]
    assert explained["ready"][0]["reason"] == "no blocking dependencies"
    blocked = {b["id"]: b for b in explained["blocked"]}
    assert [x["id"] for x in blocked[top]["blocked_by"]] == [mid]
    parent = bd(cli, rig, "create", "Parent", "-t", "epic")["id"]
    kid = bd(cli, rig, "create", "Kid", "--parent", parent)["id"]
    cli.bd("close", kid, cwd=rig)
    assert ids(bd(cli, rig, "children", parent)) == [kid]  # closed children too


@ON_BOTH_BACKENDS
def test_close_suggest_next_and_continue_through_a_molecule(cli: Cli, rig: Path):
    a = bd(cli, rig, "create", "First")["id"]
    b = bd(cli, rig, "create", "Second")["id"]
    cli.bd("dep", "add", b, a, cwd=rig)
    out = bd(cli, rig, "close", a, "--suggest-next")
    assert ids(out["closed"]) == [a] and ids(out["unblocked"]) == [b]
    (rig.parent / "formulas").mkdir(exist_ok=True)
    (rig.parent / "formulas" / "two.formula.toml").write_text(
        'formula = "two"\ntype = "workflow"\nversion = 1\n[[steps]]\nid = "one"\n'
        'title = "One"\n[[steps]]\nid = "two"\ntitle = "Two"\nneeds = ["one"]\n')
    mol = bd(cli, rig, "mol", "pour", "two")
    one, two = mol["id_mapping"]["two.one"], mol["id_mapping"]["two.two"]
    ready = bd(cli, rig, "ready", "--mol", mol["new_epic_id"])
    assert ready["total_steps"] == 2 and [s["issue"]["id"] for s in ready["steps"]] == [one]
    step = bd(cli, rig, "close", one, "--continue", "--actor", "gastown/polecats/nux")
    cont = step["continue"]
    assert cont["molecule_id"] == mol["new_epic_id"] and cont["next_step"]["id"] == two
    assert cont["auto_advanced"] is True and cont["next_step"]["status"] == "in_progress"
    last = bd(cli, rig, "close", two, "--continue", "--no-auto")
    assert last["continue"]["molecule_complete"] is True
    with_session = bd(cli, rig, "close", bd(cli, rig, "create", "x")["id"], "--session", "s-1")
    assert with_session[0]["closed_by_session"] == "s-1"
    two_at_once = cli.bd("close", a, b, "--continue", ok=False, cwd=rig)
    assert "single issue" in two_at_once.stderr


@ON_BOTH_BACKENDS
def test_count_status_q_defer_and_update_parent(cli: Cli, rig: Path):
    first = cli.bd("q", "Quick", "one", "-p", "1", cwd=rig).stdout.strip()
    assert first.startswith("gt-") and bd(cli, rig, "show", first)[0]["priority"] == 1
    bd(cli, rig, "create", "Bug", "-t", "bug")
    assert bd(cli, rig, "count") == {"schema_version": 1, "count": 2}
    grouped = bd(cli, rig, "count", "--by-type")
    assert grouped["total"] == 2 and grouped["groups"] == [{"group": "bug", "count": 1},
                                                            {"group": "task", "count": 1}]
    deferred = bd(cli, rig, "defer", first, "--until", "+2h")
    assert deferred[0]["status"] == "deferred" and deferred[0]["defer_until"]
    assert first not in ids(bd(cli, rig, "ready"))
    stats = bd(cli, rig, "stats")  # the alias of bd status
    assert stats["summary"]["deferred_issues"] == 1 and stats["summary"]["total_issues"] == 2
    assert stats["recent_activity"]["issues_created"] >= 2
    assert bd(cli, rig, "undefer", first)[0]["status"] == "open"
    epic = bd(cli, rig, "create", "Epic", "-t", "epic")["id"]
    moved = bd(cli, rig, "update", first, "--parent", epic)
    assert bd(cli, rig, "show", first)[0]["parent"] == epic and moved[0]["id"] == first
    assert ids(bd(cli, rig, "children", epic)) == [first]
    cli.bd("update", first, "--parent", "", cwd=rig)
    assert "parent" not in bd(cli, rig, "show", first)[0]
    loop = cli.bd("update", epic, "--parent", epic, ok=False, cwd=rig)
    assert "cannot be its own parent" in loop.stderr
    wisp = bd(cli, rig, "update", first, "--ephemeral")
    assert wisp[0]["ephemeral"] is True
    assert bd(cli, rig, "update", first, "--persistent")[0].get("ephemeral") is None
    meta = bd(cli, rig, "update", first, "--set-metadata", "team=core")
    assert meta[0]["metadata"] == {"team": "core"}
    cli.bd("update", epic, "--set-metadata", "team=x", cwd=rig)
    kid = bd(cli, rig, "create", "Kid", "--parent", epic)["id"]
    cli.bd("close", kid, cwd=rig)
    assert bd(cli, rig, "epic", "status", "--eligible-only")[0]["epic"]["id"] == epic
    closed = bd(cli, rig, "epic", "close-eligible")
    assert closed["closed"] == [epic]


@ON_BOTH_BACKENDS
def test_delete_previews_then_removes_and_doctor_checks_the_store(cli: Cli, rig: Path):
    a = bd(cli, rig, "create", "Doomed")["id"]
    b = bd(cli, rig, "create", "Depends on doomed")["id"]
    cli.bd("dep", "add", b, a, cwd=rig)
    cli.bd("label", "add", a, "x", cwd=rig)
    preview = bd(cli, rig, "delete", a)
    assert preview["dry_run"] and preview["orphaned_issues"] == [b]
    assert bd(cli, rig, "show", a)[0]["id"] == a
    done = bd(cli, rig, "delete", a, "--force")
    assert done["deleted"] == [a] and done["deleted_count"] == 1
    assert cli.bd("show", a, ok=False, cwd=rig).returncode == 1
    assert "dependencies" not in bd(cli, rig, "show", b)[0]  # the edge went with it
    c = bd(cli, rig, "create", "Root")["id"]
    d = bd(cli, rig, "create", "Leaf")["id"]
    cli.bd("dep", "add", d, c, cwd=rig)
    cascade = bd(cli, rig, "delete", c, "--cascade", "--force")
    assert sorted(cascade["deleted"]) == sorted([c, d])
    report = bd(cli, rig, "doctor")
    assert report["overall_ok"] is True
    assert {ch["name"] for ch in report["checks"]} >= {"store integrity", "dependency cycles"}
    x = bd(cli, rig, "create", "X")["id"]
    y = bd(cli, rig, "create", "Y")["id"]
    cli.bd("dep", "add", x, y, cwd=rig)
    cli.bd("dep", "add", y, x, "--no-cycle-check", cwd=rig)
    bad = cli.run("bd", "doctor", "--json", ok=False, cwd=rig)
    assert bad.returncode == 1 and '"name": "dependency cycles"' in bad.stdout


@ON_BOTH_BACKENDS
def test_kv_where_version_and_edit(cli: Cli, rig: Path, tmp_path: Path):
    assert bd(cli, rig, "kv", "set", "deploy_window", "friday") == {
        "schema_version": 1, "key": "deploy_window", "value": "friday"}
    assert bd(cli, rig, "kv", "get", "deploy_window")["value"] == "friday"
    assert bd(cli, rig, "kv", "list") == {"schema_version": 1, "deploy_window": "friday"}
    cli.bd("kv", "clear", "deploy_window", cwd=rig)
    missing = cli.run("bd", "kv", "get", "deploy_window", "--json", ok=False, cwd=rig)
    assert missing.returncode == 1 and '"found": false' in missing.stdout
    where = bd(cli, rig, "where")
    assert where["prefix"] == "gt"
    # a SQLite file, or the PostgreSQL database named by its URL (never with a password)
    assert (where["database_path"].endswith("beads.db")
            or where["database_path"].startswith("postgresql://"))
    assert "version" in bd(cli, rig, "version")
    bead = bd(cli, rig, "create", "Edit me", "-d", "old text")["id"]
    editor = tmp_path / "fake-editor"
    editor.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[-1], 'w')"
                      ".write('new text from the editor\\n')\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    cli.run("bd", "edit", bead, cwd=rig, env={"EDITOR": str(editor)})
    assert bd(cli, rig, "show", bead)[0]["description"] == "new text from the editor"
    no_editor = cli.run("bd", "edit", bead, ok=False, cwd=rig,
                        env={"EDITOR": "", "VISUAL": ""})
    assert "no $EDITOR set" in no_editor.stderr
