"""The pieces of multi-host work that need no second host: the one place a command line for a
host's shell is built, ssh's arguments, host names and targets, the hosts file, placement by
capacity, addresses `host:session`, and a polecat whose host is gone from the town."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from gastown_tui.hosts.observer import address, split_address
from gastown_tui.hosts.ssh import Ssh, remote_command
from gastown_tui.ops.placement import choose, polecats_by_host
from gastown_tui.ops.sessions import split_session
from gastown_tui.town.errors import GasTownError, InvalidNameError, ValidationError
from gastown_tui.town.hostlist import (
    HostRecord,
    load_hosts,
    parse_target,
    save_hosts,
    validate_host_name,
    write_placement,
)
from gastown_tui.town.layout import Town

HOSTILE = ["$(touch pwned)", "a;b", "it's", '"dq"', "new\nline", "`id`", "*", "~", "-n",
           "#comment", "back\\slash", "", " spaced "]


def test_remote_command_reaches_the_program_literally(tmp_path: Path):
    """What the host's shell runs is exactly our argument list, whatever the arguments hold."""
    line = remote_command(["printf", "%s\\0", *HOSTILE])
    out = subprocess.run(["sh", "-c", line], cwd=tmp_path, capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [a.encode() for a in HOSTILE]
    assert not (tmp_path / "pwned").exists()
    for bad in (["-oProxyCommand=x"], ["ls", "a\x00b"], []):
        with pytest.raises(ValueError):
            remote_command(bad)


def test_ssh_arguments_are_batch_bounded_and_keep_the_target_apart(tmp_path: Path):
    host = HostRecord(name="b", user="me", address="10.0.0.7", port=2222,
                      identity="/keys/id", town_path="/srv/gt", socket="x-1")
    argv = Ssh(tmp_path, host).argv(["tmux", "-L", "x-1", "ls"])
    assert argv[0] == "ssh" and "BatchMode=yes" in argv and "-T" in argv
    assert argv[argv.index("-p") + 1] == "2222" and argv[argv.index("-i") + 1] == "/keys/id"
    assert f"UserKnownHostsFile={tmp_path / 'settings' / 'known_hosts'}" in argv
    assert argv[-3:] == ["--", "me@10.0.0.7", "tmux -L x-1 ls"]
    assert any(a.startswith("ConnectTimeout=") for a in argv)
    git = Ssh(tmp_path, host).git_ssh_command()
    assert "-p" not in git.split() and "BatchMode=yes" in git
    assert Ssh(tmp_path, host).git_url("/srv/gt/r/.repo.git") == \
        "ssh://me@10.0.0.7:2222/srv/gt/r/.repo.git"
    six = HostRecord(name="c", user="", address="::1")
    assert Ssh(tmp_path, six).argv(["true"])[-2] == "[::1]"


def test_names_targets_and_addresses():
    assert validate_host_name("gpu-box") == "gpu-box"
    for bad in ("", "B", "1st", "a b", "local", "hq", "x" * 40, "a:b"):
        with pytest.raises(InvalidNameError):
            validate_host_name(bad)
    assert parse_target("me@host.example:2200") == ("me", "host.example", 2200)
    assert parse_target("10.0.0.7", 22) == ("", "10.0.0.7", 22)
    assert parse_target("[::1]:2222") == ("", "::1", 2222)
    for bad in ("-oProxyCommand=x", "me@", "a b", "me@host:99999", "host;rm"):
        with pytest.raises(InvalidNameError):
            parse_target(bad)
    with pytest.raises(InvalidNameError):
        parse_target("h:22", 2222)
    assert address("b", "gt-nux") == "b:gt-nux"
    assert split_address("b:gt-nux") == ("b", "gt-nux")
    for local in ("gt-nux", "=gt-nux:", "%3", "gt-nux:1.0", "hq-mayor:"):
        assert split_address(local) == (None, local)
    assert split_session("b:gt-nux") == ("b", "gt-nux") and split_session("gt-x") == (None,
                                                                                      "gt-x")


def test_the_hosts_file_is_private_and_keeps_what_it_does_not_know(rig_town: Path):
    town = Town(rig_town)
    save_hosts(town, {"b": HostRecord(name="b", user="me", address="h", store_url="postgresql://"
                                      "gastown:secret@h:5433/gastown", capacity=2)})
    path = rig_town / "settings" / "hosts.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    data["hosts"]["b"]["note"] = "the rack by the door"
    path.write_text(json.dumps(data))
    record = load_hosts(town)["b"]
    assert record.capacity == 2 and record.extra == {"note": "the rack by the door"}
    assert "store_url" not in record.as_json() and record.as_json()["target"] == "me@h"
    save_hosts(town, load_hosts(town))
    assert json.loads(path.read_text())["hosts"]["b"]["note"] == "the rack by the door"


def test_placement_fills_hosts_in_order_by_capacity(rig_town: Path):
    town = Town(rig_town)
    rig = town.rig("gastown")
    save_hosts(town, {"b": HostRecord(name="b", user="", address="h", capacity=1),
                      "c": HostRecord(name="c", user="", address="i", capacity=2)})
    assert choose(town, rig) is None  # no hosts setting: the town's own machine, as before
    settings = rig.path / "settings" / "config.json"
    data = json.loads(settings.read_text()) if settings.exists() else {}
    settings.write_text(json.dumps({**data, "hosts": ["b", "c"]}))
    assert choose(town, rig) == "b"
    for name, host in (("nux", "b"), ("slit", "c"), ("toast", "c")):
        (rig.polecats_dir / name).mkdir(parents=True)
        write_placement(rig, name, {"host": host})
        if name == "nux":
            assert choose(town, rig) == "c"  # b is full
    assert polecats_by_host(town) == {"b": 1, "c": 2}
    with pytest.raises(ValidationError, match=r"every host for gastown is full \(b 1/1, c 2/2\)"):
        choose(town, rig)
    with pytest.raises(ValidationError, match="host c is full"):
        choose(town, rig, "c")
    assert choose(town, rig, "local") is None  # named outright: here has no limit set
    town.settings_json.write_text(json.dumps({**json.loads(town.settings_json.read_text()),
                                              "local_capacity": 0}))
    with pytest.raises(ValidationError, match="host local is full"):
        choose(town, rig, "local")


def test_a_polecat_whose_host_left_the_town_is_unreachable_not_a_zombie(rig_town: Path):
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.polecats import polecats

    town = Town(rig_town)
    rig = town.rig("gastown")
    (rig.polecats_dir / "nux").mkdir(parents=True)
    write_placement(rig, "nux", {"host": "gone", "worktree": "/srv/gt/gastown/polecats/nux"})
    store = open_store(town, "tester")
    try:
        info = next(p for p in polecats(town, store, sessions={}) if p.name == "nux")
    finally:
        store.close_connection()
    assert info.state == "host unreachable" and info.host == "gone"
    assert "unknown host 'gone'" in info.evidence and not info.zombie
    assert info.session_address == "gone:gt-nux"
    (rig.polecats_dir / "nux" / ".host.json").write_text("[1, 2]")
    with pytest.raises(GasTownError, match=r"\.host\.json (holds a JSON list|does not say)"):
        from gastown_tui.town.hostlist import placement

        placement(rig, "nux")
