"""The refinery's files: merge-queue settings, the stage file, the heartbeat and its paths.

The stage file (`<rig>/.runtime/refinery/state.json`) says what the loop is doing right now, so
the control room can show it and a restarted loop can tell a finished merge from a dead one."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import RigInfo, Town, now_rfc3339

GATE_NAMES = ("setup", "typecheck", "lint", "build", "test")
DEFAULT_GATE_TIMEOUT = 600.0


class RefineryError(GasTownError):
    code = "refinery"


class RefineryBusyError(RefineryError):
    """Another refinery loop holds this rig's lock."""

    code = "busy"


def runtime_dir(rig: RigInfo) -> Path:
    return rig.path / ".runtime" / "refinery"


def state_path(rig: RigInfo) -> Path:
    return runtime_dir(rig) / "state.json"


def lock_path(rig: RigInfo) -> Path:
    return runtime_dir(rig) / "loop.lock"


def logs_dir(rig: RigInfo) -> Path:
    return runtime_dir(rig) / "logs"


def gate_worktree_path(rig: RigInfo) -> Path:
    return runtime_dir(rig) / "gate-wt"


def wake_path(rig: RigInfo) -> Path:
    return runtime_dir(rig) / "wake"


def heartbeat_path(town: Town, rig: RigInfo) -> Path:
    return town.runtime_dir / "heartbeats" / f"{rig.prefix}-refinery.json"


def gate_log_path(rig: RigInfo, mr_id: str, gate: str) -> Path:
    return logs_dir(rig) / f"{mr_id}-{gate}.log"


def refinery_address(rig: RigInfo) -> str:
    return f"{rig.name}/refinery"


# ------------------------------------------------------------------ settings
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")


def parse_duration(text: str | int | float | None, default: float = DEFAULT_GATE_TIMEOUT) -> float:
    """Seconds from "10m", "30s", "1h30m", "250ms" or a bare number of seconds."""
    if text is None or text == "":
        return default
    if isinstance(text, int | float):
        return float(text)
    value = str(text).strip().lower()
    pos, total = 0, 0.0
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
    while pos < len(value):
        m = _DURATION.match(value, pos)
        if not m or m.end() == pos:
            raise ValidationError(f"bad duration {text!r} in merge_queue settings",
                                  fix='use a number of seconds or forms like "30s", "10m", "1h"')
        total += float(m.group(1)) * scale[m.group(2)]
        pos = m.end()
    if total <= 0:
        raise ValidationError(f"duration {text!r} must be positive", fix='use e.g. "10m"')
    return total


@dataclass(frozen=True, slots=True)
class MergeQueueSettings:
    gates: tuple[tuple[str, str], ...]   # (gate name, command line) in run order, empty skipped
    gate_timeout: float
    delete_merged_branches: bool
    run_tests: bool


def load_settings(rig: RigInfo) -> MergeQueueSettings:
    """`merge_queue` from `<rig>/settings/config.json`; a missing file means no gates."""
    cfg = read_json(rig.path / "settings" / "config.json", {}) or {}
    mq = cfg.get("merge_queue") or {}
    if not isinstance(mq, dict):
        raise ValidationError(f"{rig.path}/settings/config.json: merge_queue is not an object",
                              fix="make merge_queue a JSON object of *_command strings")
    run_tests = mq.get("run_tests", True) is not False
    gates: list[tuple[str, str]] = []
    if run_tests:
        for name in GATE_NAMES:
            command = mq.get(f"{name}_command") or ""
            if not isinstance(command, str):
                raise ValidationError(f"merge_queue.{name}_command must be a string",
                                      fix='write the command as one string, e.g. "pytest -q"')
            if command.strip():
                gates.append((name, command.strip()))
    return MergeQueueSettings(
        gates=tuple(gates),
        gate_timeout=parse_duration(mq.get("gate_timeout")),
        delete_merged_branches=mq.get("delete_merged_branches", True) is not False,
        run_tests=run_tests,
    )


# ------------------------------------------------------------------ stage file
def read_state(rig: RigInfo) -> dict[str, Any] | None:
    try:
        data = read_json(state_path(rig), None)
    except GasTownError:
        return None  # a torn file cannot happen (atomic writes); a hand-edited one is ignored
    return data if isinstance(data, dict) else None


class StageRecorder:
    """Writes each stage of one MR atomically; extra keys (onto, new_tip, gate_pgid) persist."""

    def __init__(self, rig: RigInfo, mr_id: str) -> None:
        self.rig = rig
        self.data: dict[str, Any] = {"mr": mr_id, "stage": "", "started_at": now_rfc3339(),
                                     "stage_started_at": "", "pid": os.getpid()}

    @property
    def stage(self) -> str:
        return str(self.data.get("stage", ""))

    def stage_to(self, stage: str, **extra: Any) -> None:
        self.data.update(extra)
        self.data["stage"] = stage
        self.data["stage_started_at"] = now_rfc3339()
        write_json(state_path(self.rig), self.data)

    def note(self, **extra: Any) -> None:
        self.data.update(extra)
        write_json(state_path(self.rig), self.data)


def clear_state(rig: RigInfo) -> None:
    state_path(rig).unlink(missing_ok=True)


def poke(rig: RigInfo) -> None:
    """Wake an idle refinery loop (it watches its runtime folder) without waiting for its poll."""
    safe_write.write_text(wake_path(rig), now_rfc3339() + "\n")


# ------------------------------------------------------------------ heartbeat
def write_heartbeat(town: Town, rig: RigInfo, state: str, mr: str = "") -> None:
    if not town.town_json.is_file():  # never re-create the folders of a town that was removed
        return
    write_json(heartbeat_path(town, rig), {"ts": now_rfc3339(), "state": state, "mr": mr,
                                           "pid": os.getpid()})
    from gastown_tui.town.presence import beat

    beat(town, f"{rig.prefix}-refinery", state, mr=mr)


def read_heartbeat(town: Town, rig: RigInfo) -> dict[str, Any] | None:
    try:
        data = read_json(heartbeat_path(town, rig), None)
    except GasTownError:
        return None
    return data if isinstance(data, dict) else None


