"""Bad names through the CLI, bad nudge text into a real agent.

`gt rig add`, `gt sling` and `gt hook` given path traversals, absolute paths, look-alikes,
newlines, NUL, shell syntax, empty or huge names answer with one line of error and create
nothing outside the town; nudge text full of escape sequences, control characters and key names
typed into a sim agent on a private tmux server arrives as text and never runs anything."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reliability_helpers import soak, wait_for

from gastown_tui.tmux.text import sanitize_text
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.names import validate_rig_name

BIN = Path(sys.executable).parent
NASTY_NAMES = ["../escape", "gastown/../../escape", "..", "gastown\n", "\uff47\uff41\uff53",
               "$(touch pwned)", "", "-rf", "a" * 5000, "gt-a1\n", "gastown/polecats/../../x",
               "gastown/polecats/to ast", "mayor/../deacon", "\u0430bc", "x;touch pwned"]
names = (st.sampled_from(NASTY_NAMES)
         | st.lists(st.sampled_from(["..", "/", "gastown", "gt-a1", "\n", "\x00", "~", "polecats",
                                     "\uff0f", " ", "$(id)", "escape"]), max_size=6).map("".join)
         | st.text(max_size=30))


@pytest.fixture
def names_town(town: Path, upstream: Path, tmux_socket: str, monkeypatch, tmp_path: Path):
    """A town with one bead, a running 'mayor' session (so sling reaches its per-bead lock),
    and the real upstream to clone from; returns what the commands need."""
    from gastown_tui.tmux.server import TownTmux
    from gastown_tui.town.store import BeadStore

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    for var in ("GT_ROLE", "BD_ACTOR", "GT_RIG", "GT_ROOT", "BEADS_ACTOR"):
        monkeypatch.delenv(var, raising=False)
    store = BeadStore(town / ".beads" / "beads.db", actor="tester")
    bead = store.create("a bead", prefix="gt")["id"]
    store.close_connection()
    TownTmux(tmux_socket).new_session("hq-mayor", town, ["sleep", "600"])
    return {"town": town, "upstream": upstream, "bead": bead, "root": tmp_path,
            "socket": tmux_socket}


def _commands(ctx: dict, name: str) -> list[list[str]]:
    town = ["--town", str(ctx["town"])]
    return [[*town, "rig", "add", "--", name, str(ctx["upstream"])],
            [*town, "sling", "--", ctx["bead"], name],
            [*town, "sling", "--", name, "mayor"],
            [*town, "hook", "--", ctx["bead"], name],
            [*town, "hook", "--", name, "gastown/polecats/toast"]]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for path in root.rglob("*"):
        if path.is_symlink() or path.is_file():
            st_ = path.lstat()
            out[str(path.relative_to(root))] = (st_.st_size, st_.st_mtime_ns)
        else:
            out[str(path.relative_to(root)) + "/"] = (0, 0)
    return out


def _allowed_inside_town(path: str) -> bool:
    """What a refused command may still touch: the store's WAL files, sling's lock files."""
    return path.startswith(("town/.beads/", "town/.runtime/locks/"))


def _outside_untouched(ctx: dict, before: dict[str, tuple[int, int]], what: object) -> set[str]:
    """The paths that changed (all inside the town, or the assertion fails)."""
    after = _snapshot(ctx["root"])
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    outside = {p for p in changed if not p.startswith("town/")}
    assert not outside, f"{what}: wrote outside the town: {sorted(outside)}"
    assert not (ctx["root"] / "pwned").exists()
    return changed


def _check(ctx: dict, name: str, argv: list[str], code: int, err: str,
           before: dict[str, tuple[int, int]]) -> None:
    changed = _outside_untouched(ctx, before, argv)
    if code == 0:
        assert argv[2] != "rig" or validate_rig_name(name)
        return
    assert err.endswith("\n") and len(err.splitlines()) == 1, f"{argv}: {err!r}"
    assert err.startswith("Error: ") and "Traceback" not in err, f"{argv}: {err!r}"
    inside = {p for p in changed if not _allowed_inside_town(p)}
    assert not inside, f"{argv}: a refused command changed {sorted(inside)}"


def _gt_in_process(argv: list[str]) -> tuple[int, str]:
    from gastown_tui.cli.gt import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    return code, err.getvalue()


@settings(max_examples=soak(25, 300), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names)
@example("../../escape")
@example("\x00")
def test_bad_names_through_the_cli_give_one_line_and_touch_nothing(names_town, name: str):
    """In-process (the same click code the `gt` script runs), so hypothesis can try many."""
    for argv in _commands(names_town, name):
        if argv[2] == "rig":
            try:
                validate_rig_name(name)
                continue  # a good name would clone a rig for real: not what this is about
            except GasTownError:
                pass
        before = _snapshot(names_town["root"])
        code, err = _gt_in_process(argv)
        _check(names_town, name, argv, code, err, before)


def test_bad_names_through_the_gt_processes(names_town, clean_env):
    """The real `gt` processes, for the nastiest names (argv cannot carry NUL)."""
    env = {**clean_env, "GT_TMUX_SOCKET": names_town["socket"]}
    picked = ["../escape", str(names_town["root"] / "absolute"), "gastown\n", "\uff47\uff41",
              "gastown/polecats/../../escape", "$(touch pwned)"]
    jobs = [argv for name in picked for argv in _commands(names_town, name)]
    before = _snapshot(names_town["root"])

    def one(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "gt"), *argv], capture_output=True, text=True,
                              env=env, cwd=names_town["root"], timeout=60)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, jobs))
    for argv, proc in zip(jobs, results, strict=True):
        assert proc.returncode != 0, f"{argv}: {proc.stdout}"
        err = proc.stderr
        assert err.startswith("Error: ") and len(err.splitlines()) == 1, f"{argv}: {err!r}"
    changed = _outside_untouched(names_town, before, "one of the gt processes")
    assert all(_allowed_inside_town(p) for p in changed), sorted(changed)


def test_sling_never_names_a_lock_file_outside_the_town(names_town):
    """A bead id is a file name under .runtime/locks/sling: it is checked before it is used."""
    code, err = _gt_in_process(["--town", str(names_town["town"]), "sling", "--",
                                "../../../escape", "mayor"])
    assert code != 0 and "invalid bead id" in err
    assert not list(names_town["root"].glob("escape*"))
    assert not list((names_town["town"] / ".runtime").rglob("*escape*"))


# ---------------------------------------------------------------------------- nudge delivery
@pytest.fixture
def sim_mayor(town: Path, tmux_socket: str, monkeypatch):
    """The sim runtime as the Mayor on a private tmux server: it echoes each line it reads."""
    from gastown_tui.ops.sessions import start_agent, tmux_for
    from gastown_tui.town.layout import Town
    from gastown_tui.town.names import Address

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    for var in ("GT_ROLE", "BD_ACTOR", "GT_RIG"):
        monkeypatch.delenv(var, raising=False)
    t = Town(town)
    session, _ = start_agent(t, Address("mayor"), t.mayor_dir, agent="sim")
    tmux = tmux_for(t)
    wait_for(lambda: any("sim agent (mayor) ready" in line for line in tmux.capture(session)),
             what="the sim mayor")
    return t, tmux, session


DELIVERY_TEXTS = [
    "hello $(touch {marker}) `touch {marker}` ; touch {marker} && echo hi",
    "C-c Enter Escape C-d \x03\x04 still here",
    "clear\x1b[2J\x1b[H screen \x1b]0;title\x07 \x1b]52;c;ZWNobw==\x07 osc",
    "line one\nline two\r\nline three\rfour\ttab",
    "bracketed \x1b[200~paste\x1b[201~ and \x9b31m c1 \x7f del \x15 kill \x17 word",
    "ends with a semicolon;",
    "-starts with a dash; \\; backslash \\",
    "lone \ud800 surrogate \udcff and \x00 nul",
]
typed = st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
                 | st.sampled_from(["\x1b[1m", "\x1b", "\x03", "\x04", "\n", "\r", "\t", "\x7f",
                                    "\x9b", "\x00", "C-c", "Enter", ";", "$(touch {marker})"]),
                 max_size=8).map("".join)


_TAGS = itertools.count()


def _deliver(sim_mayor, text: str, tag: str) -> None:
    from gastown_tui.ops.nudge import nudge

    town, tmux, session = sim_mayor
    message = f"{tag} {text}"
    result = nudge(town, "mayor", message, mode="immediate", settle=0.05)
    assert result.status == "delivered", result
    expected = "[sim] received: " + sanitize_text(f"[from overseer] {message}").strip()

    def arrived() -> bool:
        screen = tmux.capture(session, lines=300)
        return any(line.rstrip() == expected for line in screen)

    wait_for(arrived, timeout=15, what=f"{expected!r} in the pane")
    info = {s.name: s for s in tmux.list_sessions()}[session]
    assert not info.pane_dead, "the agent died: a control character got through"


def test_nudge_text_arrives_as_text_and_runs_nothing(sim_mayor, tmp_path: Path):
    marker = tmp_path / "pwned"
    for n, text in enumerate(DELIVERY_TEXTS):
        _deliver(sim_mayor, text.replace("{marker}", str(marker)), f"T{n}:")
    assert not marker.exists()
    assert os.environ.get("GT_TMUX_SOCKET", "").startswith("gttest-")


@settings(max_examples=soak(4, 40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=typed)
def test_fuzzed_nudge_text_arrives_as_text(sim_mayor, tmp_path: Path, text: str):
    marker = tmp_path / "pwned"
    _deliver(sim_mayor, text.replace("{marker}", str(marker)), f"F{next(_TAGS)}:")
    assert not marker.exists()
