"""What a test run left behind: live tmux servers, socket files, processes carrying its marker.

Used by the session fixture in conftest.py; a leak found there fails the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

RUN_MARKER = "GASTOWN_TEST_RUN"  # not GT_*: clean_env drops those, and children must keep it
SETTLE = 10.0  # seconds for processes to finish dying after their server was killed


def _socket_dir(folder: Path) -> Path:
    return folder / f"tmux-{os.getuid()}"


def live_servers(folder: Path) -> list[str]:
    found = []
    sockets = _socket_dir(folder)
    if not sockets.is_dir():
        return found
    for path in sorted(sockets.iterdir()):
        proc = subprocess.run(["tmux", "-S", str(path), "list-sessions", "-F", "#{session_name}"],
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0 or "no sessions" in proc.stderr:
            sessions = ", ".join(proc.stdout.split()) or "no sessions"
            found.append(f"tmux server {path.name} ({sessions})")
    return found


def socket_files(folder: Path) -> list[str]:
    sockets = _socket_dir(folder)
    return sorted(p.name for p in sockets.iterdir()) if sockets.is_dir() else []


def marked_processes(marker: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process but this one whose environment has our marker."""
    wanted = f"{RUN_MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if b"Z" == (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]:
                continue  # a zombie holds nothing; its parent reaps it
            if wanted not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if "multiprocessing.resource_tracker" in cmd:
            continue  # Python's own helper of this test process; it ends with it
        found.append((int(entry.name), cmd.strip()))
    return found


def find_leaks(folder: Path, marker: str) -> list[str]:
    leaks = live_servers(folder)
    live = {line.split()[2] for line in leaks}
    leaks += [f"socket file {name} (the server is gone, the file is not)"
              for name in socket_files(folder) if name not in live]
    deadline = time.monotonic() + SETTLE
    procs = marked_processes(marker)
    while procs and time.monotonic() < deadline:  # processes of a just-killed server may
        time.sleep(0.1)                           # still be on their way out
        procs = marked_processes(marker)
    leaks += [f"process {pid}: {cmd}" for pid, cmd in procs]
    return leaks


def stop_leaks(folder: Path, marker: str) -> None:
    sockets = _socket_dir(folder)
    if sockets.is_dir():
        for path in sockets.iterdir():
            subprocess.run(["tmux", "-S", str(path), "kill-server"], capture_output=True,
                           check=False)
            path.unlink(missing_ok=True)
    for pid, _ in marked_processes(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
