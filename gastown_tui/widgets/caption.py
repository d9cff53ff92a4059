"""DemoCaption: one line above the footer, in demo mode only, naming the beat of the demo's
story that just happened (gastown_tui/demo/story.py makes the words from the town's events)."""

from __future__ import annotations

from textual.widgets import Static


class DemoCaption(Static):
    DEFAULT_CSS = """
    DemoCaption {
        height: 1;
        padding: 0 1;
        background: $accent 25%;
        color: $text;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "caption", self._show)

    def _show(self, text: str) -> None:
        # Plain text: the words come from event payloads (bead ids, titles), never markup.
        from rich.text import Text

        self.update(Text(f"▶ {text}") if text else "")
