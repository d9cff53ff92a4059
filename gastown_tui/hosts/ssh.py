"""Reaching a host with plain OpenSSH: the argument list of every ssh call, and the one place
a command line for the host's shell is built.

ssh hands its command to the remote user's shell as ONE string, so every argument we send is
quoted with `shlex.quote` (as `tmux/server._command_string` does for a pane): the host's shell
only undoes our quoting, and `$(...)`, `;`, quotes or newlines in any argument reach the
program literally. Nothing a user or a bead wrote is ever spliced in unquoted.

Every call is non-interactive (BatchMode: a missing key fails, it never prompts), bounded
(ConnectTimeout, and a keepalive that ends a connection whose host went silent), and trusts a
host key the town learnt at `gt host add` (accept-new into the town's own known_hosts file,
so a changed key is refused, and the user's ~/.ssh is never written).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.hostlist import HostRecord, HostUnreachableError

KNOWN_HOSTS = Path("settings") / "known_hosts"
SSH_FAILED = 255  # ssh's own exit status: it never reached (or lost) the host
NOT_FOUND = 127  # the host's shell: no such program


def connect_timeout() -> int:
    try:
        return max(1, int(os.environ.get("GT_SSH_CONNECT_TIMEOUT", "5")))
    except ValueError:
        return 5


def remote_command(argv: Sequence[str]) -> str:
    """The command line the host's shell runs: each argument quoted on its own (see the
    module's docstring). Refuses what no quoting carries (NUL) and a program name an
    option parser would take for an option."""
    if not argv:
        raise ValueError("no remote command")
    if argv[0].startswith("-"):
        raise ValueError(f"program name {argv[0]!r} starts with '-'")
    if any("\x00" in arg for arg in argv):
        raise ValueError("a remote argument contains a NUL byte")
    return " ".join(shlex.quote(arg) for arg in argv)


def _option_path(path: Path) -> str:
    """A file name inside an `-o Key=value` option: ssh splits such values on whitespace
    unless they are double-quoted."""
    text = str(path)
    if '"' in text:
        raise GasTownError(f"the town's path {text!r} contains a double quote",
                           fix="move the town to a path without quotes to use other hosts")
    return f'"{text}"' if any(c.isspace() for c in text) else text


@dataclass(frozen=True)
class Ssh:
    """How this town reaches one host."""

    town_root: Path
    host: HostRecord

    @property
    def known_hosts(self) -> Path:
        return self.town_root / KNOWN_HOSTS

    def options(self, *, alive: int = 5, port: bool = True) -> list[str]:
        """The ssh options every call shares (before the target)."""
        safe_write.ensure_dir(self.known_hosts.parent)
        opts = ["-o", "BatchMode=yes",
                "-o", f"ConnectTimeout={connect_timeout()}",
                "-o", f"ServerAliveInterval={alive}", "-o", "ServerAliveCountMax=3",
                "-o", "StrictHostKeyChecking=accept-new",
                "-o", f"UserKnownHostsFile={_option_path(self.known_hosts)}",
                "-o", "LogLevel=ERROR"]
        if port and self.host.port:
            opts += ["-p", str(self.host.port)]
        if self.host.identity:
            opts += ["-i", self.host.identity, "-o", "IdentitiesOnly=yes"]
        return opts

    def argv(self, remote: Sequence[str], *, tty: bool = False) -> list[str]:
        """`ssh [options] -T|-t -- TARGET 'quoted remote argv'`."""
        return ["ssh", *self.options(), "-t" if tty else "-T", "--", self.host.target,
                remote_command(remote)]

    def git_ssh_command(self) -> str:
        """GIT_SSH_COMMAND for git over this host's ssh (git runs it through sh, so it is
        quoted like a remote command). The port goes in the URL, not here."""
        return remote_command(["ssh", *self.options(port=False)])

    def git_url(self, path: str | Path) -> str:
        host = f"[{self.host.address}]" if ":" in self.host.address else self.host.address
        user = f"{self.host.user}@" if self.host.user else ""
        port = f":{self.host.port}" if self.host.port else ""
        return f"ssh://{user}{host}{port}{path}"

    def run(self, remote: Sequence[str], *, input: str | None = None,
            timeout: float = 30.0, check_reach: bool = True) -> subprocess.CompletedProcess[str]:
        """One command on the host. ssh's own failure (the host does not answer, refuses
        the key, times out) raises HostUnreachableError with what ssh said; anything else is
        the caller's to read from the result."""
        argv = self.argv(remote)
        try:
            proc = subprocess.run(argv, input=input, capture_output=True, text=True,
                                  encoding="utf-8", errors="replace", timeout=timeout,
                                  stdin=None if input is not None else subprocess.DEVNULL,
                                  check=False)
        except FileNotFoundError:
            raise GasTownError("ssh is not installed",
                               fix="install the OpenSSH client (apt-get install "
                                   "openssh-client)") from None
        except subprocess.TimeoutExpired:
            raise HostUnreachableError(self.host.name, f"no answer within {timeout:.0f} s "
                                       f"({' '.join(remote[:3])})") from None
        if check_reach and proc.returncode == SSH_FAILED:
            raise HostUnreachableError(self.host.name, evidence(proc.stderr))
        return proc


def evidence(stderr: str) -> str:
    """ssh's last words, stamped: what `host unreachable` shows as its evidence."""
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    said = lines[-1][:200] if lines else "ssh failed without a message"
    return f"{said} (at {time.strftime('%H:%M:%S')})"
