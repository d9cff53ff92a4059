"""No argv makes gt or bd print a traceback: hypothesis drives every command of both click
trees (walked, not listed, so a new command is fuzzed the day it lands) with hostile arguments:
bytes that are not UTF-8 (as surrogateescape hands them to Python), huge and empty strings,
control characters and escape sequences, option look-alikes, traversal paths, ids and numbers.

Each call runs in-process (the same `main` the console scripts run) on a shared town with a rig
and a private tmux server. What must hold: an exit code, never an exception; at most one
`Error: ` line, one line long; no traceback and no "internal error"; and nothing printed, on
stdout or stderr, that a terminal would act on or could not encode."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import soak

from gastown_tui.town.safe_text import is_inert

HOSTILE = ["", " ", "\udcff", "abc\udce9def", "\udcc3\udca9", "a" * 5000, "x" * 300,
           "\x1b[2J\x1b]52;c;aGk=\x07", "\x9b31m", "\u202eevil", "line\nbreak", "tab\there",
           "\r", "-", "--", "-x", "--bogus", "../../escape", "/", "~", ".", "..", "gt-abc",
           "hq-cv-zzzzz", "gastown", "mayor/", "gastown/polecats/toast", "gastown/witness",
           "-1", "0", "99999999999999999999999", "1e309", "nan", "ｇａｓ", "$(touch pwned)",
           "a,b,,c", "key=value", "=", "🚚"]
# Commands that do real, long or interactive work once their arguments parse: they are fuzzed
# with at least one hostile positional argument, so they stop at validation.
NEEDS_POSITIONAL = {"up", "down", "shutdown", "install", "deacon/run", "refinery/run",
                    "witness/run", "mayor/attach", "mayor/start", "session/start",
                    "session/restart", "rig/start", "polecat/spawn", "tap/guard", "handoff",
                    "feed", "doctor", "deacon/cleanup-orphans", "mayor/stop", "rig/stop"}
# Appended last (the last value of an option wins): waits that would otherwise last a minute.
FIXED_TAIL = {"mol/await-signal": ["--timeout", "0s"], "mol/step/await-signal": ["--timeout", "0s"]}
# Options never generated: ones that follow forever or write where the argument says.
SKIPPED_OPTIONS = {"--follow", "-f", "--output", "-o", "--out", "--help", "-h", "--version"}


def _walk(group: click.Group, path: tuple[str, ...], ctx: click.Context
          ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None:
            continue
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, (*path, name), click.Context(cmd, parent=ctx, info_name=name))


def _tree() -> list[tuple[str, tuple[str, ...], click.Command]]:
    from gastown_tui.cli.bd import bd
    from gastown_tui.cli.gt import gt

    out = []
    for prog, group in (("gt", gt), ("bd", bd)):
        out += [(prog, path, cmd) for path, cmd in _walk(group, (), click.Context(group,
                                                                                  info_name=prog))]
    return out


TREE = _tree()


@pytest.fixture(scope="module")
def fuzz_town(tmp_path_factory) -> Iterator[Path]:
    """One town with a rig, its own tmux socket and HOME, shared by every fuzzed call."""
    from gastown_tui.ops.install import install
    from gastown_tui.ops.rig import rig_add
    from gastown_tui.tmux.server import TownTmux
    from gastown_tui.town.layout import Town
    from tests.conftest import git

    base = tmp_path_factory.mktemp("fuzz")
    upstream = base / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    (upstream / "README.md").write_text("hello\n")
    git(upstream, "add", "README.md")
    git(upstream, "commit", "-q", "-m", "first")
    root = base / "town"
    saved = dict(os.environ)
    socket = f"gtfuzz-{uuid.uuid4().hex[:8]}"
    # (TMUX too: gt feed --window would open a window in the tmux the tests run in)
    for key in [k for k in os.environ if k.startswith(("GT_", "BD_", "BEADS_")) or k == "TMUX"]:
        os.environ.pop(key)
    os.environ.update({"GT_TMUX_SOCKET": socket, "HOME": str(base / "home"), "USER": "fuzz"})
    (base / "home").mkdir()
    try:
        install(root, name="fuzz", owner="o@example.com")
        rig_add(Town(root), "gastown", str(upstream))
        yield root
    finally:
        if shutil.which("tmux"):
            TownTmux(socket).kill_server(grace=1.0)
        os.environ.clear()
        os.environ.update(saved)


def _options(cmd: click.Command) -> list[tuple[str, bool]]:
    """(option name, takes a value) of the command's options."""
    out = []
    for param in cmd.params:
        if isinstance(param, click.Option):
            for name in param.opts + param.secondary_opts:
                if name not in SKIPPED_OPTIONS:
                    out.append((name, not param.is_flag and not param.count))
    return out


def _free_text() -> st.SearchStrategy[str]:
    # Random text, but never an absolute or home path: a fuzzed `gt install /x` must not make
    # a town outside the test's folders (the tests may run as root).
    return st.text(max_size=24).filter(lambda s: not s.startswith(("/", "~")))


def _argv(cmd: click.Command, needs_positional: bool) -> st.SearchStrategy[list[str]]:
    value = st.sampled_from(HOSTILE) | _free_text()
    options = _options(cmd)
    token = value.map(lambda v: [v])
    if options:
        token = token | st.tuples(st.sampled_from(options), value).map(
            lambda pair: [pair[0][0], pair[1]] if pair[0][1] else [pair[0][0]])
    tokens = st.lists(token, min_size=0, max_size=4).map(lambda ts: [t for x in ts for t in x])
    if needs_positional:
        tokens = st.tuples(tokens, value.filter(lambda v: not v.startswith("-"))).map(
            lambda pair: [*pair[0], pair[1]])
    return tokens


def _call(prog: str, argv: list[str]) -> tuple[int, str, str]:
    from gastown_tui.cli.bd import main as bd_main
    from gastown_tui.cli.gt import main as gt_main

    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    saved = sys.stdin
    sys.stdin = stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = (gt_main if prog == "gt" else bd_main)(argv)
            except SystemExit as exc:  # a verb may end with SystemExit(code), as a process would
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def check_call(prog: str, argv: list[str]) -> None:
    code, out, err = _call(prog, argv)
    where = f"{prog} {argv!r}"
    assert isinstance(code, int), where
    for stream, text in (("stdout", out), ("stderr", err)):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise AssertionError(f"{where}: {stream} cannot be printed ({exc}): {text!r}") from None
        if "--colours" not in argv and "--colors" not in argv:
            assert is_inert(text), f"{where}: raw control characters on {stream}: {text!r}"
    assert "Traceback" not in err, f"{where}: {err}"
    assert "internal error" not in err, f"{where}: {err}"
    errors = [line for line in err.splitlines() if line.startswith("Error")]
    assert len(errors) <= 1, f"{where}: {err!r}"
    if errors:
        assert errors[0].startswith("Error: ") and code != 0, f"{where}: {err!r}"


@pytest.mark.parametrize(("prog", "path", "cmd"), TREE,
                         ids=[f"{prog} {' '.join(path)}" for prog, path, _ in TREE])
def test_hostile_argv_never_makes_a_traceback(fuzz_town: Path, prog: str, path: tuple[str, ...],
                                             cmd: click.Command, monkeypatch):
    monkeypatch.chdir(fuzz_town / "gastown")
    needs = "/".join(path) in NEEDS_POSITIONAL
    tail = FIXED_TAIL.get("/".join(path), [])

    @settings(max_examples=soak(10, 150), deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.filter_too_much])
    @given(_argv(cmd, needs))
    def fuzz(args: list[str]) -> None:
        check_call(prog, [*path, *args, *tail])

    fuzz()


@pytest.mark.parametrize("argv", [
    ["bd", "create", "\udcff"], ["bd", "show", "\udcff"], ["gt", "convoy", "create", "\udcff"],
    ["gt", "mail", "send", "mayor/", "-s", "\udcff"], ["gt", "remember", "\udce9t\udce9"],
    ["gt", "formula", "run", "shiny", "--var", "feature=\udcff"],
    ["gt", "formula", "show", "f" * 300], ["gt", "rig", "add", "x", "/" + "a" * 5000],
    ["bd", "create", "x" * 300, "--id", "hq-" + "a" * 300], ["gt", "sling", "gt-" + "a" * 5000,
                                                             "gastown"],
])
def test_the_red_teams_argv(fuzz_town: Path, argv: list[str], monkeypatch):
    """Item 6 exactly: non-UTF-8 bytes in argv, a 300-character formula name and a
    5,000-character rig path each end in one line of error."""
    monkeypatch.chdir(fuzz_town)
    code, out, err = _call(argv[0], argv[1:])
    check_call(argv[0], argv[1:])
    assert code != 0, (argv, out)
    assert len([line for line in err.splitlines() if line.startswith("Error: ")]) == 1, err


def test_a_negative_or_endless_duration_is_one_line(cli) -> None:
    """Hypothesis found `gt mol squash --jitter -1` raising ValueError from time.sleep: a bare
    number is a duration only when finite and not negative."""
    for bad in ("-1", "nan", "inf"):
        out = cli.gt("mol", "squash", "--jitter", bad, ok=False)
        assert out.returncode != 0 and "internal error" not in out.stderr, out.stderr
        assert f"--jitter '{bad}' is not a duration" in out.stderr, out.stderr
