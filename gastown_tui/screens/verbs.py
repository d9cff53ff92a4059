"""The control room's verbs, on the screen that owns the selection they act on: each key opens
a dialog if it needs one, then the app runs the one ops function for that verb in a thread
worker. The result is a flash message; the effect shows up through the town watcher like any
other change, so the screen never claims what the disk does not say. `--read-only` hides
every verb that changes the town."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

from textual.app import SuspendNotSupported

from gastown_tui.model.snapshot import AgentView
from gastown_tui.town.errors import GasTownError

if TYPE_CHECKING:
    from gastown_tui.screens.room import ControlRoom
    from gastown_tui.town.layout import Town

# Verbs that change the town: hidden (not just greyed) with --read-only.
DANGEROUS = frozenset({"nudge", "sling", "nuke", "start_mayor", "retry_mr", "reject_mr",
                       "convoy_from_marked"})
NEEDS_AGENT = frozenset({"nudge", "attach"})
NEEDS_POLECAT = frozenset({"nuke", "zoom"})


def _store(town: Town):
    from gastown_tui.ops.context import open_store

    return open_store(town)


class VerbsMixin:
    """Mixed into TownScreen: `selected_agent()`, `marked_agents()` and `selected_mr` are the
    screen's own; the app (`town_app`) runs the verbs and holds the marked beads."""

    if TYPE_CHECKING:
        town_app: ControlRoom

        app: Any

        def selected_agent(self) -> AgentView | None: ...

    # ------------------------------------------------------------------ availability
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.town_app
        if app.config.read_only and action in DANGEROUS:
            return False
        # Under a dialog nothing is selected: the keys wait, greyed, until it closes.
        on_top = self.is_active
        if action in NEEDS_AGENT:
            return True if on_top and self.selected_agent() is not None else None
        if action in NEEDS_POLECAT:
            agent = self.selected_agent() if on_top else None
            return True if agent is not None and agent.role == "polecat" else None
        if action in ("retry_mr", "reject_mr"):
            return True if on_top and getattr(self, "selected_mr", None) else None
        if action == "convoy_from_marked":
            return True if app.marked_beads else None
        if action == "start_mayor":
            mayor = app.snapshot.agent("mayor") if app.snapshot else None
            return True if mayor is None or not mayor.session_running else None
        return True

    def marked_agents(self) -> list[AgentView]:
        return []

    def flash(self, text: str, severity: str = "information") -> None:
        self.town_app.flash(text, severity)

    # ------------------------------------------------------------------ nudge
    def action_nudge(self) -> None:
        marked = self.marked_agents()
        self.nudge_agents(marked or [a for a in [self.selected_agent()] if a is not None])

    def nudge_agent(self, address: str) -> None:
        agent = self.town_app.snapshot.agent(address) if self.town_app.snapshot else None
        self.nudge_agents([agent] if agent is not None else [])

    def nudge_agents(self, targets: list[AgentView]) -> None:
        from gastown_tui.screens.nudge import NudgeModal

        if self.town_app.config.read_only:
            return
        if not targets:
            self.flash("select an agent to nudge first", "warning")
            return

        def send(request: Any) -> None:
            if request is not None:
                self.town_app.run_verb("nudge", lambda: self._nudge(targets, request.text, request.mode))

        self.app.push_screen(NudgeModal([a.label for a in targets]), send)

    def _nudge(self, targets: list[AgentView], text: str, mode: str) -> tuple[str, str]:
        from gastown_tui.ops.nudge import nudge

        results = [nudge(self.town_app.town, a.address, text, mode=mode) for a in targets]
        failed = [r for r in results if r.status == "failed"]
        done = ", ".join(f"{a.label} {r.status}" for a, r in zip(targets, results, strict=True))
        return (f"nudge: {done}", "error" if failed else "information")

    def tell_mayor(self, text: str) -> None:
        if self.town_app.config.read_only:
            return
        self.town_app.run_verb("to the Mayor", lambda: self._nudge(
            [AgentView(address="mayor", role="mayor", session="hq-mayor", state="running")],
            text, "immediate"))

    # ------------------------------------------------------------------ sling
    def action_sling(self) -> None:
        from gastown_tui.screens.sling import SlingModal, sling_targets

        if self.town_app.snapshot is None:
            return
        chosen = self.selected_agent()
        preset = [b for b in sorted(self.town_app.marked_beads)]
        modal = SlingModal(self.town_app.snapshot.beads, sling_targets(self.town_app.snapshot),
                           preselected=preset, target=chosen.address if chosen else None)

        def go(request: Any) -> None:
            if request is not None:
                self.town_app.marked_beads.clear()
                self.town_app.run_verb("sling", lambda: self._sling(request.beads, request.target))

        self.app.push_screen(modal, go)

    def _sling(self, beads: list[str], target: str) -> str:
        from gastown_tui.ops.sling import sling

        store = _store(self.town_app.town)
        try:
            results = sling(self.town_app.town, store, beads, target)
        finally:
            store.close_connection()
        return "slung " + "; ".join(f"{r.bead} → {r.agent} ({r.session})" for r in results)

    # ------------------------------------------------------------------ nuke
    def action_nuke(self) -> None:
        self.nuke_agent(self.selected_agent())

    def nuke_agent(self, agent: AgentView | None) -> None:
        from gastown_tui.screens.nuke import NukeModal

        if self.town_app.config.read_only:
            return
        if agent is None or agent.role != "polecat":
            self.flash("select a polecat to nuke first", "warning")
            return

        def go(request: Any) -> None:
            if request is not None:
                self.town_app.run_verb("nuke", lambda: self._nuke(agent, request.force))

        self.app.push_screen(NukeModal(self.town_app.town, agent.rig, agent.name), go)

    def _nuke(self, agent: AgentView, force: bool) -> str:
        from gastown_tui.ops.nuke import nuke

        store = _store(self.town_app.town)
        try:
            results = nuke(self.town_app.town, store, [f"{agent.rig}/{agent.name}"], force=force)
        finally:
            store.close_connection()
        saved = [r.graveyard_ref for r in results if r.graveyard_ref]
        return f"nuked {agent.label}" + (f" (work kept in {saved[0]})" if saved else "")

    # ------------------------------------------------------------------ attach, zoom, screens
    def action_attach(self) -> None:
        self.attach_agent(self.selected_agent())

    def attach_agent(self, agent: AgentView | None) -> None:
        from gastown_tui.ops.sessions import attach_argv
        from gastown_tui.tmux.commands import tmux_env

        if agent is None:
            return
        if not agent.session_running:
            self.flash(f"{agent.label} has no running session to attach to", "warning")
            return
        try:
            # a polecat on another host: `ssh -t HOST tmux … attach` to its own server
            argv = attach_argv(self.town_app.town, agent.session)
        except GasTownError as exc:
            self.flash(f"attach: {exc.problem}", "error")
            return
        try:
            # The app is suspended while the operator is in tmux; it resumes on detach.
            with self.app.suspend():
                subprocess.run(argv, env=tmux_env(), check=False)
        except SuspendNotSupported:
            self.flash("attaching needs a real terminal", "warning")
        except OSError as exc:
            self.flash(f"attach failed: {exc}", "error")
        self.app.refresh(layout=True)

    def action_zoom(self) -> None:
        agent = self.selected_agent()
        if agent is not None and agent.role == "polecat":
            self.town_app.open_screen(f"polecat:{agent.address}")

    # ------------------------------------------------------------------ Mayor, MRs, convoys
    def action_start_mayor(self) -> None:
        from gastown_tui.screens.confirm import ConfirmModal

        def go(yes: bool | None) -> None:
            if yes:
                self.town_app.run_verb("start the Mayor", self._start_mayor)

        self.app.push_screen(ConfirmModal("Start the Mayor?", "start"), go)

    def _start_mayor(self) -> str:
        from gastown_tui.ops.up import start_mayor

        step = start_mayor(self.town_app.town)
        return f"Mayor {step.action} ({step.session})"

    def action_retry_mr(self) -> None:
        mr = getattr(self, "selected_mr", None)
        if mr:
            self.town_app.run_verb(f"retry {mr}", lambda: self._mq("retry", mr, ""))

    def action_reject_mr(self) -> None:
        from gastown_tui.screens.confirm import PromptModal

        mr = getattr(self, "selected_mr", None)
        if not mr:
            return

        def go(reason: str | None) -> None:
            if reason:
                self.town_app.run_verb(f"reject {mr}", lambda: self._mq("reject", mr, reason))

        self.app.push_screen(PromptModal(f"Reject {mr}: why?", "the reason its worker will read"), go)

    def _mq(self, verb: str, mr: str, reason: str) -> str:
        try:
            from gastown_tui.refinery import admin
        except ImportError:
            return f"{verb} is not available (the refinery is not installed)"
        store = _store(self.town_app.town)
        try:
            if verb == "retry":
                admin.retry(self.town_app.town, store, mr)
            else:
                admin.reject(self.town_app.town, store, mr, reason)
        finally:
            store.close_connection()
        return f"{mr}: {verb} done"

    def action_convoy_from_marked(self) -> None:
        from gastown_tui.screens.confirm import PromptModal

        beads = sorted(self.town_app.marked_beads)
        if not beads:
            self.flash("mark beads with space on the beads screen (:beads) first", "warning")
            return

        def go(name: str | None) -> None:
            if name:
                self.town_app.marked_beads.clear()
                self.town_app.run_verb("convoy", lambda: self._convoy(name, beads))

        self.app.push_screen(PromptModal(f"Convoy of {len(beads)} beads: its name?",
                                     "e.g. Auth rework"), go)

    def _convoy(self, name: str, beads: list[str]) -> str:
        from gastown_tui.ops import convoy as convoy_ops

        store = _store(self.town_app.town)
        try:
            convoy = convoy_ops.create(self.town_app.town, store, name, beads, owner="overseer")
        finally:
            store.close_connection()
        return f"convoy {convoy['id']} tracks {', '.join(beads)}"
