"""What the patrol loops share: one instance per lock, and a sleep that stops on SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gastown_tui.town.locks import try_lock

_stop = threading.Event()


def _on_term(signum, frame) -> None:
    _stop.set()


@contextmanager
def single_instance(lock_path: Path, what: str) -> Iterator[None]:
    with try_lock(lock_path, busy=f"the {what} is already running",
                  fix="only one may run; see 'gt status'"):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_term)
        yield


def sleep_until(seconds: float, stop: threading.Event | None = None) -> bool:
    """Sleep; True when asked to stop (SIGTERM or the given event)."""
    event = stop or _stop
    return event.wait(seconds) or _stop.is_set()
