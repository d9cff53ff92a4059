"""What the patrol loops share: one instance per lock, and a sleep that stops on SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gastown_tui.town.locks import try_lock
from gastown_tui.town.presence import GoneWatch

_stop = threading.Event()


def _on_term(signum, frame) -> None:
    _stop.set()


@contextmanager
def single_instance(lock_path: Path, what: str, town_root: Path | None = None,
                    session: str | None = None) -> Iterator[None]:
    """One loop at a time; on a PostgreSQL town across hosts too: the loop holds the session
    lock `presence:<session>` while it runs, which is also how others see it alive."""
    with try_lock(lock_path, busy=f"the {what} is already running",
                  fix="only one may run; see 'gt status'", town_root=town_root,
                  name=f"presence:{session}" if session else None):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_term)
        yield


def sleep_until(seconds: float, stop: threading.Event | None = None) -> bool:
    """Sleep; True when asked to stop (SIGTERM or the given event)."""
    event = stop or _stop
    return event.wait(seconds) or _stop.is_set()


def wait_out(gone: GoneWatch, every: float, stop: threading.Event | None = None
             ) -> tuple[bool, str]:
    """Sleep `every` seconds, looking each second: (asked to stop, why the town is gone)."""
    return gone.wait_out(every, lambda seconds: sleep_until(seconds, stop))


def say_gone(what: str, why: str) -> None:
    """The one line a stopping loop leaves in its pane."""
    print(f"{what} stopped: {why}; nothing left to look after.", flush=True)
