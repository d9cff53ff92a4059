"""RowTable: a keyed table with a row cursor, drawn line by line (Textual's line API).

What KeyedTable (a DataTable) does for a pane that only lists rows and lets one be picked, for
a fraction of its cost: DataTable renders each cell through a Rich console and measures every
row's cells on idle, which made the merge queue of a large town (200 MRs) the slowest part of
the control room's first frame. Here each row (and the header) becomes one Strip when it is
first drawn, and stays drawn until it or the columns' widths change.

`show_rows(rows)` shows `rows` (key -> cells, in order); the cursor stays on its row number.
Enter, or a click on the row under the cursor, posts `RowTable.Selected` with the row's key.
Columns are as wide as their widest cell, one cell of padding each side, as DataTable's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Row = tuple[Text | str, ...]


class RowTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .row-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .row-table--header {
                background-tint: $foreground 5%;
            }
        }
        & > .row-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .row-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .row-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES = {"row-table--header", "row-table--cursor"}
    BINDINGS = [
        Binding("enter", "select", "Select", show=False),
        Binding("down", "move(1)", "Cursor down", show=False),
        Binding("up", "move(-1)", "Cursor up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home,ctrl+home", "jump(0)", "First row", show=False),
        Binding("end,ctrl+end", "jump(-1)", "Last row", show=False),
    ]

    cursor_row: reactive[int] = reactive(0)

    class Selected(Message):
        """Enter (or a click on the cursor's row) on the row `key`."""

        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str | None = None,
                 classes: str | None = None) -> None:
        """`columns` as (key, label)."""
        super().__init__(id=id, classes=classes)
        self.column_keys = tuple(key for key, _ in columns)
        self._labels = tuple(Text(label) for _, label in columns)
        self._rows: dict[str, Row] = {}
        self._keys: list[str] = []
        self._widths = self._measure()
        # Drawn rows: key -> the row's cells as one strip, cursor style not applied; None
        # keys the header. Emptied when the columns' widths or the styles change.
        self._strips: dict[str | None, Strip] = {}
        self.virtual_size = Size(0, 1)

    # ------------------------------------------------------------------ content
    @property
    def rows_shown(self) -> Mapping[str, Row]:
        return self._rows

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, if there is one."""
        return self._keys[self.cursor_row] if 0 <= self.cursor_row < len(self._keys) else None

    def show_rows(self, rows: Mapping[str, Row]) -> None:
        """Show `rows`; only the rows that changed are drawn again."""
        if rows == self._rows:
            return
        changed = {key for key, cells in rows.items() if self._rows.get(key) != cells}
        self._strips = {key: strip for key, strip in self._strips.items()
                        if key is None or (key in rows and key not in changed)}
        self._rows = dict(rows)
        self._keys = list(rows)
        widths = self._measure()
        if widths != self._widths:
            self._widths = widths
            self._strips.clear()
        self.virtual_size = Size(self._line_width(), len(self._keys) + 1)
        self.cursor_row = max(0, min(self.cursor_row, len(self._keys) - 1))
        self.refresh()

    def _measure(self) -> tuple[int, ...]:
        widths = [label.cell_len for label in self._labels]
        for cells in self._rows.values():
            for column, cell in enumerate(cells[:len(widths)]):
                widths[column] = max(widths[column], cell.cell_len if isinstance(cell, Text)
                                     else cell_len(str(cell)))
        return tuple(widths)

    def _line_width(self) -> int:
        return sum(width + 2 for width in self._widths)

    # ------------------------------------------------------------------ drawing
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _cells_strip(self, cells: Sequence[Text | str]) -> Strip:
        line = Text(no_wrap=True, overflow="crop")
        for width, cell in zip(self._widths, cells, strict=False):
            text = cell if isinstance(cell, Text) else Text(str(cell))
            line.append(" ")
            line.append_text(text)
            line.append(" " * (width - text.cell_len + 1))
        return Strip(Segment.simplify(line.render(self.app.console)), line.cell_len)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        scroll_x = round(self.scroll_offset.x)
        if y == 0:
            header = self._strips.get(None)
            if header is None:
                header = self._strips[None] = self._cells_strip(self._labels)
            style = base + self.get_component_rich_style("row-table--header")
            return header.crop_extend(scroll_x, scroll_x + width, None).apply_style(style)
        index = round(self.scroll_offset.y) + y - 1
        if index >= len(self._keys):
            return Strip.blank(width, base)
        key = self._keys[index]
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._cells_strip(self._rows[key])
        strip = strip.crop_extend(scroll_x, scroll_x + width, None)
        if index == self.cursor_row:
            # Over the cells' own styles, as DataTable's cursor: the row reads as one.
            cursor = self.get_component_rich_style("row-table--cursor")
            strip = Strip(Segment.apply_style(strip, post_style=cursor), strip.cell_length)
        return strip.apply_style(base)

    # ------------------------------------------------------------------ cursor
    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        rows_visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows_visible:
            self.scroll_to(y=self.cursor_row - rows_visible + 1, animate=False, immediate=True)

    def action_move(self, step: int) -> None:
        if self._keys:
            self.cursor_row = max(0, min(len(self._keys) - 1, self.cursor_row + step))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, index: int) -> None:
        if self._keys:
            self.cursor_row = len(self._keys) - 1 if index < 0 else 0

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        """A click on a row puts the cursor there; on the row already under it, selects it."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        index = round(self.scroll_offset.y) + offset.y - 1
        if 0 <= index < len(self._keys):
            if index == self.cursor_row:
                self.action_select()
            else:
                self.cursor_row = index
