"""Small checks of the control room's parts: coalescing, no-op updates, palette, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gastown_tui.app.messages import PanesPolled, PanesUpdated, PaneUpdated, TownChanged
from gastown_tui.app.panes import PaneTracker
from gastown_tui.model.snapshot import TownSnapshot
from tests.fixtures.towns import NOW, RecordedPanes, build_demo_town, settled_app
from tests.waiting import until

BIN = Path(sys.executable).parent


def test_high_frequency_messages_replace_older_ones():
    empty = TownSnapshot.empty("/t", taken_at=NOW)
    assert TownChanged(empty).can_replace(TownChanged(empty))
    assert PanesPolled(frozenset()).can_replace(PanesPolled(frozenset({"a"})))
    a, b, a_deep = PaneUpdated("gt-a", ("x",)), PaneUpdated("gt-b", ("y",)), PaneUpdated(
        "gt-a", ("z",), history=True)
    # a tick's batch replaces a queued one only when it carries news of every pane in it
    assert PanesUpdated((a, b)).can_replace(PanesUpdated((b,)))
    assert not PanesUpdated((a,)).can_replace(PanesUpdated((a, b)))
    assert not PanesUpdated((a,)).can_replace(PanesUpdated((a_deep,)))


def test_tracker_posts_only_followed_panes_and_never_an_unchanged_one():
    source = RecordedPanes({"gt-a": ["one"], "gt-b": ["two"], "hq-mayor": ["hi"]})
    tracker = PaneTracker()
    updates, polled = tracker.tick(source, followed={"gt-a"}, deep={"hq-mayor"})
    assert [(u.session, u.lines, u.history) for u in updates] == [
        ("gt-a", ("one",), False), ("hq-mayor", ("hi",), True)]
    assert polled is not None and polled.sessions == {"gt-a", "gt-b", "hq-mayor"}
    updates, polled = tracker.tick(source, followed={"gt-a"}, deep={"hq-mayor"})
    assert updates == [] and polled is None  # nothing changed: nothing to draw
    updates, _ = tracker.tick(source, followed={"gt-a", "gt-b"}, deep=set())
    assert [u.session for u in updates] == ["gt-b"]  # newly visible: its last screen


def test_tracker_follows_every_pane_until_the_screen_says_which():
    """Before the first snapshot is drawn nobody knows which tiles show: the first tick brings
    every session's screen, so the first frame draws tiles with their output."""
    source = RecordedPanes({"gt-a": ["one"], "gt-b": ["two"], "hq-mayor": ["hi"]})
    tracker = PaneTracker()
    updates, _ = tracker.tick(source, followed=None, deep=set())
    assert [(u.session, u.lines) for u in updates] == [
        ("gt-a", ("one",)), ("gt-b", ("two",)), ("hq-mayor", ("hi",))]


def test_tracker_reports_tmux_down_once():
    tracker = PaneTracker()
    first = tracker.failed("the town's tmux server is not running")
    assert first is not None and first.error
    assert tracker.failed("the town's tmux server is not running") is None
    updates, polled = tracker.tick(RecordedPanes({"gt-a": ["x"]}), {"gt-a"}, set())
    assert polled is not None and polled.error == "" and len(updates) == 1


async def test_pane_view_ignores_an_identical_screen():
    from textual.app import App

    from gastown_tui.widgets.pane_view import PaneView

    class Host(App[None]):
        def compose(self):
            yield PaneView()

    async with Host().run_test(size=(40, 10)) as pilot:
        view = pilot.app.query_one(PaneView)
        assert view.show(["\x1b[32mgreen\x1b[39m", "plain", ""])
        await pilot.pause()
        assert view.lines == ("\x1b[32mgreen\x1b[39m", "plain")  # blank rows below: not output
        refreshes = []
        view.refresh = lambda *a, **k: refreshes.append(a)  # type: ignore[method-assign]
        assert not view.show(["\x1b[32mgreen\x1b[39m", "plain", "", ""])
        assert refreshes == []


@pytest.fixture
def demo(tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    return build_demo_town(tmp_path, socket=tmux_socket, show_panes=True)


async def test_palette_offers_every_screen_and_the_agents_verbs(demo):
    from gastown_tui.app.commands import town_commands

    app = settled_app(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        await pilot.pause()
        titles = [c.title for c in town_commands(app, app.screen)]
    for expected in (":main", ":convoys", ":beads", ":mail", ":events", "nudge (n)",
                     "sling (s)", "nuke (^d)", "zoom gastown/furiosa", "nuke gastown/furiosa",
                     "nudge mayor", "attach gastown/nux", "convoy hq-cv-auth Auth rework"):
        assert expected in titles, expected


async def test_footer_greys_the_polecat_keys_while_no_polecat_is_selected(demo):
    """nuke needs a selected polecat: a wall filter that matches nobody greys its key (a
    click on it rings the bell instead of pressing it), and clearing it makes it live again."""
    from gastown_tui.widgets.footer import TownFooter
    from gastown_tui.widgets.polecat_wall import PolecatWall
    from gastown_tui.widgets.textual_internals import screen_text

    app = settled_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await pilot.press("2")  # the polecat wall
        await pilot.pause()
        footer = app.screen.query_one(TownFooter)

        def nuke():
            return next(e for e in footer.entries if e.action == "verb('nuke')")

        def nuke_cell() -> tuple[int, int]:
            start, _end, _ = next(s for s in footer.spans() if s[2].action == "verb('nuke')")
            return start, footer.region.y

        assert nuke().enabled
        wall = app.screen.query_one(PolecatWall)
        wall.set_filter("matches-no-polecat")
        await pilot.pause()
        await pilot.pause()
        assert wall.selected_agent is None and not nuke().enabled
        x, y = nuke_cell()
        assert "nuke" in screen_text(app).splitlines()[y][x:x + 8]
        bells: list[str] = []
        app.bell = lambda: bells.append("bell")  # type: ignore[method-assign]
        pressed: list[str] = []
        app.simulate_key = pressed.append  # type: ignore[method-assign]
        await pilot.click(TownFooter, offset=(x, 0))
        assert bells == ["bell"] and pressed == []  # greyed: not pressed
        await pilot.hover(TownFooter, offset=(x, 0))
        assert footer.tooltip == nuke().tooltip and "polecat" in str(footer.tooltip), \
            footer.tooltip  # why it is greyed
        wall.set_filter("")
        await pilot.pause()
        await pilot.pause()
        assert nuke().enabled
        await pilot.click(TownFooter, offset=(x, 0))
        assert pressed == [nuke().key]


async def test_a_filter_that_matches_no_polecat_says_so_not_that_there_are_none(demo):
    """The wall's empty line must not claim "no polecats" while a filter hides them all; the
    filter's text is shown inert (what was typed or pasted may hold escapes)."""
    from gastown_tui.widgets.polecat_wall import PolecatWall
    from gastown_tui.widgets.textual_internals import screen_text

    app = settled_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        wall = app.screen.query_one(PolecatWall)
        wall.set_filter("zz\x1b[2Jq")
        await pilot.pause()
        text = screen_text(app)
        assert "no polecat matches “zz" in text and "esc clears the filter" in text
        assert "no polecats —" not in text and "\x1b" not in text
        wall.set_filter("")
        await pilot.pause()
        assert "no polecat matches" not in screen_text(app)


async def test_the_wall_filter_box_comes_with_the_first_slash_and_5_in_a_calm_town(demo):
    """The main screen's first frame leaves out what it would hide: the wall's filter box
    is mounted by the first /, and works as before; with nothing needing you, 5 goes to the
    pane's events (it said the pane needs 100 columns)."""
    from dataclasses import replace

    from textual.widgets import Input

    from gastown_tui.widgets.polecat_wall import PolecatWall

    app = settled_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        screen = app.screen
        assert not screen.query("#wall-filter")
        app.snapshot = replace(app.snapshot, needs_you=())
        await pilot.press("5")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "event-log",
                    what="the events focused")
        await pilot.press("escape", "slash")
        box = await until(pilot, lambda: isinstance(app.focused, Input)
                          and app.focused.id == "wall-filter" and app.focused, what="the box")
        wall = screen.query_one(PolecatWall)
        polecat = wall.visible_agents[0].name
        await pilot.press(*polecat)
        await until(pilot, lambda: [a.name for a in wall.visible_agents] == [polecat],
                    what="the wall filtered")
        await pilot.press("escape")
        await until(pilot, lambda: not box.display and box.value == ""
                    and len(wall.visible_agents) > 1, what="the filter gone")


async def test_needs_you_and_the_gate_output_are_mounted_with_their_first_content(demo):
    """A calm town's panes have no list of what needs you and no gate output in their
    first frame; the first item comes with the list, under the cursor, the first gate with
    its output, and both hide again when they end."""
    from dataclasses import replace

    from textual.app import App, ComposeResult
    from textual.widgets import Log, OptionList

    from gastown_tui.model.town_model import TownModel
    from gastown_tui.widgets.needs_you import NeedsYou
    from gastown_tui.widgets.refinery_queue import RefineryQueue
    from gastown_tui.widgets.textual_internals import screen_text

    town = TownModel(demo.root, clock=lambda: NOW).load()
    assert town.needs_you and town.refineries  # (the demo town has both)
    calm = replace(town, needs_you=(), refineries=tuple(
        replace(r, stage="", mr="", log_tail=()) for r in town.refineries))
    busy = replace(calm, needs_you=town.needs_you[:1], refineries=(
        replace(calm.refineries[0], mr="gt-mr1", stage="gates:test",
                log_tail=("collected 12 items", "12 passed in 0.4s")), *calm.refineries[1:]))

    class Panes(App[None]):
        def compose(self) -> ComposeResult:
            yield NeedsYou(id="needs-you")
            yield RefineryQueue(id="refinery-queue")

        def show(self, snapshot) -> None:
            self.query_one(NeedsYou).show(snapshot)
            self.query_one(RefineryQueue).show(snapshot)

    app = Panes()
    async with app.run_test(size=(100, 40)) as pilot:
        app.show(calm)
        await pilot.pause()
        for hidden in ("#attention", "#gate-title", "#gate-log"):
            assert not app.query(hidden), hidden
        app.show(busy)
        options = await until(pilot, lambda: app.query("#attention")
                              and app.query_one("#attention", OptionList), what="the list")
        await until(pilot, lambda: options.display and options.highlighted == 0
                    and app.query_one(NeedsYou).selected_item == busy.needs_you[0],
                    what="the item shown, under the cursor")
        log = app.query_one("#gate-log", Log)
        await until(pilot, lambda: log.display and "12 passed in 0.4s" in screen_text(app),
                    what="the gate's output")
        app.show(calm)
        await until(pilot, lambda: not log.display and not options.display, what="hidden")
        assert app.query_one(NeedsYou).selected_item is None


async def test_help_and_quit_stay_on_the_footer_of_a_narrow_terminal(demo):
    """At 80x24 the main screen's verbs do not all fit: the cut falls on them, and `? help`
    and `q quit` stay whole at the right end, where a click on them still lands."""
    from gastown_tui.widgets.footer import TownFooter
    from gastown_tui.widgets.textual_internals import screen_text

    app = settled_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.wait_settled()
        await pilot.pause()
        footer = app.screen.query_one(TownFooter)
        assert footer.region.y == 23 and footer.region.width == 80
        spans = {entry.action: (start, end) for start, end, entry in footer.spans()}
        bottom = screen_text(app).splitlines()[23]
        assert bottom.rstrip().endswith("? help q quit")  # whole, at the right end
        for action in ("help", "quit"):
            start, end = spans[action]
            assert footer.entry_at(start).action == action  # where a click lands
            assert footer.entry_at(end - 1).action == action
        assert spans["help"][1] <= spans["quit"][0]  # help, then quit
        assert spans["quit"][1] >= 79  # at the right edge
        verbs = [end for action, (_, end) in spans.items() if action not in ("help", "quit")]
        assert verbs and max(verbs) <= spans["help"][0]  # the cut falls on the verbs


async def test_a_pane_tick_repaints_the_changed_tile_lines_not_the_whole_wall(demo):
    """Thirty live panes tick all the time: a new line on one polecat's screen repaints
    that tile's lines; the wall's frame (its "n/N working" subtitle, whose every set repaints
    the box and every tile in it) is left alone while the count stays the same."""
    from gastown_tui.widgets.polecat_wall import PolecatWall

    app = settled_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await pilot.pause()
        box, wall = app.screen.query_one("#wall-box"), app.screen.query_one(PolecatWall)
        subtitle = box.border_subtitle
        session = sorted(wall.visible_sessions())[0]
        repaints = []
        box.refresh = lambda *a, **k: repaints.append("box")  # type: ignore[method-assign]
        lines = (*app.panes.screens.get(session, ()), "a new line of output")
        app.post_message(PanesUpdated((PaneUpdated(session, lines),)))
        await pilot.pause()
        await pilot.pause()
        assert app.panes.screens[session] == lines  # the tick arrived and was drawn
        assert box.border_subtitle == subtitle and repaints == []


def test_snapshot_command_writes_text_and_svg(demo, tmp_path: Path):
    out = tmp_path / "main.txt"
    proc = subprocess.run([str(BIN / "gastown-tui"), "snapshot", "--town", str(demo.root),
                           "--size", "120x36", "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "2 Polecats" in text and "furiosa" in text and "Refinery queue" in text
    svg = tmp_path / "convoy.svg"
    proc = subprocess.run([str(BIN / "gastown-tui"), "snapshot", "--town", str(demo.root),
                           "--screen", "convoy:hq-cv-auth", "--out", str(svg)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and svg.read_text().startswith("<svg")


@pytest.mark.parametrize("args, message", [
    (["--screen", "polecat:gastown/nobody"], "no screen 'polecat:gastown/nobody'"),
    (["--size", "huge"], "bad --size 'huge'"),
    (["--out", "x.png"], "must end in .svg or .txt"),
])
def test_snapshot_command_fails_with_one_line(demo, tmp_path: Path, args, message):
    cmd = [str(BIN / "gastown-tui"), "snapshot", "--town", str(demo.root),
           "--out", str(tmp_path / "x.txt"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and message in proc.stderr


def test_no_town_is_one_line(tmp_path: Path):
    proc = subprocess.run([str(BIN / "gastown-tui"), "--town", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "not a Gas Town town" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_demo_subcommand_still_answers():
    """The whole demo runs in test_demo.py; here only that `gastown-tui demo` is wired."""
    proc = subprocess.run([str(BIN / "gastown-tui"), "demo", "--help"], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0 and "--until-landed" in proc.stdout


async def test_clicking_a_tile_selects_it(demo):
    from gastown_tui.widgets.polecat_wall import TILE_LINES, PolecatWall

    app = settled_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await pilot.pause()
        wall = app.screen.query_one(PolecatWall)
        agents = wall.visible_agents
        assert wall.selected == 0
        assert [a.name for a in agents] == ["obsidian", "toast", "furiosa"]
        # "needs you": its heading, obsidian, toast; "working": its heading, then furiosa
        await pilot.click(PolecatWall, offset=(10, 1 + 2 * TILE_LINES + 1 + 2))
        await pilot.pause()
        assert wall.selected == 2
        assert app.screen.selection().agent == agents[2]
        await pilot.click(PolecatWall, offset=(10, 1 + 2 * TILE_LINES))  # a heading: no change
        await pilot.pause()
        assert wall.selected == 2


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])
async def test_help_lists_the_keys_of_the_screen_under_it_whole(demo, size):
    """Computed from the main screen with a polecat selected: nothing it can do is dimmed
    as needing a selection, and the closing hint is there to its last word."""
    from gastown_tui.screens.help import HINT, HelpScreen
    from gastown_tui.widgets.textual_internals import screen_text

    app = settled_app(demo)
    async with app.run_test(size=size) as pilot:
        await app.wait_settled()
        await pilot.press("j", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {label: (available, note) for _, label, note, available in app.screen.rows}
        for label in ("nudge", "nuke", "zoom", "attach"):
            assert rows[label][0] is True, (label, rows[label])
        assert rows["convoy"] == (False, "mark beads with space on the beads screen (:beads) "
                                         "first")
        help_box = app.screen.query_one("#dialog")
        help_box.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert " ".join(HINT.split()[-8:]) in text


async def test_sling_on_the_beads_screen_takes_the_bead_under_the_cursor(demo):
    """It used to call itself until Python gave up (RecursionError)."""
    from gastown_tui.dialogs.sling import SlingModal
    from gastown_tui.widgets.keyed_table import KeyedTable

    app = settled_app(demo, start_screen="beads")
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        await pilot.pause()
        bead = app.screen.query_one(KeyedTable).cursor_key
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SlingModal)
        assert app.screen.chosen_beads == [bead] and app.screen.step == "target"


async def test_a_start_with_the_gc_paused_turns_it_on_once_the_first_frame_is_drawn(
        demo, monkeypatch: pytest.MonkeyPatch):
    """The CLI pauses the cyclic garbage collector for start-up (cli/tui.py); the app turns it
    back on, what start-up made frozen, once the first whole frame is drawn: not at the
    fallback timer (pushed out of reach here), and not never."""
    import gc

    from gastown_tui.app import app as app_module
    from tests.waiting import until

    monkeypatch.setattr(app_module, "GC_PAUSE_MAX_S", 600.0)
    app = settled_app(demo, gc_paused=True)
    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await app.wait_settled()
            await until(pilot, gc.isenabled, what="the garbage collector on again")
            assert gc.get_freeze_count() > frozen
    finally:
        gc.enable()
        gc.unfreeze()
