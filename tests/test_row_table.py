"""RowTable (the merge queue's line-API table): what a user sees and does with it, in a bare
app and in the control room's refinery pane."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from gastown_tui.widgets.row_table import RowTable
from gastown_tui.widgets.textual_internals import screen_text
from tests.fixtures.towns import build_demo_town, settled_app
from tests.waiting import until

COLUMNS = (("n", "#"), ("name", "name"), ("state", "state"))


def rows(count: int, state: str = "queued") -> dict[str, tuple[Text | str, ...]]:
    return {f"mr-{i}": (str(i + 1), f"mr-{i}", Text(state, style="green")) for i in range(count)}


class Host(App[None]):
    """A RowTable alone, showing `shown` with the focus; it keeps the keys selected."""

    def __init__(self, shown: dict[str, tuple[Text | str, ...]]) -> None:
        super().__init__()
        self.table = RowTable(COLUMNS, id="table")
        self.shown = shown
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.table

    def on_mount(self) -> None:
        self.table.show_rows(self.shown)
        self.table.focus()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        self.selected.append(event.key)


def lines(app: App) -> list[str]:
    """The screen's lines, without the scrollbar's two columns on the right (40 wide)."""
    return [line[:38] for line in screen_text(app).splitlines()]


async def test_the_header_stays_and_the_cursor_row_stays_in_view():
    app = Host(rows(30))
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.table
        await pilot.pause()
        assert lines(app)[0].split() == ["#", "name", "state"]
        assert lines(app)[1].split() == ["1", "mr-0", "queued"]
        await pilot.press("pagedown")
        await pilot.press("down", "down")
        await pilot.pause()
        cursor = table.cursor_row
        assert cursor == 7 + 2 and table.cursor_key == f"mr-{cursor}"
        shown = lines(app)
        assert shown[0].split() == ["#", "name", "state"]  # scrolled: the header is still there
        assert f"mr-{cursor}" in "".join(shown[1:])
        assert "mr-0 " not in "".join(shown[1:])
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_key == "mr-29" and "mr-29" in lines(app)[-1]
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_key == "mr-0" and lines(app)[1].split()[1] == "mr-0"


async def test_new_rows_keep_the_cursor_row_and_draw_what_changed():
    app = Host(rows(5))
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.table
        await pilot.press("down", "down")
        table.show_rows(rows(3, state="merging"))
        await pilot.pause()
        assert table.cursor_row == 2 and table.cursor_key == "mr-2"
        assert [line.split()[2] for line in lines(app)[1:4]] == ["merging"] * 3
        assert lines(app)[4].strip() == ""  # the rows gone are gone from the screen
        wide = {"mr-0": ("1", "a-much-longer-merge-request", Text("queued"))}
        table.show_rows(wide)
        await pilot.pause()
        assert table.cursor_key == "mr-0"
        header = lines(app)[0]
        assert header.index("state") > header.index("name") + len("a-much-longer-merge-request")
        table.show_rows({})
        await pilot.pause()
        assert table.cursor_key is None
        await pilot.press("enter", "down")
        assert app.selected == []


async def test_enter_and_a_click_on_the_cursor_row_select_it():
    app = Host(rows(5))
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.table
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.selected == ["mr-1"], what="enter selects mr-1")
        await pilot.click(RowTable, offset=(3, 4))  # the fourth row: the cursor moves there
        await pilot.pause()
        assert table.cursor_key == "mr-3" and app.selected == ["mr-1"]
        await pilot.click(RowTable, offset=(3, 4))  # again: now it is selected
        await until(pilot, lambda: app.selected == ["mr-1", "mr-3"], what="click selects mr-3")
        await pilot.click(RowTable, offset=(3, 0))  # the header: nothing
        await pilot.pause()
        assert table.cursor_key == "mr-3" and len(app.selected) == 2


@pytest.fixture
def demo(tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    return build_demo_town(tmp_path, socket=tmux_socket, show_panes=True)


async def test_the_merge_queue_opens_the_mr_under_the_cursor(demo):
    from gastown_tui.screens.bead import BeadScreen

    app = settled_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await pilot.press("4")
        table = app.screen.query_one("#mq-table", RowTable)
        assert table.has_focus and table.row_count == 3
        await pilot.press("down")
        second = table.cursor_key
        assert second is not None and second == list(table.rows_shown)[1]
        assert app.screen.selection().mr == second  # r and x act on it
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, BeadScreen), what="its bead screen")
        assert app.screen.bead_id == second
