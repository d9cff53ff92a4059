"""The beads screen (`:beads`) on a real town, followed live: its rows hold still under the
cursor while the town re-sorts its beads, and its header counts the ready rows it lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from gastown_tui.app import make_app
from gastown_tui.widgets.keyed_table import KeyedTable
from tests.fixtures.towns import RecordedPanes
from tests.waiting import until


def _store(town: Path):
    from gastown_tui.ops.context import open_store
    from gastown_tui.town.layout import Town

    return open_store(Town(town), "overseer")


def _app(town: Path):
    # live: the town is followed as it changes; the panes are recorded (no agents here)
    return make_app(town, start_screen="beads", observer_factory=lambda root: RecordedPanes({}))


def _rows(app) -> list[str]:
    return list(app.screen.query_one(KeyedTable).rows_shown)


@pytest.fixture
def three_beads(town: Path) -> list[str]:
    store = _store(town)
    try:
        return [store.create(title, prefix="hq", priority=2)["id"]
                for title in ("First job", "Second job", "Third job")]
    finally:
        store.close_connection()


async def test_rows_hold_still_under_the_cursor_while_marking(town: Path, three_beads):
    app = _app(town)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: len(_rows(app)) == 3, what="three rows")
        before = _rows(app)
        table = app.screen.query_one(KeyedTable)
        await pilot.press("down")
        second = table.cursor_key
        await pilot.press("space")  # mark it; the cursor goes to the next row
        third = table.cursor_key
        assert app.marks.beads == {second} and third == before[2]
        # Meanwhile the town changes the order: a more urgent bead arrives and the first one
        # drops to the lowest priority (the store lists it ready-first, by priority).
        store = _store(town)
        try:
            urgent = store.create("Urgent job", prefix="hq", priority=0)["id"]
            store.update(before[0], changes={"priority": 4})
        finally:
            store.close_connection()
        await until(pilot, lambda: urgent in _rows(app), what="the new bead listed")
        assert _rows(app) == [*before, urgent]  # the new one joins at the bottom
        assert table.cursor_key == third  # the row under the cursor is the same bead
        await pilot.press("space")
        assert app.marks.beads == {second, third}
        assert table.cursor_key == urgent
        # R sorts again (ready first, by priority), the cursor kept on its bead
        await pilot.press("R")
        await pilot.pause()
        assert _rows(app)[0] == urgent and _rows(app)[-1] == before[0]
        assert table.cursor_key == urgent and table.cursor_row == 0
        assert app.marks.beads == {second, third}


async def test_a_closed_bead_leaves_and_the_cursor_keeps_its_bead(town: Path, three_beads):
    app = _app(town)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: len(_rows(app)) == 3, what="three rows")
        first, second, third = _rows(app)
        table = app.screen.query_one(KeyedTable)
        await pilot.press("down", "down")
        assert table.cursor_key == third
        store = _store(town)
        try:
            store.update(first, changes={"status": "closed"})
        finally:
            store.close_connection()
        await until(pilot, lambda: first not in _rows(app), what="the closed bead gone")
        assert _rows(app) == [second, third] and table.cursor_key == third


async def test_ready_counts_the_ready_rows_not_the_convoy(town: Path, three_beads):
    from gastown_tui.ops import convoy as convoy_ops
    from gastown_tui.town.layout import Town

    store = _store(town)
    try:
        convoy_ops.create(Town(town), store, "Three jobs", three_beads[:2], owner="overseer")
    finally:
        store.close_connection()
    app = _app(town)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: len(_rows(app)) == 3, what="three rows")
        title = str(app.screen.query_one(KeyedTable).border_title)
        assert title.startswith("3 ready · "), title  # the ready convoy is not a row here
