"""PolecatScreen: one polecat zoomed in, its live pane with scrollback and its evidence."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from gastown_tui.model.snapshot import AgentView, TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.verbs.registry import verb_bindings
from gastown_tui.verbs.target import Target
from gastown_tui.widgets.format import STATE_STYLE, age
from gastown_tui.widgets.pane_view import PaneView


def polecat_facts(agent: AgentView | None, address: str, snapshot: TownSnapshot) -> Text:
    if agent is None:
        return Text(f"{address} is gone (nuked, or its worktree and session are both gone)",
                    style="bold yellow")
    now = snapshot.taken_at
    text = Text.assemble((agent.label, "bold"), "  ", (f"● {agent.state}",
                                                     STATE_STYLE.get(agent.state, "")))
    text.append(f"  {agent.evidence}", style="dim")
    text.append("\nhook: ")
    if agent.hooked_bead:
        text.append(agent.hooked_bead, style="cyan")
        text.append(f" {agent.hooked_title}")
        since = age(agent.hooked_since, now)
        if since:
            text.append(f" (for {since})", style="dim")
    else:
        text.append("empty", style="dim")
    text.append("\nbranch: ")
    text.append(agent.branch or "-", style="bold")
    if agent.worktree_pending:
        text.append("  (reading the worktree…)", style="dim")
    else:
        text.append(f"  ↑{agent.ahead} ahead  ✎{agent.dirty} uncommitted", style="dim")
    if agent.dirty_paths:
        text.append(f" ({', '.join(agent.dirty_paths)})", style="dim")
    text.append(f"\nsession {agent.session}: " + ("alive" if agent.session_running else "none"),
                style="dim")
    if agent.heartbeat:
        text.append(f" · heartbeat {age(agent.heartbeat, now)} ago", style="dim")
    if agent.active_mr:
        text.append(f" · MR {agent.active_mr}", style="dim")
    if agent.pending_nudges:
        text.append(f" · {agent.pending_nudges} nudges queued", style="cyan")
    return text


class PolecatScreen(TownScreen):
    CSS_PATH = Path(__file__).with_name("polecat.tcss")
    TITLE = "polecat"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="polecat-back"),
        *verb_bindings("nudge", "attach", "watch", "nuke"),
        Binding("pageup", "scroll('page_up')", "scroll up", show=False, id="polecat-pgup"),
        Binding("pagedown", "scroll('page_down')", "scroll down", show=False,
                id="polecat-pgdn"),
    ]

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.agent: AgentView | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(id="polecat-facts")
        yield PaneView(placeholder="(no screen captured yet)", id="polecat-pane")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(PaneView).focus()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        self.agent = snapshot.agent(self.address)
        self.query_one("#polecat-facts", Static).update(
            polecat_facts(self.agent, self.address, snapshot))
        history = self.room.panes.history
        if self.agent is not None and self.agent.session in history:
            self.query_one(PaneView).show(history[self.agent.session])

    def show_pane(self, session: str, lines: tuple[str, ...], history: bool,
                  activity: int) -> None:
        if history and self.agent is not None and session == self.agent.session:
            self.query_one(PaneView).show(lines)

    def followed_sessions(self) -> tuple[set[str], set[str]]:
        return set(), ({self.agent.session} if self.agent is not None else set())

    def selection(self) -> Target:
        return Target(agent=self.agent)

    def action_scroll(self, where: str) -> None:
        pane = self.query_one(PaneView)
        (pane.scroll_page_up if where == "page_up" else pane.scroll_page_down)(animate=False)
