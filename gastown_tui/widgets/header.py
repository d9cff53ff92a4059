"""TownHeader (the one-line summary at the top) and TownBanners (what is wrong right now)."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from gastown_tui.model.panes import PaneFeed, needs_you_seen
from gastown_tui.model.snapshot import Banner, TownSnapshot
from gastown_tui.widgets.format import money, plural, sparkline

BANNER_TEXT = {
    "town_missing": "Town missing",
    "store_locked": "Bead store locked",
    "store_error": "Bead store unreadable",
    "tmux_down": "tmux down",
    "error": "Problem",
}


def header_text(snapshot: TownSnapshot | None, cpu: float | None, title: str = "",
                compact: bool = False, level: int | None = None,
                need: int | None = None) -> Text:
    """The summary line. Narrow terminals get shorter levels (`compact` is the shortest):
    1 drops the sparklines and the filler words, 2 the CPU figure and the spend; the facts a
    person acts on keep their words at every level ('2 convoys', '⚠ 6 need you', never
    '2 cv · ⚠ 6')."""
    if snapshot is None:
        return Text("loading the town…", style="dim")
    level = (2 if compact else 0) if level is None else level
    short = level > 0
    parts = [Text.assemble(("" if short else "town ", "dim"), (snapshot.name, "bold"))]
    if title:
        parts.append(Text(title, style="bold"))
    parts.append(Text(plural(len(snapshot.rigs), "rig")))
    up = f"{snapshot.agents_up}/{len(snapshot.agents)}"
    parts.append(Text(f"{up} up" if short else f"{up} agents up"))
    queue = Text(f"MQ {len(snapshot.merge_queue)}")
    if snapshot.merging:
        queue.append(f" ({snapshot.merging}{' ▶' if level > 1 else ' merging'})", style="green")
    parts.append(queue)
    if snapshot.queued:  # the scheduler holds these until a slot frees
        parts.append(Text(f"⏳ {len(snapshot.queued)} queued", style="yellow"))
    open_convoys = sum(1 for c in snapshot.convoys if not c.landed)
    parts.append(Text(plural(open_convoys, "convoy")))
    costs = snapshot.costs
    if costs.known and level < 2:
        spend = Text(f"{money(costs.today)}" if short else f"{money(costs.today)} today",
                     style="bold")
        if not short:
            hour = snapshot.taken_at.astimezone().hour
            for rig in costs.rigs:
                # the last eight hours of each rig, one bar an hour, ending now
                bars = sparkline(rig.hourly[max(0, hour - 7):hour + 1])
                spend.append(f" {rig.rig} ", style="dim")
                spend.append(bars, style="green")
        parts.append(spend)
    need = len(snapshot.needs_you) if need is None else need
    if need:
        parts.append(Text(f"⚠ {need} need{'s' if need == 1 else ''} you", style="bold yellow"))
    else:
        parts.append(Text("nothing needs you", style="dim"))
    if cpu is not None and level < 2:
        parts.append(Text(f"{cpu:.1f}% cpu", style="dim"))
    return Text(" · ", style="dim").join(parts)


class TownHeader(Widget):
    DEFAULT_CSS = """
    TownHeader {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, title: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title_text = title
        self._snapshot: TownSnapshot | None = None
        self._cpu: float | None = None
        self._need: int | None = None
        self._state: tuple[object, ...] = ()

    def on_mount(self) -> None:
        # As Textual's own Header follows the app's title: the town and the CPU figure are
        # the app's state, watched here rather than pushed by each screen.
        self.watch(self.app, "snapshot", self._app_changed, init=False)
        self.watch(self.app, "cpu_percent", self._app_changed, init=False)
        # an agent held by a dialog on its live screen needs you too (model/panes.py)
        self.watch(self.app, "panes", self._app_changed, init=False)
        self._app_changed()

    def _app_changed(self) -> None:
        snapshot = getattr(self.app, "snapshot", None)
        panes = getattr(self.app, "panes", None)
        need = (len(needs_you_seen(snapshot, panes.screens))
                if snapshot is not None and isinstance(panes, PaneFeed) else None)
        self.show(snapshot, getattr(self.app, "cpu_percent", None), need)

    def show(self, snapshot: TownSnapshot | None, cpu: float | None = None,
             need: int | None = None) -> None:
        state = (snapshot.generation if snapshot else -1, None if cpu is None else round(cpu, 1),
                 need)
        if state != self._state:
            self._state = state
            self._snapshot, self._cpu, self._need = snapshot, cpu, need
            self.refresh()

    def render(self) -> Text:
        for level in (0, 1):
            text = header_text(self._snapshot, self._cpu, self.title_text, level=level,
                               need=self._need)
            if text.cell_len <= self.size.width:
                return text
        return header_text(self._snapshot, self._cpu, self.title_text, level=2, need=self._need)


def banner_text(banners: tuple[Banner, ...]) -> Text:
    lines = []
    for banner in banners:
        line = Text.assemble(("⚠ ", "bold"), (BANNER_TEXT.get(banner.kind, banner.kind), "bold"),
                             ": ", banner.message)
        if banner.fix:
            line.append(f" — {banner.fix}", style="italic")
        lines.append(line)
    return Text("\n").join(lines)


class TownBanners(Static):
    """Shown only while something is wrong; it goes away by itself when the town recovers."""

    DEFAULT_CSS = """
    TownBanners {
        height: auto;
        padding: 0 1;
        background: $error-muted;
        color: $text;
        display: none;
        &.-shown { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._banners: tuple[Banner, ...] = ()

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self._app_changed, init=False)
        self.watch(self.app, "panes", self._app_changed, init=False)
        self._app_changed()

    def _app_changed(self) -> None:
        snapshot = getattr(self.app, "snapshot", None)
        feed = getattr(self.app, "panes", None)
        if snapshot is not None:
            self.show(banners_for(snapshot, feed))

    def show(self, banners: tuple[Banner, ...]) -> None:
        if banners == self._banners:
            return
        self._banners = banners
        self.set_class(bool(banners), "-shown")
        self.update(banner_text(banners))


def banners_for(snapshot: TownSnapshot, feed: PaneFeed | None) -> tuple[Banner, ...]:
    """The snapshot's banners, and tmux's when the pane feed says it is down."""
    banners = snapshot.banners
    if feed is not None and feed.tmux_error and not any(b.kind == "tmux_down" for b in banners):
        banners += (Banner(kind="tmux_down", message=feed.tmux_error,
                           fix="live panes resume when the server is back"),)
    return banners
