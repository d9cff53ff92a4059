"""Long work shows progress on a terminal (one rewritten line on stderr) and stays quiet when
stderr is piped or with --json. The commands run as real processes with stderr on a real
pseudo-terminal."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import threading
from pathlib import Path

from gastown_tui.town.progress import Progress
from tests.conftest import BIN, Cli, git


def run_on_tty(prog: str, *args: str, cwd: Path, env: dict[str, str]
               ) -> tuple[int, str, str]:
    """Runs `prog` with stderr on a pseudo-terminal; returns (exit code, stdout, terminal)."""
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # the pty's buffer is small: read while the command writes
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO once the last writer has closed the slave
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([str(BIN / prog), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=slave, timeout=120)
    finally:
        os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, proc.stdout.decode(), b"".join(chunks).decode(errors="replace")


def _jsonl(path: Path, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"hq-p{i}", "title": f"record {i}", "status": "open",
                                 "priority": 2, "issue_type": "task",
                                 "created_at": "2026-01-01T00:00:00Z",
                                 "updated_at": "2026-01-01T00:00:00Z"}) + "\n")
    return path


def test_bd_import_and_export_show_progress_on_a_terminal(cli: Cli, town: Path,
                                                          tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "many.jsonl", 3000)
    code, out, tty = run_on_tty("bd", "import", str(source), cwd=town, env=cli.env)
    assert code == 0, tty
    assert "Importing issues: 100% (3000/3000), done." in tty
    assert "\r" in tty  # one line rewritten, not 3000 lines
    assert "3000 created" in out
    target = tmp_path / "out.jsonl"
    code, _, tty = run_on_tty("bd", "export", "-o", str(target), cwd=town, env=cli.env)
    assert code == 0, tty
    assert "Exporting issues: 100% (3000/3000), done." in tty
    assert len(target.read_text().splitlines()) == 3000


def test_bd_import_export_quiet_when_piped_or_json(cli: Cli, town: Path, tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "many.jsonl", 500)
    piped = cli.bd("import", str(source))
    assert "Importing" not in piped.stderr and "\r" not in piped.stderr
    code, out, tty = run_on_tty("bd", "import", str(source), "--json", cwd=town, env=cli.env)
    assert code == 0
    assert "Importing" not in tty and "\r" not in tty
    assert json.loads(out)["unchanged"] == 500
    exported = cli.bd("export", "-o", str(tmp_path / "o.jsonl"))
    assert "Exporting" not in exported.stderr


def test_rig_add_shows_clone_progress_on_a_terminal(cli: Cli, town: Path, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.mkdir()
    git(big, "init", "-q", "-b", "main")
    for i in range(400):
        (big / f"f{i}.txt").write_text(f"file {i}\n" * 20)
    git(big, "add", ".")
    git(big, "commit", "-q", "-m", "many files")
    # a URL goes through the fetch protocol (git's "Receiving objects"); a local path may be
    # copied object by object by libgit2 with no count to show
    code, out, tty = run_on_tty("gt", "rig", "add", "big", big.as_uri(), cwd=town, env=cli.env)
    assert code == 0, tty
    assert "Receiving objects: 100% (" in tty and ", done." in tty
    assert "Added rig big" in out
    # piped, and --json on a terminal: nothing but the result
    piped = cli.gt("rig", "add", "big3", big.as_uri(), "--prefix", "bh")
    assert "objects" not in piped.stderr
    code, out, tty = run_on_tty("gt", "rig", "add", "big4", big.as_uri(), "--prefix", "bi",
                                "--json", cwd=town, env=cli.env)
    assert code == 0, tty
    assert "objects" not in tty
    assert json.loads(out)["name"] == "big4"


class _FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_is_rewritten_and_inert() -> None:
    stream = _FakeTty()
    progress = Progress.for_cli(json_output=False, stream=stream)
    assert progress.shown
    progress.step("Checking \x1b[31mpolecats", 1, 4)
    progress.step("Checking \x1b[31mpolecats", 4, 4)
    progress.finish()
    text = stream.getvalue()
    assert "\x1b" not in text  # stored text is shown escaped, never interpreted
    assert text.endswith("(4/4), done.\n")
    assert text.count("\n") == 1
    assert not Progress.for_cli(json_output=True, stream=_FakeTty()).shown
    failing = _FakeTty()
    try:
        with Progress.for_cli(json_output=False, stream=failing) as progress:
            progress.step("Receiving objects", 45, 100)
            raise RuntimeError("network gone")
    except RuntimeError:
        pass
    # a failure ends the line (the error starts on its own) and never says done
    assert failing.getvalue().endswith("(45/100)\n") and "done" not in failing.getvalue()
    assert not Progress.for_cli(json_output=False, stream=io.StringIO()).shown


def test_doctor_up_and_shutdown_show_progress_across_polecats(sim_town: Cli) -> None:
    from tests.test_lifecycle import slung_hanging_polecat

    cli = sim_town
    for _ in range(3):  # each hangs on a hooked bead, so the shutdown keeps its worktree
        slung_hanging_polecat(cli)
    code, out, tty = run_on_tty("gt", "doctor", cwd=cli.cwd, env=cli.env)
    assert re.search(r"Checking the town: 100% \((\d+)/\1\), done\.", tty), tty
    assert "store:" in out  # the report itself still goes to stdout
    piped = cli.gt("doctor", ok=False)
    assert "Checking the town" not in piped.stderr

    code, out, tty = run_on_tty("gt", "up", cwd=cli.cwd, env=cli.env)
    assert code == 0, tty
    assert "Starting sessions: 100% (" in tty and ", done." in tty
    code, out, tty = run_on_tty("gt", "up", "--json", cwd=cli.cwd, env=cli.env)
    assert "Starting sessions" not in tty
    json.loads(out)

    code, out, tty = run_on_tty("gt", "shutdown", "--yes", cwd=cli.cwd, env=cli.env)
    assert "Stopping the town, done." in tty, tty
    assert "Removing polecats: 100% (3/3), done." in tty, tty
    assert out.count("● kept gastown/polecats/") == 3  # their hooked work keeps them
