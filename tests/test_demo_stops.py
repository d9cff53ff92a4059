"""However the demo ends (timeout, Ctrl-C, SIGTERM, quitting the control room), its tmux server
and every agent process it started are gone afterwards, and its temp town is removed."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gastown_tui.tmux.server import TownTmux
from tests.test_lifecycle import server_alive, socket_file, town_pids
from tests.waiting import wait_for


class Demo:
    """`gastown-tui demo --headless` as a process, its output collected as it comes."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gastown_tui.demo", "--headless",
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def out(self) -> str:
        return "".join(self.lines)

    def town(self) -> Path:
        found = wait_for(lambda: re.search(r"town: (\S+)", self.out), what="the town line")
        return Path(found.group(1))

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def demo_env(tmux_socket: str, clean_env: dict[str, str]) -> dict[str, str]:
    return {**clean_env, "GT_TMUX_SOCKET": tmux_socket}


def assert_all_stopped(town: Path, socket: str) -> None:
    assert not server_alive(socket)
    assert not socket_file(socket).exists()
    wait_for(lambda: not town_pids(town), timeout=10, what="no process of the town left")


def test_a_demo_that_times_out_stops_everything(demo_env: dict[str, str], tmp_path: Path):
    town = tmp_path / "demo-town"
    demo = Demo(demo_env, "--until-landed", "--dir", str(town), "--timeout", "4")
    try:
        assert demo.finish() == 1
    finally:
        demo.kill()
    assert "did not land within 4s" in demo.out
    assert "stopped the demo's tmux server" in demo.out
    assert_all_stopped(town, demo_env["GT_TMUX_SOCKET"])
    assert town.is_dir()  # --dir is the user's: kept, only its agents stopped


@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGTERM, 128 + signal.SIGTERM, "stopped by signal SIGTERM"),
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGHUP, 128 + signal.SIGHUP, "stopped by signal SIGHUP"),
])
def test_a_demo_stopped_by_a_signal_stops_everything(demo_env: dict[str, str], signum: int,
                                                     code: int, said: str):
    demo = Demo(demo_env, "--until-landed")
    try:
        town = demo.town()
        wait_for(lambda: "slung" in demo.out, timeout=60, what="agents at work")
        demo.proc.send_signal(signum)
        assert demo.finish() == code, demo.out
    finally:
        demo.kill()
    assert said in demo.out and "stopped the demo's tmux server" in demo.out
    assert_all_stopped(town, demo_env["GT_TMUX_SOCKET"])
    assert not town.parent.exists()  # the temp town went with it


def test_quitting_the_demo_control_room_stops_everything(demo_env: dict[str, str],
                                                        tmp_path: Path):
    """The real TUI in a tmux pane of its own server, quit with `q` as a user would: its first
    frame shows the convoy at 0/5, the caption line tells the story, the hung polecat shows
    stalled, and after quitting the town is kept with the way to look at main."""
    outer = f"{demo_env['GT_TMUX_SOCKET']}-outer"
    town = tmp_path / "demo-town"
    tui = Path(sys.executable).parent / "gastown-tui"
    script = f"{tui} demo --dir {town}; echo demo-exited; sleep 600"
    env = [f"-e{key}={value}" for key, value in demo_env.items() if key != "TMUX"]
    subprocess.run(["tmux", "-L", outer, "new-session", "-d", "-x", "160", "-y", "48", *env,
                    "sh", "-c", script], check=True)
    try:
        def screen() -> str:
            return subprocess.run(["tmux", "-L", outer, "capture-pane", "-p", "-J"],
                                  capture_output=True, text=True, check=False).stdout

        # The first frame with the town (one drawn before its first read says "reading").
        first = wait_for(lambda: (s := screen()) and "Mayor" in s and "Convoys" in s
                         and "reading the town" not in s and s,
                         timeout=90, what="the control room on screen")
        assert "0/5" in first, first  # the story starts after the first frame
        wait_for(lambda: "▶ beat 1/5 · clean merge" in screen(), timeout=90,
                 what="the first beat's caption")
        # the wall's badge (not the caption): stalled, with the Witness's evidence, pre-nudge
        # (a polecat hooked a moment before its session starts reads "stalled: no live
        # session" for a tick under load: wait for the Witness's own verdict)
        wait_for(lambda: (s := screen()) and "● stalled" in s and "no commit, bead update" in s,
                 timeout=90, what="the hung polecat shown stalled by the Witness")
        subprocess.run(["tmux", "-L", outer, "send-keys", "q"], check=True)
        wait_for(lambda: "demo-exited" in screen(), timeout=90, what="the demo to exit")
        end = screen()
        assert "stopped the demo's tmux server" in end
        assert f"kept the demo town: {town}" in end
        assert f"git -C {town / 'inventory' / '.repo.git'} log --oneline main" in end
        assert_all_stopped(town, demo_env["GT_TMUX_SOCKET"])
        assert (town / "inventory" / ".repo.git").is_dir()  # kept, to look at main
    finally:
        TownTmux(outer).kill_server()
