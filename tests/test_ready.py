"""bd ready and bd blocked against hand-worked examples (beads-reference §3.3-3.4)."""

from __future__ import annotations

import pytest


def ready_ids(store, **kw):
    return [b["id"] for b in store.ready(**kw)]


@pytest.fixture
def mk(store):
    def make(title, **kw):
        return store.create(title, prefix="gt", **kw)["id"]
    return make


def test_blockers_hold_work_until_closed(store, mk):
    a, b = mk("a"), mk("b")
    store.add_dependency(b, a)
    assert ready_ids(store) == [a]
    blocked = store.blocked()
    assert [x["id"] for x in blocked] == [b] and blocked[0]["blocked_by"] == [a]
    store.set_status(a, "closed")
    assert ready_ids(store) == [b]
    assert store.blocked() == []


def test_pinned_blocker_does_not_block_and_non_blocking_edges_never_block(store, mk):
    a, b, c = mk("a"), mk("b"), mk("c")
    store.add_dependency(b, a)
    store.update(a, changes={"status": "pinned"})
    store.add_dependency(c, b, "related")
    store.add_dependency(c, a, "tracks")
    assert sorted(ready_ids(store)) == sorted([b, c])


def test_parents_pass_blocking_down_but_open_parents_do_not_block(store, mk):
    epic = mk("epic", issue_type="epic")
    child = store.create("child", prefix="gt", parent=epic)["id"]
    grandchild = store.create("grandchild", prefix="gt", parent=child)["id"]
    assert {child, grandchild} <= set(ready_ids(store))
    other_epic = mk("other epic", issue_type="epic")
    store.add_dependency(epic, other_epic)
    ready = ready_ids(store)
    assert child not in ready and grandchild not in ready and epic not in ready
    assert {x["id"] for x in store.blocked()} == {epic, child, grandchild}
    store.set_status(other_epic, "closed")
    assert {epic, child, grandchild} <= set(ready_ids(store))


def test_deferred_beads_and_children_of_deferred_parents_wait(store, mk):
    later = mk("later", fields={"defer_until": "2999-01-01T00:00:00Z"})
    past = mk("past", fields={"defer_until": "2000-01-01T00:00:00Z"})
    parent = mk("parent", fields={"defer_until": "2999-01-01T00:00:00Z"})
    child = store.create("child", prefix="gt", parent=parent)["id"]
    ready = ready_ids(store)
    assert past in ready and later not in ready and parent not in ready and child not in ready
    assert {later, parent, child} <= set(ready_ids(store, include_deferred=True))
    status_deferred = mk("frozen", status="deferred")
    assert status_deferred not in ready_ids(store, include_deferred=True)


def test_only_open_work_types_are_ready(store, mk):
    work = mk("work")
    progress = mk("doing", status="in_progress")
    hooked = mk("hooked", status="hooked")
    mk("mr", issue_type="merge-request")
    mk("msg", issue_type="message")
    mk("gate", issue_type="gate")
    mk("wisp", ephemeral=True)
    pinned_flag = mk("pinned flag", fields={"pinned": True})
    assert ready_ids(store) == [work]
    assert pinned_flag not in ready_ids(store, include_ephemeral=True)
    assert set(ready_ids(store, allow_in_progress=True)) == {work, progress}
    assert hooked not in ready_ids(store, allow_in_progress=True)
    assert ready_ids(store, issue_types=["merge-request"]) != []


def test_waits_for_gates_on_children(store, mk):
    spawner = mk("spawner", issue_type="epic")
    kids = [store.create(f"k{i}", prefix="gt", parent=spawner)["id"] for i in range(2)]
    waiter = mk("waiter")
    store.add_dependency(waiter, spawner, "waits-for")
    assert waiter not in ready_ids(store)
    store.set_status(kids[0], "closed")
    assert waiter not in ready_ids(store)  # all-children gate
    store.set_status(kids[1], "closed")
    assert waiter in ready_ids(store)


def test_waits_for_any_children_gate(store, mk):
    spawner = mk("spawner", issue_type="epic")
    kids = [store.create(f"k{i}", prefix="gt", parent=spawner)["id"] for i in range(2)]
    waiter = mk("waiter")
    store.add_dependency(waiter, spawner, "waits-for")
    with store.conn.write() as db:
        db.execute("UPDATE dependencies SET metadata = ? WHERE issue_id = ?",
                   ('{"gate":"any-children"}', waiter))
    assert waiter not in ready_ids(store)
    store.set_status(kids[0], "closed")
    assert waiter in ready_ids(store)


def test_sort_is_priority_then_newest_then_id(store, mk):
    low = mk("low", priority=3)
    first = mk("first", priority=1)
    second = mk("second", priority=1)
    assert ready_ids(store) == [second, first, low]
    assert ready_ids(store, sort="oldest") == [low, first, second]
    assert ready_ids(store, limit=1) == [second]


def test_filters(store, mk):
    a = mk("a", assignee="x", labels=["ui"])
    b = mk("b", labels=["ui", "api"])
    mk("c")
    assert ready_ids(store, assignee="x") == [a]
    assert set(ready_ids(store, unassigned=True)) == set(ready_ids(store)) - {a}
    assert set(ready_ids(store, labels=["ui"])) == {a, b}
    assert ready_ids(store, labels=["ui", "api"]) == [b]
    assert set(ready_ids(store, exclude_labels=["ui"])).isdisjoint({a, b})
    assert ready_ids(store, prefixes=["zz"]) == []
