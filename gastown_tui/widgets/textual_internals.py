"""Every use of Textual's private API, in one place (Textual 8.2.8 is pinned).

Each one is here because no public API does the job yet; `tests/test_textual_internals.py`
checks each against the installed Textual, so an upgrade that changes one fails there, by name,
instead of somewhere in the control room. Nothing else in gastown_tui touches a `_` name of
Textual's (tests/test_textual_internals.py greps for it).
"""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App
from textual.dom import DOMNode
from textual.widgets import DataTable, Footer

# The Footer's key widget: Textual exports it from no public module.
from textual.widgets._footer import FooterKey

__all__ = ["FooterKey", "closing", "footer_bindings_ready", "screen_text",
           "set_footer_key_enabled", "table_sizes_pending"]


def closing(node: DOMNode) -> bool:
    """The node is being (or has been) removed: a message arriving now must not draw on it.
    Textual keeps these flags on every message pump; `is_attached` turns False only later."""
    return bool(node._closing or node._closed or node._pruning)


def footer_bindings_ready(footer: Footer) -> None:
    """What Footer.bindings_changed sets before composing: compose() yields nothing until the
    first bindings signal has been seen."""
    footer._bindings_ready = True


def set_footer_key_enabled(key: FooterKey, enabled: bool) -> bool:
    """Grey a footer key in place (or not) without recomposing the footer; True if changed.
    `_disabled` is what FooterKey's constructor sets and its click handler reads (a disabled
    key rings the bell instead of pressing)."""
    if key._disabled != (not enabled):
        key._disabled = not enabled
        key.set_class(not enabled, "-disabled")
        return True
    return False


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
