"""The control room's one connection to tmux: a read-only control-mode client.

A `tmux capture-pane` subprocess costs a fork+exec and a new server connection per pane per
tick. One `tmux -C` client kept open answers the same commands over a pipe, so a tick of the
control room is one `list-panes -a` plus a capture of only the panes that changed.

The client attaches to some session with `-f read-only,ignore-size,no-output` (tmux >= 3.2):
it can neither type into nor resize the session, and tmux does not stream that session's
output to it. Side effect: that session's `session_attached` counts the observer.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.tmux.commands import (
    capture_args,
    command_error,
    no_server_error,
    not_installed_error,
    session_target,
    split_output,
    tmux_env,
)
from gastown_tui.tmux.server import TownTmux
from gastown_tui.tmux.socket import socket_name, tmux_argv
from gastown_tui.town.errors import TmuxError

CLIENT_FLAGS = "read-only,ignore-size,no-output"
# Row per pane; session_name last because it is the only field that may contain spaces.
REDRAW_INTERVAL = 1.0  # seconds between captures of a pane redrawn in place
_POLL_FORMAT = (
    "#{pane_id} #{history_size} #{cursor_x} #{cursor_y} #{window_activity} #{pane_dead}"
    " #{session_name}"
)


class _Disconnected(Exception):
    """The control client went away (server stopped, its session closed, or it crashed)."""


def quote_argument(arg: str) -> str:
    """Quote one argument for a tmux command line, which control mode reads line by line.

    Inside single quotes tmux takes everything literally (no `$`, `~`, `;`, `#{}` or `\\`
    processing); a single quote closes the string, adds an escaped `\\'` and reopens it.
    A newline would end the command, so it is refused rather than silently changed.
    """
    if any(ch in arg for ch in "\n\r\x00"):
        raise ValueError("a control-mode argument cannot contain a newline or NUL")
    return "'" + arg.replace("'", "'\\''") + "'"


class _ControlClient:
    """One `tmux -C` process and the thread that reads its replies.

    Replies come as `%begin TIME NUMBER FLAGS` ... `%end|%error TIME NUMBER FLAGS`; FLAGS is 1
    for commands this client sent, so replies to anything else (the attach itself) are
    skipped. Notifications (`%session-changed`, ...) arrive only between blocks and are
    ignored: change detection is done by polling, see `PaneObserver.poll_changes`.
    """

    def __init__(self, argv: list[str], *, keep_errors: bool = False) -> None:
        """`keep_errors`: keep the last lines the client writes to stderr (an ssh-borne
        client's reason for ending: the host refused, timed out, has no tmux server)."""
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if keep_errors else subprocess.DEVNULL,
                env=tmux_env(),
                start_new_session=True,  # a Ctrl-C in the control room's terminal is not ours
            )
        except FileNotFoundError:
            raise not_installed_error() from None
        self.alive = True
        self.errors: list[str] = []
        self._errors_thread: threading.Thread | None = None
        if keep_errors:
            self._errors_thread = threading.Thread(
                target=self._read_errors, name=f"tmux-observer-err-{self.proc.pid}", daemon=True)
            self._errors_thread.start()
        self._replies: queue.SimpleQueue[tuple[bool, list[str]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._read, name=f"tmux-observer-{self.proc.pid}", daemon=True
        )
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        block: list[str] | None = None
        guard: list[str] = []
        ours = False
        try:
            for raw in self.proc.stdout:
                line = raw[:-1] if raw.endswith(b"\n") else raw
                text = line.decode("utf-8", errors="replace")
                if block is None:
                    if text.startswith("%begin "):
                        fields = text.split(" ")
                        guard, ours, block = fields[1:3], fields[3:4] == ["1"], []
                    elif text.startswith("%exit"):
                        self.alive = False
                    continue
                fields = text.split(" ")
                if fields[0] in ("%end", "%error") and fields[1:3] == guard:
                    if ours:
                        self._replies.put((fields[0] == "%end", block))
                    block = None
                else:
                    block.append(text)
        except (OSError, ValueError):  # the pipe was closed under us by close()
            pass
        finally:
            self.alive = False
            self._replies.put(None)  # wakes a request waiting for a reply that will never come

    def _read_errors(self) -> None:
        assert self.proc.stderr is not None
        try:
            for raw in self.proc.stderr:
                text = raw.decode("utf-8", errors="replace").strip()
                if text:
                    self.errors = [*self.errors[-4:], text]
        except (OSError, ValueError):
            pass

    def exit_status(self, wait: float = 1.0) -> int | None:
        """The client's exit status once it ended (None while it runs); by then everything
        it wrote to stderr is in `errors`."""
        try:
            status = self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None
        if self._errors_thread is not None:
            self._errors_thread.join(timeout=wait)
        return status

    def request(self, line: str, timeout: float) -> tuple[bool, list[str]]:
        if not self.alive or self.proc.stdin is None:
            raise _Disconnected
        try:
            self.proc.stdin.write(line.encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            raise _Disconnected from None
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise TmuxError(
                f"tmux did not answer the control-room connection within {timeout:.0f} s",
                fix="check the town's tmux server (gt status) and restart the control room",
            ) from None
        if reply is None:
            raise _Disconnected
        return reply

    def close(self) -> None:
        self.alive = False
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()  # a control client exits when its input ends
            except OSError:
                pass
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._thread.join(timeout=1.0)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@dataclass(frozen=True)
class PaneState:
    """What one `list-panes` row says about a pane; any change means its screen may differ."""

    session: str
    signature: tuple[str, ...]
    activity: int


_UNSEEN: tuple[str, ...] = ("", "", "", "", "unseen")


class PaneObserver:
    """Thread-safe: every method may be called from any thread; commands run one at a time."""

    def __init__(
        self, socket: str, *, prefer: Sequence[str] = ("hq-mayor",), timeout: float = 5.0
    ) -> None:
        self.socket = socket
        self.prefer = tuple(prefer)
        self.timeout = timeout
        self._lock = threading.RLock()
        self._client: _ControlClient | None = None
        self._closed = False
        self._panes: dict[str, PaneState] = {}
        self._screens: dict[str, list[str]] = {}
        self._last_poll: float | None = None
        self._captured: dict[str, float] = {}  # pane -> start of the poll that last captured it

    @classmethod
    def for_town(
        cls, town_root: Path, *, prefer: Sequence[str] = ("hq-mayor",), timeout: float = 5.0
    ) -> PaneObserver:
        return cls(socket_name(town_root), prefer=prefer, timeout=timeout)

    def __enter__(self) -> PaneObserver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.alive

    @property
    def panes(self) -> dict[str, PaneState]:
        """Pane id -> state as of the last `poll_changes` (session name included)."""
        with self._lock:
            return dict(self._panes)

    def _connect(self) -> _ControlClient:
        tmux = TownTmux(self.socket)
        proc = tmux.call("list-sessions", "-F", "#{session_name}")
        names = split_output(proc.stdout) if proc.returncode == 0 else []
        if not names:
            if proc.returncode != 0 and not TownTmux.no_server(proc):
                raise tmux._failure(["list-sessions"], proc.stderr)
            raise no_server_error(self.socket)
        session = next((name for name in self.prefer if name in names), names[0])
        argv = tmux_argv(
            self.socket, "-C", "attach-session", "-f", CLIENT_FLAGS, "-t", session_target(session)
        )
        return _ControlClient(argv)

    def _lost(self, client: _ControlClient) -> TmuxError:
        """The error for a connection that ended and could not be made again."""
        return no_server_error(self.socket)

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def command(self, args: Sequence[str]) -> list[str]:
        """Run one tmux command over the control connection and return its output lines.

        Connects on first use and reconnects once when the connection was lost (its session
        closed, or the server restarted); with no server at all it raises TmuxError.
        """
        line = " ".join(quote_argument(arg) for arg in args)
        with self._lock:
            if self._closed:
                raise RuntimeError("the pane observer is closed")
            for attempt in range(2):
                if self._client is None or not self._client.alive:
                    self._drop_client()
                    self._client = self._connect()
                try:
                    ok, lines = self._client.request(line, self.timeout)
                except _Disconnected:
                    lost = self._lost(self._client)
                    self._drop_client()
                    if attempt:
                        raise lost from None
                    continue
                if not ok:
                    raise command_error(self.socket, args[0] if args else "", "\n".join(lines))
                return lines
            raise no_server_error(self.socket)  # pragma: no cover - loop always returns/raises

    def capture(
        self,
        pane_or_session: str,
        lines: int | None = None,
        colours: bool = False,
        join: bool = True,
    ) -> list[str]:
        """Same lines as `TownTmux.capture`, over the open connection."""
        return self.command(capture_args(pane_or_session, lines, colours, join))

    def poll_changes(
        self,
        lines: int | None = None,
        colours: bool = False,
        join: bool = True,
        only: Iterable[str] | None = None,
    ) -> dict[str, list[str]]:
        """Pane id -> screen for every pane whose screen changed since the last call.

        One `list-panes -a` per tick is the change detector for every session (control mode
        would only stream output of the session it is attached to). A pane is captured when
        its history size, cursor, window activity or liveness moved, and again when an in-place
        redraw may have followed its last capture (`_maybe_redrawn`).
        Only screens that really differ from the last one returned are reported; the first
        call reports every pane. With `only` (session names), panes of other sessions are
        listed but not captured: a screen nobody looks at costs nothing, and it is captured
        the first tick its session is wanted.
        """
        wanted = None if only is None else set(only)
        with self._lock:
            started = time.time()
            rows = self.command(["list-panes", "-a", "-F", _POLL_FORMAT])
            current: dict[str, PaneState] = {}
            changed: dict[str, list[str]] = {}
            for row in rows:
                fields = row.split(" ", 6)
                if len(fields) != 7:
                    continue
                pane, session = fields[0], fields[6]
                state = PaneState(session, tuple(fields[1:6]), int(fields[4] or 0))
                if wanted is not None and session not in wanted:
                    # remembered as never seen, so the tick it is wanted captures it
                    current[pane] = PaneState(session, _UNSEEN, state.activity)
                    self._screens.pop(pane, None)
                    continue
                current[pane] = state
                before = self._panes.get(pane)
                if (before is not None and before.signature == state.signature
                        and not self._maybe_redrawn(pane, state.activity, started)):
                    continue
                try:
                    screen = self.capture(pane, lines, colours, join)
                except TmuxError as error:
                    if "cannot find" in str(error):  # closed between list-panes and capture
                        current.pop(pane)
                        continue
                    raise
                self._captured[pane] = started
                if screen != self._screens.get(pane):
                    changed[pane] = screen
                    self._screens[pane] = screen
            self._panes = current
            self._screens = {pane: s for pane, s in self._screens.items() if pane in current}
            self._captured = {pane: t for pane, t in self._captured.items() if pane in current}
            self._last_poll = started
            return changed

    def _maybe_redrawn(self, pane: str, activity: int, now: float) -> bool:
        """Whether a pane whose listed state did not move may still show something new.

        An in-place redraw (a spinner, a status line) moves no cursor and no history; only
        `window_activity` says it happened, to the second. If that second is the one of our
        last capture or later, output may have come after it: capture again once that second
        is over (then the screen is final), and within a busy second at most once a second.
        Capturing on every tick instead tripled the captures of panes that simply print.
        """
        last = self._captured.get(pane)
        if last is None or activity < int(last):
            return False
        return now >= activity + 1 or now - last >= REDRAW_INTERVAL

    def close(self) -> None:
        """End the control client and its reader thread. Idempotent."""
        with self._lock:
            self._closed = True
            self._drop_client()
