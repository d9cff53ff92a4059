"""The town's private tmux server: its socket name and the argument list of every tmux call.

Gas Town gives each town its own tmux server (`tmux -L <socket>`), so two towns, or a town and
the user's own tmux, never see each other's sessions (gastown-reference §2.4).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

SOCKET_ENV = "GT_TMUX_SOCKET"
# Values of GT_TMUX_SOCKET that mean "derive it from the town", as in Gas Town.
_DERIVE_VALUES = frozenset({"", "default", "auto"})
_UNSAFE = re.compile(r"[^a-z0-9-]")


def sanitize(name: str) -> str:
    """Lowercase `name` and turn every character outside [a-z0-9-] into '-'."""
    return _UNSAFE.sub("-", name.lower())


def socket_name(town_root: Path) -> str:
    """`<sanitized basename>-<sha256(realpath)[:6]>`, unless GT_TMUX_SOCKET names one.

    Same derivation as Gas Town's `townSocketName`, so `gt` and this package find the same
    server: the basename is the one the caller named (sanitized, '-' trimmed at both ends,
    "default" when nothing is left) while the hash is over the resolved path, so two towns
    with the same basename get different servers.
    """
    override = os.environ.get(SOCKET_ENV, "")
    if override not in _DERIVE_VALUES:
        return override
    base = sanitize(os.path.basename(os.path.abspath(town_root))).strip("-") or "default"
    real = os.path.realpath(town_root)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    return f"{base}-{digest}"


def escape_tmux_arg(arg: str) -> str:
    """Keep an argument ending in ';' literal.

    tmux reads an argv element ending in ';' as a command separator and drops the ';'
    (`send-keys -l -- 'x;'` types only "x"), while a trailing '\\;' becomes a literal ';'.
    Turning the final ';' into '\\;' therefore gives back exactly the text we passed, including
    text that itself ends in '\\;'.
    """
    if arg.endswith(";"):
        return arg[:-1] + "\\;"
    return arg


def tmux_argv(socket: str, *args: str) -> list[str]:
    """The argument list of one tmux call on `socket`: `tmux -u -L SOCKET ARGS...`.

    `-u` forces UTF-8 so agent output and nudges keep their characters whatever the locale.
    """
    return ["tmux", "-u", "-L", socket, *(escape_tmux_arg(a) for a in args)]


def tmux_sequence_argv(socket: str, *commands: Sequence[str]) -> list[str]:
    """One tmux call running several commands in order, joined by real ';' separators.

    The server runs the whole sequence before it handles anything else (such as a child
    exiting), which is how a new session gets `remain-on-exit` before its program can die.
    """
    argv = ["tmux", "-u", "-L", socket]
    for index, command in enumerate(commands):
        if index:
            argv.append(";")
        argv.extend(escape_tmux_arg(a) for a in command)
    return argv
