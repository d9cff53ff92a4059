"""Putting the bead store at rest: a fresh JSONL backup, then the WAL checkpointed and
truncated (town/store/wal.py says why). `gt down` and `gt shutdown` do it after their sessions
stop; the Deacon does it every few minutes. Nothing here fails the verb that asked for it: what
could not be done is said, and the next time tries again."""

from __future__ import annotations

import os
from dataclasses import dataclass

from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import Town


def care_interval() -> float:
    """Seconds between the Deacon's backups and checkpoints (GT_STORE_CARE_SECONDS)."""
    try:
        return max(5.0, float(os.environ.get("GT_STORE_CARE_SECONDS", "600")))
    except ValueError:
        return 600.0


@dataclass
class StoreRest:
    backup: str = ""  # "written", "unchanged", or why not
    checkpoint: str = ""  # "N frame(s)", or why not
    problems: tuple[str, ...] = ()

    def line(self) -> str:
        return f"backup {self.backup}; WAL checkpoint {self.checkpoint}"

    def as_json(self) -> dict[str, object]:
        return {"backup": self.backup, "checkpoint": self.checkpoint,
                "problems": list(self.problems)}


def rest_store(town: Town, *, busy_timeout_ms: int = 5000) -> StoreRest | None:
    """None for a PostgreSQL store: its WAL and its backups are the server's concern."""
    from gastown_tui.town.store.backend import is_pg, sqlite_path
    from gastown_tui.town.store.backup import write_backup
    from gastown_tui.town.store.wal import checkpoint

    location = town.store_location
    if is_pg(location):
        return None
    db = sqlite_path(location)
    rest = StoreRest()
    problems = []
    if not db.exists():
        return StoreRest("skipped (no store)", "skipped (no store)")
    try:
        state, written = write_backup(db)
        rest.backup = (f"written ({state.counts.get('issues', 0)} beads)" if written
                       else "unchanged")
    except GasTownError as exc:
        rest.backup = "not written"
        problems.append(f"backup: {exc}")
    except OSError as exc:
        rest.backup = "not written"
        problems.append(f"backup: {exc}")
    try:
        done, frames = checkpoint(db, busy_timeout_ms=busy_timeout_ms)
        rest.checkpoint = f"{frames} frame(s), WAL emptied" if done else \
            "deferred (the store was busy)"
    except Exception as exc:  # sqlite3.Error and OSError: never fail the verb for it
        rest.checkpoint = "not done"
        problems.append(f"checkpoint: {exc}")
    rest.problems = tuple(problems)
    return rest
