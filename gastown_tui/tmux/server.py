"""The town's tmux server, driven by one short `tmux` call per operation.

Every call is an argument list (`tmux -u -L <socket> ...`); no shell ever reads our text. The
one command string there is, the program a new pane runs, is built by `_command_string`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.tmux import proctree
from gastown_tui.tmux.commands import (
    NO_SERVER_MARKERS,
    NOT_FOUND_MARKERS,
    capture_args,
    command_error,
    not_installed_error,
    pane_target,
    session_target,
    split_output,
    tmux_env,
    wait_until,
)
from gastown_tui.tmux.socket import sanitize, socket_name, tmux_argv, tmux_sequence_argv
from gastown_tui.tmux.text import chunks, sanitize_text
from gastown_tui.town.errors import TmuxError

CHUNK_SIZE = 512  # characters per `send-keys -l`, as Gas Town: long nudges go in pieces
ENTER_ATTEMPTS = 3  # Enter is re-sent when the pane did not react (gastown-reference §4 step 8)
CALL_TIMEOUT = 10.0
PRESSABLE = frozenset({"Up", "Down", "Enter", "Tab", "Escape"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*\Z")
_BAD_SESSION_CHARS = re.compile(r"[\s:.=\x00-\x1f\x7f]")
_SESSION_FORMAT = "\t".join(
    [
        "#{session_name}",
        "#{session_created}",
        "#{session_activity}",
        "#{session_attached}",
        "#{window_active}",
        "#{pane_active}",
        "#{pane_id}",
        "#{pane_pid}",
        "#{pane_dead}",
        "#{pane_current_command}",  # last: the only field that may contain odd characters
    ]
)


@dataclass(frozen=True)
class SessionInfo:
    """One session and its active pane. `attached` counts clients, the observer included."""

    name: str
    created: int
    activity: int
    attached: int
    pane_id: str
    pane_pid: int
    pane_dead: bool
    pane_current_command: str


@dataclass(frozen=True)
class Delivery:
    """What happened to a nudge: sent at all, and did the pane react to the final Enter."""

    delivered: bool
    verified: bool
    detail: str


def _command_string(argv: Sequence[str]) -> str:
    """The one place a command line is quoted: the string tmux hands to `/bin/sh -c`.

    tmux starts a pane given ONE command argument as `sh -c <string>`. Every element of `argv`
    is quoted with `shlex.quote` (single quotes, POSIX rules) and the line starts with `exec`,
    so the shell only undoes our quoting and then replaces itself with argv[0]: `$(...)`, `;`,
    quotes, `#` and newlines in any element reach the program literally, and no shell stays
    behind as the pane process (its pid is the agent's, which the process-tree kill relies on).
    """
    if not argv:
        raise ValueError("cannot start a pane without a program")
    if argv[0].startswith("-"):
        raise ValueError(f"program name {argv[0]!r} starts with '-'")
    if any("\x00" in arg for arg in argv):
        raise ValueError("a command argument contains a NUL byte")
    return "exec " + " ".join(shlex.quote(arg) for arg in argv)


def _default_lock_dir(socket: str) -> Path:
    return Path(tempfile.gettempdir()) / f"gastown-tui-{os.getuid()}" / "nudge-locks" / socket


class TownTmux:
    """Operations on one town's tmux server (`tmux -L <socket>`)."""

    def __init__(self, socket: str, *, lock_dir: Path | None = None) -> None:
        self.socket = socket
        self.lock_dir = lock_dir if lock_dir is not None else _default_lock_dir(sanitize(socket))

    @classmethod
    def for_town(cls, town_root: Path, *, lock_dir: Path | None = None) -> TownTmux:
        """The town's server; nudge locks live where Gas Town keeps them, so a nudge from
        `gt` and one from us never interleave: `<town>/.runtime/nudge_queue/<session>/.lock`."""
        if lock_dir is None:
            lock_dir = Path(town_root) / ".runtime" / "nudge_queue"
        return cls(socket_name(town_root), lock_dir=lock_dir)

    def __repr__(self) -> str:
        return f"TownTmux(socket={self.socket!r})"

    # -- plumbing -------------------------------------------------------------------------

    @staticmethod
    def available() -> bool:
        """True when a `tmux` binary is on PATH."""
        return shutil.which("tmux") is not None

    def _exec(self, argv: list[str], path: str | None = None) -> subprocess.CompletedProcess[str]:
        """One tmux call. `path`: the PATH a new pane must get. tmux gives a spawned pane the
        *client's* PATH whatever `-e PATH=` says, so that call's client carries it."""
        env = tmux_env()
        if path:
            env["PATH"] = path
        try:
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                stdin=subprocess.DEVNULL,
                env=env,
                timeout=CALL_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise not_installed_error() from None
        except subprocess.TimeoutExpired:
            raise TmuxError(
                f"tmux (socket {self.socket}) did not answer within {CALL_TIMEOUT:.0f} s",
                fix=f"check it with tmux -L {self.socket} ls, or stop it with tmux -L {self.socket} kill-server",
            ) from None

    def call(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one tmux command; the caller inspects the result."""
        return self._exec(tmux_argv(self.socket, *args))

    def run(self, *args: str) -> str:
        """Run one tmux command and return its output; failures become a TmuxError."""
        proc = self.call(*args)
        if proc.returncode != 0:
            raise self._failure(args, proc.stderr)
        return proc.stdout

    def _failure(self, args: Sequence[str], stderr: str) -> TmuxError:
        return command_error(self.socket, args[0] if args else "", stderr)

    @staticmethod
    def no_server(proc: subprocess.CompletedProcess[str]) -> bool:
        """True when `proc` failed because the server is not running."""
        return proc.returncode != 0 and any(m in proc.stderr for m in NO_SERVER_MARKERS)

    def is_running(self) -> bool:
        return self.call("list-sessions", "-F", "#{session_id}").returncode == 0

    # -- sessions -------------------------------------------------------------------------

    def has_session(self, name: str) -> bool:
        return self.call("has-session", "-t", session_target(name)).returncode == 0

    def new_session(
        self,
        name: str,
        cwd: Path | str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        width: int = 200,
        height: int = 50,
    ) -> str:
        """Start `argv` in a new detached session; returns the pane id (`%N`).

        One tmux call runs new-session, then sets `remain-on-exit` and `window-size latest`:
        the server finishes the sequence before it notices a child exiting, so even a program
        that dies at once leaves its pane (and its last words) for diagnosis.
        """
        if not name or name.startswith("-") or _BAD_SESSION_CHARS.search(name):
            raise TmuxError(
                f"invalid tmux session name {name!r}",
                fix="use letters, digits, '-' and '_' only",
            )
        if not Path(cwd).is_dir():
            raise TmuxError(
                f"working directory {cwd} does not exist", fix="create it or choose another one"
            )
        env_args: list[str] = []
        for key, value in sorted((env or {}).items()):
            if not _ENV_NAME.match(key) or "\x00" in value:
                raise TmuxError(
                    f"invalid environment variable {key!r}",
                    fix="use names of letters, digits and '_' and values without NUL",
                )
            env_args += ["-e", f"{key}={value}"]
        if self.has_session(name):
            raise self._duplicate(name)
        window = f"{session_target(name)}:"
        create = ["new-session", "-d", "-P", "-F", "#{pane_id}", "-s", name, "-c", str(cwd)]
        create += [*env_args, "-x", str(width), "-y", str(height), "--", _command_string(argv)]
        proc = self._exec(
            tmux_sequence_argv(
                self.socket,
                create,
                ["set-option", "-t", window, "remain-on-exit", "on"],
                ["set-option", "-w", "-t", window, "window-size", "latest"],
                # Agent CLIs ask for focus events and print a hint line when tmux drops them.
                ["set-option", "-s", "focus-events", "on"],
            ),
            path=(env or {}).get("PATH"),
        )
        if proc.returncode != 0:
            if "duplicate session" in proc.stderr:
                raise self._duplicate(name)
            self.call("kill-session", "-t", session_target(name))  # never leave a half-made one
            raise self._failure(["new-session"], proc.stderr)
        return proc.stdout.strip().splitlines()[0]

    def respawn(self, name: str, cwd: Path | str, argv: Sequence[str],
                path: str | None = None, env: Mapping[str, str] | None = None) -> None:
        """Restart the session's active pane in place with `argv` (respawn-pane -k).

        The pane keeps its id, its session environment and its place on screen; tmux ends the
        old process and starts the new one in one step, so the caller may be a process of that
        very pane (an agent running `gt handoff`). `env` is set for the new process only, over
        the session's (an account's config dir after a rotation)."""
        if not Path(cwd).is_dir():
            raise TmuxError(f"working directory {cwd} does not exist",
                            fix="create it or choose another one")
        env_args: list[str] = []
        for key, value in sorted((env or {}).items()):
            if not _ENV_NAME.match(key) or "\x00" in value:
                raise TmuxError(f"invalid environment variable {key!r}",
                                fix="use names of letters, digits and '_' and values without NUL")
            env_args += ["-e", f"{key}={value}"]
        proc = self._exec(tmux_argv(self.socket, "respawn-pane", "-k", "-t",
                                    f"{session_target(name)}:", "-c", str(cwd), *env_args,
                                    _command_string(argv)), path=path)
        if proc.returncode != 0:
            raise self._failure(["respawn-pane"], proc.stderr)

    def _duplicate(self, name: str) -> TmuxError:
        return TmuxError(
            f"tmux session {name} already exists",
            fix=f"stop it first (tmux -L {self.socket} kill-session -t ={name}) or pick another name",
        )

    def list_sessions(self) -> list[SessionInfo]:
        """Every session with its active pane, from one `list-panes -a`; no server gives []."""
        proc = self.call("list-panes", "-a", "-F", _SESSION_FORMAT)
        if self.no_server(proc):
            return []
        if proc.returncode != 0:
            raise self._failure(["list-panes"], proc.stderr)
        found: dict[str, SessionInfo] = {}
        for row in split_output(proc.stdout):
            fields = row.split("\t", 9)
            if len(fields) != 10:
                continue
            name, created, activity, attached, win_active, pane_active = fields[:6]
            info = SessionInfo(
                name=name,
                created=int(created or 0),
                activity=int(activity or 0),
                attached=int(attached or 0),
                pane_id=fields[6],
                pane_pid=int(fields[7] or 0),
                pane_dead=fields[8] == "1",
                pane_current_command=fields[9],
            )
            # The first pane stands in until the active pane of the active window shows up.
            if name not in found or (win_active == "1" and pane_active == "1"):
                found[name] = info
        return list(found.values())

    def kill_session(self, name: str, grace: float = 2.0) -> bool:
        """Stop the session and every process started in it; False when there was none.

        Order as Gas Town: panes must not linger (`remain-on-exit off`, pane-died hook removed
        so a deliberate stop is not logged as a crash), SIGTERM deepest-first, `grace`
        seconds, SIGKILL, and only then `kill-session`.
        """
        proc = self.call(
            "list-panes", "-s", "-t", session_target(name), "-F", "#{window_id} #{pane_pid}"
        )
        if proc.returncode != 0:
            if self.no_server(proc) or any(m in proc.stderr for m in NOT_FOUND_MARKERS):
                return False
            raise self._failure(["list-panes"], proc.stderr)
        windows: list[str] = []
        pids: list[int] = []
        for row in split_output(proc.stdout):
            window_id, _, pid = row.partition(" ")
            if window_id not in windows:
                windows.append(window_id)
            if pid.isdigit():
                pids.append(int(pid))
        commands = [["set-option", "-w", "-t", w, "remain-on-exit", "off"] for w in windows]
        commands.append(["set-hook", "-u", "-t", session_target(name), "pane-died"])
        self._exec(tmux_sequence_argv(self.socket, *commands))
        proctree.terminate_tree(pids, grace=grace)
        # The session usually closed by itself when its last pane died; that is fine.
        self.call("kill-session", "-t", session_target(name))
        return True

    def server_facts(self) -> tuple[int, str] | None:
        """The running server's pid and socket path; None when no server answers."""
        proc = self.call("display-message", "-p", "#{pid}\t#{socket_path}")
        if proc.returncode != 0:
            if self.no_server(proc):
                return None
            raise self._failure(["display-message"], proc.stderr)
        pid, _, path = proc.stdout.strip().partition("\t")
        return (int(pid) if pid.isdigit() else 0), path

    def socket_path(self) -> Path:
        """Where tmux puts this server's socket: $TMUX_TMPDIR (or /tmp)/tmux-<uid>/<name>."""
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"
        return Path(base) / f"tmux-{os.getuid()}" / self.socket

    def kill_server(self, grace: float = 2.0, timeout: float = 5.0) -> bool:
        """Stop the whole server and every process its panes started; False when none ran.

        `kill-server` alone only sends SIGHUP to each pane's first process, so helpers that
        ignore it (or were started with nohup) would outlive the town: every pane's process
        tree is ended first, as kill_session does. The server must then really be gone (it is
        SIGKILLed after `timeout`), and its socket file, which tmux leaves behind, is removed.
        A server that survives all of that raises TmuxError naming its pid and socket.
        """
        facts = self.server_facts()
        if facts is None:
            self._remove_stale_socket(self.socket_path())
            return False
        server_pid, path = facts
        panes = self.call("list-panes", "-a", "-F", "#{pane_pid}")
        pids = [int(p) for p in split_output(panes.stdout) if p.isdigit()]
        proctree.terminate_tree(pids, grace=grace)
        proc = self.call("kill-server")
        # Ending the pane trees can make the server exit on its own (its last session died),
        # and kill-server then fails with "server exited unexpectedly": that is a stop too.
        if proc.returncode != 0 and not self.no_server(proc) and not self._exits(server_pid):
            raise self._failure(["kill-server"], proc.stderr)
        if server_pid and not wait_until(lambda: not proctree.is_alive(server_pid), timeout):
            proctree.terminate_tree([server_pid], grace=0.5)
        if server_pid and proctree.is_alive(server_pid):
            raise TmuxError(
                f"the tmux server (pid {server_pid}, socket {path}) did not stop",
                fix=f"kill it by hand: kill -9 {server_pid}",
            )
        self._remove_stale_socket(Path(path) if path else self.socket_path())
        return True

    @staticmethod
    def _exits(server_pid: int, timeout: float = 1.0) -> bool:
        """True when the server process `server_pid` is gone within `timeout`."""
        return bool(server_pid) and wait_until(lambda: not proctree.is_alive(server_pid), timeout)

    def _remove_stale_socket(self, path: Path) -> None:
        """Remove `path` when it is a socket no server listens on (never a live server's)."""
        if not path.is_socket():
            return
        if self.call("list-sessions").returncode == 0:
            return
        path.unlink(missing_ok=True)

    # -- panes ----------------------------------------------------------------------------

    def capture(
        self, target: str, lines: int | None = None, colours: bool = False, join: bool = True
    ) -> list[str]:
        """The pane's visible screen (plus `lines` lines of history); `colours` keeps SGR codes."""
        return split_output(self.run(*capture_args(target, lines, colours, join)))

    def resolve_pane(self, target: str) -> tuple[str, str]:
        """(pane id, session name) of `target`; TmuxError when there is no such pane."""
        out = self.run(
            "display-message", "-p", "-t", pane_target(target), "#{pane_id}\t#{session_name}"
        )
        pane, _, session = out.strip().partition("\t")
        # display-message prints the format, empty, instead of failing for a missing target.
        if not pane:
            raise TmuxError(
                f"no tmux session or pane {target}",
                fix=f"list the sessions with tmux -L {self.socket} ls",
            )
        return pane, session

    @contextmanager
    def _session_lock(self, session: str, timeout: float) -> Iterator[None]:
        """One nudge at a time per session, across threads and processes (flock)."""
        folder = session
        if not _SAFE_FILE_NAME.match(session):  # tmux allows names no path should contain
            digest = hashlib.sha256(session.encode()).hexdigest()[:8]
            folder = f"{sanitize(session)}-{digest}"
        path = self.lock_dir / folder / ".lock"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(path, "a+b") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TmuxError(
                            f"another message to {session} is still being delivered",
                            fix="try again in a moment",
                        ) from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def send_literal_text(
        self,
        target: str,
        text: str | bytes,
        *,
        settle: float = 0.6,
        escape: bool = True,
        verify_timeout: float = 2.0,
        lock_timeout: float = 30.0,
        paste: bool = False,
    ) -> Delivery:
        """Type `text` into the pane as text and submit it with Enter (Gas Town's nudge).

        The text is sanitized (`sanitize_text`) and sent with `send-keys -l -- <chunk>`: `-l`
        makes tmux type characters instead of looking up key names such as `C-c` or `Enter`,
        and `--` keeps a chunk starting with '-' from being read as an option. `settle`
        seconds pass after the text and after Escape, so a TUI agent sees the paste end and
        readline's escape-sequence timeout (0.5 s) expires before Enter arrives. `paste`
        sends the text as one bracketed paste instead (a tmux buffer, `paste-buffer -p`): a
        TUI that takes a typed key as a command (Gemini CLI drops every typed `?`) takes a
        paste as text.
        """
        pane, session = self.resolve_pane(target)
        clean = sanitize_text(text)
        with self._session_lock(session, lock_timeout):
            # A pane in copy mode would swallow the keys; "not in a mode" is the usual answer.
            self.call("send-keys", "-X", "-t", pane, "cancel")
            try:
                if paste:
                    buffer = f"gt-nudge-{os.getpid()}-{secrets.token_hex(4)}"
                    self.run("set-buffer", "-b", buffer, "--", clean)
                    self.run("paste-buffer", "-p", "-d", "-b", buffer, "-t", pane)
                for index, piece in enumerate([] if paste else chunks(clean, CHUNK_SIZE)):
                    if index:
                        time.sleep(0.01)
                    self.run("send-keys", "-l", "-t", pane, "--", piece)
                time.sleep(settle)
                if escape:
                    self.run("send-keys", "-t", pane, "Escape")
                    time.sleep(settle)
                attempts = self._enter_verified(pane, verify_timeout)
            except TmuxError as error:
                return Delivery(delivered=False, verified=False, detail=error.problem)
        if attempts:
            return Delivery(True, True, f"Enter processed (attempt {attempts})")
        return Delivery(True, False, f"pane did not change after {ENTER_ATTEMPTS} Enter keys")

    def press(self, target: str, *keys: str, lock_timeout: float = 30.0) -> None:
        """Press named keys (arrows, Enter) in the pane, one tmux call, under the nudge lock.
        Only names from our own code come here, never text a user or a bead wrote."""
        for key in keys:
            if key not in PRESSABLE:
                raise TmuxError(f"refusing to press key {key!r}", fix="press one of "
                                + ", ".join(sorted(PRESSABLE)))
        pane, session = self.resolve_pane(target)
        with self._session_lock(session, lock_timeout):
            self.run("send-keys", "-t", pane, *keys)

    def _enter_verified(self, pane: str, timeout: float) -> int:
        """Press Enter until the pane changes; the attempt that worked, or 0."""
        before = self._snapshot(pane)
        for attempt in range(1, ENTER_ATTEMPTS + 1):
            self.run("send-keys", "-t", pane, "Enter")
            if wait_until(lambda: self._snapshot(pane) != before, timeout / ENTER_ATTEMPTS):
                return attempt
        return 0

    def _snapshot(self, pane: str) -> str:
        """Screen plus cursor and history size, in one tmux call.

        A line-oriented program answers Enter by only moving the cursor to a blank line, which
        the screen text alone would not show.
        """
        proc = self._exec(
            tmux_sequence_argv(
                self.socket,
                ["capture-pane", "-p", "-t", pane],
                ["display-message", "-p", "-t", pane, "#{cursor_x},#{cursor_y},#{history_size}"],
            )
        )
        if proc.returncode != 0:
            raise self._failure(["capture-pane"], proc.stderr)
        return proc.stdout
