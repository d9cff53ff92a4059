"""Agent figures: `gt sling` to a running session, and nudge delivery (immediate, wait-idle),
with the sim runtime on a private tmux server. Run: .venv/bin/python benchmarks/bench_agents.py"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main(rounds: int = 5) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gt-bench-agents-"))
    sock = "bench-" + os.urandom(3).hex()
    env = {**os.environ, "GT_TMUX_SOCKET": sock}

    def run(*args: str, cwd: Path | None = None) -> str:
        return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, env=env,
                              capture_output=True, text=True, check=True).stdout

    try:
        up = tmp / "up"
        subprocess.run(["git", "init", "-q", "-b", "main", str(up)], check=True)
        (up / "f").write_text("x")
        subprocess.run(["git", "-C", str(up), "add", "."], check=True)
        subprocess.run(["git", "-C", str(up), "-c", "user.name=a", "-c", "user.email=a@b",
                        "commit", "-qm", "init"], check=True)
        town = tmp / "town"
        run("gt", "install", str(town))
        run("gt", "rig", "add", "gastown", str(up), cwd=town)
        settings = town / "settings" / "config.json"
        data = json.loads(settings.read_text())
        data["default_agent"] = "sim"
        settings.write_text(json.dumps(data))
        sling_s, agents = [], []
        for i in range(rounds):
            bead = run("bd", "create", f"t{i}", "-d", "```sim\nhang: true\n```", "--silent",
                       cwd=town / "gastown").strip()
            t = time.perf_counter()
            out = json.loads(run("gt", "sling", bead, "gastown", "--json", cwd=town / "gastown"))
            sling_s.append(time.perf_counter() - t)
            agents.append(out[0]["agent"])
        time.sleep(2)
        rows = [("gt sling to a running session", sling_s)]
        for mode in ("immediate", "wait-idle"):
            times = []
            for i, agent in enumerate(agents):
                t = time.perf_counter()
                res = json.loads(run("gt", "nudge", agent, f"ping {i}", "--mode", mode,
                                     "--json", cwd=town))
                times.append(time.perf_counter() - t)
                assert res["status"] == "delivered", res
            rows.append((f"gt nudge --mode {mode} (delivered, Enter verified)", times))
        print(f"{'figure':<52} {'median':>8} {'max':>8}")
        for name, values in rows:
            print(f"{name:<52} {statistics.median(values):>7.3f}s {max(values):>7.3f}s")
    finally:
        from town_generator import kill_server

        kill_server(sock)


if __name__ == "__main__":
    main()
