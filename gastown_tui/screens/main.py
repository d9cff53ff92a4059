"""The main screen: Mayor chat, polecat wall, convoy board, refinery queue, needs-you."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList

from gastown_tui.model.marks import Marks
from gastown_tui.model.panes import needs_you_seen
from gastown_tui.model.snapshot import AgentView, TownSnapshot
from gastown_tui.screens.base import TownScreen
from gastown_tui.verbs.base import Verb
from gastown_tui.verbs.registry import VERBS, verb_bindings, verb_of
from gastown_tui.verbs.target import Target
from gastown_tui.widgets.convoy_board import ConvoyBoard
from gastown_tui.widgets.mayor_chat import MayorChat
from gastown_tui.widgets.needs_you import NeedsYou
from gastown_tui.widgets.polecat_wall import PolecatWall
from gastown_tui.widgets.refinery_queue import RefineryQueue
from gastown_tui.widgets.row_table import RowTable

MAYOR_SESSION = "hq-mayor"
PANE_FOCUS = {"mayor": "#mayor-input", "wall": "#polecat-wall", "convoys": "#convoy-board",
              "queue": "#mq-table", "needs": "#attention"}
# The verbs of one pane's items: the footer shows them while that pane has focus.
PANE_VERBS = {"goto-polecat": ("needs",), "ack-escalation": ("needs",),
              "close-escalation": ("needs",), "read-all-mail": ("needs",),
              "retry-mr": ("queue", "needs"), "reject-mr": ("queue", "needs")}
MR_KINDS = ("conflict", "failed")


class MainScreen(TownScreen):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # main.tcss: narrow layout
    # The wall has the focus from the start: focused in on_mount instead, after Textual's
    # auto focus had given it to the Mayor's pane, the focus moved twice (each a restyle).
    AUTO_FOCUS = "#polecat-wall"
    BINDINGS = [
        *verb_bindings("nudge", "sling", "nuke", "zoom", "attach", "watch"),
        Binding("m", "focus_pane('mayor')", "mayor", tooltip="Type to the Mayor", id="mayor"),
        *verb_bindings("clean-finished"),
        *verb_bindings("start-mayor", "convoy", "mark-agent", show=False),
        # Shown in the footer while their pane has focus (check_action hides them elsewhere).
        *verb_bindings("goto-polecat", "ack-escalation", "close-escalation", "retry-mr",
                       "reject-mr", "read-all-mail", show=True),
        Binding("slash", "filter", "filter", tooltip="Filter the polecats", id="filter"),
        Binding("escape", "back", "back", show=False, id="main-escape"),
        Binding("1", "focus_pane('mayor')", "Mayor pane", show=False, id="pane-1"),
        Binding("2", "focus_pane('wall')", "Polecat pane", show=False, id="pane-2"),
        Binding("3", "focus_pane('convoys')", "Convoy pane", show=False, id="pane-3"),
        Binding("4", "focus_pane('queue')", "Refinery pane", show=False, id="pane-4"),
        Binding("5", "focus_pane('needs')", "Needs-you pane", show=False, id="pane-5"),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Horizontal(id="top-row"):
            chat = MayorChat(read_only=self.room.config.read_only, id="mayor-chat")
            chat.border_title = "1 Mayor"
            yield chat
            with Vertical(id="wall-box"):  # the filter box is mounted on the first /
                yield PolecatWall(id="polecat-wall")
        with Horizontal(id="bottom-row"):
            board = ConvoyBoard(id="convoy-board")
            board.border_title = "3 Convoys"
            yield board
            queue = RefineryQueue(id="refinery-queue")
            queue.border_title = "4 Refinery queue"
            yield queue
            needs = NeedsYou(id="needs-you")
            needs.border_title = "5 Needs you · events"
            yield needs
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#wall-box").border_title = "2 Polecats"

    # ------------------------------------------------------------------ drawing
    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        super().show_snapshot(snapshot)
        app = self.room
        self.query_one(MayorChat).show_agent(snapshot.agent("mayor"))
        self.query_one(PolecatWall).show(snapshot, app.panes.screens, app.panes.activity,
                                         app.marks.agents)
        self.query_one(ConvoyBoard).show(snapshot)
        self.query_one(RefineryQueue).show(snapshot)
        self._show_needs(snapshot)
        self._count_working()
        if MAYOR_SESSION in app.panes.history:
            self.query_one(MayorChat).show_screen(app.panes.history[MAYOR_SESSION])

    def show_pane(self, session: str, lines: tuple[str, ...], history: bool,
                  activity: int) -> None:
        if session == MAYOR_SESSION and history:
            self.query_one(MayorChat).show_screen(lines)
        elif not history:
            self.query_one(PolecatWall).set_screen(session, lines, activity)
            self._tiles_changed = True

    _tiles_changed = False

    def panes_shown(self) -> None:
        # Once per tick, not per pane: Needs-you reads every agent's screen (thirty panes
        # changing made that thirty times thirty screens read).
        if self._tiles_changed:
            self._tiles_changed = False
            self._count_working()
            if self.room.snapshot is not None:
                self._show_needs(self.room.snapshot)

    def _show_needs(self, snapshot: TownSnapshot) -> None:
        """Needs-you with the agents a dialog holds on their live screens, as the wall and
        the header count them."""
        self.query_one("#needs-you", NeedsYou).show(
            snapshot, needs_you_seen(snapshot, self.room.panes.screens))

    def _count_working(self) -> None:
        """n/N working, as the wall counts it: an agent held by a dialog is not at work."""
        wall = self.query_one("#polecat-wall", PolecatWall)
        box = self.query_one("#wall-box")
        subtitle = f"{wall.working}/{wall.polecat_count} working"
        if box.border_subtitle != subtitle:  # each set repaints the whole box: every tile
            box.border_subtitle = subtitle

    def followed_sessions(self) -> tuple[set[str], set[str]]:
        wall = self.query_one(PolecatWall)
        return wall.visible_sessions() | wall.dialog_sessions(), {MAYOR_SESSION}

    def show_marks(self, marks: Marks) -> None:
        self.query_one(PolecatWall).set_marks(marks.agents)

    def selection(self) -> Target:
        """The Mayor while its pane has focus, else the polecat under the wall's cursor; the
        marked polecats still on the wall; the merge request under the queue's cursor while
        the queue has focus; the marked beads (the convoy key works from here too)."""
        # By id: Textual caches id queries, and check_action asks this for every key shown.
        wall = self.query_one("#polecat-wall", PolecatWall)
        snapshot = self.room.snapshot
        agent: AgentView | None
        if self.query_one("#mayor-chat", MayorChat).has_focus_within and snapshot is not None:
            agent = snapshot.agent("mayor")
        else:
            agent = wall.selected_agent
        marks = self.room.marks
        queue = self.query_one("#refinery-queue", RefineryQueue)
        marked = dict(marked_agents=tuple(a for a in wall.visible_agents
                                          if a.address in marks.agents) if marks.agents else (),
                      marked_beads=tuple(sorted(marks.beads)))
        needs = self.query_one("#needs-you", NeedsYou)
        if needs.has_focus_within:
            return self._needs_target(needs, snapshot, marked)
        if queue.has_focus_within:
            return Target(agent=agent, mr=queue.selected_mr, pane="queue", **marked)
        return Target(agent=agent, pane="wall", **marked)

    def _needs_target(self, needs: NeedsYou, snapshot: TownSnapshot | None,
                      marked: dict[str, Any]) -> Target:
        """The Needs-you item under the cursor as a selection: the polecat it concerns (for
        nudge, nuke, go to), its MR, its escalation."""
        item = needs.selected_item
        if item is None:
            return Target(pane="needs", **marked)
        agent = snapshot.agent(item.agent) if snapshot is not None and item.agent else None
        return Target(agent=agent, pane="needs",
                      mr=item.key if item.kind in MR_KINDS else None,
                      escalation=item.key if item.kind == "escalation" else None, **marked)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """As every screen's, and a pane's own verbs stay out of the footer while another
        pane has focus (pressed there, they still say why not)."""
        state = super().check_action(action, parameters)
        verb = verb_of(action, parameters)
        if state is None and verb is not None and verb.id in PANE_VERBS \
                and self._focused_pane() not in PANE_VERBS[verb.id]:
            return False
        return state

    def _focused_pane(self) -> str:
        # By what has the focus, not by querying the panes: the footer asks while the screen
        # is still composing (the app does not wait for it), before some panes exist.
        focused = self.focused
        for pane in focused.ancestors_with_self if focused is not None else ():
            if pane.id == "needs-you":
                return "needs"
            if pane.id == "refinery-queue":
                return "queue"
        return "wall"

    def verb_pressed(self, verb: Verb, target: Target) -> None:
        if verb.id == "mark-agent" and target.agent is not None:
            self.query_one(PolecatWall).action_move(1)

    # ------------------------------------------------------------------ events
    @on(PolecatWall.SelectionChanged)
    def _selection_changed(self, event: PolecatWall.SelectionChanged) -> None:
        if isinstance(event, PolecatWall.Scrolled):
            self.room.follow_screen()
        else:
            self.app.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self.app.refresh_bindings()

    @on(MayorChat.Said)
    def _said(self, event: MayorChat.Said) -> None:
        self.run_verb(VERBS["tell-mayor"], Target(text=event.text))

    @on(ConvoyBoard.Opened)
    def _open_convoy(self, event: ConvoyBoard.Opened) -> None:
        self.room.open_screen(f"convoy:{event.convoy_id}")

    @on(OptionList.OptionSelected, "#attention")
    def _open_attention(self) -> None:
        item = self.query_one(NeedsYou).selected_item
        if item is None:
            return
        if item.kind in ("stalled", "zombie", "blocked", "rate-limited", "warrant",
                         "unreachable") and item.agent:
            self.room.open_screen(f"polecat:{item.agent}")
        elif item.kind == "mail":
            self.room.open_screen("mail")
        else:
            self.room.open_screen(f"bead:{item.key}")

    @on(RowTable.Selected, "#mq-table")
    def _open_mr(self, event: RowTable.Selected) -> None:
        self.room.open_screen(f"bead:{event.key}")

    # ------------------------------------------------------------------ actions
    def action_focus_pane(self, pane: str) -> None:
        found = self.query(PANE_FOCUS[pane])
        if pane == "needs" and not (found and found.first().display):
            found = self.query("#event-log")  # nothing needs you: the pane's events
        widget = found.first()
        hidden = any(not node.display for node in widget.ancestors_with_self)
        if widget.focusable and not hidden:
            widget.focus()
        else:
            if hidden:  # the narrow layout leaves the merge queue out
                self.room.flash("that pane shows from 100 columns wide", "warning")
            self.query_one(PolecatWall).focus()

    @property
    def filter_box(self) -> Input | None:
        """The wall's filter box; None until the first /."""
        found = self.query("#wall-filter")
        return found.first(Input) if found else None

    async def action_filter(self) -> None:
        box = self.filter_box
        if box is None:
            box = Input(placeholder="filter polecats", id="wall-filter", compact=True)
            await self.query_one("#wall-box").mount(box)
        box.add_class("-shown")
        box.focus()

    def action_back(self) -> None:
        box = self.filter_box
        if box is not None and (box.has_class("-shown") or box.value):
            box.value = ""
            box.remove_class("-shown")
            self.query_one(PolecatWall).set_filter("")
        self.query_one(PolecatWall).focus()

    @on(Input.Changed, "#wall-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(PolecatWall).set_filter(event.value)

    @on(Input.Submitted, "#wall-filter")
    def _filter_done(self) -> None:
        self.query_one(PolecatWall).focus()
