"""gastown_tui.tmux: socket naming, sessions, capture, process-tree kill and nudge delivery.

Every test that needs tmux gets its own server on a random socket, killed in teardown even
when the test fails. Waits poll a condition with a timeout; nothing sleeps a fixed time.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gastown_tui.tmux import proctree
from gastown_tui.tmux.server import TownTmux, _command_string
from gastown_tui.tmux.socket import socket_name, tmux_argv, tmux_sequence_argv
from gastown_tui.tmux.text import sanitize_text
from gastown_tui.town.errors import TmuxError
from tests.waiting import wait_for

PY = sys.executable
# Reads stdin as bytes and appends repr() of every line to the file named by argv[1].
ECHO_TO_FILE = (
    "import sys\n"
    "out = open(sys.argv[1], 'a', encoding='utf-8')\n"
    "print('READY', flush=True)\n"
    "for raw in sys.stdin.buffer:\n"
    "    out.write(repr(raw.decode('utf-8', 'replace')) + '\\n')\n"
    "    out.flush()\n"
)
WAIT_FOREVER = "import sys; sys.stdin.read()"



def screen_has(tmux: TownTmux, target: str, text: str, lines: int | None = None) -> bool:
    return any(text in line for line in tmux.capture(target, lines=lines))


def line_arrived(path: Path) -> bool:
    return path.exists() and path.read_text().endswith("\n")


# -- socket naming ----------------------------------------------------------------------------


def test_socket_name_is_sanitized_basename_and_realpath_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GT_TMUX_SOCKET", raising=False)
    town = tmp_path / "My Town.v2"
    town.mkdir()
    digest = hashlib.sha256(os.path.realpath(town).encode()).hexdigest()[:6]
    assert socket_name(town) == f"my-town-v2-{digest}"
    link = tmp_path / "alias"
    link.symlink_to(town)
    assert socket_name(link) == f"alias-{digest}"  # same server hash through a symlink
    assert TownTmux.for_town(town).socket == socket_name(town)


@pytest.mark.parametrize("value", ["", "default", "auto"])
def test_socket_override_values_that_mean_derive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.delenv("GT_TMUX_SOCKET", raising=False)
    derived = socket_name(tmp_path)
    monkeypatch.setenv("GT_TMUX_SOCKET", value)
    assert socket_name(tmp_path) == derived


def test_socket_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GT_TMUX_SOCKET", "shared-town")
    assert socket_name(tmp_path) == "shared-town"


def test_tmux_argv_keeps_trailing_semicolon_literal() -> None:
    assert tmux_argv("s", "ls") == ["tmux", "-u", "-L", "s", "ls"]
    assert tmux_argv("s", "send-keys", "-l", "--", "a;", "b\\;") == [
        *["tmux", "-u", "-L", "s", "send-keys", "-l", "--"],
        *["a\\;", "b\\\\;"],
    ]
    assert tmux_sequence_argv("s", ["a", "x;"], ["b"]) == [
        "tmux",
        "-u",
        "-L",
        "s",
        "a",
        "x\\;",
        ";",
        "b",
    ]


def test_tmux_package_imports_neither_textual_nor_libtmux() -> None:
    code = (
        "import sys, gastown_tui.tmux.server, gastown_tui.tmux.observer, gastown_tui.tmux.socket\n"
        "bad = [m for m in ('textual', 'libtmux') if m in sys.modules]\n"
        "sys.exit(str(bad) if bad else 0)\n"
    )
    subprocess.run([PY, "-c", code], check=True)


# -- argv quoting -----------------------------------------------------------------------------

HOSTILE_ARGS = [
    "$(touch MARK_SUBST)",
    "a; touch MARK_SEMI",
    "`touch MARK_TICK`",
    'it\'s "quoted"',
    "line one\nline two",
    "#not a comment",
    "$HOME ~ * ?",
    "\\",
    "",
    "-x",
    "ünïcødé",
    "ends with ;",
]
WRITE_ARGV = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"


def test_command_string_passes_argv_literally_through_sh(tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    command = _command_string([PY, "-c", WRITE_ARGV, str(out), *HOSTILE_ARGS])
    subprocess.run(["sh", "-c", command], cwd=tmp_path, check=True)
    assert json.loads(out.read_text()) == HOSTILE_ARGS
    assert not list(tmp_path.glob("MARK*"))


def test_command_string_rejects_what_cannot_be_a_program() -> None:
    for argv in ([], ["-rf"], ["echo", "nul\x00"]):
        with pytest.raises(ValueError):
            _command_string(argv)


def test_new_session_runs_argv_without_shell_interpretation(tmux: TownTmux, tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    tmux.new_session("gt-argv", tmp_path, [PY, "-c", WRITE_ARGV, str(out), *HOSTILE_ARGS])
    wait_for(out.exists, what="the program to write its argv")
    wait_for(lambda: out.read_text() != "", what="argv content")
    assert json.loads(out.read_text()) == HOSTILE_ARGS
    assert not list(tmp_path.glob("MARK*"))


# -- sessions ---------------------------------------------------------------------------------


def test_new_session_sets_env_and_cwd(tmux: TownTmux, tmp_path: Path) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    script = "import os; print('ROLE=' + os.environ['GT_ROLE']); print('CWD=' + os.getcwd())\n"
    pane = tmux.new_session(
        "gt-env", work, [PY, "-c", script + WAIT_FOREVER], env={"GT_ROLE": "gastown/polecats/a b;"}
    )
    assert pane.startswith("%")
    wait_for(lambda: screen_has(tmux, "gt-env", "CWD="), what="the program output")
    screen = "\n".join(tmux.capture("gt-env"))
    assert "ROLE=gastown/polecats/a b;" in screen
    assert f"CWD={os.path.realpath(work)}" in screen
    assert tmux.has_session("gt-env")
    assert not tmux.has_session("gt-e")  # exact match, no prefix matching


def test_new_session_refuses_duplicates_and_bad_input(tmux: TownTmux, tmp_path: Path) -> None:
    tmux.new_session("gt-dup", tmp_path, [PY, "-c", WAIT_FOREVER])
    with pytest.raises(TmuxError, match="already exists"):
        tmux.new_session("gt-dup", tmp_path, [PY, "-c", WAIT_FOREVER])
    with pytest.raises(TmuxError, match="does not exist"):
        tmux.new_session("gt-nodir", tmp_path / "missing", [PY])
    with pytest.raises(TmuxError, match="invalid tmux session name"):
        tmux.new_session("gt:bad", tmp_path, [PY])
    with pytest.raises(TmuxError, match="invalid environment variable"):
        tmux.new_session("gt-env", tmp_path, [PY], env={"BAD NAME": "x"})


def test_list_sessions_and_dead_panes_stay(tmux: TownTmux, tmp_path: Path) -> None:
    assert tmux.list_sessions() == []  # no server yet
    tmux.new_session("gt-live", tmp_path, [PY, "-c", WAIT_FOREVER])
    tmux.new_session("gt-dead", tmp_path, [PY, "-c", "print('last words'); raise SystemExit(3)"])
    wait_for(
        lambda: any(s.pane_dead for s in tmux.list_sessions() if s.name == "gt-dead"),
        what="the short program to exit",
    )
    sessions = {s.name: s for s in tmux.list_sessions()}
    assert set(sessions) == {"gt-live", "gt-dead"}
    live = sessions["gt-live"]
    assert live.pane_id.startswith("%") and live.pane_pid > 0 and not live.pane_dead
    assert live.created > 0 and live.activity >= live.created and live.attached == 0
    assert live.pane_current_command.startswith("python")
    # remain-on-exit keeps the pane (and its output) for diagnosis.
    assert screen_has(tmux, "gt-dead", "last words", lines=50)


def test_kill_session_ends_the_whole_process_tree(tmux: TownTmux, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    script = (
        f"sleep 300 & echo $! >> '{pids_file}'; "
        f"(sleep 301 & echo $! >> '{pids_file}'; wait) & echo $! >> '{pids_file}'; wait"
    )
    tmux.new_session("gt-tree", tmp_path, ["sh", "-c", script])
    wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 3, what="3 pids")
    pane_pid = tmux.list_sessions()[0].pane_pid
    pids = [pane_pid, *map(int, pids_file.read_text().split())]
    assert all(proctree.is_alive(pid) for pid in pids)
    assert tmux.kill_session("gt-tree", grace=2.0) is True
    wait_for(lambda: not any(proctree.is_alive(pid) for pid in pids), timeout=5.0, what="the tree to end")
    assert not tmux.has_session("gt-tree")
    assert tmux.kill_session("gt-tree") is False


def test_kill_session_sigkills_what_ignores_sigterm(tmux: TownTmux, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    # An ignored signal stays ignored across fork and exec, so both sh and sleep ignore TERM.
    script = f"trap '' TERM; sleep 300 & echo $! > '{pids_file}'; wait"
    tmux.new_session("gt-stubborn", tmp_path, ["sh", "-c", script])
    tmux.new_session("gt-other", tmp_path, [PY, "-c", WAIT_FOREVER])
    wait_for(lambda: pids_file.exists() and pids_file.read_text().strip() != "", what="the pid")
    child = int(pids_file.read_text())
    assert tmux.kill_session("gt-stubborn", grace=0.3)
    wait_for(lambda: not proctree.is_alive(child), timeout=5.0, what="SIGKILL to land")
    assert [s.name for s in tmux.list_sessions()] == ["gt-other"]


def test_kill_session_without_server_is_not_an_error(tmux: TownTmux) -> None:
    assert tmux.kill_session("gt-none") is False
    assert tmux.kill_server() is False


# -- capture ----------------------------------------------------------------------------------


def test_capture_plain_colours_and_history(tmux: TownTmux, tmp_path: Path) -> None:
    script = (
        "for i in range(100): print(f'L{i}')\n"
        "print('\\x1b[31mRED\\x1b[0m plain ünï', flush=True)\n" + WAIT_FOREVER
    )
    tmux.new_session("gt-cap", tmp_path, [PY, "-c", script], width=80, height=10)
    wait_for(lambda: screen_has(tmux, "gt-cap", "RED plain"), what="the coloured line")
    plain = tmux.capture("gt-cap")
    assert "RED plain ünï" in plain and not any("\x1b" in line for line in plain)
    assert len(plain) == 10 and "L0" not in plain
    coloured = tmux.capture("gt-cap", colours=True)
    assert any("\x1b[31mRED" in line for line in coloured)
    history = tmux.capture("gt-cap", lines=200)
    assert history[0] == "L0" and "L99" in history
    pane = tmux.list_sessions()[0].pane_id
    assert tmux.capture(pane) == plain  # pane ids work as targets too


def test_capture_errors_name_the_problem(tmux: TownTmux, tmp_path: Path) -> None:
    with pytest.raises(TmuxError, match="not running"):
        tmux.capture("gt-none")
    tmux.new_session("gt-one", tmp_path, [PY, "-c", WAIT_FOREVER])
    with pytest.raises(TmuxError, match="cannot find"):
        tmux.capture("gt-none")


def test_missing_tmux_binary_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    tmux = TownTmux("gttest-nobinary")
    assert tmux.available() is False
    for call in (tmux.list_sessions, lambda: tmux.has_session("x"), lambda: tmux.capture("x")):
        with pytest.raises(TmuxError) as caught:
            call()
        assert caught.value.problem == "tmux is not installed"
        assert "apt-get install tmux" in str(caught.value)


# -- nudge delivery ---------------------------------------------------------------------------


def test_sanitize_text() -> None:
    assert sanitize_text("a\nb\tc\r\nd") == "a b c d"
    assert sanitize_text("\x1b[31mred\x1b[0m \x1b]0;title\x07x \x1bcy") == "red x y"
    assert sanitize_text("bell\x07 del\x7f c1\x9b nul\x00") == "bell del c1 nul"
    assert sanitize_text(b"ok \xff\xfe") == "ok \ufffd\ufffd"
    assert sanitize_text(os.fsdecode(b"fs \xff")) == "fs \ufffd"
    assert sanitize_text("C-c Enter $(x) ;") == "C-c Enter $(x) ;"


NUDGE_CASES = [
    ("first line\nsecond line", "first line second line"),
    ("tab\there", "tab here"),
    ("\x1b[31mred\x1b[0m text", "red text"),
    ("echo one; echo two;", "echo one; echo two;"),
    ("C-c", "C-c"),
    ("Enter", "Enter"),
    ("Escape C-d M-x", "Escape C-d M-x"),
    ("-t starts like an option", "-t starts like an option"),
    ("ends with backslash \\;", "ends with backslash \\;"),
    (b"bytes \xff\xfe not utf-8 \xc3\xa9", "bytes \ufffd\ufffd not utf-8 é"),
    ("x" * 700 + "é" * 400, "x" * 700 + "é" * 400),  # three 512-character chunks
]


@pytest.mark.parametrize(("text", "expected"), NUDGE_CASES, ids=range(len(NUDGE_CASES)))
def test_send_literal_text_arrives_as_text(
    tmux: TownTmux, tmp_path: Path, text: str | bytes, expected: str
) -> None:
    received = tmp_path / "received"
    tmux.new_session("gt-nudge", tmp_path, [PY, "-c", ECHO_TO_FILE, str(received)])
    wait_for(lambda: screen_has(tmux, "gt-nudge", "READY"), what="the reader to start")
    # A generous verify window: a busy machine must not make the nudge re-send Enter.
    delivery = tmux.send_literal_text("gt-nudge", text, settle=0.05, verify_timeout=15.0)
    assert delivery.delivered and delivery.verified, delivery
    wait_for(lambda: line_arrived(received), what="the line to arrive")
    lines = [ast.literal_eval(line) for line in received.read_text().splitlines()]
    # The Escape key sent before Enter reaches a plain line reader as one ESC character.
    assert lines == [expected + "\x1b\n"]
    assert tmux.has_session("gt-nudge")  # C-c was never a key press


def test_send_literal_text_never_runs_a_command(tmux: TownTmux, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    received = tmp_path / "received"
    tmux.new_session("gt-nudge", tmp_path, [PY, "-c", ECHO_TO_FILE, str(received)])
    wait_for(lambda: screen_has(tmux, "gt-nudge", "READY"), what="the reader to start")
    text = f"$(touch {marker}) `touch {marker}`; touch {marker}"
    delivery = tmux.send_literal_text(
        "gt-nudge", text, settle=0.05, escape=False, verify_timeout=15
    )
    assert delivery.verified
    wait_for(lambda: line_arrived(received), what="the line to arrive")
    assert ast.literal_eval(received.read_text().strip()) == text + "\n"
    assert not marker.exists()


def test_send_literal_text_to_missing_session(tmux: TownTmux, tmp_path: Path) -> None:
    tmux.new_session("gt-one", tmp_path, [PY, "-c", WAIT_FOREVER])
    with pytest.raises(TmuxError, match="no tmux session or pane gt-none"):
        tmux.send_literal_text("gt-none", "hello", settle=0.01)


def test_concurrent_nudges_to_one_session_never_interleave(tmux: TownTmux, tmp_path: Path) -> None:
    received = tmp_path / "received"
    tmux.new_session("gt-nudge", tmp_path, [PY, "-c", ECHO_TO_FILE, str(received)])
    wait_for(lambda: screen_has(tmux, "gt-nudge", "READY"), what="the reader to start")
    texts = ["a" * 1200, "b" * 1200]  # three chunks each: a race would mix them
    threads = [
        threading.Thread(
            target=tmux.send_literal_text,
            args=("gt-nudge", text),
            kwargs={"settle": 0.05, "escape": False, "verify_timeout": 15.0},
        )
        for text in texts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    wait_for(lambda: received.exists() and received.read_text().count("\n") == 2, what="two lines")
    lines = sorted(ast.literal_eval(line) for line in received.read_text().splitlines())
    assert lines == [text + "\n" for text in texts]


def test_nudge_lock_is_gas_towns_and_times_out(
    tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    town = tmp_path / "town"
    town.mkdir()
    tmux = TownTmux.for_town(town)
    assert tmux.lock_dir == town / ".runtime" / "nudge_queue"
    tmux.new_session("gt-locked", tmp_path, [PY, "-c", WAIT_FOREVER])
    lock = town / ".runtime" / "nudge_queue" / "gt-locked" / ".lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process (say, real gt) is nudging
        with pytest.raises(TmuxError, match="still being delivered"):
            tmux.send_literal_text("gt-locked", "hello", settle=0.01, lock_timeout=0.2)


def test_a_new_pane_gets_the_path_it_is_given(tmux: TownTmux, tmp_path: Path):
    """tmux gives a pane its client's PATH, whatever -e PATH= says; an agent must find the
    gt and bd of the installation that started it."""
    out = tmp_path / "path.txt"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    path = f"{bin_dir}:/usr/bin:/bin"
    tmux.new_session("gt-path", tmp_path, ["sh", "-c", f"echo \"$PATH\" > '{out}'; sleep 60"],
                     {"PATH": path})
    wait_for(lambda: out.exists() and out.read_text().strip(), what="the pane's PATH")
    assert out.read_text().strip() == path
    out.unlink()
    tmux.respawn("gt-path", tmp_path, ["sh", "-c", f"echo \"$PATH\" > '{out}'; sleep 60"],
                 path=path)
    wait_for(lambda: out.exists() and out.read_text().strip(), what="the respawned PATH")
    assert out.read_text().strip() == path


def test_process_table_reads_environments_and_command_lines_of_our_children() -> None:
    """What `gt shutdown` and `gt doctor` find strays by (psutil's reading on Linux and macOS):
    a child's environment, its command line, its session, and it is gone once ended."""
    import subprocess
    import sys
    import uuid

    marker = uuid.uuid4().hex
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             env={**os.environ, "GT_ROOT": f"/tmp/town-{marker}"},
                             start_new_session=True)
    try:
        wait_for(lambda: proctree.environ_of(child.pid).get("GT_ROOT"), what="the child's env")
        found = proctree.processes_with_env("GT_ROOT", [f"/tmp/town-{marker}"])
        assert [p.pid for p in found] == [child.pid]
        assert found[0].session == child.pid  # its own session leader
        assert "time.sleep(30)" in proctree.command_line(child.pid)
        assert proctree.is_alive(child.pid)
        assert proctree.terminate_tree([child.pid], grace=2.0) == [child.pid]
        child.wait(timeout=5)
        assert not proctree.is_alive(child.pid)
        assert proctree.command_line(child.pid) == ""
    finally:
        child.kill()
        child.wait()
