"""Keyed DataTable updates: change only the cells that differ; rebuild only when rows come,
go or move (a repaint after `update_cell` costs a full visible re-render, so skip no-ops)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

Row = tuple[Text | str, ...]


def keyed_table(columns: Sequence[tuple[str, str]], *, id: str, **options: object
                ) -> DataTable[Text]:
    """A row-cursor DataTable with `columns` as (key, label): the shape every table of the
    control room has, so sync_table can address its cells by key."""
    table: DataTable[Text] = DataTable(cursor_type="row", id=id, **options)  # type: ignore[arg-type]
    for key, label in columns:
        table.add_column(label, key=key)
    return table


def sync_table(table: DataTable, columns: Sequence[str], rows: Mapping[str, Row],
               previous: Mapping[str, Row]) -> dict[str, Row]:
    """Make `table` show `rows` (key -> cells, in order); returns the new `previous`."""
    if list(rows) != list(previous):
        cursor = table.cursor_row
        table.clear()
        for key, cells in rows.items():
            table.add_row(*cells, key=key)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
        return dict(rows)
    for key, cells in rows.items():
        old = previous[key]
        for column, new_cell, old_cell in zip(columns, cells, old, strict=True):
            if new_cell != old_cell:
                table.update_cell(key, column, new_cell)
    return dict(rows)


def cursor_key(table: DataTable) -> str | None:
    """The key of the row under the cursor, if there is one."""
    if not table.row_count:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:  # the cursor may point past a row that was just removed
        return None
    return str(key.value) if key.value is not None else None
