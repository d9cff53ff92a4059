"""The control room's verbs: each key opens a dialog if it needs one, then calls the one ops
function for that verb in a thread worker. The result is a flash message; the effect shows up
through the town watcher like any other change, so the screen never claims what the disk
does not say. `--read-only` hides every verb that changes the town."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import SuspendNotSupported

from gastown_tui.app.messages import ActionFinished
from gastown_tui.model.snapshot import AgentView
from gastown_tui.town.errors import GasTownError

if TYPE_CHECKING:
    from gastown_tui.app.app import AppConfig
    from gastown_tui.model.snapshot import TownSnapshot
    from gastown_tui.town.layout import Town

# Verbs that change the town: hidden (not just greyed) with --read-only.
DANGEROUS = frozenset({"nudge", "sling", "nuke", "start_mayor", "retry_mr", "reject_mr",
                       "convoy_from_marked"})
NEEDS_AGENT = frozenset({"nudge", "attach"})
NEEDS_POLECAT = frozenset({"nuke", "zoom"})


def _store(town: Town):
    from gastown_tui.ops.context import open_store

    return open_store(town)


class ActionsMixin:
    if TYPE_CHECKING:
        config: AppConfig
        town: Town
        snapshot: TownSnapshot | None
        marked_beads: set[str]
        screen: Any

        def post_message(self, message: Any) -> bool: ...
        def push_screen(self, screen: Any, callback: Any = None) -> Any: ...
        def notify(self, message: str, **kw: Any) -> None: ...
        def suspend(self) -> Any: ...
        def refresh(self, **kw: Any) -> Any: ...
        def pop_screen(self) -> Any: ...
        @property
        def screen_stack(self) -> list[Any]: ...

    # ------------------------------------------------------------------ availability
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.config.read_only and action in DANGEROUS:
            return False
        if action in NEEDS_AGENT:
            return True if self.selected_agent() is not None else None
        if action in NEEDS_POLECAT:
            agent = self.selected_agent()
            return True if agent is not None and agent.role == "polecat" else None
        if action in ("retry_mr", "reject_mr"):
            return True if getattr(self.screen, "selected_mr", None) else None
        if action == "convoy_from_marked":
            return True if self.marked_beads else None
        if action == "start_mayor":
            mayor = self.snapshot.agent("mayor") if self.snapshot else None
            return True if mayor is None or not mayor.session_running else None
        return True

    def selected_agent(self) -> AgentView | None:
        finder = getattr(self.screen, "selected_agent", None)
        return finder() if callable(finder) else None

    def flash(self, text: str, severity: str = "information") -> None:
        self.post_message(ActionFinished(text, severity))

    # ------------------------------------------------------------------ running verbs
    @work(thread=True, group="actions", exit_on_error=False, description="Running a verb")
    def run_verb(self, label: str, verb: Callable[[], tuple[str, str] | str]) -> None:
        """Run one ops call off the event loop; every outcome becomes a flash message."""
        try:
            result = verb()
        except GasTownError as exc:
            fix = f" — {exc.fix}" if exc.fix else ""
            self.post_message(ActionFinished(f"{label}: {exc.problem}{fix}", "error"))
            return
        except Exception as exc:  # a bug must not take the control room down with it
            self.post_message(ActionFinished(f"{label} failed unexpectedly: {exc!r}", "error"))
            return
        text, severity = result if isinstance(result, tuple) else (result, "information")
        self.post_message(ActionFinished(text, severity))

    # ------------------------------------------------------------------ nudge
    def action_nudge(self) -> None:
        marked = getattr(self.screen, "marked_agents", lambda: [])()
        self.nudge_agents(marked or [a for a in [self.selected_agent()] if a is not None])

    def nudge_agent(self, address: str) -> None:
        agent = self.snapshot.agent(address) if self.snapshot else None
        self.nudge_agents([agent] if agent is not None else [])

    def nudge_agents(self, targets: list[AgentView]) -> None:
        from gastown_tui.screens.nudge import NudgeModal

        if self.config.read_only:
            return
        if not targets:
            self.flash("select an agent to nudge first", "warning")
            return

        def send(request: Any) -> None:
            if request is not None:
                self.run_verb("nudge", lambda: self._nudge(targets, request.text, request.mode))

        self.push_screen(NudgeModal([a.label for a in targets]), send)

    def _nudge(self, targets: list[AgentView], text: str, mode: str) -> tuple[str, str]:
        from gastown_tui.ops.nudge import nudge

        results = [nudge(self.town, a.address, text, mode=mode) for a in targets]
        failed = [r for r in results if r.status == "failed"]
        done = ", ".join(f"{a.label} {r.status}" for a, r in zip(targets, results, strict=True))
        return (f"nudge: {done}", "error" if failed else "information")

    def tell_mayor(self, text: str) -> None:
        if self.config.read_only:
            return
        self.run_verb("to the Mayor", lambda: self._nudge(
            [AgentView(address="mayor", role="mayor", session="hq-mayor", state="running")],
            text, "immediate"))

    # ------------------------------------------------------------------ sling
    def action_sling(self) -> None:
        from gastown_tui.screens.sling import SlingModal, sling_targets

        if self.snapshot is None:
            return
        chosen = self.selected_agent()
        preset = [b for b in sorted(self.marked_beads)]
        modal = SlingModal(self.snapshot.beads, sling_targets(self.snapshot),
                           preselected=preset, target=chosen.address if chosen else None)

        def go(request: Any) -> None:
            if request is not None:
                self.marked_beads.clear()
                self.run_verb("sling", lambda: self._sling(request.beads, request.target))

        self.push_screen(modal, go)

    def _sling(self, beads: list[str], target: str) -> str:
        from gastown_tui.ops.sling import sling

        store = _store(self.town)
        try:
            results = sling(self.town, store, beads, target)
        finally:
            store.close_connection()
        return "slung " + "; ".join(f"{r.bead} → {r.agent} ({r.session})" for r in results)

    # ------------------------------------------------------------------ nuke
    def action_nuke(self) -> None:
        self.nuke_agent(self.selected_agent())

    def nuke_agent(self, agent: AgentView | None) -> None:
        from gastown_tui.screens.nuke import NukeModal

        if self.config.read_only:
            return
        if agent is None or agent.role != "polecat":
            self.flash("select a polecat to nuke first", "warning")
            return

        def go(request: Any) -> None:
            if request is not None:
                self.run_verb("nuke", lambda: self._nuke(agent, request.force))

        self.push_screen(NukeModal(self.town, agent.rig, agent.name), go)

    def _nuke(self, agent: AgentView, force: bool) -> str:
        from gastown_tui.ops.nuke import nuke

        store = _store(self.town)
        try:
            results = nuke(self.town, store, [f"{agent.rig}/{agent.name}"], force=force)
        finally:
            store.close_connection()
        saved = [r.graveyard_ref for r in results if r.graveyard_ref]
        return f"nuked {agent.label}" + (f" (work kept in {saved[0]})" if saved else "")

    # ------------------------------------------------------------------ attach, zoom, screens
    def action_attach(self) -> None:
        self.attach_agent(self.selected_agent())

    def attach_agent(self, agent: AgentView | None) -> None:
        from gastown_tui.tmux.commands import session_target, tmux_env
        from gastown_tui.tmux.socket import socket_name, tmux_argv

        if agent is None:
            return
        if not agent.session_running:
            self.flash(f"{agent.label} has no running session to attach to", "warning")
            return
        argv = tmux_argv(socket_name(self.town.root), "attach-session", "-t",
                         session_target(agent.session))
        try:
            # The app is suspended while the operator is in tmux; it resumes on detach.
            with self.suspend():
                subprocess.run(argv, env=tmux_env(), check=False)
        except SuspendNotSupported:
            self.flash("attaching needs a real terminal", "warning")
        except OSError as exc:
            self.flash(f"attach failed: {exc}", "error")
        self.refresh(layout=True)

    def action_zoom(self) -> None:
        agent = self.selected_agent()
        if agent is not None and agent.role == "polecat":
            self.open_screen(f"polecat:{agent.address}")

    def action_help(self) -> None:
        from gastown_tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def action_open(self, spec: str) -> None:
        self.open_screen(spec)

    def open_screen(self, spec: str) -> None:
        from gastown_tui.screens.registry import screen_for

        if spec == "main":
            while len(self.screen_stack) > 1:
                self.pop_screen()
            return
        screen = screen_for(spec, self.snapshot)
        if screen is None:
            self.flash(f"nothing to show for {spec!r}", "warning")
            return
        self.push_screen(screen)

    # ------------------------------------------------------------------ Mayor, MRs, convoys
    def action_start_mayor(self) -> None:
        from gastown_tui.screens.confirm import ConfirmModal

        def go(yes: bool | None) -> None:
            if yes:
                self.run_verb("start the Mayor", self._start_mayor)

        self.push_screen(ConfirmModal("Start the Mayor?", "start"), go)

    def _start_mayor(self) -> str:
        from gastown_tui.ops.up import start_mayor

        step = start_mayor(self.town)
        return f"Mayor {step.action} ({step.session})"

    def action_retry_mr(self) -> None:
        mr = getattr(self.screen, "selected_mr", None)
        if mr:
            self.run_verb(f"retry {mr}", lambda: self._mq("retry", mr, ""))

    def action_reject_mr(self) -> None:
        from gastown_tui.screens.confirm import PromptModal

        mr = getattr(self.screen, "selected_mr", None)
        if not mr:
            return

        def go(reason: str | None) -> None:
            if reason:
                self.run_verb(f"reject {mr}", lambda: self._mq("reject", mr, reason))

        self.push_screen(PromptModal(f"Reject {mr}: why?", "the reason its worker will read"), go)

    def _mq(self, verb: str, mr: str, reason: str) -> str:
        try:
            from gastown_tui.refinery import admin
        except ImportError:
            return f"{verb} is not available (the refinery is not installed)"
        store = _store(self.town)
        try:
            if verb == "retry":
                admin.retry(self.town, store, mr)
            else:
                admin.reject(self.town, store, mr, reason)
        finally:
            store.close_connection()
        return f"{mr}: {verb} done"

    def action_convoy_from_marked(self) -> None:
        from gastown_tui.screens.confirm import PromptModal

        beads = sorted(self.marked_beads)
        if not beads:
            self.flash("mark beads with space on the beads screen (:beads) first", "warning")
            return

        def go(name: str | None) -> None:
            if name:
                self.marked_beads.clear()
                self.run_verb("convoy", lambda: self._convoy(name, beads))

        self.push_screen(PromptModal(f"Convoy of {len(beads)} beads: its name?",
                                     "e.g. Auth rework"), go)

    def _convoy(self, name: str, beads: list[str]) -> str:
        from gastown_tui.ops import convoy as convoy_ops

        store = _store(self.town)
        try:
            convoy = convoy_ops.create(self.town, store, name, beads, owner="overseer")
        finally:
            store.close_connection()
        return f"convoy {convoy['id']} tracks {', '.join(beads)}"
