"""SlingModal: pick a bead (fuzzy search, ready beads first), pick a target, confirm.

The target offered first is a new polecat in the bead's own rig (upstream's default: one
polecat per bead). A running agent that already has work on its hook is offered too, but the
confirm step says so and only `y` stacks more work on it: enter alone never does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from gastown_tui.model.snapshot import BeadView, RigView, TownSnapshot
from gastown_tui.town.names import bead_prefix

MAX_LISTED = 200
SLINGABLE = ("open", "in_progress", "blocked", "deferred", "hooked")


@dataclass(frozen=True)
class SlingRequest:
    beads: list[str]
    target: str


@dataclass(frozen=True)
class SlingTarget:
    value: str  # what `ops.sling` takes: a rig name or an agent address
    label: str
    busy: str = ""  # why slinging to it stacks work on work already there ("" for a rig)


def sling_targets(snapshot: TownSnapshot) -> list[SlingTarget]:
    """Rigs first (a fresh polecat each), then the agents that are running."""
    targets = [SlingTarget(r.name, f"{r.name}  — a new polecat in rig {r.name}")
               for r in snapshot.rigs]
    for agent in snapshot.agents:
        if agent.session_running and agent.role in ("mayor", "polecat", "crew"):
            busy = ""
            if agent.hooked_bead:
                busy = f"{agent.label} already has {agent.hooked_bead} on its hook"
            elif agent.state == "working":
                busy = f"{agent.label} is working"
            label = f"{agent.label}  — {agent.state}" + (f" ({agent.hooked_bead})"
                                                          if agent.hooked_bead else "")
            targets.append(SlingTarget(agent.address, label, busy))
    return targets


def rig_for_bead(bead_id: str, rigs: Sequence[RigView]) -> str | None:
    """The rig whose prefix the bead carries (hq beads belong to no rig)."""
    prefix = bead_prefix(bead_id)
    return next((r.name for r in rigs if r.prefix == prefix), None)


def rank_beads(beads: Sequence[BeadView], query: str) -> list[BeadView]:
    """Ready beads first, then the rest; within each, best fuzzy match first."""
    candidates = [b for b in beads if b.status in SLINGABLE]
    if not query.strip():
        return sorted(candidates, key=lambda b: (not b.ready, b.priority, b.id))[:MAX_LISTED]
    matcher = Matcher(query)
    scored = [(matcher.match(f"{b.id} {b.title}"), b) for b in candidates]
    hits = [(score, b) for score, b in scored if score > 0]
    hits.sort(key=lambda pair: (not pair[1].ready, -pair[0], pair[1].priority, pair[1].id))
    return [b for _, b in hits[:MAX_LISTED]]


def bead_prompt(bead: BeadView) -> Text:
    text = Text.assemble(("● " if bead.ready else "○ ", "green" if bead.ready else "dim"),
                         (f"{bead.id:<9}", "cyan"), f" P{bead.priority} ", bead.title,
                         no_wrap=True, overflow="ellipsis")
    if bead.status != "open":
        text.append(f"  [{bead.status}]", style="yellow")
    return text


class SlingModal(ModalScreen[SlingRequest | None]):
    CSS_PATH = Path(__file__).with_name("sling.tcss")
    BINDINGS = [
        Binding("escape", "back", "back", id="sling-back"),
        Binding("down", "move(1)", "next", show=False, id="sling-down"),
        Binding("up", "move(-1)", "previous", show=False, id="sling-up"),
        Binding("enter", "choose", "choose", id="sling-choose"),
        Binding("y", "stack", "stack on a busy agent", show=False, id="sling-stack"),
    ]

    def __init__(self, beads: Sequence[BeadView], targets: list[SlingTarget], *,
                 preselected: Sequence[str] = (), rigs: Sequence[RigView] = ()) -> None:
        super().__init__()
        self.beads = list(beads)
        self.targets = targets
        self.rigs = tuple(rigs)
        self.chosen_beads: list[str] = list(preselected)
        self.chosen_target: SlingTarget | None = None
        self.step = "target" if self.chosen_beads else "bead"
        self._listed: list[BeadView] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Sling", id="title")
            yield Input(placeholder="search beads (ready ones first)", id="bead-query")
            yield OptionList(id="bead-list", compact=True)
            yield OptionList(*[Option(t.label, id=t.value) for t in self.targets],
                             id="target-list", compact=True)
            yield Static("", id="sling-summary")
            yield Label("", id="sling-hint", classes="hint")

    def on_mount(self) -> None:
        self._fill_beads("")
        self._show_step()
        self.watch(self.app, "snapshot", self._snapshot_changed, init=False)

    def _snapshot_changed(self, snapshot: TownSnapshot | None) -> None:
        if snapshot is not None:
            self.update_beads(snapshot.beads)

    def update_beads(self, beads: Sequence[BeadView]) -> None:
        """A newer snapshot: the list follows it while the operator is still choosing (the
        first snapshot of a large town comes without the bead lists), keeping their place."""
        beads = list(beads)
        if beads == self.beads:
            return
        self.beads = beads
        if self.step == "bead" and self.is_mounted:
            self._fill_beads(self.query_one("#bead-query", Input).value, keep_place=True)

    def _fill_beads(self, query: str, *, keep_place: bool = False) -> None:
        """List the beads matching `query`, best first, the best highlighted; `keep_place`
        keeps the highlighted bead instead (the same query over a newer snapshot)."""
        options = self.query_one("#bead-list", OptionList)
        index = options.highlighted
        keep = (self._listed[index].id if keep_place and index is not None
                and index < len(self._listed) else None)
        self._listed = rank_beads(self.beads, query)
        options.clear_options()
        options.add_options([Option(bead_prompt(b), id=b.id) for b in self._listed])
        if self._listed:
            ids = [b.id for b in self._listed]
            options.highlighted = ids.index(keep) if keep in ids else 0

    def _show_step(self) -> None:
        step = self.step
        for widget_id, shown in (("#bead-query", step == "bead"), ("#bead-list", step == "bead"),
                                 ("#target-list", step == "target"),
                                 ("#sling-summary", step == "confirm")):
            self.query_one(widget_id).display = shown
        title = self.query_one("#title", Label)
        hint = self.query_one("#sling-hint", Label)
        if step == "bead":
            title.update("Sling: which bead?")
            hint.update("type to search · ↑↓ pick · enter choose · esc cancel")
            self.query_one("#bead-query", Input).focus()
        elif step == "target":
            title.update(f"Sling {', '.join(self.chosen_beads)} to…")
            hint.update("↑↓ pick · enter choose · esc back")
            targets = self.query_one("#target-list", OptionList)
            values = [t.value for t in self.targets]
            rig = rig_for_bead(self.chosen_beads[0], self.rigs) if self.chosen_beads else None
            if rig in values:
                targets.highlighted = values.index(rig)
            elif values:
                targets.highlighted = 0
            targets.focus()
        else:
            assert self.chosen_target is not None
            title.update("Sling: confirm")
            titles = {b.id: b.title for b in self.beads}
            summary = Text()
            for bead_id in self.chosen_beads:
                summary.append(f"{bead_id} ", style="cyan")
                summary.append(f"{titles.get(bead_id, '')}\n")
            summary.append("→ ", style="bold")
            summary.append(self.chosen_target.label, style="bold")
            busy = self.chosen_target.busy
            if busy:
                summary.append(f"\n⚠ {busy}: these beads would wait behind it.",
                               style="bold yellow")
            self.query_one("#sling-summary", Static).update(summary)
            hint.update("y stacks the work on it anyway · esc back" if busy
                        else "enter slings · esc back")
            self.set_focus(None)  # enter now belongs to the dialog, not to a hidden list

    @on(Input.Changed, "#bead-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._fill_beads(event.value)

    @on(Input.Submitted, "#bead-query")
    def _query_submitted(self) -> None:
        self.action_choose()

    @on(OptionList.OptionSelected)
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose()

    def action_move(self, step: int) -> None:
        widget = "#bead-list" if self.step == "bead" else "#target-list"
        options = self.query_one(widget, OptionList)
        if self.step == "confirm" or not options.option_count:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_choose(self) -> None:
        if self.step == "bead":
            index = self.query_one("#bead-list", OptionList).highlighted
            if index is None or not self._listed:
                return
            self.chosen_beads = [self._listed[index].id]
            self.step = "target"
        elif self.step == "target":
            index = self.query_one("#target-list", OptionList).highlighted
            if index is None:
                return
            self.chosen_target = self.targets[index]
            self.step = "confirm"
        else:
            assert self.chosen_target is not None
            if self.chosen_target.busy:
                return  # stacking work on a busy agent takes `y`, never a reflexive enter
            self.dismiss(SlingRequest(self.chosen_beads, self.chosen_target.value))
            return
        self._show_step()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stack":  # only on the confirm step, for a busy target
            busy = self.step == "confirm" and self.chosen_target is not None \
                and bool(self.chosen_target.busy)
            return True if busy else None
        return True

    def action_stack(self) -> None:
        if self.step == "confirm" and self.chosen_target is not None:
            self.dismiss(SlingRequest(self.chosen_beads, self.chosen_target.value))

    def action_back(self) -> None:
        if self.step == "confirm":
            self.step = "target"
        elif self.step == "target":
            self.step = "bead"
        else:
            self.dismiss(None)
            return
        self._show_step()
