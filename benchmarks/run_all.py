"""`make bench`: run every benchmark script and write benchmarks/RESULTS.md with the machine,
the date, each script's table, and every figure against its budget (issue 8)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
# (script, what it measures) in the order RESULTS.md shows them
SCRIPTS = [
    ("bench_app.py", "control room: first frame, disk-to-screen, pane-to-screen, idle CPU, memory"),
    ("bench_launch.py", "launch → whole screen in a real terminal, beside a bare Textual app"),
    ("bench_scale.py", "the control room at 10, 30 and 100 live polecats"),
    ("bench_store_throughput.py", "store throughput with 30 writers; bd show and gt hook"),
    ("bench_store.py", "store latencies and a 10k-bead import"),
    ("bench_store_backends.py", "SQLite and PostgreSQL side by side: 30 writers, change → "
     "screen, bd show and gt hook as processes"),
    ("bench_refinery.py", "refinery: one MR without gates by branch size; 20 queued MRs"),
    ("bench_capture.py", "pane capture: subprocess against the control-mode observer"),
    ("bench_agents.py", "sling to a running session; nudge delivery"),
]
# (label, regex over all output, budget text, check) — the budgets, side by side
BUDGETS = [
    ("1 first full frame (large town)", r"first full frame[^\n]*?(\d+)ms", "≤ 600 ms",
     lambda v: v <= 600),
    ("1 floor: bare Textual app, same widgets", r"floor: bare Textual app, same widgets\s+(\d+)ms",
     "(comparison)", lambda v: True),
    ("2 bead update → screen, p95", r"bead change on disk[^\n]*?\d+ms\s+(\d+)ms", "≤ 100 ms",
     lambda v: v <= 100),
    ("3 pane output → tile, p95", r"visible pane change[^\n]*?\d+ms\s+(\d+)ms", "≤ 250 ms",
     lambda v: v <= 250),
    ("4 idle CPU, 30 live panes (%)", r"idle CPU[^\n]*?([\d.]+)%", "≤ 2 % of a core",
     lambda v: v <= 2),
    ("4 naive subprocess loop (%)", r"naive loop[^\n]*?([\d.]+)%", "≥ 10× ours", None),
    ("4 floor: bare Textual app repainting 7 tiles (%)",
     r"floor: bare Textual app repainting[^\n]*?([\d.]+)%", "(comparison)", lambda v: True),
    ("5 store updates per second", r"updates per second\s+(\d+)", "≥ 300/s", lambda v: v >= 300),
    ("5 updates lost", r"updates lost \(must be 0\)\s+(\d+)", "0", lambda v: v == 0),
    ("5 bd show as a process (ms)", r"bd show --json, whole process, median of 30 \(ms\)\s+([\d.]+)",
     "≤ 120 ms", lambda v: v <= 120),
    ("5 bd show as a process (× python -c pass)",
     r"bd show --json, whole process, median of 30 \(ms\)\s+[\d.]+\s+([\d.]+)x the floor",
     "≤ 5×", lambda v: v <= 5),
    ("5 gt hook as a process (× python -c pass)",
     r"gt hook --json, whole process, median of 30 \(ms\)\s+[\d.]+\s+([\d.]+)x the floor",
     "≤ 5×", lambda v: v <= 5),
    ("5 PostgreSQL: bd show as a process (× python -c pass)",
     r"\[PostgreSQL\][\s\S]*?bd show --json, whole process, median of 30 \(ms\)\s+[\d.]+\s+"
     r"([\d.]+)x the floor", "≤ 5×", lambda v: v <= 5),
    ("5 PostgreSQL: gt hook as a process (× python -c pass)",
     r"\[PostgreSQL\][\s\S]*?gt hook --json, whole process, median of 30 \(ms\)\s+[\d.]+\s+"
     r"([\d.]+)x the floor", "≤ 5×", lambda v: v <= 5),
    ("10 PostgreSQL: updates per second, 30 writers",
     r"30 processes x 100 updates: updates/s\s+\d+\s+(\d+)", "(a town's few writes/s)",
     lambda v: True),
    ("10 PostgreSQL: updates lost", r"updates lost \(must be 0\)\s+\d+\s+(\d+)", "0",
     lambda v: v == 0),
    ("10 PostgreSQL: bead change → screen, p95 (ms)",
     r"bead change -> on screen, p95 \(ms\)\s+\d+\s+(\d+)", "≤ 100 ms", lambda v: v <= 100),
    ("10 PostgreSQL: bd show as a process (× SQLite)",
     r"bd show --json, whole process, median of 30 \(ms\)\s+[\d.]+\s+[\d.]+[^\n]*?\(([\d.]+)x\)",
     "≤ 1.5×", lambda v: v <= 1.5),
    ("10 PostgreSQL: gt hook as a process (× SQLite)",
     r"gt hook --json, whole process, median of 30 \(ms\)\s+[\d.]+\s+[\d.]+[^\n]*?\(([\d.]+)x\)",
     "≤ 1.5×", lambda v: v <= 1.5),
    ("6 one MR merged, no gates (ms)", r"1 commit\(s\), 1 file\(s\)\s+([\d.]+)", "(no budget)",
     lambda v: True),
    ("7 peak RSS of the control room (MB)", r"peak RSS[^\n]*?([\d.]+)MB", "≤ 200 MB",
     lambda v: v <= 200),
    ("8 launch → whole screen, demo-size town (× bare app)",
     r"demo-size town[^\n]*?([\d.]+)x", "≤ 1.5×", lambda v: v <= 1.5),
    ("8 launch → whole screen, large town (× bare app)",
     r"large town \(\d+ polecats[^\n]*?([\d.]+)x", "≤ 1.5×", lambda v: v <= 1.5),
    ("9 idle CPU at 100 polecats (%)", r"scale 100 polecats\s+\d+ms\s+([\d.]+)%",
     "< 3 % of a core", lambda v: v < 3),
    ("9 peak RSS at 100 polecats (MB)", r"scale 100 polecats[^\n]*?(\d+)MB", "< 250 MB",
     lambda v: v < 250),
    ("9 naive loop ÷ ours at 30 polecats", r"scale 30 polecats[^\n]*?([\d.]+)x\s*$",
     "≥ 10×", lambda v: v >= 10),
]


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} cores {cpu}, {mem}, "
            f"Python {platform.python_version()}, tmux "
            + subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip())


def main() -> int:
    started = time.monotonic()
    sections = []
    outputs = []
    failed = []
    for script, what in SCRIPTS:
        path = HERE / script
        if not path.exists():
            sections.append(f"## {script}\n\n_{what}_: not present in this checkout.\n")
            continue
        print(f"running {script} ...", flush=True)
        t = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                                  timeout=1800)
            out, code = proc.stdout.strip(), proc.returncode
            err = proc.stderr.strip().splitlines()[-5:]
        except subprocess.TimeoutExpired:
            out, code, err = "", -1, ["timed out after 1800 s"]
        outputs.append(out)
        took = time.monotonic() - t
        status = "" if code == 0 else f" (exit {code}: {' / '.join(err)})"
        if code != 0:
            failed.append(script)
        sections.append(f"## {script}\n\n_{what}_ — {took:.0f} s{status}\n\n```\n{out}\n```\n")
    joined = "\n".join(outputs)
    rows = ["| figure | measured | budget | |", "|---|---|---|---|"]
    for label, pattern, budget, ok in BUDGETS:
        m = re.search(pattern, joined, re.IGNORECASE | re.MULTILINE)
        if m is None:
            rows.append(f"| {label} | not measured | {budget} | |")
            continue
        value = float(m.group(1))
        if ok is None:  # the naive loop: judged as a ratio against our idle CPU
            ours = re.search(r"idle CPU[^\n]*?([\d.]+)%", joined)
            ratio = value / max(float(ours.group(1)), 0.01) if ours else 0.0
            rows.append(f"| {label} | {m.group(1)} ({ratio:.1f}× ours) | {budget} | "
                        f"{'✓' if ratio >= 10 else '✗ under'} |")
            continue
        mark = "" if budget == "(comparison)" else "✓" if ok(value) else "✗ over"
        rows.append(f"| {label} | {m.group(1)} | {budget} | {mark} |")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join([
        "# Benchmark results", "",
        f"Measured {stamp} on {machine()}. Run `make bench` to measure again; every script "
        "also runs on its own (`.venv/bin/python benchmarks/<script>`).", "",
        "## Against the budgets", "", *rows, "", *sections,
        f"_Total run time: {time.monotonic() - started:.0f} s._", ""])
    (HERE / "RESULTS.md").write_text(text)
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
