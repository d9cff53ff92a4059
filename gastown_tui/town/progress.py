"""Progress of long work on a terminal: one rewritten line on stderr, like git's
"Receiving objects:  45% (450/1000)".

Ops and the store take a `Progress` (or nothing) and call it as work advances; only the CLI
decides whether it is shown: on a terminal, yes; with --json or when stderr is piped, the
inert `Progress.off()` swallows every call, so scripts and agents see nothing new.
No heavy imports: gt and bd load this on every long command.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TextIO

from gastown_tui.town.safe_text import one_line

# Often enough to look alive, rarely enough that a 100k-record import is not slowed by it.
_MIN_INTERVAL = 0.1


class Progress:
    """`step(label, done, total)` rewrites the line; `finish()` ends it with ", done."."""

    def __init__(self, stream: TextIO | None, *, min_interval: float = _MIN_INTERVAL) -> None:
        self._stream = stream
        self._min_interval = min_interval
        self._last_write = 0.0
        self._last_text = ""
        self._label = ""
        self._done = 0
        self._total: int | None = None

    @classmethod
    def off(cls) -> Progress:
        return cls(None)

    @classmethod
    def for_cli(cls, *, json_output: bool, stream: TextIO | None = None) -> Progress:
        """Shown only on a terminal, never with --json (GT_NO_PROGRESS=1 also silences it)."""
        stream = stream if stream is not None else sys.stderr
        if json_output or os.environ.get("GT_NO_PROGRESS") or not _isatty(stream):
            return cls.off()
        return cls(stream)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Finished work ends with ", done."; a failure only ends the line, so the error
        that follows starts on its own line and nothing claims to be done."""
        if exc_type is None:
            self.finish()
        elif self._stream is not None and self._last_text:
            self._stream.write("\n")
            self._stream.flush()
            self._label, self._last_text = "", ""

    @property
    def shown(self) -> bool:
        return self._stream is not None

    def step(self, label: str, done: int, total: int | None = None, *,
             detail: str = "") -> None:
        """Work `label` is at `done` of `total` (None: a count with no end known)."""
        if self._stream is None:
            return
        if label != self._label and self._label and self._last_text:
            self.finish()  # a new phase: the previous line stays, completed
        self._label, self._done, self._total = label, done, total
        now = time.monotonic()
        last = total is not None and done >= total
        if not last and now - self._last_write < self._min_interval and self._last_text:
            return
        self._write(self._text(detail))
        self._last_write = now

    def finish(self, detail: str = "") -> None:
        """Closes the current line (", done."), so the command's own output starts clean."""
        if self._stream is None or not self._label:
            return
        if self._total is not None:
            self._done = self._total
        self._write(self._text(detail) + ", done.")
        self._stream.write("\n")
        self._stream.flush()
        self._label, self._last_text = "", ""

    def _text(self, detail: str) -> str:
        label = one_line(self._label)
        if self._total:
            pct = min(100, self._done * 100 // self._total)
            text = f"{label}: {pct:3d}% ({self._done}/{self._total})"
        elif self._total is None and self._done == 0:
            text = label  # work with no count: "Stopping the town" ... ", done."
        else:
            text = f"{label}: {self._done}"
        if detail:
            text += f" {one_line(detail)}"
        return text

    def _write(self, text: str) -> None:
        assert self._stream is not None
        # Never wider than the terminal: a wrapped line cannot be rewritten with \r.
        width = shutil.get_terminal_size((80, 24)).columns - 1
        text = text[:max(width, 20)]
        pad = " " * max(0, len(self._last_text) - len(text))
        self._stream.write("\r" + text + pad)
        self._stream.flush()
        self._last_text = text


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
