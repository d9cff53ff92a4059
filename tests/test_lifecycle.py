"""Nothing keeps running after it should have stopped: `gt down`, `gt up`, `gt shutdown`, the
tmux server's full stop, and patrol loops that outlive their town."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BIN, Cli
from tests.waiting import wait_for


def sessions(socket: str) -> set[str]:
    proc = subprocess.run(["tmux", "-L", socket, "ls", "-F", "#{session_name}"],
                          capture_output=True, text=True, check=False)
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def server_alive(socket: str) -> bool:
    proc = subprocess.run(["tmux", "-L", socket, "ls"], capture_output=True, text=True,
                          check=False)
    return proc.returncode == 0 or "no sessions" in proc.stderr


def socket_file(socket: str) -> Path:
    return Path(os.environ["TMUX_TMPDIR"]) / f"tmux-{os.getuid()}" / socket


def town_pids(town: Path) -> list[int]:
    """Live processes whose environment names this town as GT_ROOT."""
    wanted = f"GT_ROOT={town}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
                if state != b"Z":
                    found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def slung_hanging_polecat(cli: Cli) -> tuple[str, str]:
    """A polecat whose sim agent hangs on its bead: (bead id, session name)."""
    bead = cli.json("bd", "create", "Hang around", "-d", "```sim\nhang: true\n```")["id"]
    res = cli.json("gt", "sling", bead, "gastown")[0]
    wait_for(lambda: res["session"] in sessions(cli.env["GT_TMUX_SOCKET"]),
             what="the polecat's session")
    return bead, res["session"]


def test_down_stops_polecats_too_and_up_brings_them_back(sim_town: Cli, rig_town: Path):
    cli, socket = sim_town, sim_town.env["GT_TMUX_SOCKET"]
    cli.json("gt", "up", "--no-polecats")
    bead, session = slung_hanging_polecat(cli)
    worktree = rig_town / "gastown" / "polecats" / session.split("-", 1)[1] / "gastown"
    assert {"hq-mayor", "hq-deacon", "gt-witness", "gt-refinery", session} <= sessions(socket)

    steps = cli.json("gt", "down")
    assert {s["session"] for s in steps if s["action"] == "stopped"} >= {"hq-mayor", session}
    wait_for(lambda: not sessions(socket), what="every session to stop")
    # a pause: the worktree, the branch and the hook stay
    assert worktree.is_dir()
    assert cli.json("bd", "show", bead)[0]["status"] == "hooked"

    up = cli.json("gt", "up")
    resumed = [s for s in up if s["session"] == session]
    assert resumed and resumed[0]["action"] == "started" and bead in resumed[0]["detail"]
    wait_for(lambda: session in sessions(socket), what="the polecat to come back")
    peek = lambda: cli.gt("peek", session.replace("gt-", "gastown/"), "-n", "80").stdout  # noqa: E731
    wait_for(lambda: bead in peek(), what="the resumed polecat to find its hooked bead")
    cli.gt("down", "--all")
    assert not server_alive(socket)


def test_down_keep_polecats_leaves_them_running(sim_town: Cli):
    cli, socket = sim_town, sim_town.env["GT_TMUX_SOCKET"]
    cli.json("gt", "up", "--no-polecats")
    _, session = slung_hanging_polecat(cli)
    steps = cli.json("gt", "down", "--keep-polecats")
    assert [s["action"] for s in steps if s["session"] == session] == ["kept"]
    wait_for(lambda: sessions(socket) == {session}, what="only the polecat left")
    dry = cli.json("gt", "down", "--dry-run")
    assert [(s["session"], s["action"]) for s in dry] == [(session, "would stop")]
    assert sessions(socket) == {session}  # a dry run stops nothing


def test_down_all_ends_the_server_its_socket_and_strays(sim_town: Cli, rig_town: Path):
    """A process that ignores SIGHUP and left its pane's tree still goes, found by GT_ROOT."""
    cli, socket = sim_town, sim_town.env["GT_TMUX_SOCKET"]
    cli.json("gt", "up", "--no-polecats")
    stray = subprocess.Popen(["nohup", sys.executable, "-c", "import time; time.sleep(600)"],
                             env={**cli.env, "GT_ROOT": str(rig_town)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        wait_for(lambda: town_pids(rig_town), what="the town's processes")
        out = cli.gt("down", "--all").stdout
        assert "hq-deacon" in out and f"process(es) of the town outside tmux: {stray.pid}" in out
        assert not server_alive(socket)
        assert not socket_file(socket).exists()  # tmux leaves it; we do not
        wait_for(lambda: stray.poll() is not None, timeout=10, what="the stray process to stop")
        assert town_pids(rig_town) == []
    finally:
        if stray.poll() is None:
            stray.kill()
        stray.wait()


def test_kill_server_ends_processes_that_ignore_sighup(tmux, tmp_path: Path):
    pid_file = tmp_path / "pid"
    tmux.new_session("gt-stubborn", tmp_path,
                     ["sh", "-c", f"trap '' HUP; sleep 600 & echo $! > '{pid_file}'; wait"])
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the helper")
    helper = int(pid_file.read_text())
    assert tmux.kill_server() is True
    wait_for(lambda: not Path(f"/proc/{helper}").exists()
             or b"Z" in Path(f"/proc/{helper}/stat").read_bytes().rsplit(b")", 1)[1][:3],
             timeout=10, what="the helper to end")
    assert not socket_file(tmux.socket).exists()
    assert tmux.kill_server() is False  # nothing left to stop


def test_kill_server_counts_a_server_that_exits_on_its_own_as_stopped(tmux, tmp_path: Path):
    # A session without remain-on-exit (how a user's own `tmux new -d` looks): ending its
    # pane ends the server itself, racing the kill-server that follows.
    for attempt in range(5):
        name = f"gt-alone{attempt}"
        subprocess.run(["tmux", "-L", tmux.socket, "new-session", "-d", "-s", name,
                        "-c", str(tmp_path), "sleep 600"], check=True)
        wait_for(lambda: server_alive(tmux.socket), what="the server")
        assert tmux.kill_server() is True
        assert not server_alive(tmux.socket)
        assert not socket_file(tmux.socket).exists()


def test_shutdown_removes_finished_polecats_and_keeps_unsaved_work(sim_town: Cli,
                                                                   rig_town: Path):
    cli, socket = sim_town, sim_town.env["GT_TMUX_SOCKET"]
    _, busy = slung_hanging_polecat(cli)
    busy_name = busy.split("-", 1)[1]
    # a polecat with nothing to lose: its bead taken off its hook, no commits, no changes
    idle_bead, idle = slung_hanging_polecat(cli)
    idle_name = idle.split("-", 1)[1]
    cli.bd("update", idle_bead, "--status", "open", "--assignee", "")
    no = cli.gt("shutdown", ok=False, input="")
    assert no.returncode != 0 and "--yes" in no.stderr
    assert server_alive(socket)  # refused: nothing was stopped

    report = json.loads(cli.gt("shutdown", "--yes", "--json").stdout)
    assert report["ok"] and not server_alive(socket)
    assert report["removed"] == [f"gastown/polecats/{idle_name}"]
    assert any("work on its hook" in why for why in report["kept"][f"gastown/polecats/{busy_name}"])
    polecats = rig_town / "gastown" / "polecats"
    assert not (polecats / idle_name).exists() and (polecats / busy_name / "gastown").is_dir()

    nuclear = json.loads(cli.gt("shutdown", "--yes", "--nuclear", "--json").stdout)
    assert nuclear["removed"] == [f"gastown/polecats/{busy_name}"]
    assert not (polecats / busy_name).exists()


LOOPS = {
    "witness": ["witness", "run", "gastown", "--interval", "1"],
    "refinery": ["refinery", "run", "gastown"],
    "deacon": ["deacon", "run", "--interval", "1", "--no-keep-alive"],
}
SESSIONS = {"witness": "gt-witness", "refinery": "gt-refinery", "deacon": "hq-deacon"}


def started(town: Path, loop: str) -> bool:
    """The loop found its town and beat once (a rename before that would just move it)."""
    return (town / ".runtime" / "heartbeats" / f"{SESSIONS[loop]}.json").is_file()


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_a_patrol_loop_exits_when_its_town_is_gone(loop: str, sim_town: Cli, rig_town: Path,
                                                  tmp_path: Path):
    proc = subprocess.Popen([str(BIN / "gt"), *LOOPS[loop]], cwd=rig_town, env=sim_town.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: started(rig_town, loop), what="the loop to start")
        moved = tmp_path / "moved-away"
        rig_town.rename(moved)
        code = proc.wait(timeout=60)
        out = proc.stdout.read()
        assert code == 0, out
        assert "stopped: the town directory" in out and "is gone" in out
        assert not rig_town.exists()  # it did not re-create what it was looking after
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_the_witness_exits_when_its_rig_is_removed(sim_town: Cli, rig_town: Path):
    proc = subprocess.Popen([str(BIN / "gt"), *LOOPS["witness"]], cwd=rig_town, env=sim_town.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: started(rig_town, "witness"), what="the witness to start")
        rigs = rig_town / "mayor" / "rigs.json"
        data = json.loads(rigs.read_text())
        del data["rigs"]["gastown"]
        rigs.write_text(json.dumps(data))
        assert proc.wait(timeout=60) == 0
        assert "rig gastown was removed from the town" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_a_town_renamed_away_and_back_keeps_its_loops(sim_town: Cli, rig_town: Path,
                                                     tmp_path: Path):
    proc = subprocess.Popen([str(BIN / "gt"), *LOOPS["witness"]], cwd=rig_town, env=sim_town.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: started(rig_town, "witness"), what="the loop to start")
        rig_town.rename(tmp_path / "away")
        (tmp_path / "away").rename(rig_town)  # back well within the grace
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=7)  # longer than the grace: it stayed
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()


def test_a_rigs_file_caught_half_written_is_not_a_removed_rig(rig_town: Path):
    """A loop reading rigs.json while someone rewrites it in place (truncated, then written)
    keeps its rig; only a rigs.json that no longer names the rig sends it home."""
    from gastown_tui.town.layout import Town
    from gastown_tui.town.presence import GoneWatch

    watch = GoneWatch(Town(rig_town), "gastown", grace=0)
    rigs = rig_town / "mayor" / "rigs.json"
    data = json.loads(rigs.read_text())
    rigs.write_text("")  # as write_text leaves it between its truncate and its write
    assert watch.reason() == "" and not watch.missing()
    rigs.write_text('{"version": 1, "rigs": {"gas')
    assert watch.reason() == ""
    del data["rigs"]["gastown"]
    rigs.write_text(json.dumps(data))
    assert watch.reason() == "rig gastown was removed from the town"
