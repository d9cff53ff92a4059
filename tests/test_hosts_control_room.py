"""The control room on a town with a second host: ONE persistent control-mode client per host
(never an ssh per capture), the remote polecat's tile live, a host that drops shown as
`host unreachable` with ssh's evidence (its tile kept), and followed again when it returns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gastown_tui.app import make_app
from gastown_tui.town.layout import Town
from tests.conftest import Cli
from tests.hosts_fixture import SshHost
from tests.test_app_pilot import until

pytest_plugins = ("tests.hosts_fixture",)
pytestmark = pytest.mark.postgres


def control_clients(port: int) -> list[int]:
    """Our ssh processes that hold a tmux control-mode client on the host at `port`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"ssh") and str(port).encode() in argv \
                and any(b"-C" in a and b"attach-session" in a for a in argv):
            found.append(int(entry.name))
    return found


async def test_remote_tiles_follow_one_client_per_host_through_a_drop(
        tcp_town: Cli, host_b: SshHost, monkeypatch: pytest.MonkeyPatch):
    cli = tcp_town
    monkeypatch.setenv("GT_TMUX_SOCKET", cli.env["GT_TMUX_SOCKET"])
    monkeypatch.setenv("HOME", cli.env["HOME"])
    for var in ("GT_ROLE", "BD_ACTOR", "BEADS_ACTOR", "GT_ROOT", "GT_RIG"):
        monkeypatch.delenv(var, raising=False)
    cli.json("gt", "host", "add", *host_b.add_args())
    bead = cli.json("bd", "create", "Hang on b", "-d", "```sim\nhang: true\n```")["id"]
    slung = cli.json("gt", "sling", bead, "gastown", "--host", "b")[0]
    session = slung["session"]  # b:gt-<name>
    town = Town(cli.cwd.parent)
    app = make_app(town)

    def agent():
        snap = app.snapshot
        return next((a for a in snap.polecats if a.address == slung["agent"]), None) \
            if snap else None

    def screen() -> str:
        return "\n".join(app.panes.screens.get(session, ()))

    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: "hanging" in screen(), 30, "the remote pane on its tile")
        assert agent().host == "b" and agent().state == "working"
        assert agent().session == session
        # a nudge typed there shows on the tile through the same client
        cli.gt("nudge", slung["agent"], "--mode", "immediate", "ping from the town")
        await until(pilot, lambda: "ping from the town" in screen(), 30, "the nudge on the tile")
        assert len(control_clients(host_b.port)) == 1  # one client, however many captures

        host_b.stop()  # the host drops
        await until(pilot, lambda: agent() is not None and agent().state == "host unreachable",
                    30, "the tile to say host unreachable")
        assert "Connection refused" in agent().evidence
        assert "b" in app.panes.host_errors and app.panes.host_errors["b"]
        assert "hanging" in screen()  # its last screen stays: unknown, not gone
        needs = app.snapshot.needs_you
        assert any(i.kind == "unreachable" and i.key == slung["agent"] for i in needs)
        assert control_clients(host_b.port) == []

        host_b.start()  # and comes back
        await until(pilot, lambda: agent().state == "working", 40, "the host to be followed")
        assert app.panes.host_errors.get("b") == ""
        cli.gt("nudge", slung["agent"], "--mode", "immediate", "welcome back")
        await until(pilot, lambda: "welcome back" in screen(), 30, "new output after the return")
        assert len(control_clients(host_b.port)) == 1
    assert os.environ.get("GT_TMUX_SOCKET")
