"""gastown_tui.tmux.observer: one control-mode connection answering the control room's reads.

Same fixture rules as test_tmux_layer: a private server per test, always killed in teardown,
and waits that poll a condition instead of sleeping.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gastown_tui.tmux.observer import PaneObserver, quote_argument
from gastown_tui.tmux.server import TownTmux
from gastown_tui.town.errors import TmuxError
from tests.waiting import wait_for

PY = sys.executable
WAIT_FOREVER = "import sys; sys.stdin.read()"
# Prints every line it reads, prefixed, so typing into it changes its screen.
ECHO = "import sys\nprint('READY', flush=True)\nfor line in sys.stdin: print('got', line, end='', flush=True)\n"


@pytest.fixture
def observer(tmux_socket: str) -> Iterator[PaneObserver]:
    obs = PaneObserver(tmux_socket, timeout=5.0)
    try:
        yield obs
    finally:
        obs.close()



def start(tmux: TownTmux, name: str, cwd: Path, script: str, marker: str = "") -> str:
    pane = tmux.new_session(name, cwd, [PY, "-c", script], width=80, height=12)
    if marker:
        wait_for(lambda: any(marker in line for line in tmux.capture(name)), what=f"{name} output")
    return pane


def test_quote_argument() -> None:
    assert quote_argument("plain") == "'plain'"
    assert quote_argument("it's") == "'it'\\''s'"
    with pytest.raises(ValueError):
        quote_argument("two\nlines")


def test_command_round_trips_awkward_arguments(
    tmux: TownTmux, observer: PaneObserver, tmp_path: Path
) -> None:
    start(tmux, "gt-a", tmp_path, WAIT_FOREVER)
    awkward = 'it\'s "quoted" $HOME ~ ; \\ {braces} ünï -x'
    assert observer.command(["display-message", "-p", awkward]) == [awkward]
    assert observer.command(["display-message", "-p", "-t", "=gt-a:", "#{session_name}"]) == [
        "gt-a"
    ]


def test_observer_capture_equals_subprocess_capture(
    tmux: TownTmux, observer: PaneObserver, tmp_path: Path
) -> None:
    script = (
        "for i in range(40): print(f'line {i}')\n"
        "print('\\x1b[1;32mgreen\\x1b[0m ünï \\t tab', flush=True)\n" + WAIT_FOREVER
    )
    pane = start(tmux, "gt-cap", tmp_path, script, marker="green")
    for target in ("gt-cap", pane):
        for kwargs in ({}, {"colours": True}, {"lines": 30}, {"lines": 30, "colours": True}):
            assert observer.capture(target, **kwargs) == tmux.capture(target, **kwargs), kwargs


def test_poll_changes_reports_only_the_pane_that_printed(
    tmux: TownTmux, observer: PaneObserver, tmp_path: Path
) -> None:
    quiet = start(tmux, "gt-quiet", tmp_path, ECHO, marker="READY")
    busy = start(tmux, "gt-busy", tmp_path, ECHO, marker="READY")
    first = observer.poll_changes()
    assert set(first) == {quiet, busy}  # the first tick reports every pane
    assert observer.panes[busy].session == "gt-busy"
    assert observer.poll_changes() == {}  # nothing printed since
    tmux.run("send-keys", "-l", "-t", busy, "hello")
    tmux.run("send-keys", "-t", busy, "Enter")
    seen: dict[str, list[str]] = {}

    def busy_changed() -> bool:
        seen.update(observer.poll_changes())
        return any("got hello" in line for line in seen.get(busy, []))

    wait_for(busy_changed, what="the busy pane to be reported")
    assert set(seen) == {busy}


REDRAW = ("import sys, time\nprint('READY')\nfor n in range(8):\n"
          "    sys.stdout.write(f'\\rframe {n}'); sys.stdout.flush(); time.sleep(0.15)\n"
          "sys.stdout.write('\\rdone!!!'); sys.stdout.flush()\nsys.stdin.read()\n")


def test_poll_changes_sees_the_last_in_place_redraw(
    tmux: TownTmux, observer: PaneObserver, tmp_path: Path
) -> None:
    """A spinner redraws one line with the cursor where it was: only window_activity (to the
    second) says it moved. Its final frame must still reach the wall."""
    pane = start(tmux, "gt-spinner", tmp_path, REDRAW, marker="READY")
    seen: list[str] = []

    def final_frame_seen() -> bool:
        screen = observer.poll_changes().get(pane)
        if screen is not None:
            seen.extend(line for line in screen if line.strip())
        threading.Event().wait(0.25)  # the control room's tick
        return any("done!!!" in line for line in seen)

    wait_for(final_frame_seen, what="the spinner's last frame to be reported")


def test_missing_target_is_a_tmux_error(
    tmux: TownTmux, observer: PaneObserver, tmp_path: Path
) -> None:
    start(tmux, "gt-a", tmp_path, WAIT_FOREVER)
    with pytest.raises(TmuxError, match="cannot find"):
        observer.capture("gt-none")
    assert observer.capture("gt-a") == tmux.capture("gt-a")  # the connection is still fine


def test_observer_survives_server_death_and_reconnects(
    tmux: TownTmux, observer: PaneObserver, tmp_path: Path
) -> None:
    with pytest.raises(TmuxError, match="not running"):
        observer.capture("gt-a")  # no server yet
    start(tmux, "gt-a", tmp_path, "print('first life', flush=True)\n" + WAIT_FOREVER, "first")
    assert any("first life" in line for line in observer.capture("gt-a"))
    tmux.kill_server()
    with pytest.raises(TmuxError, match="not running") as caught:
        observer.capture("gt-a")
    assert caught.value.fix  # a one-line message with a fix
    with pytest.raises(TmuxError, match="not running"):
        observer.poll_changes()
    start(tmux, "gt-a", tmp_path, "print('second life', flush=True)\n" + WAIT_FOREVER, "second")
    assert any("second life" in line for line in observer.capture("gt-a"))


def test_observer_reconnects_when_its_session_closes(
    tmux: TownTmux, tmp_path: Path, tmux_socket: str
) -> None:
    start(tmux, "hq-mayor", tmp_path, WAIT_FOREVER)
    start(tmux, "gt-b", tmp_path, "print('bee', flush=True)\n" + WAIT_FOREVER, "bee")
    with PaneObserver(tmux_socket, prefer=("hq-mayor",)) as observer:
        observer.capture("gt-b")
        # tmux counts the control client's attachment a moment after it connects
        wait_for(lambda: {s.name: s.attached for s in tmux.list_sessions()}
                 == {"hq-mayor": 1, "gt-b": 0}, what="the observer attached to hq-mayor only")
        tmux.kill_session("hq-mayor", grace=0.5)
        wait_for(lambda: any("bee" in line for line in observer.capture("gt-b")),
                 what="a capture through the reconnected observer")


def test_commands_from_many_threads_are_serialized(
    tmux: TownTmux, observer: PaneObserver, tmp_path: Path
) -> None:
    names = [f"gt-t{i}" for i in range(4)]
    for name in names:
        start(tmux, name, tmp_path, f"print('I am {name}', flush=True)\n" + WAIT_FOREVER, "I am")
    expected = {name: tmux.capture(name) for name in names}
    failures: list[str] = []

    def worker(name: str) -> None:
        for _ in range(30):
            if observer.capture(name) != expected[name]:
                failures.append(name)

    threads = [threading.Thread(target=worker, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []


def test_close_ends_the_client_and_its_thread(
    tmux: TownTmux, tmp_path: Path, tmux_socket: str
) -> None:
    start(tmux, "gt-a", tmp_path, WAIT_FOREVER)
    observer = PaneObserver(tmux_socket)
    observer.capture("gt-a")
    client = observer._client
    assert client is not None and observer.connected
    observer.close()
    assert client.proc.poll() is not None
    assert not any(t.name == f"tmux-observer-{client.proc.pid}" for t in threading.enumerate())
    assert not observer.connected
    with pytest.raises(RuntimeError):
        observer.capture("gt-a")
    observer.close()  # idempotent


def test_missing_tmux_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with PaneObserver("gttest-nobinary") as observer, pytest.raises(TmuxError) as caught:
        observer.capture("gt-a")
    assert caught.value.problem == "tmux is not installed"


def test_poll_changes_captures_only_the_wanted_sessions(
    tmux: TownTmux, observer: PaneObserver, tmp_path: Path
) -> None:
    start(tmux, "gt-seen", tmp_path, "print('seen', flush=True)\n" + WAIT_FOREVER, "seen")
    start(tmux, "gt-hidden", tmp_path, "print('hidden', flush=True)\n" + WAIT_FOREVER, "hidden")
    changed = observer.poll_changes(only={"gt-seen"})
    sessions = {observer.panes[p].session for p in changed}
    assert sessions == {"gt-seen"}
    assert {s.session for s in observer.panes.values()} >= {"gt-seen", "gt-hidden"}
    # the first tick it is wanted, the hidden pane is captured although nothing moved
    changed = observer.poll_changes(only={"gt-hidden"})
    assert [observer.panes[p].session for p in changed] == ["gt-hidden"]
    assert any("hidden" in line for line in next(iter(changed.values())))
