"""Which town files matter to the control room, and what a change to each one means.

watchfiles reports every file under the town (git objects, gate worktrees, build output); the
TownModel only cares about a few, and each kind of file invalidates a different part of the
snapshot. `classify` names that part; `TownFilter` hands watchfiles the same decision so
unimportant paths never even reach Python's side of the batch. watchfiles' DefaultFilter drops
everything under `.git`, which would hide branch moves, so this filter replaces it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Entities that never change what the control room shows, even inside a polecat's worktree.
_NOISE_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", "node_modules", ".venv",
                         ".tox", ".ruff_cache", ".hypothesis"})
_NOISE_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", "~", ".tmp", ".lock", ".flock")


@dataclass
class ChangeSet:
    """The parts of the snapshot a batch of file changes invalidates."""

    full: bool = False  # town.json or rigs.json: rebuild everything
    store: bool = False
    events: bool = False
    sessions: bool = False  # the pane observer saw sessions come or go
    refinery: set[str] = field(default_factory=set)  # rigs whose stage file changed
    witness: set[str] = field(default_factory=set)  # rigs whose Witness wrote its verdicts
    gate_logs: set[str] = field(default_factory=set)  # rigs whose gate output grew
    heartbeats: set[str] = field(default_factory=set)  # session names
    nudges: set[str] = field(default_factory=set)  # session names
    worktrees: set[tuple[str, str]] = field(default_factory=set)  # (rig, polecat)
    rig_refs: set[str] = field(default_factory=set)  # rigs whose branches moved
    polecat_dirs: set[str] = field(default_factory=set)  # rigs that gained or lost a polecat
    bead_lists: bool = False  # read the ready/open bead lists the first load put off
    costs: bool = False  # read the usage ledger (on a timer: transcripts are outside the town)

    def __bool__(self) -> bool:
        return bool(self.full or self.store or self.events or self.sessions or self.refinery
                    or self.witness
                    or self.gate_logs or self.heartbeats or self.nudges or self.worktrees or self.rig_refs
                    or self.polecat_dirs or self.bead_lists or self.costs)

    def merge(self, other: ChangeSet) -> None:
        self.full |= other.full
        self.store |= other.store
        self.events |= other.events
        self.sessions |= other.sessions
        self.refinery |= other.refinery
        self.witness |= other.witness
        self.gate_logs |= other.gate_logs
        self.heartbeats |= other.heartbeats
        self.nudges |= other.nudges
        self.worktrees |= other.worktrees
        self.rig_refs |= other.rig_refs
        self.polecat_dirs |= other.polecat_dirs
        self.bead_lists |= other.bead_lists
        self.costs |= other.costs


def _noise(parts: list[str]) -> bool:
    return any(p in _NOISE_DIRS for p in parts) or parts[-1].endswith(_NOISE_SUFFIXES)


def classify(root: Path, rigs: frozenset[str], path: str, into: ChangeSet | None = None
             ) -> ChangeSet | None:
    """Record what `path` invalidates in `into` (a new ChangeSet if None); None if nothing."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return None
    if rel.startswith(".."):
        return None
    parts = rel.split(os.sep)
    out = into if into is not None else ChangeSet()
    if rel == ".":
        out.full = True  # the town directory itself went or came back
        return out
    head = parts[0]
    if head == ".beads":
        # The -shm file is a shared-memory index that readers touch too: watching it would
        # make every snapshot trigger the next one.
        if len(parts) == 2 and parts[1] in ("beads.db", "beads.db-wal"):
            out.store = True
            return out
        return None
    if rel == ".events.jsonl":
        out.events = True
        return out
    if head == "mayor":
        if rel in (os.path.join("mayor", "rigs.json"), os.path.join("mayor", "town.json")):
            out.full = True
            return out
        return None
    if head == ".runtime":
        return _classify_runtime(parts, out)
    if head in rigs:
        return _classify_rig(head, parts, out)
    return None


def _classify_runtime(parts: list[str], out: ChangeSet) -> ChangeSet | None:
    if len(parts) == 3 and parts[1] == "heartbeats" and parts[2].endswith(".json") \
            and not parts[2].startswith("."):
        out.heartbeats.add(parts[2][:-5])
        return out
    # Queued nudges are `<session>/<n>.json`, renamed to .claimed when an agent drains them.
    if len(parts) == 4 and parts[1] == "nudge_queue" and parts[3].endswith((".json", ".claimed")):
        out.nudges.add(parts[2])
        return out
    return None


def _classify_rig(rig: str, parts: list[str], out: ChangeSet) -> ChangeSet | None:
    if len(parts) < 2:
        return None
    second = parts[1]
    if len(parts) == 2 and second == "config.json":
        out.full = True
        return out
    if second == ".runtime":
        if len(parts) == 4 and parts[2] == "refinery" and parts[3] == "state.json":
            out.refinery.add(rig)
            return out
        if len(parts) == 4 and parts[2] == "witness" and parts[3] == "state.json":
            out.witness.add(rig)
            return out
        if len(parts) == 5 and parts[2:4] == ["refinery", "logs"] and parts[4].endswith(".log"):
            out.gate_logs.add(rig)
            return out
        return None
    if second == ".repo.git":
        return _classify_bare_repo(rig, parts[2:], out)
    if second == "crew" and len(parts) == 3 and not parts[2].startswith("."):
        out.polecat_dirs.add(rig)  # a crew member came or went: the workers are read again
        return out
    if second == "polecats" and len(parts) >= 3 and not parts[2].startswith("."):
        if len(parts) == 3:
            out.polecat_dirs.add(rig)
            return out
        if _noise(parts[3:]) or ".git" in parts[4:]:
            return None
        out.worktrees.add((rig, parts[2]))
        return out
    return None


def _classify_bare_repo(rig: str, parts: list[str], out: ChangeSet) -> ChangeSet | None:
    if not parts:
        return None
    if parts[0] in ("refs", "packed-refs") and not parts[-1].endswith(".lock"):
        out.rig_refs.add(rig)
        return out
    # Each worktree keeps its HEAD and index here, beside the shared objects.
    if parts[0] == "worktrees" and len(parts) == 3 and parts[2] in ("HEAD", "index"):
        out.worktrees.add((rig, parts[1]))
        return out
    return None


def changes_from_paths(root: Path, rigs: frozenset[str], paths: Iterable[str]) -> ChangeSet:
    out = ChangeSet()
    for path in sorted(paths):  # watchfiles hands a set; sorted keeps runs reproducible
        classify(root, rigs, path, out)
    return out


class TownFilter:
    """A watchfiles filter that lets through only the paths `classify` cares about.

    `rigs` is read on every call, so the model can swap in new rig names after rigs.json
    changes without restarting the watcher.
    """

    def __init__(self, root: Path, rigs: Callable[[], frozenset[str]]) -> None:
        self.root = Path(root)
        self._rigs = rigs

    def __call__(self, change: object, path: str) -> bool:
        return classify(self.root, self._rigs(), path) is not None

    def __repr__(self) -> str:
        return f"TownFilter({self.root})"
