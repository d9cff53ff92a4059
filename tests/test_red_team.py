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
    fake_bin = town.parent / "fake-bin"  # the runtime must be installed for sling to go on
    fake_bin.mkdir()
    (fake_bin / agent).write_text("#!/bin/sh\nexec sleep 600\n")
    (fake_bin / agent).chmod(0o755)
    cli = Cli(town, {**clean_env, "GT_TMUX_SOCKET": tmux_socket,
                     "PATH": f"{fake_bin}{os.pathsep}{clean_env.get('PATH', '')}"})
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


# ---------------------------------------------------------------------------- 2. the WAL
WRITER = """
import os, sys, time
from gastown_tui.town.store import BeadStore
store = BeadStore(sys.argv[1], actor="writer")
for i in range(int(sys.argv[2])):
    store.create(f"committed bead {i}", prefix="hq", description="x" * 1500)
print("ready", flush=True)
time.sleep(600)
"""


def _killed_writer(town: Path, count: int, *, before_kill=None) -> None:
    """A process commits `count` beads and is SIGKILLed holding its connection: the WAL keeps
    them (nothing checkpointed), as after a crash or a `gt down` that killed the loops."""
    import signal
    import sys

    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(town / ".beads" / "beads.db"),
                             str(count)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        if before_kill is not None:
            before_kill()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def _flip_middle_byte(db: Path) -> None:
    wal = Path(str(db) + "-wal")
    data = bytearray(wal.read_bytes())
    assert len(data) > 100_000, "the WAL should hold the writes"
    data[len(data) // 2] ^= 0xFF
    wal.write_bytes(bytes(data))


def _beads(cli: Cli) -> list[str]:
    return sorted(b["id"] for b in cli.json("bd", "list", "--all", "--include-infra", "-n", "0"))


def _wal_size(db: Path) -> int:
    wal = Path(str(db) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _backed_up(town: Path) -> list[str]:
    lines = (town / ".beads" / "backup" / "issues.jsonl").read_text().splitlines()
    return sorted(json.loads(line)["id"] for line in lines)


def _store_check(cli: Cli, *args: str) -> tuple[str, str]:
    report = cli.json("gt", "doctor", *args, ok=False)
    store = next(c for c in report["checks"] if c["name"] == "store")
    return store["status"], "\n".join(store["details"])


def test_a_flipped_wal_byte_is_reported_not_integrity_ok(cli: Cli, town: Path):
    """The red team's attack: the WAL of a town whose processes were killed still held the
    last commits; one flipped byte in its middle, and SQLite replays only what comes before
    it. Doctor said "integrity ok"; it reads the frames now."""
    db = town / ".beads" / "beads.db"
    _killed_writer(town, 15)
    _flip_middle_byte(db)
    status, text = _store_check(cli)
    assert status == "error", text
    assert "fails its checksum" in text and "commit(s)" in text and "are lost" in text, text
    assert "integrity ok" in text  # SQLite's own check cannot see it: that is the point


def test_beads_lost_to_a_damaged_wal_are_named_and_restored(cli: Cli, town: Path):
    db = town / ".beads" / "beads.db"
    _killed_writer(town, 15, before_kill=lambda: cli.bd("backup"))
    whole = _backed_up(town)
    assert len(whole) >= 15 and _wal_size(db) > 100_000
    _flip_middle_byte(db)  # the 15 beads are only in the WAL: this cuts them short
    status, text = _store_check(cli)
    assert status == "error" and "fails its checksum" in text and "the store lacks" in text, text
    lost = set(whole) - set(_beads(cli))
    assert lost and all(b in text for b in sorted(lost)[:5])
    # the next backup refuses to overwrite the copy that still has them
    proc = cli.bd("backup", ok=False)
    assert proc.returncode != 0 and "lost writes" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    status, text = _store_check(cli, "--fix")
    assert "brought back" in text, text
    assert _beads(cli) == whole
    assert cli.json("gt", "doctor")["ok"]


def test_bd_backup_restore_rebuilds_a_store_that_will_not_open(cli: Cli, town: Path):
    for n in range(5):
        cli.bd("create", f"bead {n}")
    whole = _beads(cli)
    cli.bd("backup")
    db = town / ".beads" / "beads.db"
    data = bytearray(db.read_bytes())
    data[:16] = b"not a database!!"
    db.write_bytes(bytes(data))
    proc = cli.bd("list", ok=False)
    assert proc.returncode != 0 and "bd backup restore" in proc.stderr
    out = cli.bd("backup", "restore").stdout
    assert "set aside as" in out
    assert _beads(cli) == whole
    assert list((town / ".beads").glob("beads.db.damaged-*"))


def test_gt_down_and_shutdown_leave_an_empty_wal_and_a_backup(cli: Cli, town: Path, tmux_socket):
    db = town / ".beads" / "beads.db"
    env = {"GT_TMUX_SOCKET": tmux_socket}
    _killed_writer(town, 10)
    assert _wal_size(db) > 0
    steps = cli.json("gt", "down", env=env)
    assert [s for s in steps if s["address"] == "store"][0]["action"] == "rested"
    assert _wal_size(db) == 0
    backed = (town / ".beads" / "backup" / "issues.jsonl").read_text().splitlines()
    assert sum("committed bead" in line for line in backed) == 10
    _killed_writer(town, 3)
    report = cli.json("gt", "shutdown", "--yes", env=env)
    assert "WAL emptied" in report["store_rest"]["checkpoint"]
    assert _wal_size(db) == 0


def test_wal_reader_agrees_with_sqlite(tmp_path: Path):
    """The frame reader replays exactly what SQLite replays, for a flip in every frame."""
    import shutil
    import sqlite3

    from gastown_tui.town.store.wal import inspect_wal

    town = tmp_path / "t"
    (town / ".beads").mkdir(parents=True)
    from gastown_tui.town.store import BeadStore

    BeadStore.create_at(town / ".beads" / "beads.db").close_connection()
    _killed_writer(town, 6)
    db = town / ".beads" / "beads.db"
    clean = inspect_wal(db)
    assert not clean.damaged and clean.commits >= 6
    wal = Path(str(db) + "-wal").read_bytes()
    frame = 24 + clean.page_size
    for index in range(0, clean.frames, max(1, clean.frames // 12)):
        case = tmp_path / f"case{index}"
        case.mkdir()
        shutil.copy(db, case / "beads.db")
        data = bytearray(wal)
        data[32 + index * frame + 24 + 100] ^= 0x01  # a byte of the frame's page
        (case / "beads.db-wal").write_bytes(bytes(data))
        report = inspect_wal(case / "beads.db")
        with sqlite3.connect(case / "beads.db") as conn:
            count = conn.execute("SELECT count(*) FROM issues").fetchone()[0]
        assert report.first_bad_frame == index + 1
        # every commit before the bad frame replays (one bead each), none after it
        assert count == report.commits, (index, report)


# ---------------------------------------------------------------------------- 4. a full disk
@pytest.fixture
def full_disk(tmp_path: Path, upstream: Path, clean_env: dict[str, str]):
    """A town with a rig and a memory on a small tmpfs of its own, then filled to the last
    byte. Needs root (mount); skipped elsewhere."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        from gastown_tui.ops.install import install
        from gastown_tui.ops.rig import rig_add
        from gastown_tui.town.layout import Town

        root = mount / "town"
        install(root, name="full", owner="o@example.com")
        rig_add(Town(root), "gastown", str(upstream))
        cli = Cli(root, clean_env)
        cli.gt("remember", "--key", "kept", "something to forget")
        cli.bd("create", "a bead before the disk filled")
        with open(mount / "filler", "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        yield cli
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _one_line_disk_full(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "full" in lines[0], lines


def test_a_full_disk_is_one_line_and_reads_still_answer(full_disk: Cli):
    cli = full_disk
    for args in (("gt", "remember", "more"), ("gt", "forget", "kept"),
                 ("gt", "rig", "park", "gastown"), ("gt", "rig", "dock", "gastown"),
                 ("bd", "create", "one more")):
        _one_line_disk_full(cli.run(*args, ok=False))
    assert "a bead before the disk filled" in cli.bd("list").stdout
    assert cli.json("gt", "status")["rigs"][0]["name"] == "gastown"
    assert cli.json("gt", "mq", "list", "gastown") == []
    doctor = cli.run("gt", "doctor", ok=False)
    assert "is full" in doctor.stdout and "not damage" in doctor.stdout, doctor.stdout
    assert "damaged" not in doctor.stdout and "restore" not in doctor.stdout


# ---------------------------------------------------------------------------- 5. doctor
def _check(cli: Cli, name: str, *args: str) -> dict:
    report = cli.json("gt", "doctor", "--grace", "0", *args, ok=False)
    return next(c for c in report["checks"] if c["name"] == name)


def _one_error_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("garbage", [b"{not json", b"[1, 2]", b"\xff\xfe\x00garbage"])
def test_garbage_town_files_are_named_and_rebuilt(rig_town: Path, clean_env, garbage: bytes):
    cli = Cli(rig_town, clean_env)
    for rel in ("mayor/town.json", "mayor/rigs.json", "gastown/config.json"):
        path = rig_town / rel
        original = json.loads(path.read_text())
        path.write_bytes(garbage)
        _one_error_line(cli.run("gt", "status", ok=False), rel)
        check = _check(cli, "config")
        assert check["status"] == "error" and any(rel in d for d in check["details"]), check
        fixed = _check(cli, "config", "--fix")
        assert fixed["status"] == "fixed", fixed
        rebuilt = json.loads(path.read_text())
        for key in ("type", "git_url", "default_branch", "beads", "rigs"):
            if key in original:
                assert rebuilt[key] == original[key], (rel, key)
        assert [r["name"] for r in cli.json("gt", "rig", "list")] == ["gastown"]
        assert list(path.parent.glob(path.name + ".corrupt-*")), "the broken file is kept"


@pytest.mark.parametrize("garbage", [b"[1, 2]", b"\xff\xfe not utf-8", b'{"agents": [1]}'])
def test_garbage_settings_are_one_line_not_a_crash(rig_town: Path, clean_env, garbage: bytes):
    cli = Cli(rig_town / "gastown", clean_env)
    bead = cli.json("bd", "create", "work")["id"]
    (rig_town / "settings" / "config.json").write_bytes(garbage)
    _one_error_line(cli.run("gt", "sling", bead, "gastown", ok=False), "settings/config.json")
    check = _check(cli, "config")
    assert check["status"] == "error" and any("settings/config.json" in d
                                              for d in check["details"]), check


def test_a_broken_worktree_link_is_found_and_pointed_back(rig_town: Path, clean_env):
    from gastown_tui.ops.worktrees import create_polecat_worktree, inspect
    from gastown_tui.town.layout import Town

    rig = Town(rig_town).rig("gastown")
    (rig.polecats_dir / "toast").mkdir(parents=True)
    path, _branch = create_polecat_worktree(rig, "toast", None)
    (path / ".git").write_text("gitdir: /nowhere/at/all\n")
    cli = Cli(rig_town, clean_env)
    check = _check(cli, "worktree-links")
    assert check["status"] == "error" and any("toast" in d for d in check["details"]), check
    assert _check(cli, "worktree-links", "--fix")["status"] == "fixed"
    assert inspect(rig, path).exists and _check(cli, "worktree-links")["status"] == "ok"


def test_configs_that_work_pass(rig_town: Path, clean_env):
    assert _check(Cli(rig_town, clean_env), "config")["status"] == "ok"


# ---------------------------------------------------------------------------- 7. accepted, wrong
def test_an_empty_label_is_refused(cli: Cli):
    bead = cli.json("bd", "create", "x")["id"]
    proc = cli.bd("label", "add", bead, "", ok=False)
    assert proc.returncode != 0 and "label cannot be empty" in proc.stderr
    assert cli.json("bd", "label", "list", bead) == []


def test_mail_to_a_rig_that_does_not_exist_is_refused(cli: Cli):
    proc = cli.gt("mail", "send", "norig/witness", "-s", "hello", ok=False)
    _one_error_line(proc, "unknown rig 'norig'")
    proc = cli.gt("mail", "send", "mayor/", "-s", "hello", "--cc", "norig/toast", ok=False)
    _one_error_line(proc, "unknown rig 'norig'")
    assert cli.json("gt", "mail", "inbox", "mayor/") == []


def test_import_never_makes_a_blocking_cycle(cli: Cli, tmp_path: Path):
    lines = [{"id": "hq-aaa", "title": "a", "status": "open", "priority": 2,
              "issue_type": "task", "created_at": "2026-01-01T00:00:00Z",
              "updated_at": "2026-01-01T00:00:00Z",
              "dependencies": [{"issue_id": "hq-aaa", "depends_on_id": "hq-bbb",
                                "type": "blocks"}]},
             {"id": "hq-bbb", "title": "b", "status": "open", "priority": 2,
              "issue_type": "task", "created_at": "2026-01-01T00:00:00Z",
              "updated_at": "2026-01-01T00:00:00Z",
              "dependencies": [{"issue_id": "hq-bbb", "depends_on_id": "hq-aaa",
                                "type": "blocks"}]}]
    source = tmp_path / "cycle.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    proc = cli.bd("import", str(source))
    assert "would make a blocking cycle" in proc.stderr
    ready = {b["id"] for b in cli.json("bd", "ready")}
    assert len(ready & {"hq-aaa", "hq-bbb"}) == 1, "one of them must be workable"
    kept = cli.json("bd", "dep", "list", "hq-aaa", "hq-bbb")
    assert [(d["issue_id"], d["depends_on_id"]) for d in kept] == [("hq-aaa", "hq-bbb")]
    # the same cycle through `bd dep add` is refused, as it always was
    _one_error_line(cli.bd("dep", "add", "hq-bbb", "hq-aaa", ok=False), "makes a cycle")


# ---------------------------------------------------------------------------- 8. leftovers
def test_a_polecat_dir_a_dead_sling_left_is_said_and_removed(rig_town: Path, clean_env):
    """A sling killed while it made the worktree leaves polecats/<name>/ and nothing in it."""
    cli = Cli(rig_town, clean_env)
    (rig_town / "gastown" / "polecats" / "furiosa").mkdir()
    young = cli.json("gt", "doctor", ok=False)  # within the grace period: said, not judged
    polecats = next(c for c in young["checks"] if c["name"] == "polecats")
    assert any("furiosa" in d and "no worktree yet" in d for d in polecats["details"])
    listed = cli.json("gt", "polecat", "list")
    assert [p["evidence"] for p in listed if p["name"] == "furiosa"][0].startswith("no worktree")
    assert _check(cli, "polecats")["status"] == "error"
    assert _check(cli, "polecats", "--fix")["status"] == "fixed"
    assert not (rig_town / "gastown" / "polecats" / "furiosa").exists()


def test_a_gate_dies_with_its_refinery(tmp_path: Path, town: Path, clean_env):
    """kill -9 of the refinery while a gate runs: the gate's whole process group goes at once,
    not at the next loop start."""
    import signal
    import sys

    from tests.refinery_helpers import make_rig_env, py
    from tests.waiting import wait_for

    env = make_rig_env(town, tmp_path)
    marker = tmp_path / "gate.pids"
    env.set_gates(test_command=py(
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(marker)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(120)"))
    env.submit("slow gate", {"slow.txt": "x\n"})
    refinery = subprocess.Popen([str(Path(sys.executable).parent / "gt"), "refinery", "run",
                                 "gastown", "--once", "--poll", "1"], cwd=town, env=clean_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from gastown_tui.refinery.state import read_state

        text = wait_for(lambda: marker.exists() and marker.read_text().strip()
                        and (read_state(env.rig) or {}).get("gate_pgid")
                        and marker.read_text().strip(), timeout=60,
                        what="the gate to start (and be on record)")
        gate, grandchild = (int(x) for x in text.split())
        refinery.send_signal(signal.SIGKILL)
        refinery.wait(timeout=10)

        def gone(pid: int) -> bool:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                return True
            return state in ("Z", "X")

        wait_for(lambda: gone(gate) and gone(grandchild), timeout=5,
                 what="the gate and its child to die with the refinery")
    finally:
        if refinery.poll() is None:
            refinery.kill()
            refinery.wait()
        env.store.close_connection()


def test_a_loop_start_still_kills_only_a_stale_gate_of_its_own(tmp_path: Path, rig_town: Path):
    """Where no watcher ran (not Linux, or it could not start), the next loop start kills the
    stale gate: only a group working inside the gate worktree, never a stranger's."""
    import sys

    from gastown_tui.refinery.gates import kill_stale_gate
    from gastown_tui.refinery.state import gate_worktree_path
    from gastown_tui.town.layout import Town

    rig = Town(rig_town).rig("gastown")
    inside = gate_worktree_path(rig)
    inside.mkdir(parents=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    ours = subprocess.Popen(sleeper, cwd=inside, start_new_session=True)
    stranger = subprocess.Popen(sleeper, cwd=tmp_path, start_new_session=True)
    try:
        assert not kill_stale_gate(rig, stranger.pid)
        assert kill_stale_gate(rig, ours.pid)
        assert ours.wait(timeout=5) is not None and stranger.poll() is None
    finally:
        for proc in (ours, stranger):
            if proc.poll() is None:
                proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------- 9. non-bare source
def test_a_non_bare_source_is_said_at_rig_add_and_a_failed_push_escalates(
        town: Path, upstream: Path, clean_env):
    from gastown_tui.refinery.loop import run
    from gastown_tui.town.layout import Town
    from gastown_tui.town.store import BeadStore
    from tests.refinery_helpers import RigEnv

    cli = Cli(town, clean_env)
    added = cli.gt("rig", "add", "gastown", str(upstream))  # README's own example: a work tree
    assert "merges cannot be pushed back" in added.stderr and "updateInstead" in added.stderr
    assert cli.json("gt", "rig", "list")[0]["name"] == "gastown"
    t = Town(town)
    env = RigEnv(t, t.rig("gastown"), BeadStore(t.db_path, actor="gastown/polecats/toast"),
                 upstream)
    try:
        for n in range(2):
            env.submit(f"work {n}", {f"w{n}.txt": f"{n}\n"})
            run(t, env.rig, once=True)
        escalations = cli.json("gt", "escalate", "list")
        pushes = [e for e in escalations if "not reaching upstream" in e["title"]]
        assert len(pushes) == 1, escalations  # one per rig, not one per merge
        assert "non-bare" in cli.json("bd", "show", pushes[0]["id"])[0]["description"]
    finally:
        env.store.close_connection()


# ---------------------------------------------------------------------------- 10. closing room
async def test_messages_handled_after_the_screens_are_gone_do_nothing(tmp_path: Path):
    """The watcher and the observer post from their own threads until the app is down; a
    TownChanged handled while the app closes its screens used to raise ScreenStackError from
    `_town_changed -> refresh_bindings()`. Flood the app with them across its whole shutdown."""
    import threading

    from gastown_tui.app.factory import make_app
    from gastown_tui.app.messages import ActionFinished, PanesPolled, TownChanged
    from tests.fixtures.towns import NOW, RecordedPanes, build_demo_town

    root = build_demo_town(tmp_path / "town").root
    app = make_app(root, live=False, clock=lambda: NOW,
                   observer_factory=lambda _root: RecordedPanes({}))
    stop = threading.Event()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_settled()
        snapshot = app.snapshot

        def flood() -> None:
            while not stop.is_set():
                app.post_message(TownChanged(snapshot))
                app.post_message(PanesPolled(frozenset({"hq-mayor"})))
                app.post_message(ActionFinished("done", "information"))
                stop.wait(0.0005)

        poster = threading.Thread(target=flood, daemon=True)
        poster.start()
        await pilot.pause(0.05)
    stop.set()  # run_test re-raises what the app's handlers raised while it shut down
    poster.join()


# ---------------------------------------------------------------------------- 11. a stop that lies
RESPAWNER = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as a loop busy in a patrol would, for a while
signal.signal(signal.SIGHUP, signal.SIG_IGN)
socket = sys.argv[1]
print("ready", flush=True)
while True:
    # the Deacon's keep-alive: the town's sessions must run; start them if they do not
    if subprocess.run(["tmux", "-L", socket, "has-session", "-t", "hq-mayor"],
                      capture_output=True).returncode != 0:
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "hq-mayor",
                        "sleep 600"], capture_output=True)
    time.sleep(0.02)
"""


def test_a_stop_says_stopped_only_when_every_process_is_gone(town: Path, tmux_socket: str,
                                                              monkeypatch):
    """A loop that restarts sessions while the town is being stopped (the Deacon mid-patrol)
    and ignores SIGTERM: the stop goes on until nothing of the town runs, and says which
    process needed SIGKILL."""
    import sys

    from gastown_tui.ops.shutdown import stop_town, town_processes
    from gastown_tui.tmux.server import TownTmux
    from gastown_tui.town.layout import Town
    from tests.waiting import wait_for

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    env = {**os.environ, "GT_ROOT": str(town)}
    loop = subprocess.Popen([sys.executable, "-c", RESPAWNER, tmux_socket], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert loop.stdout is not None and loop.stdout.readline().strip() == "ready"
        tmux = TownTmux(tmux_socket)
        wait_for(lambda: tmux.has_session("hq-mayor"), what="the loop's first session")
        report = stop_town(Town(town), grace=0.5)
        assert report.ok, report.problems
        assert loop.wait(timeout=5) is not None, "the stubborn loop is still running"
        assert any(k["pid"] == loop.pid for k in report.killed), report.killed
        assert not town_processes(Town(town)) and not tmux.is_running()
    finally:
        if loop.poll() is None:
            loop.kill()
            loop.wait()
