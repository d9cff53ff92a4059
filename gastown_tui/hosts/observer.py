"""Following panes on other hosts: ONE persistent control-mode client per host
(`ssh -T HOST tmux -u -L SOCKET -C attach-session -f read-only,ignore-size,no-output`), over
which every list-panes and capture-pane of that host travels (0.2 ms each instead of an ssh
of half a second), and the town-wide pane source the control room polls.

A host that stops answering is `host unreachable` with what ssh said as evidence; it is asked
again only every RETRY seconds (a connect attempt can take ConnectTimeout), so a lost host
never stalls the panes of the others. Its sessions are not reported gone: they are unknown.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from gastown_tui.hosts.ssh import SSH_FAILED, Ssh, evidence
from gastown_tui.tmux.commands import NO_SERVER_MARKERS
from gastown_tui.tmux.observer import CLIENT_FLAGS, PaneObserver, PaneState, _ControlClient
from gastown_tui.tmux.socket import tmux_argv
from gastown_tui.town.errors import GasTownError, TmuxError
from gastown_tui.town.hostlist import HostRecord, HostUnreachableError, load_hosts
from gastown_tui.town.layout import Town

RETRY = 5.0  # seconds between attempts to reach a host that did not answer
IDLE_RETRY = 3.0  # ... and to attach to a host whose tmux server had no session
SEP = ":"  # host:session, host:%pane


class NoRemoteServer(TmuxError):
    """The host answers but its tmux server runs no session (nothing to follow there)."""


def address(host: str, session: str) -> str:
    """`host:session` (a tmux session name never holds ':')."""
    return f"{host}{SEP}{session}"


def split_address(text: str) -> tuple[str | None, str]:
    """(host, session) of `host:session`; (None, text) for a session of the town's server.
    Pane targets of the town's own server (`=name:`, `%3`, `name:1.0`) are left alone."""
    head, sep, tail = text.partition(SEP)
    if sep and head and not head.startswith(("=", "%", "$", "@")) and tail \
            and not tail[0].isdigit() and head[0].isalpha() and head.islower():
        return head, tail
    return None, text


class RemotePaneObserver(PaneObserver):
    """A PaneObserver whose control client reaches the host's tmux server over ssh."""

    def __init__(self, ssh: Ssh, *, timeout: float = 5.0, retry: float = RETRY) -> None:
        super().__init__(ssh.host.socket, timeout=timeout)
        self.ssh = ssh
        self.host = ssh.host.name
        self.retry = retry
        self._down: tuple[float, GasTownError] | None = None

    def _connect(self) -> _ControlClient:
        argv = self.ssh.argv(tmux_argv(self.socket, "-C", "attach-session", "-f",
                                       CLIENT_FLAGS))
        return _ControlClient(argv, keep_errors=True)

    def _lost(self, client: _ControlClient) -> TmuxError:
        status = client.exit_status()
        said = "\n".join(client.errors)
        if any(marker in said for marker in (*NO_SERVER_MARKERS, "no sessions")):
            return NoRemoteServer(f"host {self.host}'s tmux server runs no session",
                                  fix=f"sling work there: gt sling <bead> <rig> --host "
                                      f"{self.host}")
        if status == SSH_FAILED or status is None or not said:
            return HostUnreachableError(self.host, evidence(said or "the connection closed"))
        return TmuxError(f"tmux on host {self.host}: {said.splitlines()[-1][:200]}",
                         fix=f"check it with gt host check {self.host}")

    @property
    def down(self) -> GasTownError | None:
        """Why the host is not being followed right now, while it waits to be retried."""
        found = self._down
        return found[1] if found is not None and time.monotonic() < found[0] else None

    def last_error(self) -> GasTownError | None:
        return self._down[1] if self._down is not None else None

    def command(self, args: Sequence[str]) -> list[str]:
        with self._lock:
            waiting = self.down
            if waiting is not None:
                raise waiting
            try:
                lines = super().command(args)
            except NoRemoteServer as exc:
                self._down = (time.monotonic() + IDLE_RETRY, exc)
                raise
            except HostUnreachableError as exc:
                self._down = (time.monotonic() + self.retry, exc)
                raise
            except TmuxError as exc:
                if "did not answer" not in exc.problem:
                    raise
                # A host that went silent (its network cut) leaves the request unanswered.
                lost = HostUnreachableError(self.host, evidence(
                    f"no answer from its tmux within {self.timeout:.0f} s"))
                self._down = (time.monotonic() + self.retry, lost)
                raise lost from None
            self._down = None
            return lines

    def sessions(self) -> dict[str, bool]:
        """session -> its active pane is alive, over the open connection; {} when the host's
        server runs no session. HostUnreachableError when the host does not answer."""
        try:
            rows = self.command(["list-panes", "-a", "-F",
                                 "#{window_active}#{pane_active}#{pane_dead}\t#{session_name}"])
        except NoRemoteServer:
            return {}
        found: dict[str, bool] = {}
        for row in rows:
            flags, _, name = row.partition("\t")
            if len(flags) != 3 or not name:
                continue
            if name not in found or flags[:2] == "11":
                found[name] = flags[2] != "1"
        return found


# ---------------------------------------------------------------------------- one per host
_LINKS: dict[tuple[str, str], tuple[HostRecord, RemotePaneObserver]] = {}
_LINKS_LOCK = threading.Lock()
_enabled = False


def enable_links() -> None:
    """This process keeps one control client per host (the control room does); without it,
    each read is one ssh call (a `gt` command runs once and exits)."""
    global _enabled
    _enabled = True


def links_enabled() -> bool:
    return _enabled


def link(town_root: Path, host: HostRecord) -> RemotePaneObserver:
    """The process's control client to `host` (made on first use, remade when the host's
    record changed)."""
    key = (str(Path(town_root).resolve()), host.name)
    with _LINKS_LOCK:
        found = _LINKS.get(key)
        if found is not None and found[0] == host:
            return found[1]
        if found is not None:
            found[1].close()
        observer = RemotePaneObserver(Ssh(Path(town_root), host))
        _LINKS[key] = (host, observer)
        return observer


def close_links() -> None:
    with _LINKS_LOCK:
        for _, observer in _LINKS.values():
            observer.close()
        _LINKS.clear()


atexit.register(close_links)


def remote_sessions(town: Town, host: HostRecord) -> dict[str, bool]:
    """session -> pane alive on `host`; HostUnreachableError when it does not answer. Over
    the process's control client when it keeps them, else one ssh call."""
    if links_enabled():
        return link(town.root, host).sessions()
    from gastown_tui.hosts.tmux import RemoteTmux

    tmux = RemoteTmux.for_host(Ssh(town.root, host))
    return {s.name: not s.pane_dead for s in tmux.list_sessions()}


# ---------------------------------------------------------------------------- the town's panes
class TownObserver:
    """The control room's pane source for a town with hosts: its own tmux server (as
    PaneObserver), plus each host's, their sessions and panes named `host:…`.

    The town's server failing raises, as PaneObserver does (the control room shows it as tmux
    being down); a host failing only marks that host (`host_errors`)."""

    def __init__(self, town_root: Path, local: PaneObserver | None = None) -> None:
        self.town = Town(Path(town_root))
        self.local = local if local is not None else PaneObserver.for_town(self.town.root)
        self.host_errors: dict[str, str] = {}
        self._remote_panes: dict[str, dict[str, PaneState]] = {}
        self._hosts: dict[str, HostRecord] = {}
        self._hosts_read = 0.0
        self._local_down = False
        enable_links()

    def _current_hosts(self) -> dict[str, HostRecord]:
        now = time.monotonic()
        if now - self._hosts_read > 2.0:  # hosts come and go rarely: a file read every 2 s
            self._hosts_read = now
            try:
                self._hosts = load_hosts(self.town)
            except GasTownError:
                pass  # a damaged hosts file: keep following what we knew
        return self._hosts

    @property
    def panes(self) -> dict[str, PaneState]:
        merged = {} if self._local_down else dict(self.local.panes)
        for host, panes in self._remote_panes.items():
            for pane, state in panes.items():
                merged[address(host, pane)] = PaneState(address(host, state.session),
                                                        state.signature, state.activity)
        return merged

    def poll_changes(self, lines: int | None = None, colours: bool = False, join: bool = True,
                     only: Iterable[str] | None = None) -> dict[str, list[str]]:
        wanted = None if only is None else set(only)
        local_only = None if wanted is None else {s for s in wanted
                                                  if split_address(s)[0] is None}
        hosts = self._current_hosts()
        try:
            changed = dict(self.local.poll_changes(lines, colours, join, only=local_only))
        except TmuxError:
            if not hosts:
                raise  # a one-machine town: the control room shows tmux as down
            # The town's own server may simply have no session while hosts work: its panes
            # are none (the model's own banner says when the server is down).
            changed, self._local_down = {}, True
        else:
            self._local_down = False
        for gone in set(self._remote_panes) - set(hosts):
            self._remote_panes.pop(gone, None)
            self.host_errors.pop(gone, None)
        for name, record in hosts.items():
            remote_only = None if wanted is None else {
                session for host, session in map(split_address, wanted) if host == name}
            observer = link(self.town.root, record)
            try:
                moved = observer.poll_changes(lines, colours, join, only=remote_only)
            except NoRemoteServer:
                self._remote_panes[name] = {}
                self.host_errors[name] = ""
                continue
            except GasTownError as exc:
                # Unknown, not gone: its panes keep their last screens until it answers.
                self.host_errors[name] = exc.problem
                continue
            self.host_errors[name] = ""
            self._remote_panes[name] = observer.panes
            changed.update({address(name, pane): screen for pane, screen in moved.items()})
        return changed

    def capture(self, pane_or_session: str, lines: int | None = None, colours: bool = False,
                join: bool = True) -> list[str]:
        host, target = split_address(pane_or_session)
        if host is None:
            return self.local.capture(target, lines, colours, join)
        record = self._current_hosts().get(host)
        if record is None:
            raise TmuxError(f"no host {host} in this town", fix="see gt host list")
        return link(self.town.root, record).capture(target, lines, colours, join)

    def close(self) -> None:
        self.local.close()
        close_links()
