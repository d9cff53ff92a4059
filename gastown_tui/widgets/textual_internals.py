"""Every use of Textual's private API, in one place (Textual 8.2.8 is pinned).

Each one is here because no public API does the job yet; `tests/test_textual_internals.py`
checks each against the installed Textual, so an upgrade that changes one fails there, by name,
instead of somewhere in the control room. Nothing else in gastown_tui touches a `_` name of
Textual's (tests/test_textual_internals.py greps for it).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console
from textual.app import App
from textual.dom import DOMNode

if TYPE_CHECKING:  # importing it costs the control room's start-up 2 ms; only the beads,
    from textual.widgets import DataTable  # convoys and mail screens, opened later, use it

__all__ = ["closing", "screen_text", "table_sizes_pending"]


def closing(node: DOMNode) -> bool:
    """The node is being (or has been) removed: a message arriving now must not draw on it.
    Textual keeps these flags on every message pump; `is_attached` turns False only later."""
    return bool(node._closing or node._closed or node._pruning)


def screen_text(app: App) -> str:
    """The current frame as plain text: what App.export_screenshot renders (its compositor
    over the screen stack), printed without styles."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True,
                                                       screen_stack=app._background_screens))
    return "\n".join(line.rstrip() for line in console.export_text(styles=False).splitlines())


def table_sizes_pending(table: DataTable) -> bool:
    """The table has rows whose column widths and virtual size it has not measured yet:
    DataTable does that on idle, so until the app idles its cells are cut to the old widths
    (a snapshot taken then shows squeezed columns)."""
    return bool(table._require_update_dimensions)
