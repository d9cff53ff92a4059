"""Verbs on agents: nudge, nuke, attach (and watch, read-only), zoom, mark, the Mayor."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from textual.app import SuspendNotSupported
from textual.screen import Screen

from gastown_tui.model.snapshot import AgentView
from gastown_tui.town.errors import GasTownError
from gastown_tui.verbs.base import Job, Outcome, Verb
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.target import Target

if TYPE_CHECKING:
    from gastown_tui.dialogs.nudge import NudgeRequest
    from gastown_tui.dialogs.nuke import NukeRequest

MAYOR = "mayor"


def no_session(agent: AgentView) -> str:
    return f"{agent.label} has no running session (its program exited or was stopped)"


def running_mayor(room: Room) -> AgentView | None:
    mayor = room.snapshot.agent(MAYOR) if room.snapshot is not None else None
    return mayor if mayor is not None and mayor.session_running else None


class Nudge(Verb):
    id, key, label, group = "nudge", "n", "nudge", "agents"
    tooltip = "Type a message to the selected agent (or to every marked one)"
    dangerous = True
    clears_marks = True

    def why_not(self, target: Target, room: Room) -> str | None:
        agents = target.agents
        if not agents:
            return "select an agent (or mark some with space) first"
        if not any(a.session_running for a in agents):
            return no_session(agents[0]) if len(agents) == 1 else \
                "none of the marked agents has a running session"
        return None

    def ask(self, target: Target, room: Room) -> Screen[Any]:
        from gastown_tui.dialogs.nudge import NudgeModal

        return NudgeModal([a.label for a in target.agents])

    def perform(self, job: Job, target: Target, answer: NudgeRequest) -> Outcome:
        from gastown_tui.ops.nudge import nudge

        agents = target.agents
        live = [a for a in agents if a.session_running]
        for agent in agents:
            if not agent.session_running:  # said at once, not after the others' waits
                job.progress(f"nudge {agent.label}: {no_session(agent)}", "warning")
        statuses: dict[str, str] = {}

        def one(agent: AgentView) -> str:
            return nudge(job.town, agent.address, answer.text, mode=answer.mode).status

        # Each nudge may wait for its agent's prompt: in parallel, each reported as it lands.
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(live))),
                                thread_name_prefix="nudge") as pool:
            futures = {pool.submit(one, agent): agent for agent in live}
            for future in as_completed(futures):
                agent = futures[future]
                try:
                    status = future.result()
                except GasTownError as exc:
                    status = "failed"
                    job.progress(f"nudge {agent.label}: {exc.problem}", "error")
                else:
                    job.progress(f"nudge {agent.label}: {status} "
                                 f"({len(statuses) + 1}/{len(live)})",
                                 "error" if status == "failed" else "information")
                statuses[agent.label] = status
        if len(agents) == 1 and live:
            status = statuses[live[0].label]
            return Outcome(f"nudge {live[0].label}: {status}",
                           "error" if status == "failed" else "information")
        counts = {s: sum(1 for v in statuses.values() if v == s) for s in set(statuses.values())}
        skipped = len(agents) - len(live)
        parts = [f"{n} {s}" for s, n in sorted(counts.items())]
        if skipped:
            parts.append(f"{skipped} without a session")
        failed = counts.get("failed", 0) + skipped
        return Outcome(f"nudge: {len(agents)} agents — {', '.join(parts)}",
                       "warning" if failed else "information")


class Nuke(Verb):
    id, key, label, group = "nuke", "ctrl+d", "nuke", "agents"
    tooltip = "Destroy the selected polecat (a dialog lists what would be lost)"
    dangerous = True

    def why_not(self, target: Target, room: Room) -> str | None:
        agent = target.agent
        if agent is None:
            return "select a polecat first"
        if agent.role != "polecat":
            return f"only polecats can be nuked ({agent.label} is the {agent.role})"
        return None

    def ask(self, target: Target, room: Room) -> Screen[Any]:
        from gastown_tui.dialogs.nuke import NukeModal

        assert target.agent is not None
        return NukeModal(room.town, target.agent.rig, target.agent.name)

    def perform(self, job: Job, target: Target, answer: NukeRequest) -> Outcome:
        from gastown_tui.ops.nuke import nuke

        agent = target.agent
        assert agent is not None
        results = nuke(job.town, job.store, [f"{agent.rig}/{agent.name}"], force=answer.force)
        saved = [r.graveyard_ref for r in results if r.graveyard_ref]
        return Outcome(f"nuked {agent.label}" + (f" (work kept in {saved[0]})" if saved else ""))


class Attach(Verb):
    """The real tmux session, with the keyboard: the control room is suspended until the
    operator detaches."""

    id, key, label, group = "attach", "a", "attach", "agents"
    tooltip = "Attach its tmux session (detach to come back)"
    dangerous = True  # full write access to the agent's pane
    in_thread = False
    read_only_attach = False

    def why_not(self, target: Target, room: Room) -> str | None:
        agent = target.agent
        if agent is None:
            return "select an agent first"
        if not agent.session_running:
            return no_session(agent)
        return None

    def argv(self, room: Room, agent: AgentView) -> list[str]:
        """tmux attach-session on the town's socket (a polecat on another host: `ssh -t` to
        that host's server); `-r` (read-only) for watch."""
        from gastown_tui.ops.sessions import attach_argv

        return attach_argv(room.town, agent.session, read_only=self.read_only_attach)

    def act(self, room: Room, target: Target, answer: Any) -> None:
        from gastown_tui.tmux.commands import tmux_env

        agent = target.agent
        assert agent is not None
        try:
            argv = self.argv(room, agent)
        except GasTownError as exc:
            room.flash(f"{self.label}: {exc.problem}", "error")
            return
        try:
            with room.suspend():
                subprocess.run(argv, env=tmux_env(), check=False)
        except SuspendNotSupported:
            room.flash(f"{self.label} needs a real terminal", "warning")
        except OSError as exc:
            room.flash(f"attach failed: {exc}", "error")
        room.refresh(layout=True)


class Watch(Attach):
    """Attach read-only (tmux `attach -r`): what --read-only offers on the same key."""

    id, label = "watch", "watch"
    tooltip = "Attach its tmux session read-only (keys do not reach the agent)"
    dangerous = False
    read_only_attach = True


class Zoom(Verb):
    id, key, label, group = "zoom", "enter", "zoom", "agents"
    tooltip = "Full-size live view of the selected polecat"
    in_thread = False

    def why_not(self, target: Target, room: Room) -> str | None:
        agent = target.agent
        if agent is None:
            return "select a polecat first"
        if agent.role != "polecat":
            return f"{agent.label} has its own pane already (zoom shows polecats)"
        return None

    def act(self, room: Room, target: Target, answer: Any) -> None:
        assert target.agent is not None
        room.open_screen(f"polecat:{target.agent.address}")


class MarkAgent(Verb):
    id, key, label, group = "mark-agent", "space", "mark", "agents"
    tooltip = "Mark the selected polecat for a bulk nudge"
    in_thread = False
    show = False

    def why_not(self, target: Target, room: Room) -> str | None:
        return None if target.agent is not None else "select a polecat first"

    def act(self, room: Room, target: Target, answer: Any) -> None:
        assert target.agent is not None
        room.marks = room.marks.toggled_agent(target.agent.address)


class StartMayor(Verb):
    id, key, label, group = "start-mayor", "M", "start Mayor", "agents"
    tooltip = "Start the Mayor's session"
    dangerous = True
    show = False

    def why_not(self, target: Target, room: Room) -> str | None:
        return "the Mayor is already running" if running_mayor(room) else None

    def ask(self, target: Target, room: Room) -> Screen[Any]:
        from gastown_tui.dialogs.confirm import ConfirmModal

        return ConfirmModal("Start the Mayor?", "start")

    def perform(self, job: Job, target: Target, answer: Any) -> Outcome:
        from gastown_tui.ops.up import start_mayor

        step = start_mayor(job.town)
        return Outcome(f"Mayor {step.action} ({step.session})")


class TellMayor(Verb):
    """A line typed into the Mayor input (the MayorChat posts it; no key of its own)."""

    id, key, label, group = "tell-mayor", "", "to the Mayor", "agents"
    tooltip = "Send the typed line to the Mayor"
    dangerous = True
    show = False

    def why_not(self, target: Target, room: Room) -> str | None:
        if not target.text.strip():
            return "type a line for the Mayor first"
        if running_mayor(room) is None:
            return "the Mayor is not running (M starts it)"
        return None

    def perform(self, job: Job, target: Target, answer: Any) -> Outcome:
        from gastown_tui.ops.nudge import nudge

        result = nudge(job.town, MAYOR, target.text, mode="immediate")
        return Outcome(f"to the Mayor: {result.status}",
                       "error" if result.status == "failed" else "information")


FINISHED = ("done", "idle")


class CleanFinished(Verb):
    """`gt polecat stale --cleanup` from the control room: every finished polecat whose nuke
    would lose nothing goes; the others are kept and named."""

    id, key, label, group = "clean-finished", "C", "clean up", "agents"
    tooltip = "Nuke every finished polecat whose work is on main (the rest are kept)"
    dangerous = True

    def finished(self, room: Room) -> list[AgentView]:
        snapshot = room.snapshot
        return [a for a in snapshot.polecats if a.state in FINISHED] if snapshot else []

    def why_not(self, target: Target, room: Room) -> str | None:
        return None if self.finished(room) else "no finished polecat (done or idle) to clean up"

    def ask(self, target: Target, room: Room) -> Screen[Any]:
        from gastown_tui.dialogs.confirm import ConfirmModal

        n = len(self.finished(room))
        return ConfirmModal(f"Clean up {n} finished polecat{'' if n == 1 else 's'}? Any with "
                            "work not on main, uncommitted files or an open MR is kept.",
                            "clean up")

    def perform(self, job: Job, target: Target, answer: Any) -> Outcome:
        from gastown_tui.ops.polecat_stale import cleanup

        def said(verdict) -> None:
            job.progress(f"nuked {verdict.target}" if verdict.nuked
                         else f"kept {verdict.target}: {verdict.reason}")

        results = cleanup(job.town, job.store, progress=said)
        nuked = [r for r in results if r.nuked]
        kept = [r for r in results if r.findings or r.error]
        text = f"cleaned up {len(nuked)} finished polecat{'' if len(nuked) == 1 else 's'}"
        if kept:
            text += "; kept " + "; ".join(f"{r.target} ({r.reason.removeprefix('kept: ')})"
                                          for r in kept[:3])
            text += " …" if len(kept) > 3 else ""
        return Outcome(text, "warning" if kept else "information")
