"""The agents' hottest calls (bd show/list/ready --json, gt hook --json) skip click
(cli/fast.py): for every argv, the console script and the full click CLI give the same stdout,
stderr and exit code, byte for byte, on both stores; good input, bad input and help alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, BIN, Cli

# The full click CLI, as the console scripts ran it before the fast path.
CLICK = "import sys\nfrom gastown_tui.cli.{prog} import main\nmain()\n"

TRICKY = "esc \x1b[31mred\x1b[0m, bell \x07, C1 \x9b2J, line\u2028sep, rtl \u202e, emoji 🪝"


def both(cli: Cli, prog: str, *args: str | bytes, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run argv through the console script and through click; they must agree exactly."""
    run_env = {**cli.env, **(env or {})}
    fast = subprocess.run([str(BIN / prog), *args], cwd=cwd or cli.cwd, env=run_env,
                          capture_output=True, timeout=60)
    slow = subprocess.run([sys.executable, "-c", CLICK.format(prog=prog), *args],
                          cwd=cwd or cli.cwd, env=run_env, capture_output=True, timeout=60)
    assert (fast.returncode, fast.stdout, fast.stderr) == \
        (slow.returncode, slow.stdout, slow.stderr), args
    return fast


def took_fast_path(cli: Cli, prog: str, args: list[str], env: dict[str, str] | None = None,
                   cwd: Path | None = None) -> bool:
    """Whether argv was answered (successfully) without importing click or another heavy
    library (the formula machinery's pydantic and tomlkit, dataclasses, subprocess)."""
    code = ("import json, sys\nfrom gastown_tui.cli import fast\n"
            f"code = fast.{prog}({args!r})\n"
            "heavy = {'click', 'pydantic', 'tomlkit', 'dataclasses', 'subprocess', 'typing'}\n"
            "sys.stderr.write(json.dumps([code, bool(heavy & set(sys.modules))]))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd or cli.cwd, capture_output=True,
                          text=True, env={**cli.env, **(env or {})}, check=True, timeout=60)
    code, click_loaded = json.loads(proc.stderr)
    return code == 0 and not click_loaded


@pytest.fixture(params=BACKENDS)
def town_cli(request, tmp_path: Path, clean_env: dict[str, str]) -> Cli:
    from gastown_tui.ops.install import install

    root = tmp_path / "town"
    url = request.getfixturevalue("pg_databases").new() if request.param == "postgres" else None
    install(root, name="testtown", owner="owner@example.com", store=url)
    return Cli(root, clean_env)


def test_bd_show_list_ready_agree_with_click(town_cli: Cli):
    cli = town_cli
    a = cli.json("bd", "create", TRICKY, "-d", "body\x1b]0;title\x07 with ✓")["id"]
    b = cli.json("bd", "create", "second", "-p", "0", "--deps", a)["id"]
    cli.bd("comments", "add", a, "a comment \x1b[2J")
    cli.bd("label", "add", b, "urgent")
    cli.bd("close", b, "--force")
    c = cli.json("bd", "create", "third")["id"]
    for args in (["show", a, "--json"], ["--json", "show", a, b, c], ["show", b, "--json=1"],
                 ["list", "--json"], ["ready", "--json"], ["--actor", "someone", "list", "--json"],
                 ["--town", str(cli.cwd), "show", c, "--json"],
                 ["--db", str(cli.cwd / ".beads" / "beads.db"), "ready", "--json"]):
        out = both(cli, "bd", *args)
        assert out.returncode == 0 and json.loads(out.stdout), args
        assert took_fast_path(cli, "bd", args), args
    shown = json.loads(both(cli, "bd", "show", a, "--json").stdout)[0]
    assert shown["title"] == TRICKY and shown["comment_count"] == 1
    assert b"\x1b" not in both(cli, "bd", "show", a, "--json").stdout  # inert on a terminal
    assert both(cli, "bd", "show", a, env={"BD_JSON": "1"}).returncode == 0
    assert took_fast_path(cli, "bd", ["show", a], env={"BD_JSON": "yes"})
    # Elsewhere in the tree the scope is still the town's (hq), as on the click path.
    (cli.cwd / "mayor" / "notes").mkdir()
    listed = both(cli, "bd", "list", "--json", cwd=cli.cwd / "mayor" / "notes")
    assert {i["id"] for i in json.loads(listed.stdout)} == {a, c}


@pytest.mark.parametrize("args", [
    ["show", "--json"],  # no id: click's usage error
    ["show", "hq-nosuch", "--json"],  # unknown bead: the store's one-line error
    ["show", "not an id!", "--json"],
    ["show", "", "--json"],
    ["show", "hq-x", "--json", "--bogus"],  # unknown option
    ["show", "--help", "--json"], ["list", "--json", "-h"], ["--json", "--help"],
    ["show", "hq-x", "--json", "--", "hq-y"],
    ["show", "hq-x", "--json", "--actor"],  # a global flag without its value
    ["list", "--json", "--rig", "nosuch"], ["ready", "--json", "--rig", "bad/name"],
    ["ready", "--json", "--town", "/nonexistent/town"],
    ["list", "extra", "--json"], ["ready", "--json", "-n", "1"],
    ["nosuchverb", "--json"], ["show", "hq-x"],  # no --json: the click path as before
])
def test_bd_bad_input_and_help_agree_with_click(cli: Cli, args: list[str]):
    out = both(cli, "bd", *args)
    assert out.stdout or out.stderr
    if "--help" not in args and "-h" not in args and args != ["ready", "--json", "-n", "1"]:
        assert out.returncode != 0
        assert len(out.stderr.decode().strip().splitlines()) <= 4  # one line, or click's usage


def test_bd_non_utf8_argument_agrees_with_click(cli: Cli):
    out = both(cli, "bd", "show", b"hq-\xff", "--json")
    assert out.returncode != 0 and b"UTF-8" in out.stderr


def test_what_the_fast_path_leaves_to_click():
    """No real argv holds a NUL (a caller of main() might): click's check names it."""
    from gastown_tui.cli import fast

    assert fast.bd(["show", "hq-a\x00b", "--json"]) is None
    assert fast.gt(["hook", "--json", "\udcff"]) is None
    assert fast.bd(["show", "hq-a"]) is None  # human output stays click's


def test_the_fast_path_assumes_what_the_click_commands_define():
    """The fast path calls the store with bd list's and bd ready's defaults and knows bd's
    global flags: a change to either in the click CLI must show up here."""
    from gastown_tui.cli import fast
    from gastown_tui.cli.bd import bd
    from gastown_tui.cli.bd_group import GLOBAL_FLAGS

    assert fast._BD_FLAGS == GLOBAL_FLAGS
    for verb, expected in (("list", {"limit": 50, "sort": "priority"}),
                           ("ready", {"limit": 100, "sort": "priority"})):
        defaults = dict(bd.commands[verb].make_context(verb, []).params)  # as click fills them
        assert {k: defaults.pop(k) for k in expected} == expected, verb
        assert not any(defaults.values()), (verb, defaults)  # every other option off


def test_bd_outside_a_town_agrees_with_click(cli: Cli, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = both(cli, "bd", "list", "--json", cwd=elsewhere,
               env={"GT_ROOT": "", "GT_TOWN_ROOT": ""})
    assert out.returncode != 0 and b"town" in out.stderr


def test_gt_hook_json_agrees_with_click(town_cli: Cli):
    cli = town_cli
    role = {"GT_ROLE": "gastown/polecats/toast"}
    empty = both(cli, "gt", "hook", "--json", env=role)
    assert json.loads(empty.stdout)["has_work"] is False
    assert took_fast_path(cli, "gt", ["hook", "--json"], env=role)
    bead = cli.json("bd", "create", TRICKY)["id"]
    cli.gt("hook", bead, "gastown/polecats/toast")
    hooked = both(cli, "gt", "hook", "--json", env=role)
    assert json.loads(hooked.stdout)["pinned_bead"]["id"] == bead
    assert took_fast_path(cli, "gt", ["hook", "--json"], env=role)
    both(cli, "gt", "--town", str(cli.cwd), "hook", "--json", env=role)
    assert took_fast_path(cli, "gt", ["--town", str(cli.cwd), "hook", "--json"], env=role)


def test_gt_hook_with_a_formula_attached_agrees_with_click(cli: Cli, rig_town: Path):
    """The formula's steps and progress (the machinery loaded only for such a hook)."""
    from tests.test_gates import GATED_FORMULA

    (rig_town / "formulas").mkdir(exist_ok=True)
    (rig_town / "formulas" / "gated-release.formula.toml").write_text(GATED_FORMULA)
    rig = rig_town / "gastown"
    bead = cli.json("bd", "create", "release", cwd=rig)["id"]
    cli.bd("update", bead, "-d", "attached_formula: gated-release", cwd=rig)
    cli.gt("hook", bead, "gastown/polecats/toast", cwd=rig)
    out = both(cli, "gt", "hook", "--json", cwd=rig, env={"GT_ROLE": "gastown/polecats/toast"})
    data = json.loads(out.stdout)
    assert data["attached_formula"] == "gated-release"
    assert [s["id"] for s in data["progress"]["steps"]][:1] == ["build"]


@pytest.mark.parametrize("args,env", [
    (["hook", "--json"], {}),  # no identity: the one-line error naming the fix
    (["hook", "--json"], {"GT_ROLE": "not a valid/address/at all"}),
    (["hook", "--json"], {"GT_ROLE": "gastown/polecats/toast", "GT_ROOT": "/nonexistent"}),
    (["hook", "--json", "--help"], {}), (["hook", "--help"], {}),
    (["hook", "--json", "--town"], {}), (["hook", "--json", "--town", "/nonexistent"], {}),
    (["hook", "--json", "--bogus"], {}), (["hook", "--json", "--", "x"], {}),
    (["hook", "show", "--json"], {}), (["hook"], {"GT_ROLE": "gastown/polecats/toast"}),
    (["--json", "hook"], {"GT_ROLE": "gastown/polecats/toast"}),
])
def test_gt_hook_other_argv_agrees_with_click(cli: Cli, args: list[str], env: dict[str, str]):
    out = both(cli, "gt", *args, env=env)
    assert out.stdout or out.stderr


def test_gt_hook_outside_a_town_agrees_with_click(cli: Cli, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = both(cli, "gt", "hook", "--json", cwd=elsewhere,
               env={"GT_ROLE": "gastown/polecats/toast"})
    assert out.returncode != 0 and b"town" in out.stderr
    assert not took_fast_path(cli, "gt", ["hook", "--json"], cwd=elsewhere,
                              env={"GT_ROLE": "gastown/polecats/toast"})


def test_a_reader_that_goes_away_ends_quietly(cli: Cli):
    """`bd list --json | head -1`: the fast path stops like the click path (exit 0, no trace)."""
    from gastown_tui.ops.context import open_store
    from gastown_tui.town.layout import Town

    store = open_store(Town(cli.cwd), "tester")
    for n in range(50):  # more than a pipe's buffer (64 KiB) of JSON
        store.create(f"bead {n}", prefix="hq", description="x" * 2000)
    store.close_connection()
    proc = subprocess.Popen([str(BIN / "bd"), "list", "--json"], cwd=cli.cwd, env=cli.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == b""
