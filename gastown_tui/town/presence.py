"""Whether a long-running loop still has a town (or a rig) to look after; and, for a town
whose store is PostgreSQL, each loop's presence in the store (a heartbeat row plus the
session lock it holds while it runs), so "alive" holds across hosts.

The first part:

A loop outliving its town polls a directory that no longer exists and keeps its tmux server
alive for nothing; each loop asks this between rounds and exits when the answer has been
"gone" for a while (a rename and back, a backup, a test, must not stop the town).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import Town
from gastown_tui.town.store.backend import is_pg

GONE_GRACE = 5.0  # seconds a town or rig must stay missing before a loop gives up on it


class GoneWatch:
    """Tells a loop when its town (or its rig) has been gone for `grace` seconds."""

    def __init__(self, town: Town, rig: str | None = None, grace: float = GONE_GRACE) -> None:
        self.town = town
        self.rig = rig
        self.grace = grace
        self._since: float | None = None

    def missing(self) -> bool:
        """True while the town or rig is missing right now (gone or not yet for long)."""
        return bool(self._gone())

    def _gone(self) -> str:
        """gone_reason, where a rigs.json that does not read (a person or a script writing it
        in place, caught half-written) is not "gone": the loop keeps its work, and asks again
        next round (gt doctor reports a file that stays unreadable)."""
        try:
            return self.town.gone_reason(self.rig)
        except GasTownError:
            return ""

    def reason(self) -> str:
        """'' while there is something to look after; why not, once that has lasted."""
        why = self._gone()
        if not why:
            self._since = None
            return ""
        now = time.monotonic()
        if self._since is None:
            self._since = now
        return why if now - self._since >= self.grace else ""

    def wait_out(self, every: float, sleep: Callable[[float], bool]) -> tuple[bool, str]:
        """Wait `every` seconds in steps of one, `sleep(seconds)` answering True when the loop
        is asked to stop: (asked to stop, why the town is gone)."""
        deadline = time.monotonic() + every
        while True:
            why = self.reason()
            if why:
                return False, why
            left = deadline - time.monotonic()
            if left <= 0:
                return False, ""
            if sleep(min(1.0, left)):
                return True, ""


def beat(town: Town, session: str, state: str, **info: object) -> None:
    """Record a loop's heartbeat in a PostgreSQL store (SQLite towns keep their files only).
    A heartbeat that cannot be written is skipped: the next one comes in seconds."""
    location = town.store_location
    if not is_pg(location):
        return
    import json
    import os
    import socket

    from gastown_tui.town.layout import now_rfc3339
    from gastown_tui.town.store.backend import connect

    try:
        conn = connect(location)
    except GasTownError:
        return
    try:
        conn.beat(session, socket.gethostname(), os.getpid(), state,
                  json.dumps(info, default=str, separators=(",", ":")), now_rfc3339())
    except GasTownError:
        pass
    finally:
        conn.close()


def presence(town: Town) -> list[dict]:
    """The loops' heartbeats in the store, each with `alive` (its session lock is held now,
    on whichever host); [] for a SQLite town."""
    location = town.store_location
    if not is_pg(location):
        return []
    from gastown_tui.town.store.backend import connect

    conn = connect(location)
    try:
        return conn.presence_rows()
    finally:
        conn.close()
