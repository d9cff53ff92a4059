"""PolecatWall: every polecat as a five-line tile (name, facts, its last pane lines), in
attention order (model/wall_order.py: what needs a person first, then the working, then one
line counting the done and idle), in ONE line-API widget.

Thirty (or a hundred) panes print all day. With a widget per tile, each new pane line made
Textual's compositor re-render the tile, the wall and every container around them; here a
tile is a range of the wall's lines, drawn from Strips it caches, and a new pane line
refreshes only the wall's lines that changed. A pane line is parsed once; the lines that did
not change are reused. Only the tiles inside the viewport are drawn at all, so the cost of
the wall follows the tiles on screen, not the number of agents.

The wall owns the selection (j/k, or a click on a tile) and the filter; the marks it draws
are the app's (`app.marks`), handed in by its screen.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gastown_tui.model.panes import agent_lines, as_seen
from gastown_tui.model.snapshot import AgentView, TownSnapshot
from gastown_tui.model.wall_order import FOLDED, fold_text, urgency, wall_order
from gastown_tui.town.safe_text import one_line
from gastown_tui.widgets.format import (
    READING,
    STATE_STYLE,
    age,
    ansi_text,
    fit,
    money,
    spread,
    text_strip,
)

TILE_SCREEN_LINES = 3
TILE_LINES = 2 + TILE_SCREEN_LINES  # name and badge, facts, the pane's last lines
STATES = ("working", "idle", "stalled", "zombie", "done", "blocked", "rate-limited",
          "host unreachable")
WARNING_STATES = ("stalled", "zombie", "blocked", "rate-limited", "host unreachable")
EMPTY = "no polecats — press s to sling work"
STRIP_CACHE = 64  # strips kept per tile: a screen's worth of recent pane lines


def tile_head(agent: AgentView, now: datetime, width: int, *, marked: bool = False,
              quiet_since: int = 0, rig: bool = False) -> list[Text]:
    """The tile's first two lines: name, hook and badge; evidence and git facts. `rig`:
    name the rig too (the wall is in attention order, not grouped by rig)."""
    badge = Text(f"● {agent.state}", style=STATE_STYLE.get(agent.state, ""))
    since = age(agent.hooked_since, now) if agent.state in ("working", "stalled") else ""
    if since:
        badge.append(f" {since}", style="dim")
    if agent.spend:
        badge = Text.assemble((money(agent.spend), "dim"), " ", badge)
    head = Text("◆ " if marked else "▣ ", style="bold magenta" if marked else "dim")
    if rig and agent.rig:
        head.append(f"{agent.rig}/", style="dim")
    head.append(agent.name, style="bold")
    if agent.role == "crew":
        head.append(" (crew)", style="magenta")
    if agent.host:  # a polecat on another host says which
        head.append(f" @{agent.host}", style="bold blue")
    if agent.hooked_bead:
        head.append(f"  {agent.hooked_bead} ", style="cyan")
        head.append(agent.hooked_title)
    lines = [spread(head, badge, width)]
    facts = Text("  ")
    if agent.state in WARNING_STATES:
        facts.append(f"⚠ {agent.evidence}", style="yellow")
    else:
        facts.append(agent.evidence, style="dim")
    if agent.branch:
        facts.append("  ⎇ ", style="dim")
        facts.append(agent.branch.removeprefix("polecat/"))
    if agent.ahead:
        facts.append(f" ↑{agent.ahead}", style="green")
    if agent.dirty:
        facts.append(f" ✎{agent.dirty}", style="yellow")
    if quiet_since:
        quiet = age(datetime.fromtimestamp(quiet_since, UTC).isoformat(), now)
        if quiet:
            facts.append(f"  output {quiet} ago", style="dim")
    if agent.pending_nudges:
        facts.append(f"  ✉{agent.pending_nudges} queued", style="cyan")
    lines.append(fit(facts, width))
    return lines


def tile_tail(agent: AgentView, screen: tuple[str, ...]) -> list[str]:
    """The pane lines a tile shows: the agent's last work, its CLI's chrome skipped."""
    return agent_lines(agent, screen, TILE_SCREEN_LINES)


def tail_text(raw: str, width: int) -> Text:
    text = Text("  │ ", style="dim")
    text.append_text(ansi_text(raw))
    return fit(text, width)


@dataclass
class Tile:
    """One polecat's part of the wall: what it draws from, and the lines drawn from it."""

    agent: AgentView
    screen: tuple[str, ...] = ()
    quiet_since: int = 0
    marked: bool = False
    lines: list[Strip] | None = None  # the tile's lines at the wall's width; None: redraw
    seen: AgentView | None = None  # the agent as its screen shows it (a dialog wins)
    heads: dict[tuple, Strip] = field(default_factory=dict)
    tails: dict[tuple[str, int], Strip] = field(default_factory=dict)


class PolecatWall(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    PolecatWall {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    PolecatWall > .polecat-wall--heading {
        color: $text-muted;
        text-style: bold;
        background: $panel;
    }
    PolecatWall > .polecat-wall--selected {
        background: $boost;
    }
    PolecatWall:focus > .polecat-wall--selected {
        background: $primary 25%;
    }
    PolecatWall > .polecat-wall--edge {
        color: $warning;
    }
    PolecatWall > .polecat-wall--empty {
        color: $text-muted;
    }
    PolecatWall > .polecat-wall--attention {
        color: $warning;
        text-style: bold;
        background: $panel;
    }
    PolecatWall > .polecat-wall--fold {
        color: $text-muted;
        background: $panel;
    }
    """
    COMPONENT_CLASSES = {"polecat-wall--heading", "polecat-wall--selected",
                         "polecat-wall--edge", "polecat-wall--empty",
                         "polecat-wall--attention", "polecat-wall--fold"}

    BINDINGS = [
        Binding("j,down", "move(1)", "Next polecat", show=False, id="wall-next"),
        Binding("k,up", "move(-1)", "Previous polecat", show=False, id="wall-previous"),
        Binding("g,home", "jump(0)", "First polecat", show=False, id="wall-first"),
        Binding("G,end", "jump(-1)", "Last polecat", show=False, id="wall-last"),
        Binding("z", "toggle_fold", "Show or fold done and idle", show=False, id="wall-fold"),
    ]

    selected: reactive[int] = reactive(0)

    class SelectionChanged(Message):
        def __init__(self, wall: PolecatWall) -> None:
            super().__init__()
            self.wall = wall

        @property
        def control(self) -> PolecatWall:
            return self.wall

    class Scrolled(SelectionChanged):
        """The viewport moved: the set of visible tiles (followed panes) may differ."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._agents: list[AgentView] = []
        # _agents through the filter in attention order, without the folded: kept by show()
        self._visible: list[AgentView] = []
        self._tiles: dict[str, Tile] = {}
        self._screens: dict[str, tuple[str, ...]] = {}
        self._escalated: frozenset[str] = frozenset()
        self._rigs = 0
        self._laying_out = False
        self._chosen = ""  # the selected tile's address, whose lines are drawn highlighted
        self.unfolded = False  # z: the done and idle as tiles too
        self.working = 0  # polecats at work as their screens show them (the pane's n/N)
        self.polecat_count = 0
        # The rows of the wall, top to bottom: ("heading", text), ("tile", address) or
        # ("fold", text), each row starting at the line in _starts (a heading or the fold
        # line is one line, a tile TILE_LINES).
        self._rows: list[tuple[str, str]] = []
        self._starts: list[int] = []
        self._tile_start: dict[str, int] = {}  # a tile's first line, by address
        self._by_session: dict[str, str] = {}
        self._now = datetime.now(UTC)
        self._styles: dict[str, Style] | None = None
        self._marked: frozenset[str] = frozenset()
        self.filter_text = ""
        self._last: tuple[TownSnapshot, dict[str, tuple[str, ...]], dict[str, int]] | None = None

    # ------------------------------------------------------------------ data
    @property
    def visible_agents(self) -> list[AgentView]:
        return self._visible

    def _filtered(self) -> list[AgentView]:
        text = self.filter_text.lower()
        return [a for a in self._agents
                if not text or text in f"{a.label} {a.hooked_bead} {a.hooked_title} {a.state}".lower()]

    @property
    def selected_agent(self) -> AgentView | None:
        agents = self.visible_agents
        return agents[self.selected] if 0 <= self.selected < len(agents) else None

    def show(self, snapshot: TownSnapshot, screens: dict[str, tuple[str, ...]],
             quiet: dict[str, int], marked: frozenset[str] | None = None) -> None:
        """Draw `snapshot`'s polecats with their pane `screens`, the time since their last
        output (`quiet`) and the `marked` addresses (unchanged when None)."""
        if marked is not None:
            self._marked = marked
        self._last = (snapshot, screens, quiet)
        self._screens = dict(screens)
        self._escalated = snapshot.escalated
        self._agents = list(snapshot.workers)
        self._rigs = len({a.rig for a in self._agents})
        self._lay_out()
        agents = self._visible
        now_changed = snapshot.taken_at != self._now
        self._now = snapshot.taken_at
        tiles: dict[str, Tile] = {}
        for agent in agents:
            tile = self._tiles.get(agent.address) or Tile(agent)
            screen = screens.get(agent.session, ())
            marked = agent.address in self._marked
            activity = quiet.get(agent.session, 0)
            if (now_changed or tile.agent != agent or tile.screen != screen
                    or tile.marked != marked or tile.quiet_since != activity):
                tile.agent, tile.screen, tile.marked = agent, screen, marked
                tile.quiet_since, tile.lines = activity, None
            tiles[agent.address] = tile
        self._tiles = tiles
        self._by_session = {a.session: a.address for a in agents}
        self.refresh()

    def _lay_out(self) -> None:
        """Order the agents (model/wall_order.py) and build the rows. The tile under the
        cursor is pinned at its index (see wall_order's docstring for why), so a refresh
        never moves it; the cursor moving re-lays the wall around the new tile."""
        chosen = self.selected_agent
        pinned = (chosen.address, self.selected) if chosen is not None else None
        by_address = {a.address: a for a in self._agents}
        # the order follows what each screen shows: a dialog up now is "blocked" now
        shown = {a.address for a in self._filtered()}
        every = [as_seen(a, self._screens.get(a.session, ())) for a in self._agents]
        self.working = sum(1 for a in every if a.role == "polecat" and a.state == "working")
        self.polecat_count = sum(1 for a in every if a.role == "polecat")
        seen = [a for a in every if a.address in shown]
        order = wall_order(seen, self._escalated, pinned=pinned,
                           unfold=self.unfolded or bool(self.filter_text))
        agents = self._visible = [by_address[a.address] for a in order.tiles]
        rows: list[tuple[str, str]] = []
        urgent = order.tiles[:order.attention]
        if urgent:
            count = sum(1 for a in urgent if urgency(a, self._escalated) >= 0)
            rows.append(("heading", f"⚠ {count} need{'s' if count == 1 else ''} you"))
            rows.extend(("tile", a.address) for a in urgent)
        others = order.tiles[order.attention:]
        if others:
            rows.append(("heading", _section_title(others)))
            rows.extend(("tile", a.address) for a in others)
        if order.folded:
            rows.append(("fold", fold_text(order.fold_counts)))
        if rows != self._rows:
            self._set_rows(rows)
        if agents:
            index = self.selected
            if pinned is not None and pinned[0] in (a.address for a in agents):
                index = [a.address for a in agents].index(pinned[0])
            self._laying_out = True
            try:
                self.selected = min(index, len(agents) - 1)
            finally:
                self._laying_out = False
        self._mark_chosen()

    def _mark_chosen(self) -> None:
        """Redraw the tile that lost the highlight and the one that gained it."""
        chosen = self.selected_agent
        address = chosen.address if chosen is not None else ""
        if address != self._chosen:
            for key in (self._chosen, address):
                if key in self._tiles:
                    self._tiles[key].lines = None
            self._chosen = address

    def _set_rows(self, rows: list[tuple[str, str]]) -> None:
        self._rows, self._starts, self._tile_start, line = rows, [], {}, 0
        for kind, key in rows:
            self._starts.append(line)
            if kind == "tile":
                self._tile_start[key] = line
            line += TILE_LINES if kind == "tile" else 1
        # No horizontal scrolling: lines are cut to the width, so the virtual width is 0.
        self.virtual_size = Size(0, line or 3)

    def set_screen(self, session: str, lines: tuple[str, ...], activity: int) -> None:
        """A followed pane changed: redraw its tile, and refresh only the lines that differ."""
        address = self._by_session.get(session)
        tile = self._tiles.get(address or "")
        if tile is None or (tile.screen == lines and tile.quiet_since == activity):
            return
        before = tile.lines
        self._screens[session] = lines
        if self._last is not None:  # a re-layout (the cursor, z, the filter) draws this screen
            snapshot, _, quiet = self._last
            self._last = (snapshot, dict(self._screens), {**quiet, session: activity})
        was = as_seen(tile.agent, tile.screen).state
        tile.screen, tile.quiet_since, tile.lines = lines, activity, None
        if as_seen(tile.agent, lines).state != was and self._last is not None:
            # a dialog came up or went: the tile may change section (the one under the
            # cursor stays put)
            self.show(*self._last)
            return
        start = self._tile_start.get(address or "")
        if start is None:
            return
        after = self._tile_lines(tile, self._width)
        changed = [n for n in range(TILE_LINES)
                   if before is None or n >= len(before) or before[n] != after[n]]
        if changed:
            self.refresh_lines(start + changed[0], changed[-1] - changed[0] + 1)

    def visible_sessions(self, *, whole: bool = False) -> set[str]:
        """Sessions whose tiles are inside the scrolled viewport (the only ones followed);
        `whole`: only tiles with every line on screen."""
        top = round(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        # Not laid out yet: the tiles that could fit the terminal (the wall is never taller).
        bottom = top + (height if height > 0 else self.app.size.height)
        out = set()
        for address, start in self._tile_start.items():
            end = start + TILE_LINES
            inside = top <= start and end <= bottom if whole else start < bottom and end > top
            if inside:
                out.add(self._tiles[address].agent.session)
        return out

    def dialog_sessions(self) -> set[str]:
        """Live sessions whose runtime can be held by a dialog or a rate limit, on screen or
        not: the model does not read panes, so only a followed pane tells the wall that an
        agent scrolled out of sight waits on a dialog (and belongs at the top)."""
        return {a.session for a in self._agents
                if a.session_running and a.screen is not None and a.screen.dialogs}

    # ------------------------------------------------------------------ drawing
    @property
    def _width(self) -> int:
        return max(0, self.scrollable_content_region.width)

    def _style(self, name: str) -> Style:
        if self._styles is None:
            self._styles = {"base": self.rich_style}
        if name not in self._styles:
            self._styles[name] = self.get_component_rich_style(name)
        return self._styles[name]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        for tile in self._tiles.values():
            tile.lines = None
            tile.heads.clear()
            tile.tails.clear()

    def on_focus(self) -> None:
        self._refresh_selected()

    def on_blur(self) -> None:
        self._refresh_selected()

    def _refresh_selected(self) -> None:
        chosen = self.selected_agent
        if chosen is not None and chosen.address in self._tiles:
            self._tiles[chosen.address].lines = None
            start = self._tile_start.get(chosen.address)
            if start is not None:
                self.refresh_lines(start, TILE_LINES)

    def render_line(self, y: int) -> Strip:
        width = self._width
        line = y + round(self.scroll_offset.y)
        base = self._style("base")
        if not self._rows:
            if line == 1:
                # Before the town's first read, say so: "no polecats" would be a claim; so
                # would it be while a filter hides every polecat there is.
                if self._last is None:
                    empty = READING
                elif self.filter_text and self._agents:
                    empty = f"no polecat matches “{one_line(self.filter_text)}” — esc clears the filter"
                else:
                    empty = EMPTY
                text = Text("  " + empty, style=self._style("polecat-wall--empty"))
                return text_strip(fit(text, width), self.app.console).apply_style(
                    base).crop_extend(0, width, base)
            return Strip.blank(width, base)
        index = bisect_right(self._starts, line) - 1
        if index < 0:
            return Strip.blank(width, base)
        kind, key = self._rows[index]
        offset = line - self._starts[index]
        if kind != "tile":
            if offset:
                return Strip.blank(width, base)
            name = {"fold": "polecat-wall--fold"}.get(
                kind, "polecat-wall--attention" if key.startswith("⚠") else "polecat-wall--heading")
            style = base + self._style(name)
            text = Text(f" {key}")
            if kind == "fold":
                text.append("  z shows them" if not self.unfolded else "", style="dim italic")
            return text_strip(fit(text, max(0, width - 1)),
                              self.app.console).apply_style(style).crop_extend(0, width, style)
        if offset >= TILE_LINES:
            return Strip.blank(width, base)
        lines = self._tile_lines(self._tiles[key], width)
        return lines[offset]

    def _tile_lines(self, tile: Tile, width: int) -> list[Strip]:
        if tile.lines is not None and (not tile.lines or tile.lines[0].cell_length == width):
            return tile.lines
        selected = tile.agent.address == self._chosen
        style = self._style("base")
        if selected:
            style = style + self._style("polecat-wall--selected")
        tile.seen = as_seen(tile.agent, tile.screen)
        edge = tile.seen.state in WARNING_STATES
        inner = max(0, width - 1 - (1 if edge else 0))  # one cell of padding on the right
        strips = self._tile_strips(tile, inner)
        out = []
        for n in range(TILE_LINES):
            strip = strips[n] if n < len(strips) else Strip.blank(0)
            strip = strip.apply_style(style).crop_extend(0, inner, style)
            if edge:
                mark = Segment("▌", self._style("base") + self._style("polecat-wall--edge"))
                strip = Strip([mark, *strip], inner + 1)
            out.append(strip.extend_cell_length(width, style).crop(0, width))
        tile.lines = out
        return out

    def _tile_strips(self, tile: Tile, width: int) -> list[Strip]:
        console = self.app.console
        strips = []
        for text in tile_head(tile.seen or tile.agent, self._now, width, marked=tile.marked,
                              quiet_since=tile.quiet_since, rig=self._rigs > 1):
            key = (text.plain, tuple(text.spans), width)
            strip = tile.heads.get(key)
            if strip is None:
                strip = tile.heads[key] = text_strip(text, console)
            strips.append(strip)
        for raw in tile_tail(tile.agent, tile.screen):
            strip = tile.tails.get((raw, width))
            if strip is None:
                strip = tile.tails[(raw, width)] = text_strip(tail_text(raw, width), console)
            strips.append(strip)
        for cache in (tile.heads, tile.tails):
            while len(cache) > STRIP_CACHE:
                del cache[next(iter(cache))]  # dicts keep insertion order: the oldest goes
        return strips

    # ------------------------------------------------------------------ selection
    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Scrolled(self))

    def watch_selected(self, old: int, new: int) -> None:
        if not self._laying_out and self._last is not None:
            # the cursor moved: re-sort around the tile now under it (it stays put)
            self._lay_out()
        self._mark_chosen()
        self.refresh()
        chosen = self.selected_agent
        start = self._tile_start.get(chosen.address) if chosen else None
        if start is not None:
            self.scroll_to_region(Region(0, start, max(1, self._width), TILE_LINES),
                                  animate=False, immediate=True)
        self.post_message(self.SelectionChanged(self))

    def action_move(self, step: int) -> None:
        count = len(self.visible_agents)
        if count:
            self.selected = max(0, min(count - 1, self.selected + step))

    def action_jump(self, index: int) -> None:
        count = len(self.visible_agents)
        if count:
            self.selected = count - 1 if index < 0 else 0

    def set_marks(self, marked: frozenset[str]) -> None:
        """The app's marked agents changed: redraw the tiles whose mark flipped."""
        flipped = marked ^ self._marked
        self._marked = marked
        for address in flipped:
            tile = self._tiles.get(address)
            if tile is not None:
                tile.marked, tile.lines = address in marked, None
        if flipped:
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        """A click on a tile selects it (a click on a rig heading or below selects nothing)."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        line = offset.y + round(self.scroll_offset.y)
        index = bisect_right(self._starts, line) - 1
        if index >= 0 and self._rows[index][0] == "fold":
            self.action_toggle_fold()
            return
        if index < 0 or self._rows[index][0] != "tile":
            return
        address = self._rows[index][1]
        addresses = [a.address for a in self.visible_agents]
        if address in addresses:
            self.selected = addresses.index(address)

    def action_toggle_fold(self) -> None:
        """z: the done and idle polecats as tiles too, or folded again to their line."""
        self.unfolded = not self.unfolded
        if self._last is not None:
            self.show(*self._last)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._visible = []  # a new filter starts at its first match: nothing is pinned
        self.selected = 0
        if self._last is not None:
            self.show(*self._last)
        # Other tiles are on screen (follow their panes) and the selected polecat may be
        # another, or none, even when the index stayed 0 and watch_selected did not run.
        self.post_message(self.Scrolled(self))
        self.post_message(self.SelectionChanged(self))


def _section_title(agents: tuple[AgentView, ...] | list[AgentView]) -> str:
    """The heading over the tiles that need no one: '2 working', '+ 3 done · 1 idle' when
    the done and idle are shown as tiles too."""
    counts: dict[str, int] = {}
    for agent in agents:
        key = agent.state if agent.state in FOLDED else "working"
        counts[key] = counts.get(key, 0) + 1
    parts = [f"{counts.pop('working')} working"] if "working" in counts else []
    parts += [f"{n} {state}" for state, n in counts.items()]
    return " · ".join(parts)
