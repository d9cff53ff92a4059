"""Asking a host's own `gt` to do something there: one ssh call per request, a JSON request
on its stdin and a JSON answer on its stdout (`gt host serve-op --root DIR OP`).

What must happen on the host's machine (a worktree made from its repository, a process tree
ended, a file written into its town folder) is done by the same code the host runs for its
own agents, which is why a host must run the town's gt version. Requests travel on stdin,
never in the command line: a store URL with its password must not show in the host's `ps`.
"""

from __future__ import annotations

import json
from typing import Any

from gastown_tui.hosts.ssh import NOT_FOUND, Ssh
from gastown_tui.town.errors import GasTownError

SERVE = ("host", "serve-op")


class RemoteOpError(GasTownError):
    """The host's gt answered with an error of its own (its one-line problem and fix)."""

    def __init__(self, host: str, problem: str, fix: str | None, code: str = "error") -> None:
        self.code = code or "error"
        super().__init__(f"on host {host}: {problem}", fix=fix)


def remote_argv(ssh: Ssh, op: str) -> list[str]:
    return [ssh.host.gt, *SERVE, "--root", ssh.host.town_path or "-", op]


def call(ssh: Ssh, op: str, request: dict[str, Any] | None = None, *,
         timeout: float = 60.0) -> dict[str, Any]:
    """Run `op` on the host and return its answer; its own errors become RemoteOpError, a
    host that does not answer HostUnreachableError."""
    proc = ssh.run(remote_argv(ssh, op), input=json.dumps(request or {}), timeout=timeout)
    host = ssh.host.name
    if proc.returncode == NOT_FOUND:
        raise GasTownError(f"host {host} has no {ssh.host.gt!r} to run",
                           fix="install gastown-tui there (the town's version) and give its "
                               "path with gt host add … --gt PATH")
    text = proc.stdout.strip()
    try:
        answer = json.loads(text.splitlines()[-1]) if text else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        said = (proc.stderr.strip().splitlines() or [text or "no output"])[-1][:200]
        raise GasTownError(f"host {host}'s gt did not answer {op} (exit {proc.returncode}): "
                           f"{said}", fix=f"run gt host check {host}")
    if not answer.get("ok"):
        raise RemoteOpError(host, str(answer.get("error") or "failed"),
                            answer.get("fix") or None, str(answer.get("code") or "error"))
    return answer
