"""The control room under faults (issue 9): the real app on a real town and a private tmux server.

Each test drives `make_app` with Textual's Pilot while one thing goes wrong: the tmux server is
killed and a new one started, the town directory is renamed away and back, the bead store is
locked for 10 s, a pane floods 10 MB, an agent prints broken escape sequences. What is asserted
is what the user sees: the screen as rendered (the text of `export_screenshot`), a banner
while the fault lasts and none after, keys answered throughout, and the panes and beads live
again afterwards. Waits poll with deadlines; nothing sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import html
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Killable, fault_seed, soak
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.geometry import Region

from gastown_tui.app import make_app
from gastown_tui.app.panes import HISTORY_LINES
from gastown_tui.model.snapshot import AgentView, TownSnapshot
from gastown_tui.screens.help import HelpScreen
from gastown_tui.screens.main import MainScreen
from gastown_tui.screens.polecat import PolecatScreen
from gastown_tui.town.layout import Town
from gastown_tui.widgets.format import ansi_text
from gastown_tui.widgets.header import TownBanners
from gastown_tui.widgets.pane_view import PaneView
from gastown_tui.widgets.polecat_wall import PolecatWall
from tests.waiting import until

SIZE = (200, 60)
PANE_ROWS = 50  # TownTmux.new_session's default height
KEY_DEADLINE = 15.0  # a frozen control room, not a slow one: a loaded 2-core machine took 3 s (speed is benchmarks' job)
BANNER = {"tmux_down": "tmux down", "town_missing": "Town missing",
          "store_locked": "Bead store locked"}
LOCK_SECONDS = 10.0


# --------------------------------------------------------------------------- the town
@pytest.fixture
def town(rig_town: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch) -> Town:
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    for var in ("GT_ROLE", "BD_ACTOR", "BEADS_ACTOR", "GT_ROOT", "GT_RIG"):
        monkeypatch.delenv(var, raising=False)
    return Town(rig_town)


@dataclass(frozen=True)
class Polecat:
    address: str
    session: str
    bead: str
    title: str


def add_polecat(town: Town, tmux, script: str, *, title: str = "Paint the water tower"
                ) -> Polecat:
    """A polecat as sling leaves one (worktree, agent bead, work on its hook) whose session
    runs `sh -c script` instead of an agent, so the test decides what its pane prints."""
    from gastown_tui.ops.agents import ensure_agent_bead
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.worktrees import create_polecat_worktree
    from gastown_tui.town.names import Address

    rig = town.rig("gastown")
    addr = Address("polecat", rig.name, "nux")
    store = open_store(town, "mayor")
    try:
        bead = store.create(title, prefix=rig.prefix)["id"]
        (rig.polecats_dir / "nux").mkdir(parents=True, exist_ok=True)
        create_polecat_worktree(rig, "nux", bead)
        agent = ensure_agent_bead(store, addr, rig.prefix, state="working")
        store.update(agent["id"], description_fields={"agent_state": "working",
                                                      "hook_bead": bead})
        store.update(bead, changes={"status": "hooked", "assignee": str(addr)})
    finally:
        store.close_connection()
    session = addr.session_name(rig.prefix)
    tmux.new_session(session, town.root, ["sh", "-c", script])
    return Polecat(str(addr), session, bead, title)


def retitle(town: Town, bead: str, title: str) -> None:
    from gastown_tui.ops.context import open_store

    store = open_store(town, "mayor")
    try:
        store.update(bead, changes={"title": title})
    finally:
        store.close_connection()


def respawn(tmux, session: str, script: str) -> None:
    """Replace what the session runs (same session, same tile)."""
    tmux.run("respawn-pane", "-k", "-t", session, script)


# --------------------------------------------------------------------------- what the user sees
_SVG_TEXT = re.compile(
    r'<text [^>]*?x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"[^>]*>(.*?)</text>', re.S)


def screen_text(app) -> str:
    """The screen as the user sees it, one line per row: the text of the SVG screenshot put
    back in its cells (which also proves that drawing the whole screen does not raise)."""
    chunks = [(float(x), float(y), float(length), text)
              for x, y, length, raw in _SVG_TEXT.findall(app.export_screenshot())
              if (text := html.unescape(raw).replace("\xa0", " ").strip("\n"))]
    cell = next((length / len(text) for _, _, length, text in chunks if text), 1.0)
    rows: dict[float, str] = {}
    for x, y, _, text in sorted(chunks, key=lambda c: (c[1], c[0])):
        row = rows.get(y, "")
        rows[y] = row + " " * max(0, round(x / cell) - cell_len(row)) + text
    return "\n".join(rows[y] for y in sorted(rows))


def banner_kinds(app) -> set[str]:
    """The banners on screen: shown by the banner widget and legible in the rendered screen."""
    widget = app.screen.query_one(TownBanners)
    if not widget.display or not widget.has_class("-shown"):
        return set()
    text = screen_text(app)
    return {kind for kind, words in BANNER.items() if f"⚠ {words}:" in text}


async def answers_keys(app, pilot, deadline: float = KEY_DEADLINE) -> float:
    """`?` opens the help, escape closes it, within `deadline`: the control room is alive."""
    under = app.screen

    async def round_trip() -> None:
        await pilot.press("question_mark")
        while not isinstance(app.screen, HelpScreen):
            await pilot.pause(0.02)
        await pilot.press("escape")
        while isinstance(app.screen, HelpScreen):
            await pilot.pause(0.02)

    started = time.monotonic()
    await asyncio.wait_for(round_trip(), deadline)
    assert app.screen is under
    return time.monotonic() - started


def shows(app, *words: str) -> bool:
    text = screen_text(app)
    return all(word in text for word in words)


# --------------------------------------------------------------------------- 1. tmux server
async def test_tmux_server_killed_and_restarted(town: Town, tmux, tmux_socket: str):
    polecat = add_polecat(town, tmux, "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done")
    app = make_app(town)
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: shows(app, "│ tick-"), what="the pane on its tile")
        assert not banner_kinds(app)

        subprocess.run(["tmux", "-L", tmux_socket, "kill-server"], check=True,
                       capture_output=True)
        await until(pilot, lambda: "tmux_down" in banner_kinds(app), timeout=15,
                    what="a tmux-down banner")
        await answers_keys(app, pilot)

        tmux.new_session(polecat.session, town.root,
                         ["sh", "-c", "echo back-on-a-new-server; exec sleep 600"])
        await until(pilot, lambda: not banner_kinds(app) and shows(app, "│ back-on-a-new-server"),
                    timeout=20, what="no banner and the new server's pane on the tile")
        await answers_keys(app, pilot)


# --------------------------------------------------------------------------- 2. town directory
async def test_town_directory_renamed_and_restored(town: Town, tmux):
    polecat = add_polecat(town, tmux, "echo pane-ready; exec sleep 600")
    root = town.root
    moved = root.with_name(root.name + ".moved")
    app = make_app(town)
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: shows(app, polecat.title, "│ pane-ready"), what="the tile")
        root.rename(moved)
        try:
            await until(pilot, lambda: banner_kinds(app) == {"town_missing"}, timeout=15,
                        what="a town-missing banner")
            assert shows(app, polecat.title)  # the last known town stays under the banner
            await answers_keys(app, pilot)
        finally:
            if moved.exists():
                moved.rename(root)
        await until(pilot, lambda: not banner_kinds(app), timeout=15,
                    what="the banner gone once the town is back")
        retitle(town, polecat.bead, "Repaint the water tower in red")
        await until(pilot, lambda: shows(app, "Repaint the water tower in red"), timeout=15,
                    what="a bead change after the town came back")
        await answers_keys(app, pilot)


# --------------------------------------------------------------------------- 3. store locked
# A reader in exclusive locking mode: in WAL mode (the store's) nothing else blocks readers,
# and the control room only reads. SQLite grants it only while no other connection is open,
# so it is taken before the control room starts (as when the room opens, or reopens the store
# after the town came back, while some process holds it). After LOCK_SECONDS the holder dies
# without closing (killed, or crashed): the lock goes with it and no file changes, so nothing
# tells the room the store is free again.
HOLD_EXCLUSIVE = """
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("PRAGMA locking_mode=EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
print("released", flush=True)
os._exit(0)
"""


async def test_store_locked_for_ten_seconds(town: Town, tmux):
    polecat = add_polecat(town, tmux, "echo pane-ready; exec sleep 600")
    holder = Killable([sys.executable, "-c", HOLD_EXCLUSIVE, str(town.db_path),
                       str(LOCK_SECONDS)])
    try:
        holder.wait_output(b"locked", timeout=20)
        locked_at = time.monotonic()
        app = make_app(town)
        async with app.run_test(size=SIZE) as pilot:
            # The banner comes while the lock is held, not "loading the town…" until it ends.
            await until(pilot, lambda: banner_kinds(app) == {"store_locked"},
                        timeout=LOCK_SECONDS - 2, what="a store-locked banner during the lock")
            assert holder.proc.poll() is None and time.monotonic() - locked_at < LOCK_SECONDS
            assert shows(app, "town testtown") and not shows(app, "loading the town")
            await answers_keys(app, pilot)
            # Released, with nothing else in the town changing: the room notices by itself.
            await until(pilot, lambda: not banner_kinds(app) and shows(app, polecat.title),
                        timeout=LOCK_SECONDS + 15,
                        what="the banner gone and the town read after the lock")
            retitle(town, polecat.bead, "Repaint the water tower in blue")
            await until(pilot, lambda: shows(app, "Repaint the water tower in blue"),
                        timeout=15, what="a bead change after the lock")
            await answers_keys(app, pilot)
    finally:
        holder.finish()


HOLD_WRITE = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE meta SET value = value WHERE key = 'seq'")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
print("released", flush=True)
time.sleep(60)
"""


async def test_store_write_locked_while_the_room_runs(town: Town, tmux):
    """A writer holding the store (a stuck `bd`) while the room is open: readers are not
    blocked in WAL mode, so no banner and no stall; a verb's write waits for it and then
    shows up."""
    polecat = add_polecat(town, tmux, "echo pane-ready; exec sleep 600")
    app = make_app(town)
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: shows(app, polecat.title), what="the tile")
        holder = Killable([sys.executable, "-c", HOLD_WRITE, str(town.db_path), "3"])
        try:
            holder.wait_output(b"locked", timeout=20)
            write = asyncio.create_task(asyncio.to_thread(
                retitle, town, polecat.bead, "Repaint the water tower in green"))
            await answers_keys(app, pilot)
            assert not banner_kinds(app)
            await asyncio.wait_for(write, 30)  # it waited for the writer's lock
            assert holder.wait_output(b"released", timeout=20)
            await until(pilot, lambda: shows(app, "Repaint the water tower in green"),
                        timeout=15, what="the write made after the lock")
            assert not banner_kinds(app)
        finally:
            holder.finish()


# --------------------------------------------------------------------------- 4. output flood
FLOODS = {
    # 7.5 MB of random bytes as 10 MB of base64 lines
    "lines": "head -c 7500000 /dev/urandom | base64; echo {marker}; exec sleep 600",
    # 10 MB without a newline: one logical line that tmux wraps (and -J joins)
    "one-line": "head -c 10000000 /dev/zero | tr '\\0' x; echo; echo {marker}; exec sleep 600",
}


@pytest.mark.parametrize("zoomed", [False, True], ids=["wall", "zoomed"])
@pytest.mark.parametrize("flood", sorted(FLOODS))
async def test_pane_floods_ten_megabytes(town: Town, tmux, flood: str, zoomed: bool):
    polecat = add_polecat(town, tmux, "echo before-the-flood; exec sleep 600")
    marker = f"FLOOD-OVER-{flood}"
    app = make_app(town)
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: shows(app, "│ before-the-flood"), what="the pane")
        if zoomed:  # the polecat screen follows the pane with HISTORY_LINES of scrollback
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, PolecatScreen), what="zoom")
            view = app.screen.query_one(PaneView)
            await until(pilot, lambda: shows(app, "before-the-flood"), what="the zoomed pane")

        def arrived() -> bool:
            if zoomed:
                return bool(view.lines) and marker in view.lines[-1]
            return shows(app, f"│ {marker}")

        respawn(tmux, polecat.session, FLOODS[flood].format(marker=marker))
        started = time.monotonic()
        kept = []
        while not arrived():
            assert time.monotonic() - started < 90, f"{marker} never reached the screen"
            await answers_keys(app, pilot)  # throughout the flood
            screen = app.pane_screens.get(polecat.session, ())
            history = app.pane_history.get(polecat.session, ())
            kept.append((len(screen), sum(map(len, screen)), len(history),
                         sum(map(len, history))))
            await pilot.pause(0.1)
        # What the room keeps of a pane is a screen (or HISTORY_LINES of scrollback), however
        # much it printed: rows x columns (tmux -J joins a wrapped line), plus colour codes.
        assert kept, "the flood was over before a key could be pressed"
        for screen_lines, screen_chars, history_lines, history_chars in kept:
            assert screen_lines <= PANE_ROWS and screen_chars <= 2 * PANE_ROWS * SIZE[0]
            assert history_lines <= HISTORY_LINES + PANE_ROWS
            assert history_chars <= 2 * 2000 * SIZE[0]  # tmux keeps 2000 rows of history
        if zoomed:
            assert len(view.lines) <= HISTORY_LINES + PANE_ROWS
            await until(pilot, lambda: shows(app, marker), what="the flood's end, zoomed")
        await answers_keys(app, pilot)


async def test_zoomed_pane_follows_its_newest_output(town: Town, tmux):
    add_polecat(town, tmux, "seq 1 300 | sed 's/^/history line /'; echo NEWEST-LINE; "
                            "exec sleep 600")
    app = make_app(town)
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: shows(app, "│ NEWEST-LINE"), what="the tile")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PolecatScreen), what="zoom")
        view = app.screen.query_one(PaneView)
        await until(pilot, lambda: "NEWEST-LINE" in view.lines[-1:][0] if view.lines else False,
                    what="the scrollback in the view")
        await until(pilot, lambda: shows(app, "NEWEST-LINE"), timeout=3,
                    what="the zoomed pane scrolled to its newest line")


# --------------------------------------------------------------------------- 5. broken escapes
GARBAGE = (b"\033[999999999m\033[38;5;999m\033]0;title\a\033[?1049h\x9b\033P garbage \xff\xfe\033["
           b"\033[38;2;300;-1;99999mbad rgb\033[4:3m\033[58;5;200mcurly underline"
           b"\033]8;;http://example.com\033\\a link\033]8;;\033\\\033[1;2;3;4;5;7;8;9;53m"
           b"\033[99999999999999999999C\033[-5;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;H"
           b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x90\x28\xbc\xed\xa0\x80 wide \xe5\xad\x97\xf0\x9f\x99\x82"
           b"\xcc\x81\xe2\x80\x8b\t\ttabs\r\x08\x08\x7f\x00\x07\x1b")
# Ends whatever the garbage left open (CAN aborts a sequence, ST a string), puts back the
# character sets, attributes and modes it may have changed (scroll region, origin, insert,
# wrap) and goes to the bottom row, so the lines after it are the pane's last lines, in
# plain text to the terminal too, whatever the random part did.
RESET = (b"\x18\033\\\x0f\033(B\033)B\033[0m\033[r\033[?6l\033[4l\033[?7h\033[999;1H\r\n")
AFTER = (b"\033[1;3;4;7;9;53;38;5;196;48;2;1;2;3mstyled after the garbage\r\n"
         b"\033[0mplain line after the garbage\r\n")


async def test_agent_prints_invalid_escape_sequences(town: Town, tmux, tmp_path: Path):
    seed = fault_seed()
    noise = random.Random(seed).randbytes(4096)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(GARBAGE + noise + RESET + AFTER)
    polecat = add_polecat(town, tmux, "echo pane-ready; exec sleep 600")
    app = make_app(town)
    async with app.run_test(size=SIZE) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: shows(app, "pane-ready"), what="the pane")
        respawn(tmux, polecat.session, f"cat '{garbage}'; exec sleep 600")
        await until(pilot, lambda: shows(app, "│ styled after the garbage",
                                          "│ plain line after the garbage"),
                    timeout=20, what=f"the lines after the garbage on the tile (seed {seed})")
        await answers_keys(app, pilot)
        # the zoomed pane renders the garbage itself, with its scrollback
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PolecatScreen), what="zoom")
        view = app.screen.query_one(PaneView)
        await until(pilot, lambda: any("plain line after the garbage" in line
                                       for line in view.lines[-3:]),
                    timeout=20, what=f"the garbage in the zoomed pane (seed {seed})")
        await until(pilot, lambda: shows(app, "plain line after the garbage"),
                    timeout=20, what=f"the zoomed pane's last line on screen (seed {seed})")
        for offset in range(0, len(view.lines), 10):  # every line, as the user scrolls
            view.scroll_to(y=offset, animate=False, immediate=True)
            screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), what="back")
        await answers_keys(app, pilot)


# --------------------------------------------------------------------------- fuzz: pane lines
FUZZ = settings(max_examples=soak(150, 3000), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
FRAGMENTS = st.sampled_from([
    "\x1b[", "\x1b]", "\x1bP", "\x1b\\", "\x1b", "\x9b", "\x9d", "\x90", "\x07", "\x18", "\x00",
    "\t", "\r", "\n", "\x08", "\x7f", ";", ":", "?", "m", "H", "J", "K", "h", "l", "38;5;",
    "48;2;", "58:2::", "999999999999999999999", "-1", "0", "1", "4:3", "?1049h", "8;;http://x",
    "\u200b", "\u0301", "\u200d", "字", "🙂", "👩‍👩‍👧", "\ufffd", "\ufeff", "\u202e",
])
ANSI_LINES = (st.lists(FRAGMENTS | st.text(max_size=6), max_size=60).map("".join)
              | st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace"))
              | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))


class PaneFuzzApp(App[None]):
    """The polecat wall (one tile) and a pane view: the two widgets that draw pane lines."""

    CSS = "PolecatWall { height: 6; } PaneView { height: 12; }"

    def compose(self) -> ComposeResult:
        yield PolecatWall()
        yield PaneView()

    def on_mount(self) -> None:
        agent = AgentView(address="gastown/polecats/nux", role="polecat", rig="gastown",
                          name="nux", session="gt-nux", state="working", hooked_bead="gt-1",
                          hooked_title="Fuzz")
        snapshot = TownSnapshot(name="fuzz", root="/fuzz", taken_at=datetime.now(UTC),
                                agents=(agent,))
        self.query_one(PolecatWall).show(snapshot, {}, {})


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def drawn_text(strips) -> str:
    return "".join(seg.text for strip in strips for seg in strip if not seg.control)


async def test_pane_lines_with_any_escapes_render():
    """Any line a pane could hold draws without an exception, at the widget's width, and
    nothing of it reaches the terminal as a control character (an ESC or a C1 CSI left over
    from a sequence the parser did not understand would be a command to the user's
    terminal)."""
    app = PaneFuzzApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tile, view = app.query_one(PolecatWall), app.query_one(PaneView)

        @FUZZ
        @given(lines=st.lists(ANSI_LINES, max_size=8))
        def draw(lines: list[str]) -> None:
            for line in lines:
                text = ansi_text(line)
                assert not CONTROL.search(text.plain), (line, text.plain)
                assert not CONTROL.search(drawn_text([list(text.render(app.console))]))
            tile.set_screen("gt-nux", tuple(lines), 0)
            tile.refresh()
            view.show(lines)
            view.refresh()
            for widget in (tile, view):  # what the compositor asks each widget for
                strips = widget.render_lines(Region(0, 0, widget.size.width,
                                                    widget.size.height))
                assert all(strip.cell_length == widget.size.width for strip in strips)
                assert not CONTROL.search(drawn_text(strips)), lines

        draw()
        await pilot.pause()
        app.export_screenshot()
