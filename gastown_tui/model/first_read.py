"""The town's first read, in a forked child, started by the CLI before the control room's own
imports: the child reads the town on one core while this process imports Textual and builds
the screen on the other (threads of one interpreter would only take turns, under the GIL).
The snapshot comes back pickled through a pipe; TownModel.prefetch takes it from here.
"""

from __future__ import annotations

import concurrent.futures
import os
import pickle
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported after the fork, not before: its twenty dataclasses took half the time to the
    # fork. The child imports it to build the snapshot; this process when the app (or the
    # unpickling) needs it.
    from gastown_tui.model.snapshot import TownSnapshot


class FirstRead:
    def __init__(self, pid: int, read_fd: int) -> None:
        self._pid, self._fd = pid, read_fd
        self._future: concurrent.futures.Future[TownSnapshot | None] | None = None

    @classmethod
    def start(cls, root: Path) -> FirstRead | None:
        """Fork the reader; None where forking is unsafe (threads running) or impossible."""
        if not hasattr(os, "fork") or threading.active_count() != 1:
            return None
        try:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
        except OSError:
            return None
        if pid == 0:
            try:
                os.close(read_fd)
                from gastown_tui.model.town_model import TownModel  # the child's own import

                snapshot = TownModel(root).load(defer_bead_lists=True)
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(pickle.dumps(snapshot, pickle.HIGHEST_PROTOCOL))
            finally:
                os._exit(0)  # no atexit, no flushing the parent's buffers twice
        os.close(write_fd)
        return cls(pid, read_fd)

    def future(self) -> concurrent.futures.Future[TownSnapshot | None]:
        """The snapshot, or None when the child failed (then read it in this process)."""
        if self._future is None:
            future: concurrent.futures.Future[TownSnapshot | None] = concurrent.futures.Future()
            self._future = future
            threading.Thread(target=self._collect, args=(future,), name="town-first-read",
                             daemon=True).start()
        return self._future

    def _collect(self, future: concurrent.futures.Future[TownSnapshot | None]) -> None:
        try:
            from gastown_tui.model.snapshot import TownSnapshot

            with os.fdopen(self._fd, "rb") as pipe:
                data = pipe.read()
            os.waitpid(self._pid, 0)
            snapshot = pickle.loads(data) if data else None
            future.set_result(snapshot if isinstance(snapshot, TownSnapshot) else None)
        except BaseException:  # a failed child is not fatal: the model reads by itself
            future.set_result(None)
