"""PaneView: a tmux pane's screen (and scrollback) as a scrollable line-API widget.

Lines arrive with their SGR colour codes (`capture-pane -e`). Each line is parsed once and kept
as a Strip; an update re-renders only the lines that differ, and an identical update costs
nothing. While the view is scrolled to the bottom it follows new output, like a terminal;
scrolled up (PgUp), it stays where the reader is.

With `wrap`, a line wider than the view continues on the next rows (the Mayor's pane, where
a cut line loses the end of what the Mayor said); without, lines are cut, as a pane is.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gastown_tui.widgets.format import ansi_text


class PaneView(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    PaneView {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, placeholder: str = "", wrap: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.placeholder = placeholder
        self.wrap = wrap
        self._lines: tuple[str, ...] = ()
        self._strips: dict[int, Strip] = {}
        # wrap: each line's rows at _wrap_width, by the line's text (a line that did not
        # change is not wrapped again), and the view's rows as (line, row of that line)
        self._wrap_width = 0
        self._pieces: dict[str, list[Strip]] = {}
        self._rows: list[tuple[int, int]] = []

    @property
    def lines(self) -> tuple[str, ...]:
        return self._lines

    def show(self, lines: Sequence[str]) -> bool:
        """Replace the content; returns False (and does nothing) when it is unchanged."""
        new = tuple(lines)
        # tmux pads the screen with blank rows below the cursor; they are not output.
        end = len(new)
        while end and not new[end - 1].strip():
            end -= 1
        new = new[:end]
        if new == self._lines:
            return False
        old = self._lines
        following = self.is_vertical_scroll_end or not old
        self._lines = new
        changed = [y for y in range(max(len(old), len(new)))
                   if y >= len(old) or y >= len(new) or old[y] != new[y]]
        for y in changed:
            self._strips.pop(y, None)
        if self.wrap:
            self._rewrap()
        else:
            width = max((len(line) for line in new), default=0)
            self.virtual_size = Size(width, len(new))
        if following:
            # force: content that just outgrew the view has no scrollbar until the next
            # layout, and Textual would refuse the scroll (the view then stops following).
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        if self.wrap or len(changed) == len(new) or len(old) != len(new):
            self.refresh()  # wrapped: a line that changed may move every row below it
        else:
            for y in changed:
                self.refresh_lines(y)  # virtual line numbers; off-screen ones cost nothing
        return True

    def _rewrap(self) -> None:
        """The rows of every line at the view's width (one cell kept for the scrollbar)."""
        width = self.size.width - 1
        if width < 1:  # not laid out yet: on_resize wraps when the width is known
            width = 100_000
        if width != self._wrap_width:
            self._wrap_width, self._pieces = width, {}
        pieces, rows = {}, []
        for y, raw in enumerate(self._lines):
            wrapped = self._pieces.get(raw)
            if wrapped is None:
                text = ansi_text(raw)
                text.no_wrap = False
                wrapped = [Strip(line.render(self.app.console), line.cell_len)
                           for line in text.wrap(self.app.console, width, overflow="fold")]
                wrapped = wrapped or [Strip.blank(0)]
            pieces[raw] = wrapped
            rows.extend((y, n) for n in range(len(wrapped)))
        self._pieces, self._rows = pieces, rows
        self.virtual_size = Size(0, len(rows))

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap and self._lines and self.size.width - 1 != self._wrap_width:
            following = self.is_vertical_scroll_end
            self._rewrap()
            if following:
                self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
            self.refresh()

    def _strip(self, y: int) -> Strip:
        strip = self._strips.get(y)
        if strip is None:
            text = ansi_text(self._lines[y])
            strip = Strip(text.render(self.app.console), text.cell_len)
            self._strips[y] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self.rich_style
        if not self._lines:
            if y == 0 and self.placeholder:
                return Strip([Segment(self.placeholder[:width], style)]).extend_cell_length(
                    width, style)
            return Strip.blank(width, style)
        if self.wrap:
            if index >= len(self._rows):
                return Strip.blank(width, style)
            line, row = self._rows[index]
            pieces = self._pieces.get(self._lines[line])
            if pieces is None or row >= len(pieces):  # a style change dropped the rows
                self._rewrap()
                if index >= len(self._rows):
                    return Strip.blank(width, style)
                line, row = self._rows[index]
                pieces = self._pieces[self._lines[line]]
            strip = pieces[row].apply_style(style)
            return strip.crop_extend(0, width, style)
        if index >= len(self._lines):
            return Strip.blank(width, style)
        strip = self._strip(index).apply_style(style)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._pieces.clear()
        self._wrap_width = 0

    def tail(self, count: int) -> tuple[str, ...]:
        return self._lines[-count:]
