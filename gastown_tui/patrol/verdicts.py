"""What the Witness remembers between patrols, and the verdicts the control room shows."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gastown_tui.town.jsonfile import read_json, write_json

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(text: str | int | float, default: float) -> float:
    """'30m', '90s', '2h', '500ms' or a number of seconds."""
    if isinstance(text, int | float):
        return float(text)
    m = _DURATION.match(str(text or ""))
    if not m:
        return default
    value = float(m.group(1))
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def output_hash(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(line.rstrip() for line in lines).encode()).hexdigest()[:16]


@dataclass
class Memory:
    """Per polecat: the last progress seen and what the Witness already did about it."""

    head: str = ""
    output: str = ""
    bead_updated: str = ""
    progress_at: float = 0.0
    nudges: int = 0
    restarts: int = 0
    escalated: bool = False
    idle_since: float = 0.0
    cycle_told_at: float = 0.0  # told to hand off for a full context (ops/context_cycle.py)
    cycle_conversation: str = ""  # the conversation it was told in
    away_since: float = 0.0  # when its host stopped answering (0: it answers)
    stalled_at: float = 0.0  # when this silence was first judged a stall (0: not stalled)


@dataclass
class Verdict:
    polecat: str
    state: str
    evidence: str
    action: str = ""
    since: float = 0.0
    issue: str = ""  # the bead on its hook when judged (the control room matches it)


@dataclass
class WitnessState:
    memory: dict[str, Memory] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> WitnessState:
        data = read_json(path, {}) or {}
        state = cls()
        for name, mem in (data.get("memory") or {}).items():
            state.memory[name] = Memory(**{k: v for k, v in mem.items()
                                           if k in Memory.__dataclass_fields__})
        for name, ver in (data.get("verdicts") or {}).items():
            state.verdicts[name] = Verdict(**{k: v for k, v in ver.items()
                                              if k in Verdict.__dataclass_fields__})
        return state

    def save(self, path: Path) -> None:
        write_json(path, {"memory": {k: asdict(v) for k, v in self.memory.items()},
                          "verdicts": {k: asdict(v) for k, v in self.verdicts.items()}})

    def as_json(self) -> dict[str, Any]:
        return {k: asdict(v) for k, v in self.verdicts.items()}
