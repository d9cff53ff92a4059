"""Every private Textual name the control room uses, checked against the installed Textual:
when an upgrade changes one, the failure is here and names it. And nothing outside
widgets/textual_internals.py reaches for a private Textual name."""

from __future__ import annotations

import re
from pathlib import Path

import textual
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Label  # (Footer: a widget with bindings)

from gastown_tui.widgets import textual_internals as internals

PACKAGE = Path(__file__).resolve().parents[1] / "gastown_tui"
PRIVATE = re.compile(r"from textual[\w.]*\._|textual\.\w+\._\w|\._(closing|closed|pruning|"
                     r"compositor|background_screens|bindings_ready|disabled|size_updated|"
                     r"nodes|driver|require_update_dimensions)\b")


def test_textual_is_the_pinned_version():
    assert textual.__version__ == "8.2.8"  # the internals below were read on this one


def test_no_private_textual_name_outside_the_internals_module():
    offenders = []
    textual_layers = ("app", "screens", "verbs", "dialogs", "widgets", "cli")
    for path in (p for layer in textual_layers for p in (PACKAGE / layer).rglob("*.py")):
        if path.name == "textual_internals.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if PRIVATE.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("hello internals")
        yield Footer()


async def test_screen_text_is_the_frame_as_text():
    app = Host()
    async with app.run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        text = internals.screen_text(app)
    assert "hello internals" in text.splitlines()[0]
    assert len(text.splitlines()) == 5


async def test_closing_follows_a_popped_screen():
    app = Host()
    async with app.run_test(size=(40, 5)) as pilot:
        screen = Screen()
        await app.push_screen(screen)
        await pilot.pause()
        assert not internals.closing(screen)
        await app.pop_screen()
        await pilot.pause()
        assert internals.closing(screen)


async def test_table_sizes_pending_until_the_table_is_measured():
    from textual.widgets import DataTable

    class Table(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    app = Table()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(DataTable)
        table.add_column("name")
        table.add_row("a much longer cell than its label")
        assert internals.table_sizes_pending(table)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        deadline = 100
        while internals.table_sizes_pending(table) and deadline:
            await pilot.pause()
            deadline -= 1
        assert not internals.table_sizes_pending(table)
        assert table.columns[next(iter(table.columns))].get_render_width(table) > len("name") + 2
