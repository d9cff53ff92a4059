"""Launch → whole screen, as a user sees it: the real `gastown-tui` process started in a tmux
pane (160x48), the clock running from the spawn until every expected word is on the captured
screen; beside a bare Textual app (Header, one Static, Footer) measured the same way in the
same run. On a demo-size town (1 rig, 2 live polecats) and on the large synthetic town.

The expected words are the main screen's five pane titles and things only the town's data
can put there: the names of the first polecats on the wall and a convoy's title, so the
figure stops when the whole screen is filled, not when the frame is.

    .venv/bin/python benchmarks/bench_launch.py [--runs 5] [--large-polecats 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BIN = Path(sys.executable).parent
SIZE = ("160", "48")
BARE_APP = '''
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class Bare(App):
    TITLE = "bare-floor-app"
    BINDINGS = [("q", "quit", "quit-the-floor")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("the-floor-static-text")
        yield Footer()


Bare().run()
'''
BARE_WORDS = ("bare-floor-app", "the-floor-static-text", "quit-the-floor")
PANE_TITLES = ("1 Mayor", "2 Polecats", "3 Convoys", "4 Refinery queue", "5 Needs you")


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                          check=False).stdout


def time_to_words(socket: str, command: list[str], words: tuple[str, ...],
                  env: dict[str, str], timeout: float = 30.0) -> float:
    """Spawn `command` in the host pane; seconds until every word is on its screen."""
    import shlex

    line = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    line = f"exec env {line} {shlex.join(command)}"
    started = time.perf_counter()
    tmux(socket, "respawn-pane", "-k", "-t", "host:", line)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        screen = tmux(socket, "capture-pane", "-p", "-t", "host:")
        if all(word in screen for word in words):
            return time.perf_counter() - started
        time.sleep(0.01)
    raise TimeoutError(f"{command[0]}: {[w for w in words if w not in screen]} never shown; "
                       f"screen:\n{screen}")


def expected_words(root: Path) -> tuple[str, ...]:
    """Pane titles, the first two polecats' names (the wall's order) and a convoy title."""
    from gastown_tui.model.town_model import TownModel

    model = TownModel(root)
    try:
        snapshot = model.load()
    finally:
        model.close()
    polecats = sorted(snapshot.polecats, key=lambda a: (a.rig, a.name))[:2]
    convoy = next((c.title[:24] for c in snapshot.convoys if not c.landed), "")
    return (*PANE_TITLES, *(a.name for a in polecats), *((convoy,) if convoy else ()))


def measure(root: Path, town_socket: str, runs: int) -> tuple[list[float], list[float]]:
    host = f"gtlaunch-{uuid.uuid4().hex[:8]}"
    tmux(host, "new-session", "-d", "-s", "host", "-x", SIZE[0], "-y", SIZE[1], "sleep 100000")
    try:
        with tempfile.TemporaryDirectory(prefix="gt-bare-") as tmp:
            bare = Path(tmp) / "bare.py"
            bare.write_text(BARE_APP)
            words = expected_words(root)
            env = {"GT_TMUX_SOCKET": town_socket, "TERM": "xterm-256color",
                   "PATH": os.environ.get("PATH", "")}
            ours, floor = [], []
            for _ in range(runs):  # interleaved, so a slow moment hits both
                ours.append(time_to_words(host, [str(BIN / "gastown-tui"), "--town",
                                                 str(root)], words, env))
                floor.append(time_to_words(host, [sys.executable, str(bare)], BARE_WORDS, env))
            return ours, floor
    finally:
        from town_generator import kill_server

        kill_server(host)


def row(label: str, ours: list[float], floor: list[float]) -> str:
    o, f = statistics.median(ours) * 1000, statistics.median(floor) * 1000
    return (f"{label:<40} {o:>7.0f}ms {max(ours) * 1000:>7.0f}ms {f:>9.0f}ms "
            f"{o / f:>6.2f}x {'1.5x':>7}")


def main() -> int:
    from town_generator import build_large_town, kill_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--large-polecats", type=int, default=30)
    options = parser.parse_args()
    towns = [("demo-size town (1 rig, 2 polecats)", dict(rigs=1, polecats=2, beads=50, mrs=3,
                                                          convoys=2, events=500)),
             (f"large town ({options.large_polecats} polecats, 10k beads)",
              dict(rigs=3, polecats=options.large_polecats, beads=10000, mrs=200, convoys=20,
                   events=50000))]
    lines = [f"{'launch → whole screen (160x48, median)':<40} {'ours':>9} {'worst':>9} "
             f"{'bare app':>11} {'ratio':>7} {'goal':>7}"]
    for label, sizes in towns:
        socket = f"gtbench-{uuid.uuid4().hex[:8]}"
        os.environ["GT_TMUX_SOCKET"] = socket
        with tempfile.TemporaryDirectory(prefix="gt-bench-launch-") as tmp:
            try:
                town = build_large_town(Path(tmp), socket, **sizes)
                time.sleep(3.0)  # the agents have started and printed
                ours, floor = measure(town.root, socket, options.runs)
            finally:
                kill_server(socket)
        lines.append(row(label, ours, floor))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
