"""The bead store: bd's fields, ids, dependencies, labels, comments, events and change feed."""

from __future__ import annotations

import re

import pytest

from gastown_tui.town.errors import (
    BeadNotFoundError,
    ClosedBeadError,
    ConflictError,
    DependencyCycleError,
    ValidationError,
)
from gastown_tui.town.store.ids import adaptive_length


def test_create_assigns_bd_ids_and_fields(store):
    bead = store.create("Fix the widget", prefix="gt", priority="P1", issue_type="feat",
                        labels=["ui", "bug"], description="<b>&")
    assert re.fullmatch(r"gt-[0-9a-z]{3}", bead["id"])
    assert bead["priority"] == 1 and bead["issue_type"] == "feature"
    assert bead["labels"] == ["bug", "ui"]
    assert bead["created_by"] == "tester" and bead["status"] == "open"
    assert list(bead)[:3] == ["id", "title", "description"]
    wisp = store.create("patrol", prefix="gt", ephemeral=True)
    assert wisp["id"].startswith("gt-wisp-") and wisp["ephemeral"] is True
    convoy = store.create("Batch", prefix="hq", issue_type="convoy")
    assert re.fullmatch(r"hq-cv-[0-9a-z]{5}", convoy["id"])


def test_adaptive_id_length_follows_bd_table():
    assert [adaptive_length(n) for n in (0, 163, 164, 983, 984, 5898, 5899)] == [3, 3, 4, 4, 5, 5, 6]


def test_children_get_dotted_ids_and_parent_child_edges(store):
    epic = store.create("Epic", prefix="gt", issue_type="epic")
    a = store.create("a", prefix="gt", parent=epic["id"])
    b = store.create("b", prefix="gt", parent=epic["id"])
    assert (a["id"], b["id"]) == (f"{epic['id']}.1", f"{epic['id']}.2")
    assert store.details(a["id"])["parent"] == epic["id"]
    with pytest.raises(ConflictError, match="open child"):
        store.set_status(epic["id"], "closed")


@pytest.mark.parametrize("kwargs,match", [
    ({"title": ""}, "title is required"),
    ({"title": "x" * 501}, "max 500"),
    ({"title": "t", "priority": 7}, "out of range"),
    ({"title": "t", "issue_type": "nonsense"}, "unknown issue type"),
    ({"title": "t", "status": "weird"}, "unknown status"),
])
def test_create_validates_like_bd(store, kwargs, match):
    kwargs = dict(kwargs)  # the same dict comes to each backend
    title = kwargs.pop("title")
    with pytest.raises(ValidationError, match=match):
        store.create(title, prefix="gt", **kwargs)


def test_update_close_reopen_keep_the_closed_at_invariant(store):
    bead = store.create("t", prefix="gt")
    updated = store.update(bead["id"], changes={"status": "in_progress", "assignee": "me"},
                           append_notes="first")
    assert updated["started_at"] and updated["assignee"] == "me"
    store.update(bead["id"], append_notes="second")
    assert store.get(bead["id"])["notes"] == "first\nsecond"
    closed = store.set_status(bead["id"], "closed", reason="done")
    assert closed["closed_at"] and closed["close_reason"] == "done"
    with pytest.raises(ClosedBeadError, match="already closed"):
        store.set_status(bead["id"], "closed")
    reopened = store.set_status(bead["id"], "open")
    assert "closed_at" not in reopened and "close_reason" not in reopened
    kinds = [e["event_type"] for e in store.events_of(bead["id"])]
    assert kinds[0] == "created" and "closed" in kinds and kinds[-1] == "reopened"
    assert store.integrity_check() == []


def test_claim_is_compare_and_swap(store):
    bead = store.create("t", prefix="gt")
    store.actor = "alice"
    assert store.update(bead["id"], claim=True)["assignee"] == "alice"
    assert store.update(bead["id"], claim=True)["status"] == "in_progress"  # idempotent
    store.actor = "bob"
    with pytest.raises(ConflictError, match="already claimed by alice"):
        store.update(bead["id"], claim=True)


def test_dependency_rules(store):
    a = store.create("a", prefix="gt")
    b = store.create("b", prefix="gt")
    c = store.create("c", prefix="gt")
    store.add_dependency(a["id"], b["id"])
    assert store.add_dependency(a["id"], b["id"])["status"] == "exists"
    with pytest.raises(ValidationError, match="already has a blocks dependency"):
        store.add_dependency(a["id"], b["id"], "related")
    with pytest.raises(ValidationError, match="itself"):
        store.add_dependency(a["id"], a["id"])
    store.add_dependency(b["id"], c["id"])
    with pytest.raises(DependencyCycleError, match=r"cycle: .*"):
        store.add_dependency(c["id"], a["id"])
    # a non-blocking edge may close a loop
    store.add_dependency(c["id"], a["id"], "related")
    with pytest.raises(BeadNotFoundError):
        store.add_dependency(a["id"], "gt-nope")
    store.add_dependency(a["id"], "external:other:ot-123", "tracks")
    epic = store.create("e", prefix="gt", issue_type="epic")
    with pytest.raises(ValidationError, match="epics can only block epics"):
        store.add_dependency(epic["id"], a["id"])
    store.remove_dependency(a["id"], b["id"])
    assert [d["depends_on_id"] for d in store.dependency_records(a["id"])] == [
        "external:other:ot-123"]


def test_every_dependency_type_is_stored(store):
    from gastown_tui.town.store.records import DEP_TYPES

    hub = store.create("hub", prefix="gt")
    for dep_type in DEP_TYPES:
        other = store.create(dep_type, prefix="gt")
        store.add_dependency(other["id"], hub["id"], dep_type)
    kinds = sorted(d["type"] for d in store.dependent_records(hub["id"]))
    assert kinds == sorted(DEP_TYPES)


def test_labels_comments_and_the_change_feed(store):
    bead = store.create("t", prefix="gt")
    seq = store.current_seq()
    store.add_label(bead["id"], "urgent")
    store.add_comment(bead["id"], "looks good", author="rev")
    other = store.create("untouched", prefix="gt")
    seq2, changed = store.changed_since(seq)
    assert seq2 > seq
    assert {c["id"] for c in changed} == {bead["id"], other["id"]}
    _, none = store.changed_since(seq2)
    assert none == []
    details = store.details(bead["id"])
    assert details["labels"] == ["urgent"]
    assert details["comments"][0]["text"] == "looks good" and details["comment_count"] == 1
    store.remove_label(bead["id"], "urgent")
    assert store.labels_of(bead["id"]) == []


def test_description_fields_update_in_one_transaction(store):
    bead = store.create("agent", prefix="gt",
                        description="Polecat toast\n\nrole_type: polecat\nagent_state: idle")
    store.update(bead["id"], description_fields={"agent_state": "working", "hook_bead": "gt-1"})
    desc = store.get(bead["id"])["description"]
    assert desc.startswith("Polecat toast\n\nrole_type: polecat\nagent_state: working")
    assert "hook_bead: gt-1" in desc


def test_locked_store_gives_a_clear_error(tmp_path, monkeypatch):
    import sqlite3

    from gastown_tui.town.errors import StoreLockedError
    from gastown_tui.town.store import BeadStore

    monkeypatch.setenv("GT_STORE_BUSY_TIMEOUT_MS", "100")
    store = BeadStore.create_at(tmp_path / "b.db")
    holder = sqlite3.connect(str(tmp_path / "b.db"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreLockedError, match="locked by another process"):
            store.create("t", prefix="gt")
    finally:
        holder.execute("ROLLBACK")
    assert store.create("t", prefix="gt")["title"] == "t"
