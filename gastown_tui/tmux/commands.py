"""Small pieces every tmux call shares: targets, capture arguments, output and error shapes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from gastown_tui.town.errors import TmuxError

NO_SERVER_MARKERS = ("no server running", "error connecting to")
NOT_FOUND_MARKERS = ("can't find", "no such session", "no such window", "no such pane")


def tmux_env() -> dict[str, str]:
    """Our environment minus TMUX/TMUX_PANE.

    They describe the user's own server when we run inside tmux; `-L` already picks ours, and
    dropping them keeps tmux from resolving anything against theirs.
    """
    return {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}


def not_installed_error() -> TmuxError:
    return TmuxError(
        "tmux is not installed",
        fix="install it with your package manager, e.g. apt-get install tmux",
    )


def no_server_error(socket: str) -> TmuxError:
    return TmuxError(
        f"the town's tmux server is not running (socket {socket})",
        fix="start an agent first, e.g. gt mayor start",
    )


def session_target(name: str) -> str:
    """Exact-match session target: plain `-t gt-a` would also match a session `gt-abc`."""
    return f"={name}"


def pane_target(target: str) -> str:
    """A pane target from a session name, or `target` unchanged when it already is one.

    `=name` alone is not a valid *pane* target in tmux 3.3 ("can't find pane"), `=name:` is:
    the session's current window and its active pane.
    """
    if target.startswith(("%", "$", "@", "=")) or ":" in target:
        return target
    return f"={target}:"


def capture_args(target: str, lines: int | None, colours: bool, join: bool) -> list[str]:
    """`capture-pane -p [-e] [-J] -t TARGET [-S -N]`: the visible screen, plus N history lines."""
    args = ["capture-pane", "-p"]
    if colours:
        args.append("-e")
    if join:
        args.append("-J")
    args += ["-t", pane_target(target)]
    if lines is not None:
        args += ["-S", f"-{max(0, int(lines))}"]
    return args


def split_output(text: str) -> list[str]:
    """tmux ends every output line with a newline; the list has no empty last item for it."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; the last answer wins."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def command_error(socket: str, command: str, message: str) -> TmuxError:
    """The user-facing error for a failed tmux command, from tmux's own error text."""
    text = message.strip()
    last = text.splitlines()[-1] if text else "unknown error"
    if any(marker in text for marker in NO_SERVER_MARKERS):
        return no_server_error(socket)
    if any(marker in text for marker in NOT_FOUND_MARKERS):
        return TmuxError(
            f"tmux cannot find it: {last}", fix=f"list the sessions with tmux -L {socket} ls"
        )
    return TmuxError(
        f"tmux {command} failed: {last}", fix=f"check the server with tmux -L {socket} ls"
    )
