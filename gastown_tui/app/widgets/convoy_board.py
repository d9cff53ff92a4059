"""ConvoyBoard: open (and recently landed) convoys, a progress bar and each tracked bead."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from gastown_tui.app.format import GLYPH_STYLE, fit, progress_bar, short_agent, spread
from gastown_tui.town.snapshot import ConvoyView, TownSnapshot

LINES_PER_CONVOY = 2


def convoy_lines(convoy: ConvoyView, width: int) -> list[Text]:
    """Two lines: id, title and progress on the first; the tracked beads on the second."""
    title = Text.assemble((convoy.id, "cyan"), " ", (convoy.title, "bold"))
    if convoy.landed:
        title.stylize("dim")
        progress = Text("landed ✓", style="green")
    else:
        progress = Text.assemble(f"{convoy.completed}/{convoy.total} ",
                                 (progress_bar(convoy.completed, convoy.total), "green"))
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

    def render(self) -> Text:
        width = self.size.width
        lines: list[Text] = []
        for index, convoy in enumerate(self.convoys):
            block = convoy_lines(convoy, width)
            if index == self.selected and self.has_class("-focused"):
                cursor = self.get_component_rich_style("convoy-list--cursor")
                for line in block:
                    line.append(" " * max(0, width - line.cell_len))
                    line.stylize(cursor)
            lines.extend(block)
        if not lines:
            return Text("no open convoys", style="dim")
        return Text("\n").join(lines)

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
