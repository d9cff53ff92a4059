"""PolecatWall: one PolecatTile per polecat, grouped by rig, each with its last pane lines.

The wall owns the selection (j/k), marks (space) and the filter; tiles only draw. When the set
of polecats is unchanged, tiles are updated in place and only a tile whose agent or screen
changed repaints; mounting happens only when polecats come or go.

Tiles draw through the line API from Strips they cache: thirty panes print all day, and going
through `render()` re-parsed and re-laid out every line of a tile for each new line of output
(most of the control room's idle CPU). Now a new pane line is parsed once, and the lines that
did not change are reused.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from gastown_tui.model.snapshot import AgentView, TownSnapshot
from gastown_tui.widgets.format import STATE_STYLE, age, ansi_text, fit, spread, text_strip

TILE_SCREEN_LINES = 3
STATES = ("working", "idle", "stalled", "zombie", "done")


def tile_head(agent: AgentView, now: datetime, width: int, *, marked: bool = False,
              quiet_since: int = 0) -> list[Text]:
    """The tile's first two lines: name, hook and badge; evidence and git facts."""
    badge = Text(f"● {agent.state}", style=STATE_STYLE.get(agent.state, ""))
    since = age(agent.hooked_since, now) if agent.state in ("working", "stalled") else ""
    if since:
        badge.append(f" {since}", style="dim")
    head = Text("◆ " if marked else "▣ ", style="bold magenta" if marked else "dim")
    head.append(agent.name, style="bold")
    if agent.hooked_bead:
        head.append(f"  {agent.hooked_bead} ", style="cyan")
        head.append(agent.hooked_title)
    lines = [spread(head, badge, width)]
    facts = Text("  ")
    if agent.state in ("stalled", "zombie"):
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


def tile_tail(screen: tuple[str, ...]) -> list[str]:
    """The pane lines a tile shows: the last non-blank ones."""
    return [line for line in screen if line.strip()][-TILE_SCREEN_LINES:]


def tail_text(raw: str, width: int) -> Text:
    text = Text("  │ ", style="dim")
    text.append_text(ansi_text(raw))
    return fit(text, width)


class PolecatTile(Widget):
    """One polecat on the wall. Drawn from its AgentView and the last lines of its pane."""

    agent: reactive[AgentView | None] = reactive(None, layout=False)
    screen_lines: reactive[tuple[str, ...]] = reactive(tuple)
    marked: reactive[bool] = reactive(False)

    STRIP_CACHE = 64  # strips kept per tile: a screen's worth of recent pane lines

    def __init__(self, agent: AgentView, now: datetime, *, id: str | None = None) -> None:
        # Born with its state's class: added after mounting, it restyled each tile once more.
        super().__init__(id=id, classes=f"-{agent.state}" if agent.state in STATES else "")
        self.set_reactive(PolecatTile.agent, agent)
        self._now = now
        self._quiet_since = 0
        self._lines: list[Strip] | None = None  # None: rebuilt on the next render
        self._blank = Strip.blank(0)
        self._head_cache: dict[tuple, Strip] = {}
        self._tail_cache: dict[tuple[str, int], Strip] = {}

    @property
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, value: datetime) -> None:
        if value != self._now:
            self._now, self._lines = value, None

    @property
    def quiet_since(self) -> int:
        return self._quiet_since

    @quiet_since.setter
    def quiet_since(self, value: int) -> None:
        if value != self._quiet_since:
            self._quiet_since, self._lines = value, None

    def watch_agent(self) -> None:
        self._lines = None

    def watch_screen_lines(self) -> None:
        self._lines = None

    def watch_marked(self) -> None:
        self._lines = None

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        if resized:
            self._lines = None  # lines are cut to the width
        return resized

    def render_line(self, y: int) -> Strip:
        lines = self._lines
        if lines is None:
            # The style too is read once per rebuild (rich_style walks the ancestors' colours);
            # a change of class or theme comes through notify_style_update.
            width, style = self.size.width, self.rich_style
            lines = self._lines = [strip.apply_style(style).crop_extend(0, width, style)
                                   for strip in self._build(width)]
            self._blank = Strip.blank(width, style)
        return lines[y] if y < len(lines) else self._blank

    def _build(self, width: int) -> list[Strip]:
        agent = self.agent
        if agent is None:
            return []
        console = self.app.console
        strips = []
        for text in tile_head(agent, self.now, width, marked=self.marked,
                              quiet_since=self.quiet_since):
            key = (text.plain, tuple(text.spans), width)
            strip = self._head_cache.get(key)
            if strip is None:
                strip = self._head_cache[key] = text_strip(text, console)
            strips.append(strip)
        for raw in tile_tail(self.screen_lines):
            strip = self._tail_cache.get((raw, width))
            if strip is None:
                strip = self._tail_cache[(raw, width)] = text_strip(tail_text(raw, width),
                                                                    console)
            strips.append(strip)
        for cache in (self._head_cache, self._tail_cache):
            while len(cache) > self.STRIP_CACHE:
                del cache[next(iter(cache))]  # dicts keep insertion order: the oldest goes
        return strips

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = None
        self._head_cache.clear()
        self._tail_cache.clear()


class RigHeading(Static):
    """The name of a rig above its polecats."""


class PolecatWall(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
        PolecatWall {
            height: 1fr;
            background: $surface;
            scrollbar-size-vertical: 1;
        }

        PolecatWall .rig-heading {
            height: 1;
            padding: 0 1;
            color: $text-muted;
            text-style: bold;
            background: $panel;
        }

        PolecatTile {
            height: 5;
            padding: 0 1 0 0;
        }

        PolecatTile.-selected {
            background: $boost;
        }

        PolecatWall:focus PolecatTile.-selected {
            background: $primary 25%;
        }

        PolecatTile.-stalled, PolecatTile.-zombie {
            border-left: outer $warning;
        }


        PolecatWall .empty {
            color: $text-muted;
            padding: 1 2;
        }
    """

    BINDINGS = [
        Binding("j,down", "move(1)", "Next polecat", show=False, id="wall-next"),
        Binding("k,up", "move(-1)", "Previous polecat", show=False, id="wall-previous"),
        Binding("g,home", "jump(0)", "First polecat", show=False, id="wall-first"),
        Binding("G,end", "jump(-1)", "Last polecat", show=False, id="wall-last"),
        Binding("space", "mark", "Mark for bulk nudge", show=False, id="wall-mark"),
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
        self._keys: list[str] = []
        self._tiles: dict[str, PolecatTile] = {}
        self._agents: list[AgentView] = []
        self.marked: set[str] = set()
        self.filter_text = ""
        self._last: tuple[TownSnapshot, dict[str, tuple[str, ...]], dict[str, int]] | None = None

    # ------------------------------------------------------------------ data
    @property
    def visible_agents(self) -> list[AgentView]:
        text = self.filter_text.lower()
        return [a for a in self._agents
                if not text or text in f"{a.label} {a.hooked_bead} {a.hooked_title} {a.state}".lower()]

    @property
    def selected_agent(self) -> AgentView | None:
        agents = self.visible_agents
        return agents[self.selected] if 0 <= self.selected < len(agents) else None

    def show(self, snapshot: TownSnapshot, screens: dict[str, tuple[str, ...]],
             quiet: dict[str, int]) -> None:
        self._last = (snapshot, screens, quiet)
        self._agents = sorted(snapshot.polecats, key=lambda a: (a.rig, a.name))
        agents = self.visible_agents
        keys = []
        for agent in agents:
            if f"rig-{agent.rig}" not in keys:
                keys.append(f"rig-{agent.rig}")
            keys.append(agent.address)
        if keys != self._keys:
            self._rebuild(keys, agents, snapshot.taken_at)
        for agent in agents:
            tile = self._tiles[agent.address]
            tile.now = snapshot.taken_at
            tile.quiet_since = quiet.get(agent.session, 0)
            tile.agent = agent
            tile.screen_lines = screens.get(agent.session, ())
            tile.marked = agent.address in self.marked
        if agents:
            self.selected = min(self.selected, len(agents) - 1)
        self._paint_selection()

    def _rebuild(self, keys: list[str], agents: list[AgentView], now: datetime) -> None:
        self._keys = keys
        self.remove_children()
        self._tiles = {a.address: PolecatTile(a, now, id=None) for a in agents}
        children: list[Widget] = []
        for key in keys:
            if key.startswith("rig-"):
                children.append(RigHeading(key[4:], classes="rig-heading"))
            else:
                children.append(self._tiles[key])
        if not children:
            children.append(Static("no polecats — press s to sling work", classes="empty"))
        self.mount_all(children)

    def set_screen(self, session: str, lines: tuple[str, ...], activity: int) -> None:
        for agent in self._agents:
            if agent.session == session and agent.address in self._tiles:
                tile = self._tiles[agent.address]
                tile.quiet_since = activity
                tile.screen_lines = lines

    def visible_sessions(self) -> set[str]:
        """Sessions whose tiles are inside the scrolled viewport (the only ones followed)."""
        top = self.scroll_offset.y
        bottom = top + self.scrollable_content_region.height
        out = set()
        for agent in self.visible_agents:
            tile = self._tiles.get(agent.address)
            if tile is None:
                continue
            region = tile.virtual_region
            if region.height == 0 or (region.y < bottom and region.bottom > top):
                out.add(agent.session)
        return out

    # ------------------------------------------------------------------ selection
    def _paint_selection(self) -> None:
        chosen = self.selected_agent
        for address, tile in self._tiles.items():
            tile.set_class(chosen is not None and address == chosen.address, "-selected")
            if tile.agent is not None:
                for state in STATES:
                    tile.set_class(tile.agent.state == state, f"-{state}")

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Scrolled(self))

    def watch_selected(self) -> None:
        self._paint_selection()
        chosen = self.selected_agent
        if chosen is not None and chosen.address in self._tiles:
            self.scroll_to_widget(self._tiles[chosen.address], animate=False)
        self.post_message(self.SelectionChanged(self))

    def action_move(self, step: int) -> None:
        count = len(self.visible_agents)
        if count:
            self.selected = max(0, min(count - 1, self.selected + step))

    def action_jump(self, index: int) -> None:
        count = len(self.visible_agents)
        if count:
            self.selected = count - 1 if index < 0 else 0

    def action_mark(self) -> None:
        chosen = self.selected_agent
        if chosen is None:
            return
        self.marked.symmetric_difference_update({chosen.address})
        tile = self._tiles.get(chosen.address)
        if tile is not None:
            tile.marked = chosen.address in self.marked
        self.action_move(1)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.selected = 0
        if self._last is not None:
            self.show(*self._last)
        # Other tiles are on screen (follow their panes) and the selected polecat may be
        # another, or none, even when the index stayed 0 and watch_selected did not run.
        self.post_message(self.Scrolled(self))
        self.post_message(self.SelectionChanged(self))
