"""KeyedTable: a row-cursor DataTable whose rows are keyed by id and diffed on every update.

`show_rows(rows)` makes the table show `rows` (key -> cells, in order): it changes only the
cells that differ, and rebuilds only when rows come, go or move (one `update_cell` costs a full
visible re-render, so no-ops are skipped). The table keeps the rows it shows, so no caller
keeps a copy of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

Row = tuple[Text | str, ...]


class KeyedTable(DataTable[Text | str]):
    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str | None = None,
                 zebra_stripes: bool = False, classes: str | None = None) -> None:
        """`columns` as (key, label): cells are addressed by their column's key."""
        super().__init__(cursor_type="row", zebra_stripes=zebra_stripes, id=id,
                         classes=classes)
        self.column_keys = tuple(key for key, _ in columns)
        self._shown: dict[str, Row] = {}
        for key, label in columns:
            self.add_column(label, key=key)

    @property
    def rows_shown(self) -> Mapping[str, Row]:
        return self._shown

    def show_rows(self, rows: Mapping[str, Row]) -> None:
        """Show `rows`, touching only what changed; the cursor stays on its row number."""
        if list(rows) != list(self._shown):
            cursor = self.cursor_row
            with self.app.batch_update():
                self.clear()
                for key, cells in rows.items():
                    self.add_row(*cells, key=key)
                if rows:
                    self.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
            self._shown = dict(rows)
            return
        for key, cells in rows.items():
            old = self._shown[key]
            for column, new_cell, old_cell in zip(self.column_keys, cells, old, strict=True):
                if new_cell != old_cell:
                    self.update_cell(key, column, new_cell)
        self._shown = dict(rows)

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, if there is one."""
        if not self.row_count or not self.is_valid_row_index(self.cursor_row):
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None
