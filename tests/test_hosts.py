"""`gt host add|list|check|remove` against a real second host (sshd on 127.0.0.1), and the
town's PostgreSQL reached over TCP with its password, as a second machine reaches it."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.hosts_fixture import SshHost

pytest_plugins = ("tests.hosts_fixture",)
pytestmark = pytest.mark.postgres


def town_root(cli: Cli) -> Path:
    return cli.cwd.parent


def test_add_checks_the_host_and_records_it(tcp_town: Cli, host_b: SshHost):
    cli = tcp_town
    added = cli.json("gt", "host", "add", *host_b.add_args(), "--capacity", "3")
    assert added["ok"] and added["action"] == "added"
    checks = {c["name"]: c for c in added["checks"]}
    assert set(checks) >= {"ssh", "gt", "tmux", "git", "store", "town"}
    assert "BatchMode" in checks["ssh"]["detail"]
    assert checks["store"]["ok"] and "127.0.0.1" in checks["store"]["detail"]
    assert "store_url" not in added  # the password never shows
    # the record: its store URL (with the password) readable by the town's user only
    hosts_file = town_root(cli) / "settings" / "hosts.json"
    assert stat.S_IMODE(hosts_file.stat().st_mode) == 0o600
    record = json.loads(hosts_file.read_text())["hosts"]["b"]
    assert record["store_url"].startswith("postgresql://gastown:")
    assert record["capacity"] == 3 and record["town_path"] == str(host_b.town_path)
    # the host's satellite town: marked as one, the rig there, beads through TCP
    satellite = json.loads((host_b.town_path / "mayor" / "town.json").read_text())
    assert satellite["satellite"]["host"] == "b"
    assert (host_b.town_path / "gastown" / ".repo.git" / "HEAD").is_file()
    settings = json.loads((host_b.town_path / "settings" / "config.json").read_text())
    assert "@127.0.0.1:" in settings["store_url"]
    bead = cli.json("bd", "create", "made in the town")["id"]
    there = Cli(host_b.town_path / "gastown", {k: v for k, v in cli.env.items()
                                               if k != "GT_TMUX_SOCKET"})
    assert there.json("bd", "show", bead)[0]["title"] == "made in the town"

    listed = cli.json("gt", "host", "list")
    assert [(h["name"], h["target"], h["capacity"]) for h in listed] == [
        ("b", host_b.target, 3)]
    checked = cli.json("gt", "host", "check", "b")
    assert checked["ok"] and checked["reachable"]
    text = cli.gt("host", "list").stdout
    assert f"b: {host_b.target}" in text and "polecats 0/3" in text

    removed = cli.json("gt", "host", "remove", "b")
    assert removed["action"] == "removed"
    assert cli.json("gt", "host", "list") == []


def test_an_unreachable_host_is_reported_with_evidence(tcp_town: Cli, host_b: SshHost):
    cli = tcp_town
    cli.json("gt", "host", "add", *host_b.add_args())
    host_b.stop()
    checked = cli.run("gt", "host", "check", "b", "--json", ok=False)
    assert checked.returncode == 1
    report = json.loads(checked.stdout)
    assert report["reachable"] is False
    assert "Connection refused" in report["checks"][0]["detail"]
    text = cli.run("gt", "host", "check", "b", ok=False)
    assert "host unreachable" in text.stdout and "Connection refused" in text.stdout
    host_b.start()
    assert cli.json("gt", "host", "check", "b")["reachable"] is True


def test_bad_input_gets_one_line_with_the_fix(tcp_town: Cli, host_b: SshHost, tmp_path):
    cli = tcp_town
    cases = [
        (["host", "add", "B!", host_b.target], "invalid host name"),
        (["host", "add", "local", host_b.target], "reserved"),
        (["host", "add", "b", "--", "-oProxyCommand=x"], "invalid ssh target"),
        (["host", "add", "b", host_b.target, "-i", str(tmp_path / "nokey")], "no identity"),
        (["host", "check", "nope"], "unknown host"),
        (["sling", "gt-abc", "gastown", "--host", "nope"], "unknown host"),
    ]
    for args, words in cases:
        proc = cli.run("gt", *args, ok=False)
        assert proc.returncode != 0, args
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "(" in lines[0], (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    # a wrong key: the host refuses, in one line, and nothing is recorded
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    proc = cli.run("gt", "host", "add", "b", host_b.target, "-i", str(other), ok=False)
    assert proc.returncode == 1 and "host b unreachable" in proc.stderr
    assert "Permission denied" in proc.stderr
    assert cli.json("gt", "host", "list") == []


def test_a_sqlite_town_is_refused_with_the_way_to_move_it(sim_town: Cli, host_b: SshHost):
    proc = sim_town.run("gt", "host", "add", *host_b.add_args(), ok=False)
    assert proc.returncode == 1
    assert "SQLite" in proc.stderr and "gt store migrate --to postgres" in proc.stderr
