"""`gt polecat stale [<rig>] [--cleanup] [--dry-run]`: finished polecats, and cleaning them up.

Upstream's `gt polecat stale` calls a polecat stale when its session is gone and it has no
uncommitted work, and `--cleanup` nukes those. Here a polecat is finished when its derived
state is `done` (its MR submitted) or `idle` (nothing on its hook): its session, if one is
left, sits at a prompt with nothing to do. Whether it is safe to remove is nuke's own check
(ops/nuke.check_safety: uncommitted files, commits whose content is not on main, an open MR,
work on the hook), so cleanup never loses more than a plain `gt polecat nuke` would: anything
unmerged or dirty is kept and reported, never forced into the graveyard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gastown_tui.ops import nuke as nuke_ops
from gastown_tui.ops.polecats import PolecatInfo, polecats
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

FINISHED = ("done", "idle")


@dataclass(frozen=True)
class StalenessInfo:
    """One polecat's verdict (upstream's StalenessInfo, plus the rig, nuke's findings and
    what cleanup did)."""

    rig: str
    name: str
    state: str
    has_active_session: bool
    has_uncommitted_work: bool
    agent_state: str
    is_stale: bool  # finished and safe to nuke without --force
    reason: str
    findings: tuple[str, ...] = ()
    nuked: bool = False
    error: str = ""

    @property
    def target(self) -> str:
        return f"{self.rig}/{self.name}"

    def as_json(self) -> dict[str, Any]:
        # Upstream encodes its Go struct as is: these capitalised names are its --json shape.
        return {"Name": self.name, "HasActiveSession": self.has_active_session,
                "HasUncommittedWork": self.has_uncommitted_work, "AgentState": self.agent_state,
                "IsStale": self.is_stale, "Reason": self.reason, "Rig": self.rig,
                "State": self.state, "Findings": list(self.findings), "Nuked": self.nuked,
                "Error": self.error}


def _judge(town: Town, store: BeadStore, info: PolecatInfo) -> StalenessInfo:
    base = dict(rig=info.rig, name=info.name, state=info.state,
                has_active_session=info.session_running, agent_state=info.agent_state)
    if info.state not in FINISHED:
        return StalenessInfo(**base, has_uncommitted_work=False, is_stale=False,
                             reason=f"{info.state}: {info.evidence}")
    try:
        findings = nuke_ops.check_safety(town, store, info.rig, info.name)
    except GasTownError as exc:
        return StalenessInfo(**base, has_uncommitted_work=False, is_stale=False,
                             reason=f"cannot check it: {exc.problem}", error=exc.problem)
    dirty = any("uncommitted" in f for f in findings)
    if findings:
        return StalenessInfo(**base, has_uncommitted_work=dirty, is_stale=False,
                             reason="kept: " + "; ".join(findings), findings=tuple(findings))
    why = "work merged to main" if info.state == "done" else "nothing on its hook"
    return StalenessInfo(**base, has_uncommitted_work=False, is_stale=True,
                         reason=f"finished ({why}), nothing would be lost")


def detect(town: Town, store: BeadStore, rig: str | None = None) -> list[StalenessInfo]:
    """Every polecat (of `rig`, or of the town) with its verdict."""
    found = polecats(town, store, town.rig(rig) if rig else None)
    return [_judge(town, store, info) for info in found]


def cleanup(town: Town, store: BeadStore, rig: str | None = None, *, dry_run: bool = False,
            progress: Callable[[StalenessInfo], None] | None = None) -> list[StalenessInfo]:
    """Nuke every stale (finished, clean) polecat, each on its own: one that changed since it
    was judged is refused by nuke's own check and reported, the others still go."""
    verdicts = detect(town, store, rig)
    if dry_run:
        return verdicts
    out = []
    for verdict in verdicts:
        if verdict.is_stale:
            try:
                nuke_ops.nuke(town, store, [verdict.target])
                verdict = replace(verdict, nuked=True)
            except nuke_ops.NukeRefusedError as exc:
                findings = tuple(f for found in exc.findings.values() for f in found)
                verdict = replace(verdict, is_stale=False, findings=findings,
                                  reason="kept: " + "; ".join(findings))
            except GasTownError as exc:
                verdict = replace(verdict, error=exc.problem, reason=f"failed: {exc.problem}")
            if progress is not None:
                progress(verdict)
        out.append(verdict)
    return out
