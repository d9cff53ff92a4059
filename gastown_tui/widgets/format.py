"""Pure helpers that turn snapshot values into short text: ages, badges, bars, truncation."""

from __future__ import annotations

import re
from datetime import datetime

from rich.cells import cell_len
from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.strip import Strip

from gastown_tui.model.snapshot import parse_ts

READING = "reading the town…"  # what a pane says before the town's first read is in
STATE_STYLE = {
    "working": "bold green", "idle": "dim", "stalled": "bold yellow", "zombie": "bold red",
    "done": "bold cyan", "running": "green", "stopped": "dim", "blocked": "bold red",
    "rate-limited": "bold magenta", "away": "dim", "host unreachable": "bold red",
}
STAGE_STYLE = {"queued": "dim", "claimed": "cyan", "rebasing": "cyan", "merging": "bold green",
               "pushing": "bold green", "conflict": "bold red", "failed": "bold red",
               "blocked": "yellow"}
ATTENTION_GLYPH = {"escalation": ("⚠", "bold red"), "conflict": ("✗", "red"),
                   "failed": ("✗", "red"), "stalled": ("⏸", "yellow"),
                   "zombie": ("☠", "red"), "blocked": ("⛔", "bold red"),
                   "rate-limited": ("⏳", "magenta"), "gate": ("⏸", "bold yellow"),
                   "warrant": ("⚖", "bold red"), "mail": ("✉", "cyan"),
                   "unreachable": ("⇄", "bold red")}
GLYPH_STYLE = {"✓": "green", "▶": "cyan", "○": "dim", "✗": "red", "?": "yellow"}
# C0 (tab aside), DEL and C1: what is left of a sequence Text.from_ansi could not parse.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _is_default(color: Color | None) -> bool:
    return color is not None and color.is_default


def ansi_text(raw: str) -> Text:
    """One captured pane line as Text. tmux writes explicit "default colour" codes (39/49);
    they are dropped so the line takes the widget's colours instead of the terminal's."""
    text = Text.from_ansi(raw, no_wrap=True, end="")
    text.expand_tabs()
    if _CONTROL.search(text.plain):
        # A cut-off or unknown sequence stays in the text as it came (ESC, C1 CSI, NUL...):
        # drawn as is it would be a command to the user's own terminal (ESC c resets it).
        # Same length, so the spans still line up.
        text.plain = _CONTROL.sub("\ufffd", text.plain)
    spans = []
    for span in text.spans:
        style = span.style
        if isinstance(style, Style) and (_is_default(style.color) or _is_default(style.bgcolor)):
            style = Style(color=None if _is_default(style.color) else style.color,
                          bgcolor=None if _is_default(style.bgcolor) else style.bgcolor,
                          bold=style.bold, dim=style.dim, italic=style.italic,
                          underline=style.underline, reverse=style.reverse, strike=style.strike)
            if not style:
                continue
        spans.append(Span(span.start, span.end, style))
    text.spans = spans
    return text


def text_strip(text: Text, console: Console) -> Strip:
    """A line of Text as a Strip, for line-API widgets that keep their lines drawn. Runs of
    one style become one segment: fewer to crop and compose on every frame."""
    return Strip(Segment.simplify(text.render(console)), text.cell_len)


def age(ts: str | None, now: datetime) -> str:
    """'12s', '4m', '2h', '3d' since ts; '' when ts is missing or in the future."""
    when = parse_ts(ts)
    if when is None:
        return ""
    seconds = int((now - when).total_seconds())
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def clock_time(ts: str | None) -> str:
    """HH:MM of an RFC3339 time (UTC, as the town writes it)."""
    when = parse_ts(ts)
    return when.strftime("%H:%M") if when else "--:--"


def progress_bar(done: int, total: int, width: int = 5) -> str:
    if total <= 0:
        return "▱" * width
    filled = round(width * done / total)
    return "▰" * filled + "▱" * (width - filled)


def stage_label(stage: str) -> str:
    """gates:test -> test; the refinery's stage names are otherwise shown as they are."""
    return stage.split(":", 1)[1] if stage.startswith("gates:") else stage


def fit(text: Text, width: int) -> Text:
    """Cut `text` to `width` cells with an ellipsis (never wraps)."""
    if width <= 0:
        return Text()
    if text.cell_len > width:
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
    return text


def spread(left: Text, right: Text, width: int) -> Text:
    """left … right on one line of `width` cells; the left side gives way first."""
    room = width - right.cell_len - 1
    if room < 8:
        return fit(left, width)
    line = fit(left, room)
    line.append(" " * (width - line.cell_len - right.cell_len))
    line.append_text(right)
    return line


def short_agent(address: str) -> str:
    """gastown/polecats/nux -> nux; mayor/ -> mayor."""
    return address.rstrip("/").rsplit("/", 1)[-1] if address else ""


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cells(text: str) -> int:
    return cell_len(text)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...] | list[float]) -> str:
    """Values as bars scaled to their largest; nothing spent shows as the lowest bar."""
    top = max(values, default=0.0)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, int(v / top * (len(SPARKS) - 1) + 0.999))]
                   if v > 0 else SPARKS[0] for v in values)


def money(value: float) -> str:
    """$0.42, $12.30; below a cent, $0.004."""
    if 0 < value < 0.01:
        return f"${value:.3f}"
    return f"${value:,.2f}"

