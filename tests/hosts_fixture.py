"""A second host for the tests: Debian's sshd on 127.0.0.1 at a free port with a throwaway
key, and a town whose beads are in its own PostgreSQL over TCP with a password (what a real
second machine uses).

"Host B" is this same machine seen through ssh: it gets its own home, its own town folder
and, derived from that folder, its own tmux socket, so the two hosts share no state by
accident. Its sessions
carry the run's leak marker and tmux folder (sshd's SetEnv), so the run's leak check covers
what host B starts too. `stop()` is the host dropping (sshd and every connection it serves
end; with `crash=True` its tmux server and agents die too); `start()` brings it back on the
same port with the same key.

CI sets GT_REQUIRE_SSH=1 (.ci/run installs openssh-server): the tests fail, not skip,
without sshd there.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.leaks import RUN_MARKER
from tests.waiting import wait_for

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


def sshd_program() -> str | None:
    for path in (shutil.which("sshd"), *SSHD_CANDIDATES):
        if path and os.access(path, os.X_OK):
            return path
    return None


def require_sshd() -> str:
    program = sshd_program()
    if program is None or shutil.which("ssh") is None:
        why = "sshd (openssh-server) or ssh is not installed"
        if os.environ.get("GT_REQUIRE_SSH"):
            pytest.fail(f"{why} (GT_REQUIRE_SSH is set)", pytrace=False)
        pytest.skip(f"{why}: apt-get install openssh-server")
    return program


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class SshHost:
    """One sshd serving as a host of the town."""

    name: str
    folder: Path  # its keys, config and log
    town_path: Path  # the host's town folder (made by gt host add)
    address: str = "127.0.0.1"
    port: int = 0
    user: str = field(default_factory=getpass.getuser)
    netns: str = ""  # run sshd inside this network namespace
    proc: subprocess.Popen | None = None

    @property
    def key(self) -> Path:
        return self.folder / "client_key"

    @property
    def home(self) -> Path:
        return self.folder / "home"

    @property
    def target(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"

    def add_args(self) -> list[str]:
        """`gt host add` arguments for this host."""
        return [self.name, self.target, "-i", str(self.key), "--town-path", str(self.town_path)]

    def setup(self) -> None:
        program = require_sshd()
        self.folder.mkdir(parents=True, exist_ok=True)
        for key in ("host_key", "client_key"):
            if not (self.folder / key).exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f",
                                str(self.folder / key)], check=True)
        (self.folder / "authorized_keys").write_text((self.folder / "client_key.pub")
                                                     .read_text())
        (self.folder / "authorized_keys").chmod(0o600)
        if not self.port:
            self.port = free_port()
        # Its own home too, as another machine has: the remote shell reads its rc files from
        # there, not from this machine's user (whose ~/.bashrc may be slow, or leave a lock
        # behind when a test cuts the connection mid-way: pyenv's rehash did, hanging every
        # later login for 60 s).
        self.home.mkdir(exist_ok=True)
        run_env = [f"HOME={self.home}", f"{RUN_MARKER}={os.environ.get(RUN_MARKER, '')}"]
        if os.environ.get("TMUX_TMPDIR"):
            run_env.append(f"TMUX_TMPDIR={os.environ['TMUX_TMPDIR']}")
        (self.folder / "sshd_config").write_text("\n".join([
            f"Port {self.port}", f"ListenAddress {self.address}",
            f"HostKey {self.folder / 'host_key'}",
            f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "PermitRootLogin prohibit-password", "StrictModes no",
            f"PidFile {self.folder / 'sshd.pid'}", "MaxStartups 100:30:200",
            "MaxSessions 100", f"SetEnv {' '.join(run_env)}", ""]))
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege-separation dir
        self.program = program

    def start(self) -> None:
        argv = [self.program, "-D", "-e", "-f", str(self.folder / "sshd_config")]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        log = open(self.folder / "sshd.log", "ab")  # sshd keeps its own copy of the fd
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 15
        while not port_open(self.address, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("sshd did not start: "
                                     + (self.folder / "sshd.log").read_text()[-2000:])
            time.sleep(0.05)

    def stop(self, *, crash: bool = False) -> None:
        """The host drops: sshd and every connection it serves end (as a cut network or a
        dead machine looks from the town). `crash`: its tmux server and agents die too."""
        from gastown_tui.tmux import proctree

        if self.proc is not None and self.proc.poll() is None:
            proctree.terminate_tree([self.proc.pid], grace=1.0)
            self.proc.wait(timeout=10)
        self.proc = None
        wait_for(lambda: not port_open(self.address, self.port), 10, "sshd to stop")
        if crash:
            self.kill_tmux()

    def kill_tmux(self) -> None:
        from gastown_tui.tmux.server import TownTmux
        from gastown_tui.tmux.socket import socket_name

        if (self.town_path / "mayor" / "town.json").exists():
            TownTmux(socket_name(self.town_path)).kill_server(grace=1.0)

    def sessions(self) -> set[str]:
        from gastown_tui.tmux.socket import socket_name

        proc = subprocess.run(["tmux", "-L", socket_name(self.town_path), "ls", "-F",
                               "#{session_name}"], capture_output=True, text=True, check=False)
        return set(proc.stdout.split()) if proc.returncode == 0 else set()

    def screen(self, session: str) -> str:
        """What a session on this host shows (with history), read on its machine directly:
        the test's own look, cheaper than an ssh per poll."""
        from gastown_tui.tmux.socket import socket_name

        proc = subprocess.run(["tmux", "-L", socket_name(self.town_path), "capture-pane", "-p",
                               "-J", "-S", "-200", "-t", f"={session}:"], capture_output=True,
                              text=True, check=False)
        return proc.stdout if proc.returncode == 0 else ""

    def close(self) -> None:
        self.stop()
        self.kill_tmux()


@pytest.fixture
def host_b(tmp_path_factory) -> Iterator[SshHost]:
    """Host B: sshd on 127.0.0.1 at a free port; its town folder is made by gt host add."""
    folder = Path(tempfile.mkdtemp(prefix="gtssh-", dir="/tmp"))
    host = SshHost("b", folder / "sshd", folder / "hostb-town")
    try:
        host.setup()
        host.start()
        yield host
    finally:
        host.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def tcp_town(clean_env, tmux_socket, upstream) -> Iterator[Cli]:
    """A town whose beads live in its own PostgreSQL listening on 127.0.0.1 (TCP, password)
    as well as its socket, with a rig `gastown` and the sim runtime; the CLI works from the
    rig. Its cluster is stopped at the end."""
    from gastown_tui.town.store import cluster

    if not cluster.available():
        if os.environ.get("GT_REQUIRE_PG"):
            pytest.fail("PostgreSQL is not installed (GT_REQUIRE_PG is set)", pytrace=False)
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="gttcp-", dir="/tmp"))
    folder.chmod(0o711)  # the cluster's user (postgres, as root) must reach it
    root = folder / "town"
    env = {**clean_env, "GT_TMUX_SOCKET": tmux_socket}
    try:
        outside = Cli(folder, env)
        outside.json("gt", "install", str(root), "--name", "tcptown", "--store", "postgres",
                     "--pg-port", str(free_port()), "--pg-listen", "127.0.0.1")
        town = Cli(root, env)
        town.gt("rig", "add", "gastown", str(upstream))
        settings = root / "settings" / "config.json"
        data = json.loads(settings.read_text())
        data["default_agent"] = "sim"
        settings.write_text(json.dumps(data))
        yield Cli(root / "gastown", env)
    finally:
        from gastown_tui.town.store.cluster import Cluster
        from gastown_tui.town.store.pg import close_all

        close_all()
        own = Cluster.of_town(root)
        if own.exists():
            own.stop()
        shutil.rmtree(folder, ignore_errors=True)
