"""TownFooter: the keys the screen offers, one line drawn by one widget.

Textual's Footer is a container with a widget per key, each styled as it mounts, and it
recomposes on every bindings signal (each focus move, screen push and town snapshot): on the
main screen a dozen widgets built two or three times in the first second, a tenth of the
launch. This one lays the same line out itself and repaints it only when what it shows
changed. Like Footer: one key per action, a disabled key dimmed (its tooltip says why), a
press on a key presses it (a disabled one rings the bell). Help and quit stay whole at the
right end: on a narrow terminal the cut falls on the verbs.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

PINNED = ("help", "quit")


@dataclass(frozen=True)
class FooterEntry:
    key: str
    key_display: str
    description: str
    action: str
    enabled: bool
    tooltip: str

    @property
    def width(self) -> int:
        return cell_len(self.key_display) + (1 + cell_len(self.description)
                                             if self.description else 0)


class TownFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"footer-key--key", "footer-key--description", "footer-key--hover"}
    DEFAULT_CSS = """
    TownFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        & > .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .footer-key--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: tuple[FooterEntry, ...] = ()
        self._hover: FooterEntry | None = None
        self._pending = False

    # ------------------------------------------------------------------ what it shows
    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._read_bindings()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self._pending or not screen.app.app_focus or screen is not self.screen:
            return
        self._pending = True  # one read per refresh, however many signals came
        self.call_after_refresh(self._read_bindings)

    def _read_bindings(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        entries: dict[str, FooterEntry] = {}
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in entries:  # one key per action
                entries[binding.action] = FooterEntry(
                    binding.key, self.app.get_key_display(binding), binding.description,
                    binding.action, enabled, tooltip)
        shown = tuple(entries.values())
        if shown != self.entries:
            self.entries = shown
            if self._hover is not None:
                self._hover = next((e for e in shown if e.action == self._hover.action), None)
                self._set_tooltip()
            self.refresh()

    # ------------------------------------------------------------------ layout
    def spans(self, width: int | None = None) -> list[tuple[int, int, FooterEntry]]:
        """(first cell, end cell, entry) of each key drawn at `width` (the widget's): the
        verbs from the left, one space apart, cut at help and quit, which end one cell from
        the right edge."""
        width = self.size.width if width is None else width
        pinned = [e for e in self.entries if e.action in PINNED]
        verbs = [e for e in self.entries if e.action not in PINNED]
        right_start = width - sum(e.width + 1 for e in pinned)
        out = []
        x = 0
        for entry in verbs:
            if x >= right_start:
                break
            end = min(x + entry.width, right_start)
            out.append((x, end, entry))
            x += entry.width + 1
        x = max(0, right_start)
        for entry in pinned:
            out.append((x, min(width, x + entry.width), entry))
            x += entry.width + 1
        return out

    def entry_at(self, x: int) -> FooterEntry | None:
        return next((entry for start, end, entry in self.spans() if start <= x < end), None)

    def render(self) -> Text:
        key_style = self.get_component_rich_style("footer-key--key")
        text_style = self.get_component_rich_style("footer-key--description")
        hover_style = self.get_component_rich_style("footer-key--hover", partial=True)
        width = self.size.width
        line = Text(no_wrap=True, overflow="crop", end="")
        x = 0
        for start, end, entry in self.spans(width):
            if start > x:
                line.append(" " * (start - x))
            label = Text.assemble((entry.key_display, key_style),
                                  *(((" " + entry.description, text_style),)
                                    if entry.description else ()))
            if entry is self._hover:
                label.stylize(hover_style)
            if not entry.enabled:
                label.stylize(Style(dim=True))
            label.truncate(end - start)
            line.append_text(label)
            x = end
        if width > x:
            line.append(" " * (width - x))
        return line

    # ------------------------------------------------------------------ the mouse
    def on_mouse_move(self, event: events.MouseMove) -> None:
        entry = self.entry_at(event.x)
        if entry is not self._hover:
            self._hover = entry
            self._set_tooltip()
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self._set_tooltip()
            self.refresh()

    def _set_tooltip(self) -> None:
        entry = self._hover
        self.tooltip = (entry.tooltip or None) if entry is not None else None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        entry = self.entry_at(event.x)
        if entry is None:
            return
        if entry.enabled:
            self.app.simulate_key(entry.key)
        else:
            self.app.bell()
