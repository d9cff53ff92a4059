"""The red team's findings (issue 23), each replayed as the attack it was, against real parts.

A hostile repository (links committed out of the worktree), a hostile bead (terminal escapes in
titles, comments, mail), an unlucky disk (a flipped byte in the WAL, a full disk, garbage config
files), hostile argv, and the stops and shutdowns that raced. Each test is the attack; it passes
when the attack holds no more. The whole click tree's argv fuzz lives in test_fuzz_argv.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli, git

ESCAPES = {
    "clipboard": "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "clear": "\x1b[2J\x1b[H",
    "c1-csi": "\x9b31m",
    "bidi": "\u202eevil",
    "title": "\x1b]0;owned\x1b\\",
}
HOSTILE = "hostile " + " ".join(ESCAPES.values()) + " end"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def _inert(text: str) -> bool:
    return not any(ch in text for ch in RAW)


# ---------------------------------------------------------------------------- 1. symlinks
@pytest.fixture
def hostile_upstream(tmp_path: Path) -> tuple[Path, Path]:
    """A repository that commits links out of any worktree: `.gemini` and `.opencode` to a
    folder holding the user's own settings, and `AGENTS.local.md` to a file of theirs."""
    victim = tmp_path / "victim-home"
    (victim / "plugins").mkdir(parents=True)
    (victim / "settings.json").write_text('{"mine": true}\n')
    (victim / "plugins" / "gastown.js").write_text("// the user's own plugin\n")
    repo = tmp_path / "hostile"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("looks harmless\n")
    os.symlink(victim, repo / ".gemini")
    os.symlink(victim, repo / ".opencode")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    return repo, victim


def _victim_files(victim: Path) -> dict[str, str]:
    return {str(p.relative_to(victim)): p.read_text() for p in sorted(victim.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("agent", ["gemini", "opencode"])
def test_sling_never_writes_through_a_committed_link(town: Path, hostile_upstream, tmux_socket,
                                                     clean_env, agent: str):
    repo, victim = hostile_upstream
    before = _victim_files(victim)
    cli = Cli(town, {**clean_env, "GT_TMUX_SOCKET": tmux_socket})
    cli.gt("rig", "add", "hostile", str(repo))
    bead = cli.json("bd", "create", "work", "--rig", "hostile")["id"]
    proc = cli.gt("sling", bead, "hostile", "--agent", agent, ok=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f".{agent} is a symbolic link (to {victim})" in errors[0]
    assert _victim_files(victim) == before, "a file outside the town was written"
    # the sling rolled back: no polecat left behind, the bead open again
    assert cli.json("bd", "show", bead)[0]["status"] == "open"
    assert not [p for p in (town / "hostile" / "polecats").iterdir()
                if not p.name.startswith(".")]


def test_every_writer_refuses_a_linked_parent_and_a_linked_file(tmp_path: Path):
    """The one helper, directly: a linked directory on the way or a linked final name is
    refused with the link named; a plain path is written atomically."""
    from gastown_tui.town import safe_write
    from gastown_tui.town.errors import UnsafePathError
    from gastown_tui.town.jsonfile import write_json

    root = tmp_path / "town"
    (root / "mayor").mkdir(parents=True)
    (root / "mayor" / "town.json").write_text("{}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    os.symlink(outside, root / "linked-dir")
    os.symlink(outside / "keep.txt", root / "linked-file.txt")
    for attempt in (lambda: write_json(root / "linked-dir" / "x.json", {"a": 1}),
                    lambda: safe_write.write_text(root / "linked-dir" / "deep" / "x", "x"),
                    lambda: safe_write.write_text(root / "linked-file.txt", "overwritten"),
                    lambda: safe_write.append_bytes(root / "linked-file.txt", b"more"),
                    lambda: safe_write.ensure_dir(root / "linked-dir" / "sub")):
        with pytest.raises(UnsafePathError) as caught:
            attempt()
        assert "is a symbolic link (to " in str(caught.value) and "\n" not in str(caught.value)
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "keep"
    write_json(root / "fine" / "x.json", {"a": 1})
    assert json.loads((root / "fine" / "x.json").read_text()) == {"a": 1}
    with pytest.raises(UnsafePathError):
        safe_write.write_text(root / ".." / "escape.txt", "x", within=root)
    assert not (tmp_path / "escape.txt").exists()


def test_polecat_guide_is_not_written_through_a_linked_worktree_file(tmp_path: Path,
                                                                    rig_town: Path):
    """CLAUDE.md/AGENTS.md: a worktree whose guide name is a link out is refused."""
    from gastown_tui.ops.worktrees import write_polecat_guide
    from gastown_tui.town.errors import UnsafePathError
    from gastown_tui.town.layout import Town

    outside = tmp_path / "outside.md"
    outside.write_text("mine\n")
    rig = Town(rig_town).rig("gastown")
    worktree = rig.polecat_worktree("toast")
    worktree.mkdir(parents=True)
    os.symlink(outside, worktree / "AGENTS.md")
    with pytest.raises(UnsafePathError, match="AGENTS.md is a symbolic link"):
        write_polecat_guide(rig, "toast", worktree / "AGENTS.md", "polecat/toast")
    assert outside.read_text() == "mine\n"


# ---------------------------------------------------------------------------- 3. escapes
@pytest.fixture
def hostile_beads(cli: Cli) -> dict[str, str]:
    """A bead whose title, description, label and comment carry escape sequences, mail whose
    subject and body do, and an event whose payload does."""
    bead = cli.json("bd", "create", HOSTILE, "-d", HOSTILE, "-l", "x" + ESCAPES["clear"])["id"]
    cli.bd("comments", "add", bead, HOSTILE)
    sent = cli.json("gt", "mail", "send", "mayor/", "-s", HOSTILE, "-m", HOSTILE)
    return {"bead": bead, "mail": sent["id"]}


def test_stored_escapes_reach_no_terminal(cli: Cli, hostile_beads: dict[str, str]):
    bead, mail = hostile_beads["bead"], hostile_beads["mail"]
    mayor = {"GT_ROLE": "mayor"}
    outputs = {
        "bd show": cli.bd("show", bead).stdout,
        "bd list": cli.bd("list").stdout,
        "bd comments": cli.bd("comments", bead).stdout,
        "bd search": cli.bd("search", "hostile").stdout,
        "gt mail inbox": cli.gt("mail", "inbox", env=mayor).stdout,
        "gt mail check --inject": cli.gt("mail", "check", "--inject", env=mayor).stdout,
        "gt prime": cli.gt("prime", env=mayor, cwd=cli.cwd / "mayor").stdout,
        "gt mail read": cli.gt("mail", "read", mail, env=mayor).stdout,
        "gt feed": cli.gt("feed").stdout,
    }  # in this order: reading the mail takes it out of the injection and prime's list
    for what, out in outputs.items():
        assert "hostile" in out, what
        assert _inert(out), f"{what} printed a raw escape: {out!r}"
        assert "\\x1b]52;c;" in out or "\\x1b" in out, f"{what} hid the escape instead of showing it"


def test_queued_nudges_reach_the_agent_inert(cli: Cli, town: Path):
    from gastown_tui.ops.nudge import enqueue
    from gastown_tui.town.layout import Town

    enqueue(Town(town), "hq-mayor", HOSTILE, sender="x" + ESCAPES["title"])
    out = cli.gt("nudge", "--drain", env={"GT_SESSION": "hq-mayor"}).stdout
    assert "hostile" in out and _inert(out), out


def test_json_output_keeps_the_text_exact(cli: Cli, hostile_beads: dict[str, str]):
    shown = cli.json("bd", "show", hostile_beads["bead"])[0]
    assert shown["title"] == HOSTILE and shown["description"] == HOSTILE
    raw = cli.bd("show", hostile_beads["bead"], "--json").stdout
    assert _inert(raw), "JSON on a terminal must carry escapes as \\u escapes"
    mail = cli.json("gt", "mail", "read", hostile_beads["mail"], env={"GT_ROLE": "mayor"})
    assert mail["subject"] == HOSTILE and mail["body"] == HOSTILE


def test_sanitiser_keeps_plain_text_and_shows_every_control():
    from gastown_tui.town.safe_text import is_inert, one_line, terminal_text

    plain = "Ünïcødé → ✓ tabs\tand\nnewlines stay"
    assert terminal_text(plain) == plain
    shown = terminal_text(HOSTILE + "\r\x00\x7f" + "\udcff")
    assert is_inert(shown) and "\\x1b]52;c;" in shown and "\\xff" in shown
    assert "\n" not in one_line("two\nlines") and "\\n" in one_line("two\nlines")
    assert terminal_text("\x1b[31mred\x1b[0m \x1b]52;c;x\x07", keep_sgr=True) == \
        "\x1b[31mred\x1b[0m \\x1b]52;c;x\\x07"


def test_store_keeps_the_text_as_written(cli: Cli, town: Path, hostile_beads):
    from gastown_tui.town.store import BeadStore

    store = BeadStore(town / ".beads" / "beads.db")
    try:
        assert store.get(hostile_beads["bead"])["title"] == HOSTILE
    finally:
        store.close_connection()


def _run(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    return cli.run(args[0], *args[1:], ok=False)
