"""`make flake`: run the asynchronous tests (tmux, observer, Pilot, demo) N times over and list
every failure with how often it happened. Not part of CI: a test that fails once in N runs is
broken, and this is how to find it before CI does.

    python -m tests.flake --runs 20 [pytest paths or -k ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

SUITE = [
    "tests/test_tmux_layer.py", "tests/test_tmux_observer.py", "tests/test_app_pilot.py",
    "tests/test_key_matrix.py", "tests/test_textual_internals.py",
    "tests/test_app_units.py", "tests/test_app_snapshots.py",
    "tests/test_reliability_control_room.py", "tests/test_agents.py", "tests/test_patrol.py",
    "tests/test_town_model.py", "tests/test_lifecycle.py", "tests/test_demo.py",
    "tests/test_demo_stops.py", "tests/test_real_claude.py", "tests/test_command_forms.py",
    "tests/test_json_shapes.py", "tests/test_row_table.py", "tests/test_needs_you.py",
]


def failures(report: Path) -> list[tuple[str, str]]:
    """(test id, first line of the failure) for each failed or erroring test in a JUnit file."""
    if not report.exists():
        return [("(pytest)", "no report: the run itself crashed")]
    found = []
    for case in ET.parse(report).getroot().iter("testcase"):
        for tag in ("failure", "error"):
            for bad in case.findall(tag):
                name = f"{case.get('classname', '')}::{case.get('name', '')}"
                message = (bad.get("message") or "").strip().splitlines()
                found.append((name, " / ".join(m.strip() for m in message[:6])[:600]
                              if message else tag))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make flake", description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--workers", default="2", help="pytest -n (default 2, as CI)")
    ap.add_argument("args", nargs="*", help="pytest arguments (default: the async suite)")
    opts = ap.parse_args(argv)
    args = opts.args or SUITE
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gt-flake-") as tmp:
        for run in range(1, opts.runs + 1):
            report = Path(tmp) / f"run-{run}.xml"
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", opts.workers,
                                   "-p", "no:cacheprovider", f"--junitxml={report}", *args],
                                  capture_output=True, text=True)
            bad = failures(report) if proc.returncode else []
            for name, message in bad:
                counts[name] += 1
                examples.setdefault(name, message)
            tail = proc.stdout.strip().splitlines()[-1:] or ["?"]
            print(f"run {run}/{opts.runs}: {tail[0]}", flush=True)
            for name, message in bad:
                print(f"  ✗ {name}: {message}", flush=True)
    minutes = (time.monotonic() - started) / 60
    print(f"\n{opts.runs} runs in {minutes:.1f} min: {sum(counts.values())} failures "
          f"in {len(counts)} tests")
    for name, n in counts.most_common():
        print(f"  {n}/{opts.runs}  {name}: {examples[name]}")
    return 1 if counts else 0


if __name__ == "__main__":
    sys.exit(main())
