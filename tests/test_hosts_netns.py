"""A host behind a real network link: sshd in a network namespace joined to this one by a
veth pair (the test's own addresses), the town's PostgreSQL listening on the link. Cutting
the link is a partition, not a refused port: nothing answers at all. The town reports the
host unreachable with ssh's words, the control room's client to it gives up within its
timeout without stalling, and both see the host again when the link is back; the polecat
there, cut off but alive, is followed again as it was.

Runs where the machine allows network namespaces (root, iproute2); skipped with the reason
where not. Network namespaces isolate the network only: files and tmux sockets stay shared,
which is why host B still gets a town folder and tmux socket of its own."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.hosts_fixture import SshHost, free_port, require_sshd
from tests.waiting import wait_for

pytestmark = pytest.mark.postgres


def _ip(*args: str, ns: str = "") -> subprocess.CompletedProcess[str]:
    argv = ["ip", *(["netns", "exec", ns, "ip"] if ns else []), *args]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)


@dataclass
class Link:
    ns: str
    outer: str  # the veth end in this namespace
    inner: str  # the end inside the host's namespace
    town_address: str
    host_address: str

    def set(self, up: bool) -> None:
        proc = _ip("link", "set", self.inner, "up" if up else "down", ns=self.ns)
        assert proc.returncode == 0, proc.stderr


def _why_no_netns() -> str:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    probe = f"gttprobe{uuid.uuid4().hex[:6]}"
    made = _ip("netns", "add", probe)
    if made.returncode != 0:
        return f"this machine does not allow network namespaces: {made.stderr.strip()}"
    _ip("netns", "del", probe)
    return ""


@pytest.fixture
def link() -> Iterator[Link]:
    why = _why_no_netns()
    if why:
        pytest.skip(why)
    tag = uuid.uuid4().hex[:6]
    used = _ip("-4", "-o", "addr").stdout
    for _ in range(50):
        net = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}"
        if f" {net}." not in used:
            break
    found = Link(f"gtt{tag}", f"gtv{tag}a", f"gtv{tag}b", f"{net}.1", f"{net}.2")
    steps = [(("netns", "add", found.ns), ""),
             (("link", "add", found.outer, "type", "veth", "peer", "name", found.inner), ""),
             (("link", "set", found.inner, "netns", found.ns), ""),
             (("addr", "add", f"{found.town_address}/30", "dev", found.outer), ""),
             (("link", "set", found.outer, "up"), ""),
             (("addr", "add", f"{found.host_address}/30", "dev", found.inner), found.ns),
             (("link", "set", found.inner, "up"), found.ns),
             (("link", "set", "lo", "up"), found.ns)]
    try:
        for args, ns in steps:
            proc = _ip(*args, ns=ns)
            assert proc.returncode == 0, f"ip {' '.join(args)}: {proc.stderr}"
        yield found
    finally:
        _ip("link", "del", found.outer)
        _ip("netns", "del", found.ns)


@pytest.fixture
def netns_town(link: Link, clean_env, tmux_socket, upstream) -> Iterator[Cli]:
    """A town whose PostgreSQL listens on the link's town end (and its socket)."""
    from gastown_tui.town.store import cluster

    if not cluster.available():
        if os.environ.get("GT_REQUIRE_PG"):
            pytest.fail("PostgreSQL is not installed (GT_REQUIRE_PG is set)", pytrace=False)
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="gtns-", dir="/tmp"))
    folder.chmod(0o711)
    root = folder / "town"
    env = {**clean_env, "GT_TMUX_SOCKET": tmux_socket, "GT_SSH_CONNECT_TIMEOUT": "2"}
    try:
        Cli(folder, env).json("gt", "install", str(root), "--name", "nstown", "--store",
                              "postgres", "--pg-port", str(free_port()), "--pg-listen",
                              link.town_address)
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


@pytest.fixture
def host_in_ns(link: Link) -> Iterator[SshHost]:
    require_sshd()
    folder = Path(tempfile.mkdtemp(prefix="gtssh-", dir="/tmp"))
    host = SshHost("b", folder / "sshd", folder / "hostb-town", address=link.host_address,
                   port=2222, netns=link.ns)
    try:
        host.setup()
        host.start()
        yield host
    finally:
        host.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_cut_link_is_host_unreachable_and_followed_again(netns_town: Cli, host_in_ns: SshHost,
                                                           link: Link,
                                                           monkeypatch: pytest.MonkeyPatch):
    from gastown_tui.hosts.observer import TownObserver, close_links

    cli = netns_town
    added = cli.json("gt", "host", "add", *host_in_ns.add_args())
    store = next(c for c in added["checks"] if c["name"] == "store")
    assert store["ok"] and link.town_address in store["detail"]  # across the link
    bead = cli.json("bd", "create", "Hang behind the link", "-d", "```sim\nhang: true\n```")["id"]
    slung = cli.json("gt", "sling", bead, "gastown", "--host", "b")[0]
    agent, session = slung["agent"], slung["session"]
    wait_for(lambda: "hanging" in cli.run("gt", "peek", agent, ok=False).stdout, 60,
             "the polecat behind the link to hang")

    monkeypatch.setenv("GT_SSH_CONNECT_TIMEOUT", "2")  # for the observer in this process
    observer = TownObserver(cli.cwd.parent)
    try:
        observer.poll_changes(only={session})
        assert observer.host_errors == {"b": ""} and session in {
            s.session for s in observer.panes.values()}

        link.set(up=False)  # nothing answers now: no refusal, no reset
        started = time.monotonic()
        checked = cli.run("gt", "host", "check", "b", "--json", ok=False)
        report = json.loads(checked.stdout)
        assert checked.returncode == 1 and report["reachable"] is False
        said = report["checks"][0]["detail"]
        assert any(w in said for w in ("timed out", "No route to host", "unreachable")), said
        info = next(p for p in cli.json("gt", "polecat", "list") if p["address"] == agent)
        assert info["state"] == "host unreachable" and not info["zombie"]

        # the control room's client to b gives up within its timeout; a tick never hangs
        wait_for(lambda: (observer.poll_changes(only={session}), observer.host_errors["b"])[1],
                 30, "the observer to mark b unreachable")
        tick = time.monotonic()
        observer.poll_changes(only={session})
        assert time.monotonic() - tick < 1.0  # retried later, not on every tick
        assert session in {s.session for s in observer.panes.values()}  # unknown, not gone
        assert time.monotonic() - started < 60

        link.set(up=True)
        wait_for(lambda: cli.run("gt", "host", "check", "b", ok=False).returncode == 0, 30,
                 "b to answer again")
        info = next(p for p in cli.json("gt", "polecat", "list") if p["address"] == agent)
        assert info["state"] == "working" and info["session_running"]
        wait_for(lambda: (observer.poll_changes(only={session}),
                          observer.host_errors["b"] == "")[1], 30, "the observer to follow b")
    finally:
        observer.close()
        close_links()
