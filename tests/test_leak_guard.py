"""The run's own guard (conftest.nothing_outlives_the_run) fails a run that leaves a tmux
server, a socket file or a process behind, and cleans up after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

LEAKY = {
    "server": """
import subprocess
def test_leaks():
    subprocess.run(["tmux", "-L", "leaky", "new-session", "-d", "sleep 600"], check=True)
""",
    "socket": """
import subprocess
def test_leaks():
    subprocess.run(["tmux", "-L", "leaky", "new-session", "-d", "sleep 600"], check=True)
    subprocess.run(["tmux", "-L", "leaky", "kill-server"], check=True)
""",
    "process": """
import subprocess
def test_leaks():
    subprocess.Popen(["sleep", "600"], start_new_session=True)
""",
}


def run_inner(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_inner.py"
    test.write_text(body)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest",
                           "--rootdir", str(tmp_path), "-c", "/dev/null", str(test)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("kind", "said"), [
    ("server", "tmux server leaky"),
    ("socket", "socket file leaky"),
    ("process", "sleep 600"),
])
def test_the_guard_fails_a_run_that_leaks(tmp_path: Path, kind: str, said: str):
    proc = run_inner(tmp_path, LEAKY[kind])
    assert proc.returncode != 0, proc.stdout
    assert "left running after the tests" in proc.stdout and said in proc.stdout


def test_the_guard_passes_a_clean_run(tmp_path: Path):
    proc = run_inner(tmp_path, "def test_clean():\n    assert True\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
