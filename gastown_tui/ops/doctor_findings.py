"""What `gt doctor`'s checks share: the context they run in and the findings they report
(apart from doctor.py, which runs them, so the checks can import these without a cycle)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

STATUSES = ("ok", "warn", "error", "fixed")
MAX_DETAILS = 20
LOOP_SESSIONS = ("-witness", "-refinery")


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str
    details: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "details": list(self.details)}


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[CheckResult, ...]
    fix: bool

    @property
    def ok(self) -> bool:
        """No error is left (warnings and repairs do not fail the run)."""
        return all(c.status != "error" for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "fix": self.fix, "checks": [c.as_json() for c in self.checks]}


@dataclass
class Finding:
    """What one check found: problems it could not fix, repairs, warnings and plain notes."""

    name: str
    errors: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def result(self) -> CheckResult:
        status = ("error" if self.errors else "fixed" if self.fixed
                  else "warn" if self.warnings else "ok")
        lines = ([f"error: {e}" for e in self.errors] + [f"fixed: {f}" for f in self.fixed]
                 + [f"warn: {w}" for w in self.warnings] + [f"info: {n}" for n in self.notes])
        if len(lines) > MAX_DETAILS:
            lines = lines[:MAX_DETAILS] + [f"… and {len(lines) - MAX_DETAILS} more"]
        return CheckResult(self.name, status, tuple(lines))


@dataclass
class DoctorContext:
    town: Town
    fix: bool
    grace: float
    lock_age: float
    heartbeat_stale: float
    now: float = field(default_factory=time.time)
    _store: BeadStore | None = None
    store_broken: str = ""

    def store(self) -> BeadStore:
        if self.store_broken:
            raise GasTownError(f"skipped: {self.store_broken}", fix="see the store check")
        if self._store is None:
            self._store = BeadStore(self.town.store_location, actor="doctor",
                                    full_disk_reads=True)
        return self._store

    def old_enough(self, mtime: float) -> bool:
        return self.now - mtime >= self.grace

    def close(self) -> None:
        if self._store is not None:
            self._store.close_connection()


def _rigs(town: Town):
    try:
        return town.rigs()
    except GasTownError:
        return []
