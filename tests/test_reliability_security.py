"""Files keep to the user's umask and are never world-writable; the event log never carries a
raw control character from user input. (No shell strings: tests/test_layering.py.)"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_helpers import soak

from gastown_tui.town.events import log_event, read_events

# Everything a running town writes, done in a child process under a given umask: install, a
# rig, bead writes, events, a heartbeat, a queued nudge, a refinery-style state file.
MAKE_TOWN = """
import os, sys
from pathlib import Path
os.umask(int(sys.argv[1], 8))
root, upstream = Path(sys.argv[2]), sys.argv[3]
from gastown_tui.ops.install import install
from gastown_tui.ops.rig import rig_add
from gastown_tui.ops.context import open_store
from gastown_tui.ops.sessions import write_heartbeat
from gastown_tui.ops.nudge import enqueue
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import write_json
from gastown_tui.town.layout import Town
install(root, name="modes", owner="o@example.com")
town = Town(root)
rig_add(town, "gastown", upstream)
store = open_store(town, actor="tester")
bead = store.create("a bead", prefix="gt")
store.update(bead["id"], append_notes="note", add_labels=["x"])
store.add_comment(bead["id"], "comment")
store.close_connection()
log_event(root, "test", actor="tester", payload={"x": 1})
write_heartbeat(town, "gt-toast", "working")
enqueue(town, "gt-toast", "hello", sender="tester")
write_json(root / "gastown" / ".runtime" / "refinery" / "state.json", {"stage": "idle"})
"""

OURS = ("mayor/town.json", "mayor/rigs.json", "settings/config.json", "settings/escalation.json",
        "settings/control-room.toml", "CLAUDE.md", ".events.jsonl", ".beads/beads.db",
        "gastown/config.json", "gastown/settings/config.json", "gastown/.gitignore",
        ".runtime/heartbeats/gt-toast.json", "gastown/.runtime/refinery/state.json")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_town_files_follow_the_umask_and_none_is_world_writable(tmp_path: Path, upstream: Path,
                                                                 clean_env, umask: int):
    root = tmp_path / "town"
    subprocess.run([sys.executable, "-c", MAKE_TOWN, oct(umask), str(root), str(upstream)],
                   check=True, env=clean_env, timeout=60)
    world_writable, too_open = [], []
    for path in [root, *root.rglob("*")]:
        st_ = path.lstat()
        if stat.S_ISLNK(st_.st_mode):
            continue  # a symlink's own mode means nothing (AGENTS.md -> CLAUDE.md)
        mode = stat.S_IMODE(st_.st_mode)
        if mode & 0o002:
            world_writable.append(f"{path.relative_to(root)} {oct(mode)}")
        # libgit2 writes object files 0444 whatever the umask (git itself would give 0400
        # under 077); their directories follow the umask, so nobody else can reach them.
        allowed = 0o444 if ".repo.git/objects/" in str(path) and path.is_file() else 0
        if mode & umask & ~allowed:
            too_open.append(f"{path.relative_to(root)} {oct(mode)}")
    assert world_writable == []
    assert too_open == [], f"bits the umask {oct(umask)} forbids"
    assert stat.S_IMODE(root.stat().st_mode) & umask == 0
    for rel in OURS:
        mode = stat.S_IMODE((root / rel).stat().st_mode)
        assert mode == 0o666 & ~umask, (rel, oct(mode))  # what open() gives: not mkstemp's 0600
    queued = next((root / ".runtime" / "nudge_queue" / "gt-toast").glob("*.json"))
    assert stat.S_IMODE(queued.stat().st_mode) & 0o077 & umask == 0


def test_write_json_keeps_the_mode_of_an_existing_file(tmp_path: Path):
    from gastown_tui.town.jsonfile import write_json

    path = tmp_path / "settings.json"
    write_json(path, {"a": 1})
    path.chmod(0o600)
    write_json(path, {"a": 2})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"a": 2}


# ---------------------------------------------------------------------------- event log
NASTY = ["\x00", "\x1b[2J", "\x1b]0;pwned\x07", "\r", "\n", "\t", "\x7f", "\x9b", "\x85",
         "\u2028", "\u2029", "\x08", "\x04", "\udcff", "\ud800", "\ufeff", "\u202e"]
# A high surrogate right before a low one is read back as one character (JSON's pair escape),
# so the generated text never has that pair: anything else must come back exactly.
user_text = st.lists(st.text(max_size=8) | st.sampled_from(NASTY), max_size=10).map("".join) \
    .filter(lambda t: not re.search("[\ud800-\udbff][\udc00-\udfff]", t))


def _raw_controls(data: bytes) -> list[str]:
    """Control characters (C0 except the line ends, DEL, C1) and line separators in the file."""
    text = data.decode("utf-8")  # a lone surrogate would not even have been written
    lines = text.split("\n")
    assert lines[-1] == ""
    bad = []
    for line in lines[:-1]:
        bad += [repr(c) for c in line
                if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")]
    return bad


@settings(max_examples=soak(100, 1000), deadline=None)
@given(actor=user_text, text=user_text, key=user_text)
def test_event_log_escapes_everything_a_user_can_type(tmp_path_factory, actor, text, key):
    town = tmp_path_factory.mktemp("events")
    payload = {"text": text, key: [text, {"nested": text}], "n": 1}
    log_event(town, "nudge", actor=actor, payload=payload)
    log_event(town, "mail", actor="x", payload={"subject": text})
    data = (town / ".events.jsonl").read_bytes()
    assert b"\x00" not in data
    assert _raw_controls(data) == []
    events = list(read_events(town))
    assert [e["type"] for e in events] == ["nudge", "mail"]  # two whole lines, no more
    assert events[0]["actor"] == actor and events[0]["payload"] == payload
    assert events[1]["payload"] == {"subject": text}


def test_event_log_lines_stay_one_line_each_for_the_worst_input(town: Path):
    worst = "".join(NASTY) + "".join(chr(c) for c in range(0x20)) + "".join(
        chr(c) for c in range(0x7f, 0xa0))
    log_event(town, "nudge", actor=worst, payload={worst: worst})
    data = (town / ".events.jsonl").read_bytes()
    assert b"\x00" not in data and _raw_controls(data) == []
    last = list(read_events(town))[-1]
    assert last["actor"] == worst and last["payload"] == {worst: worst}
    assert os.path.getsize(town / ".events.jsonl") == len(data)


log_lines = st.lists(st.one_of(
    st.builds(lambda n: json.dumps({"type": "t", "n": n}), st.integers(0, 999)),
    st.sampled_from(["", "  ", "garbage", "[1]", '{"half": ', "\u00e9\u2028", "cr\rin"])),
    max_size=40)


@settings(max_examples=soak(150, 1500), deadline=None)
@given(lines=log_lines, ending=st.sampled_from(["", "\n", "\n\n"]), limit=st.integers(1, 45))
def test_event_log_tail_is_the_end_of_the_whole_log(tmp_path_factory, lines, ending, limit):
    """The control room reads only the last `limit` lines of a large log; what it gets, corrupt
    lines and their line numbers included, is exactly the end of a full read."""
    town = tmp_path_factory.mktemp("tail")
    text = "\n".join(lines) + ending
    (town / ".events.jsonl").write_text(text, encoding="utf-8")
    whole = text.encode().splitlines()
    kept = {n for n in range(max(1, len(whole) - limit + 1), len(whole) + 1)}
    expected = [e for n, e in zip(_numbers(list(read_events(town)), whole), read_events(town),
                                  strict=True) if n in kept]
    assert list(read_events(town, limit=limit)) == expected


def _numbers(events: list[dict], lines: list[bytes]) -> list[int]:
    """The line number of each event of a full read (blank lines yield nothing)."""
    numbers = [n for n, raw in enumerate(lines, start=1) if raw.strip()]
    assert len(numbers) == len(events)
    return numbers
