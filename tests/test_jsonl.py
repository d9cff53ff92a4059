"""bd JSONL export and import: shapes, key order, unknown keys, bad lines, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

from gastown_tui.town.store.jsonl import export_lines, import_jsonl

BD_LINES = [
    '{"id":"bd-bz1ac","title":"Issue to close","status":"closed","priority":1,"issue_type":"bug",'
    '"owner":"steve@example.com","created_at":"2026-01-12T02:16:11Z","created_by":"beads/crew/wolf",'
    '"updated_at":"2026-01-12T02:16:11Z","closed_at":"2026-01-12T02:16:11Z","work_type":"mutex"}',
    '{"id":"bd-z830","title":"Test child task","status":"closed","priority":2,"issue_type":"task",'
    '"created_at":"2025-12-27T23:26:58.246573-08:00","created_by":"beads/crew/emma",'
    '"updated_at":"2025-12-27T23:27:40.451603-08:00","close_reason":"cleanup",'
    '"dependencies":[{"issue_id":"bd-z830","depends_on_id":"bd-bz1ac","type":"parent-child",'
    '"created_at":"2025-12-27T23:27:02.984294-08:00","created_by":"daemon"}],'
    '"future_field":{"kept":true}}',
    '{"id":"bd-main-idj","title":"Pattern pass","status":"in_progress","priority":2,'
    '"issue_type":"chore","created_at":"2026-04-18T16:19:12Z","updated_at":"2026-04-18T16:30:16Z",'
    '"started_at":"2026-04-18T16:30:16Z","labels":["cleanup"],"dependency_count":0,'
    '"dependent_count":0,"comment_count":0,"comments":[{"id":1,"issue_id":"bd-main-idj",'
    '"author":"matt","text":"started","created_at":"2026-04-18T16:30:17Z"}]}',
]


def test_import_real_bd_lines_and_export_them_back(store):
    report = import_jsonl(store, "sample.jsonl", lines=BD_LINES)
    assert report.errors == [] and len(report.created) == 3
    child = store.get("bd-z830")
    assert child["future_field"] == {"kept": True}
    assert child["closed_at"] == "2025-12-28T07:27:41.451603Z"  # closed_at = max(times) + 1s
    assert store.details("bd-z830")["parent"] == "bd-bz1ac"
    assert store.comments_of("bd-main-idj")[0]["id"] == "1"
    lines = [json.loads(line) for line in export_lines(store)]
    by_id = {rec["id"]: rec for rec in lines}
    assert [rec["id"] for rec in lines] == ["bd-bz1ac", "bd-main-idj", "bd-z830"]
    first = by_id["bd-bz1ac"]
    assert list(first)[:4] == ["_type", "id", "title", "status"]
    assert first["created_at"] == "2026-01-12T02:16:11Z" and first["work_type"] == "mutex"
    assert list(first)[-3:] == ["dependency_count", "dependent_count", "comment_count"]
    assert by_id["bd-z830"]["future_field"] == {"kept": True}
    assert by_id["bd-z830"]["parent"] == "bd-bz1ac"
    assert by_id["bd-bz1ac"]["dependent_count"] == 1
    assert by_id["bd-main-idj"]["labels"] == ["cleanup"]


def test_export_escapes_html_like_go(store):
    store.create("a <b> & c", prefix="gt", description="line\u2028sep")
    line = next(export_lines(store))
    assert "\\u003cb\\u003e \\u0026 c" in line and "\\u2028" in line
    assert json.loads(line)["title"] == "a <b> & c"


def test_import_is_idempotent_and_never_removes(store):
    import_jsonl(store, "s", lines=BD_LINES)
    seq = store.current_seq()
    again = import_jsonl(store, "s", lines=BD_LINES)
    assert again.created == [] and again.updated == [] and len(again.unchanged) == 3
    _, changed = store.changed_since(seq)
    assert changed == []
    store.add_label("bd-bz1ac", "local-only")
    import_jsonl(store, "s", lines=BD_LINES)
    assert "local-only" in store.labels_of("bd-bz1ac")


def test_stale_records_do_not_overwrite_newer_ones(store):
    import_jsonl(store, "s", lines=BD_LINES[:1])
    store.update("bd-bz1ac", changes={"title": "renamed here"})
    report = import_jsonl(store, "s", lines=BD_LINES[:1])
    assert report.stale_skipped == ["bd-bz1ac"]
    assert store.get("bd-bz1ac")["title"] == "renamed here"


def test_bad_lines_are_reported_with_numbers_and_the_rest_imported(store):
    lines = [
        BD_LINES[0],
        '{"id":"gt-ok1","title":"fine"}',
        '{"id":"gt-trunc","title":"cut of',
        '[1, 2]',
        '{"id":"gt-bad","title":"x","priority":9}',
        '{"id":"../etc","title":"x"}',
        b'{"id":"gt-utf","title":"\xff\xfe"}',
        '{"id":"gt-long","title":"' + "x" * 600 + '"}',
        '{"id":"gt-type","title":"x","issue_type":"spaceship"}',
        '',
        '{"_type":"memory","key":"k","value":"v"}',
        '{"id":"gt-gone","title":"old","status":"tombstone"}',
        '{"id":"gt-wisp","title":"w","wisp":true}',
    ]
    report = import_jsonl(store, "mixed.jsonl", lines=lines)
    assert sorted(report.created) == ["bd-bz1ac", "gt-ok1", "gt-wisp"]
    assert [n for _, n, _ in report.errors] == [3, 4, 5, 6, 7, 8, 9]
    problems = dict((n, p) for _, n, p in report.errors)
    assert "not JSON" in problems[3] and "out of range" in problems[5]
    assert "invalid UTF-8" in problems[7] and "max 500" in problems[8]
    assert report.skipped == 2
    assert store.get("gt-ok1")["priority"] == 0  # bd does not default a missing priority
    assert store.get("gt-wisp")["ephemeral"] is True


def test_dry_run_writes_nothing(store):
    report = import_jsonl(store, "s", lines=BD_LINES, dry_run=True)
    assert len(report.created) == 3
    assert store.list_issues(include_all=True) == []


def test_gas_town_backup_folder(store, tmp_path):
    folder = tmp_path / "backup"
    folder.mkdir()
    rows = [
        {"assignee": None, "content_hash": "abc", "created_at": "2026-02-01T10:00:00Z",
         "description": "", "ephemeral": 0, "id": "gt-aaa", "issue_type": "task",
         "metadata": "{}", "priority": 2, "status": "open", "title": "A",
         "updated_at": "2026-02-01T10:00:00Z"},
        {"assignee": "gastown/polecats/toast", "created_at": "2026-02-01T11:00:00Z",
         "ephemeral": 0, "id": "gt-bbb", "issue_type": "task", "metadata": '{"k": 1}',
         "priority": 1, "status": "hooked", "title": "B", "updated_at": "2026-02-01T11:00:00Z"},
    ]
    (folder / "issues.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (folder / "labels.jsonl").write_text('{"issue_id":"gt-aaa","label":"ui"}\n')
    (folder / "dependencies.jsonl").write_text(
        '{"issue_id":"gt-bbb","depends_on_id":"gt-aaa","type":"blocks",'
        '"created_at":"2026-02-01T11:00:00Z","created_by":"x","metadata":"{}"}\n'
        '{"issue_id":"gt-bbb","depends_on_id":"gt-missing","type":"blocks",'
        '"created_at":"2026-02-01T11:00:00Z"}\n')
    (folder / "comments.jsonl").write_text(
        '{"id":"c1","issue_id":"gt-aaa","author":"a","text":"hi","created_at":"2026-02-01T12:00:00Z"}\n')
    (folder / "events.jsonl").write_text(
        '{"id":1,"issue_id":"gt-aaa","event_type":"created","actor":"a",'
        '"created_at":"2026-02-01T10:00:00Z"}\nnot json\n')
    report = import_jsonl(store, folder)
    assert sorted(report.created) == ["gt-aaa", "gt-bbb"]
    assert [(f.endswith("events.jsonl"), n) for f, n, _ in report.errors] == [(True, 2)]
    # kept, not dropped: the target is a bead this backup left out
    assert report.skipped_dependencies == [] and report.dangling_dependencies == [
        "gt-bbb -> gt-missing"]
    assert {d["id"]: d["status"] for d in store.details("gt-bbb")["dependencies"]} == {
        "gt-aaa": "open", "gt-missing": "missing"}
    b = store.get("gt-bbb")
    assert b["assignee"] == "gastown/polecats/toast" and b["metadata"] == {"k": 1}
    assert "content_hash" not in store.get("gt-aaa")
    assert store.labels_of("gt-aaa") == ["ui"]
    assert [x["id"] for x in store.blocked()] == ["gt-bbb"]
    assert any(e["event_type"] == "created" and e["actor"] == "a"
               for e in store.events_of("gt-aaa"))
    again = import_jsonl(store, folder)
    assert again.created == [] and again.updated == []


def test_a_round_trip_keeps_every_dependency_even_to_beads_not_in_the_file(tmp_path: Path):
    """Upstream's own backup has 315 dependency rows, 233 of them pointing at wisps the
    backup leaves out: import then export must give every row back, and the missing ones
    must not block their issue."""
    from gastown_tui.town.store import BeadStore
    from gastown_tui.town.store.jsonl import export_to

    lines = []
    for n in range(6):
        deps = [{"issue_id": f"gt-i{n}", "depends_on_id": f"gt-wisp-w{n}{k}", "type": kind,
                 "created_at": "2026-01-01T00:00:00Z", "created_by": "mayor"}
                for k, kind in enumerate(("blocks", "related", "parent-child"))]
        if n:
            deps.append({"issue_id": f"gt-i{n}", "depends_on_id": f"gt-i{n - 1}",
                         "type": "blocks", "created_at": "2026-01-01T00:00:00Z",
                         "created_by": "mayor"})
        lines.append(json.dumps({"id": f"gt-i{n}", "title": f"issue {n}", "status": "open",
                                 "priority": 2, "issue_type": "task",
                                 "created_at": "2026-01-01T00:00:00Z",
                                 "updated_at": "2026-01-01T00:00:00Z", "dependencies": deps}))
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    store = BeadStore.create_at(tmp_path / "beads.db", actor="tester")
    try:
        report = import_jsonl(store, source)
        assert len(report.dangling_dependencies) == 18 and not report.skipped_dependencies
        out = tmp_path / "out.jsonl"
        with out.open("w") as fh:
            export_to(store, fh, prefixes=None, include_all=True, include_infra=True)

        def rows(path: Path) -> set[tuple[str, str, str]]:
            return {(d["issue_id"], d["depends_on_id"], d["type"])
                    for line in path.read_text().splitlines() if line.strip()
                    for d in json.loads(line).get("dependencies", [])}

        assert rows(out) == rows(source) and len(rows(out)) == 23
        # a missing target blocks nothing; a real open one still does
        assert sorted(b["id"] for b in store.blocked()) == [f"gt-i{n}" for n in range(1, 6)]
        assert "gt-i0" in [b["id"] for b in store.ready()]
    finally:
        store.close_connection()
