"""ConvoyBoard: open (and recently landed) convoys, a progress bar and each tracked bead."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from gastown_tui.model.snapshot import ConvoyView, TownSnapshot
from gastown_tui.widgets.format import (
    GLYPH_STYLE,
    READING,
    fit,
    money,
    progress_bar,
    short_agent,
    spread,
    text_strip,
)

LINES_PER_CONVOY = 2


def convoy_lines(convoy: ConvoyView, width: int) -> list[Text]:
    """Two lines: id, title and progress on the first; the tracked beads on the second."""
    title = Text.assemble((convoy.id, "cyan"), " ", (convoy.title, "bold"))
    if convoy.landed:
        title.stylize("dim")
        progress = Text("landed ✓", style="green")
    elif convoy.status.startswith("staged"):  # planned, not launched (gt convoy launch)
        progress = Text(f"{convoy.status.replace('_', ' ')} · {convoy.total} planned",
                        style="yellow")
    elif width < 40:  # narrow: the count alone, so the title keeps its words
        progress = Text(f"{convoy.completed}/{convoy.total}")
    else:
        progress = Text.assemble(f"{convoy.completed}/{convoy.total} ",
                                 (progress_bar(convoy.completed, convoy.total), "green"))
    if convoy.spend:
        progress = Text.assemble((money(convoy.spend), "dim"), " ", progress)
    progress = Text.assemble(" ", progress)  # two cells at least between title and count
    items = Text("  ")
    for item in convoy.tracked:
        if items.cell_len > width:  # the line is cut at the width: big convoys stop here
            break
        items.append(item.glyph, style=GLYPH_STYLE.get(item.glyph, ""))
        items.append(f" {item.id}")
        if item.worker:
            items.append(f"@{short_agent(item.worker)}", style="dim")
        items.append("  ")
    if not convoy.tracked:
        items.append("(tracks nothing yet)", style="dim")
    return [spread(title, progress, width), fit(items, width)]


class ConvoyList(Widget):
    """The drawn list; the board around it scrolls and owns the keys."""

    DEFAULT_CSS = """
    ConvoyList { height: auto; }
    ConvoyList > .convoy-list--cursor { background: $accent 15%; }
    """
    COMPONENT_CLASSES = {"convoy-list--cursor"}

    convoys: reactive[tuple[ConvoyView, ...]] = reactive(tuple, layout=True)
    selected: reactive[int] = reactive(0)
    read: reactive[bool] = reactive(False)  # a snapshot has been shown

    def __init__(self) -> None:
        super().__init__()
        self._blocks: dict[tuple[ConvoyView, int], tuple[Strip, Strip]] = {}

    def render_line(self, y: int) -> Strip:
        """Line by line from strips kept per convoy: only the lines on screen are drawn, and a
        convoy that did not change is not laid out again (the board can hold many)."""
        width, style = self.size.width, self.rich_style
        convoys = self.convoys
        if not convoys:
            # Before the town's first read, say so: "no open convoys" would be a claim.
            empty = "no open convoys" if self.read else READING
            text = Text(empty, style="dim") if y == 0 else Text()
            return text_strip(text, self.app.console).apply_style(style).crop_extend(
                0, width, style)
        index, row = divmod(y, LINES_PER_CONVOY)
        if index >= len(convoys):
            return Strip.blank(width, style)
        key = (convoys[index], width)
        block = self._blocks.get(key)
        if block is None:
            first, second = convoy_lines(convoys[index], width)
            block = self._blocks[key] = (text_strip(first, self.app.console),
                                         text_strip(second, self.app.console))
        strip = block[row]
        if index == self.selected and self.has_class("-focused"):
            cursor = self.get_component_rich_style("convoy-list--cursor")
            return strip.crop_extend(0, width, None).apply_style(style + cursor)
        return strip.apply_style(style).crop_extend(0, width, style)

    def watch_convoys(self, convoys: tuple[ConvoyView, ...]) -> None:
        self._blocks = {key: block for key, block in self._blocks.items()
                        if key[0] in convoys}  # the ones gone are dropped

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._blocks.clear()

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, LINES_PER_CONVOY * len(self.convoys))


class ConvoyBoard(VerticalScroll, can_focus=True):
    BINDINGS = [
        Binding("j,down", "move(1)", "Next convoy", show=False, id="convoy-next"),
        Binding("k,up", "move(-1)", "Previous convoy", show=False, id="convoy-previous"),
        Binding("g,home", "jump(0)", "First convoy", show=False, id="convoy-first"),
        Binding("G,end", "jump(-1)", "Last convoy", show=False, id="convoy-last"),
        Binding("enter", "open", "open convoy", id="convoy-open"),
    ]

    class Opened(Message):
        def __init__(self, board: ConvoyBoard, convoy_id: str) -> None:
            super().__init__()
            self.board = board
            self.convoy_id = convoy_id

        @property
        def control(self) -> ConvoyBoard:
            return self.board

    def compose(self):
        yield ConvoyList()

    @property
    def selected_convoy(self) -> str | None:
        board = self.query_one(ConvoyList)
        convoys = board.convoys
        return convoys[board.selected].id if 0 <= board.selected < len(convoys) else None

    def show(self, snapshot: TownSnapshot) -> None:
        board = self.query_one(ConvoyList)
        keep = self.selected_convoy
        convoys = snapshot.convoys
        board.read = True
        if convoys != board.convoys:
            ids = [c.id for c in convoys]
            board.convoys = convoys
            board.selected = ids.index(keep) if keep in ids else 0

    def on_focus(self) -> None:
        self.query_one(ConvoyList).add_class("-focused")
        self.query_one(ConvoyList).refresh()

    def on_blur(self) -> None:
        self.query_one(ConvoyList).remove_class("-focused")
        self.query_one(ConvoyList).refresh()

    def action_move(self, step: int) -> None:
        board = self.query_one(ConvoyList)
        if board.convoys:
            board.selected = max(0, min(len(board.convoys) - 1, board.selected + step))
            self.scroll_to_region(Region(0, board.selected * LINES_PER_CONVOY, 1,
                                         LINES_PER_CONVOY), animate=False)

    def action_jump(self, index: int) -> None:
        board = self.query_one(ConvoyList)
        if board.convoys:
            self.action_move(len(board.convoys) if index < 0 else -len(board.convoys))

    def action_open(self) -> None:
        convoy = self.selected_convoy
        if convoy is not None:
            self.post_message(self.Opened(self, convoy))
