"""A host's own tmux server, driven from the town: the same operations as `TownTmux`, each
tmux call sent over ssh (`ssh HOST tmux -u -L SOCKET …`).

Reading and typing (has-session, list-panes, capture-pane, send-keys) are plain tmux calls
and travel as they are; what needs the host's process table or its folders (ending a pane's
whole process tree, starting an agent in a worktree there) is asked of the host's own gt
(`rpc`), which runs the same code a local town runs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gastown_tui.hosts import rpc
from gastown_tui.hosts.ssh import Ssh, connect_timeout
from gastown_tui.tmux.server import CALL_TIMEOUT, TownTmux
from gastown_tui.town.errors import TmuxError


class RemoteTmux(TownTmux):
    """Operations on one host's tmux server (its socket, as `gt host add` learnt it)."""

    def __init__(self, ssh: Ssh, *, lock_dir: Path | None = None) -> None:
        super().__init__(ssh.host.socket, lock_dir=lock_dir)
        self.ssh = ssh
        self.host = ssh.host.name

    @classmethod
    def for_host(cls, ssh: Ssh) -> RemoteTmux:
        # One nudge at a time per session, whichever host it lives on: the same lock folder
        # as the town's own sessions (session names are unique across the town).
        return cls(ssh, lock_dir=ssh.town_root / ".runtime" / "nudge_queue")

    def __repr__(self) -> str:
        return f"RemoteTmux(host={self.host!r}, socket={self.socket!r})"

    @staticmethod
    def available() -> bool:
        return True  # the host's tmux was checked by gt host add / check

    def _exec(self, argv: list[str], path: str | None = None) -> subprocess.CompletedProcess[str]:
        # `path` is the PATH a new local pane needs; a host's panes get the host's own.
        return self.ssh.run(argv, timeout=CALL_TIMEOUT + connect_timeout())

    def new_session(self, name: str, cwd: Path | str, argv: Sequence[str],
                    env: Mapping[str, str] | None = None, width: int = 200,
                    height: int = 50) -> str:
        raise TmuxError(f"sessions on host {self.host} are started by the host's gt",
                        fix="use gt sling … --host, or gt session restart")

    def respawn(self, name: str, cwd: Path | str, argv: Sequence[str],
                path: str | None = None) -> None:
        raise TmuxError(f"sessions on host {self.host} are restarted by the host's gt",
                        fix="use gt session restart <address>")

    def kill_session(self, name: str, grace: float = 2.0) -> bool:
        """The session and its whole process tree, ended by the host's gt."""
        answer = rpc.call(self.ssh, "kill", {"session": name, "grace": grace},
                          timeout=30 + grace)
        return bool(answer.get("killed"))

    def kill_server(self, grace: float = 2.0, timeout: float = 5.0) -> bool:
        answer = rpc.call(self.ssh, "kill-server", {"grace": grace}, timeout=30 + timeout)
        return bool(answer.get("killed"))

    def server_facts(self) -> tuple[int, str] | None:
        proc = self.call("display-message", "-p", "#{pid}\t#{socket_path}")
        if proc.returncode != 0:
            if self.no_server(proc):
                return None
            raise self._failure(["display-message"], proc.stderr)
        pid, _, where = proc.stdout.strip().partition("\t")
        return (int(pid) if pid.isdigit() else 0), where
