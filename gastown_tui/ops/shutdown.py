"""Stopping a whole town: its tmux server, every process it started, and (for `gt shutdown`)
the polecats whose work is safe to let go.

`gt down` is the pause (ops/up.py); this is the end of the day. Processes are found by the
town's GT_ROOT in their environment, so a helper that left its pane's process tree (a daemon,
a `nohup` job) is stopped too, and anything that would not stop is reported by pid.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gastown_tui.ops import nuke as nuke_ops
from gastown_tui.ops.sessions import tmux_for
from gastown_tui.ops.store_care import StoreRest, rest_store
from gastown_tui.tmux import proctree
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.progress import Progress
from gastown_tui.town.store import BeadStore


@dataclass
class StopReport:
    """What stopping the town did; `problems` is empty when everything is gone."""

    socket: str
    server_was_running: bool = False
    stopped_pids: list[int] = field(default_factory=list)
    survivors: list[dict[str, Any]] = field(default_factory=list)  # {pid, command}
    killed: list[dict[str, Any]] = field(default_factory=list)  # {pid, command}: needed SIGKILL
    rounds: int = 0
    problems: list[str] = field(default_factory=list)
    hosts: dict[str, str] = field(default_factory=dict)  # host -> what became of its server

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"socket": self.socket, "server_was_running": self.server_was_running,
                "stopped_pids": self.stopped_pids, "survivors": self.survivors,
                "killed": self.killed, "problems": self.problems, "ok": self.ok,
                **({"hosts": self.hosts} if self.hosts else {})}


def town_processes(town: Town) -> list[proctree.ProcessEntry]:
    """Live processes started for this town (GT_ROOT is its root), not this one."""
    roots = {str(town.root)}
    try:
        roots.add(str(town.root.resolve()))
    except OSError:
        pass
    return proctree.processes_with_env("GT_ROOT", roots)


def orphan_processes(town: Town) -> list[proctree.ProcessEntry]:
    """Processes of the town (its GT_ROOT) outside every tmux pane's tree: left behind when
    a session died without taking its children with it."""
    try:
        panes = [s.pane_pid for s in tmux_for(town).list_sessions()]
    except GasTownError:
        panes = []
    table = proctree.process_table()
    owned = {p.pid for p in proctree.tree_deepest_first(panes, table)} | set(panes)
    return [p for p in town_processes(town) if p.pid not in owned]


def stop_town(town: Town, *, grace: float = 2.0, settle: float = 0.5,
              timeout: float = 30.0) -> StopReport:
    """Stop the town's tmux server and every process of the town; report what survived.

    "Stopped" is said only of what is gone: each round ends the panes' process trees, the
    server, then every other process carrying the town's GT_ROOT (SIGTERM, then SIGKILL after
    `grace`, each SIGKILL reported); rounds repeat until neither a server nor a process of the
    town has been seen for `settle` seconds, because a loop caught in the middle of a patrol
    (the Deacon restarting sessions) can start a fresh server after the first one went."""
    tmux = tmux_for(town)
    report = StopReport(socket=tmux.socket)
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    while True:
        report.rounds += 1
        try:
            panes = [s.pane_pid for s in tmux.list_sessions()]
        except GasTownError:
            panes = []
        seen = bool(panes)
        if panes:
            _end(report, proctree.end_tree(panes, grace=grace), outside=False)
        try:
            if tmux.kill_server(grace=grace):
                report.server_was_running = seen = True
        except GasTownError as exc:
            report.problems.append(str(exc.problem))
            break
        leftovers = town_processes(town)
        if leftovers:
            seen = True
            _end(report, proctree.end_tree([p.pid for p in leftovers], grace=grace),
                 outside=True)
        now = time.monotonic()
        if seen:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= settle:
            break
        if now >= deadline:
            break
        time.sleep(0.05)
    for proc in town_processes(town):
        command = proctree.command_line(proc.pid)
        report.survivors.append({"pid": proc.pid, "command": command})
        report.problems.append(f"process {proc.pid} ({command or '?'}) did not stop")
    if tmux.is_running():
        report.problems.append(f"the tmux server (socket {tmux.socket}) is running again after "
                               f"{report.rounds} round(s) of stopping it")
    _stop_hosts(town, report, grace)
    return report


def _end(report: StopReport, ended: proctree.TreeEnd, *, outside: bool) -> None:
    if outside:
        report.stopped_pids += [pid for pid in ended.signalled if pid not in report.stopped_pids]
    for pid, command in ended.killed:
        report.killed.append({"pid": pid, "command": command})


def _stop_hosts(town: Town, report: StopReport, grace: float) -> None:
    """Each host's tmux server (the town's sessions there) ends too, by the host's gt."""
    from gastown_tui.town.hostlist import load_hosts

    for name in load_hosts(town):
        try:
            stopped = tmux_for(town, name).kill_server(grace=grace)
        except GasTownError as exc:
            report.hosts[name] = f"left running: {exc.problem}"
            report.problems.append(f"host {name}: {exc.problem}")
            continue
        report.hosts[name] = "stopped" if stopped else "no server"


@dataclass
class ShutdownReport:
    stop: StopReport
    removed: list[str] = field(default_factory=list)  # polecats whose worktree went
    kept: dict[str, list[str]] = field(default_factory=dict)  # polecat -> why it was kept
    graves: list[str] = field(default_factory=list)
    store: str = ""  # the town's own PostgreSQL: stopped | absent ('' when it has none)
    rest: StoreRest | None = None  # a SQLite store's backup and WAL checkpoint, at the end

    def as_json(self) -> dict[str, Any]:
        out = {**self.stop.as_json(), "removed": self.removed, "kept": self.kept,
               "graveyard": self.graves,
               "store_rest": self.rest.as_json() if self.rest is not None else None}
        if self.store:
            out["store"] = self.store
        return out


def all_polecats(town: Town) -> list[str]:
    return [target for rig in town.rigs() for target in nuke_ops.rig_polecats(town, rig.name)]


def shutdown(town: Town, store: BeadStore, *, nuclear: bool = False,
             grace: float = 2.0, progress: Progress | None = None) -> ShutdownReport:
    """Stop everything, then remove each polecat whose nuke would lose nothing.

    A polecat with unsaved work (uncommitted files, unmerged commits, an open MR, a hooked
    bead) keeps its worktree unless `nuclear`, and then its work goes to the graveyard first.
    """
    if progress is not None:
        progress.step("Stopping the town", 0)
    report = ShutdownReport(stop=stop_town(town, grace=grace))
    targets = all_polecats(town)
    for number, target in enumerate(targets, 1):
        if progress is not None:
            progress.step("Removing polecats", number, len(targets), detail=target)
        try:
            plan = nuke_ops.nuke(town, store, [target], dry_run=True, force=nuclear)[0]
        except GasTownError as exc:  # on a host that does not answer: kept, as it is
            report.kept[target] = [str(exc.problem)]
            continue
        if plan.refused:
            report.kept[plan.target] = list(plan.findings)
            continue
        try:
            result = nuke_ops.nuke(town, store, [target], force=nuclear)[0]
        except GasTownError as exc:
            report.kept[plan.target] = [str(exc.problem)]
            continue
        report.removed.append(result.target)
        report.graves += list(result.graveyard)
    if progress is not None:
        progress.finish()
    report.rest = rest_store(town)  # nothing of the town runs any more: the store is quiet
    log_event(town.root, "shutdown", actor=store.actor, payload={
        "removed": report.removed, "kept": sorted(report.kept), "graves": report.graves,
        "survivors": [s["pid"] for s in report.stop.survivors]})
    # Last: the nukes above needed the store. The town's own PostgreSQL stops with the town.
    from gastown_tui.ops import store_admin

    store.close_connection()
    try:
        step = store_admin.stop(town)
    except GasTownError as exc:
        report.stop.problems.append(exc.problem)
    else:
        report.store = step.action if step is not None else ""
    return report
