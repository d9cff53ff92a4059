"""Pictures of every screen and dialog on the demo fixture town (pytest-textual-snapshot).

The town is real (built on disk by the verbs, real tmux sessions for liveness); only what the
panes show is recorded (`RecordedPanes`). The clock is fixed with time-machine (`tick=False`),
and `live=False` renders one settled frame: no watcher, no timers, no blinking cursor.
Update the pictures with `pytest tests/test_app_snapshots.py --snapshot-update` and look at
them (snapshot_report.html) before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine

from gastown_tui.app import make_app
from tests.fixtures.towns import NOW, DemoTown, RecordedPanes, build_demo_town, settled_app

WIDE = (200, 60)
NARROW = (80, 24)
MEDIUM = (120, 36)


@pytest.fixture
def demo(tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch) -> DemoTown:
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    return build_demo_town(tmp_path, socket=tmux_socket)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def app_for(demo: DemoTown, **options):
    return settled_app(demo, **options)


async def settle(pilot) -> None:
    from textual.widgets import DataTable

    from gastown_tui.widgets.textual_internals import table_sizes_pending
    from tests.waiting import until

    await pilot.app.wait_settled()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    # tables measure their columns on idle: a busy first second leaves them squeezed
    await until(pilot, lambda: not any(table_sizes_pending(t)
                                       for t in pilot.app.screen.query(DataTable)))


def pressing(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    return run_before


@pytest.mark.parametrize("size", [NARROW, (120, 35), (160, 48), WIDE],
                         ids=["80x24", "120x35", "160x48", "200x60"])
def test_main_screen(demo, frozen, snap_compare, size):
    assert snap_compare(app_for(demo), terminal_size=size, run_before=settle)


@pytest.mark.parametrize(("count", "size"), [(10, (160, 48)), (30, (200, 60))],
                         ids=["10-polecats", "30-polecats"])
def test_wall_in_attention_order(tmp_path, tmux_socket, monkeypatch, frozen, snap_compare,
                                 count, size):
    """The crowded towns (tests/fixtures/crowd.py): stalled, zombie and blocked first, then
    the working, the done and idle folded to one line."""
    from tests.fixtures.crowd import TEN, build_crowd_town, thirty

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    crowd = build_crowd_town(tmp_path, TEN if count == 10 else thirty(), socket=tmux_socket)
    app = make_app(crowd.root, clock=lambda: NOW, live=False,
                   observer_factory=lambda root: crowd.panes())
    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_main_screen_needs_you_focused_shows_its_item_keys(demo, frozen, snap_compare):
    """5 focuses Needs-you: the footer shows what the escalation under the cursor offers."""
    assert snap_compare(app_for(demo), terminal_size=(160, 48), run_before=pressing("5"))


def test_main_screen_read_only_hides_the_verbs(demo, frozen, snap_compare):
    assert snap_compare(app_for(demo, read_only=True), terminal_size=MEDIUM, run_before=settle)


def test_main_screen_with_tmux_down(tmp_path, monkeypatch, frozen, snap_compare):
    monkeypatch.setenv("GT_TMUX_SOCKET", "gttest-nobody-listens")
    demo = build_demo_town(tmp_path, socket=None)
    app = make_app(demo.root, clock=lambda: NOW, live=False,
                   observer_factory=lambda root: RecordedPanes({}))
    assert snap_compare(app, terminal_size=MEDIUM, run_before=settle)


SCREENS = {"polecat": "polecat:gastown/furiosa", "convoys": "convoys",
           "convoy": "convoy:hq-cv-auth", "bead": "bead:gt-a3f", "beads": "beads", "mail": "mail",
           "events": "events"}


@pytest.mark.parametrize("spec", list(SCREENS.values()), ids=list(SCREENS))
def test_screen(demo, frozen, snap_compare, spec):
    app = app_for(demo, start_screen=spec)
    assert snap_compare(app, terminal_size=MEDIUM, run_before=settle)


def test_polecat_zoom_narrow(demo, frozen, snap_compare):
    app = app_for(demo, start_screen="polecat:gastown/furiosa")
    assert snap_compare(app, terminal_size=NARROW, run_before=settle)


def test_nudge_modal(demo, frozen, snap_compare):
    # j j: furiosa, under obsidian and toast (the wall is in attention order)
    assert snap_compare(app_for(demo), terminal_size=MEDIUM, run_before=pressing("j", "j", "n"))


def test_sling_modal_bead_picker(demo, frozen, snap_compare):
    keys = pressing("s", "d", "o", "c")
    assert snap_compare(app_for(demo), terminal_size=MEDIUM, run_before=keys)


def test_sling_modal_target_picker(demo, frozen, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=MEDIUM, run_before=pressing("s", "enter"))


def test_sling_modal_confirm(demo, frozen, snap_compare):
    keys = pressing("s", "enter", "enter")
    assert snap_compare(app_for(demo), terminal_size=MEDIUM, run_before=keys)


def test_nuke_modal_lists_what_would_be_lost(demo, frozen, snap_compare):
    keys = pressing("j", "j", "ctrl+d")  # furiosa: commits not merged, a file not committed
    assert snap_compare(app_for(demo), terminal_size=MEDIUM, run_before=keys)


def test_confirm_modal(demo, frozen, snap_compare):
    from gastown_tui.dialogs.confirm import ConfirmModal

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.push_screen(ConfirmModal("Start the Mayor?", "start"))
        await pilot.pause()

    assert snap_compare(app_for(demo), terminal_size=MEDIUM, run_before=run_before)


def test_reject_prompt(demo, frozen, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=MEDIUM, run_before=pressing("4", "x"))


def test_help_screen(demo, frozen, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=MEDIUM, run_before=pressing("j", "?"))


def test_wall_with_real_claude_polecats(tmp_path, tmux_socket, monkeypatch, frozen,
                                        snap_compare):
    """Screens recorded from the real Claude Code: furiosa's tile shows its work (not
    Claude's input box and footer); nux, held by the trust dialog, reads as blocked."""
    from tests.fixtures.towns import PANE_SESSIONS, read_screen

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    demo = build_demo_town(tmp_path, socket=tmux_socket,
                           runtimes={"furiosa": "claude", "nux": "claude"})
    screens = {session: read_screen(session) for session in PANE_SESSIONS}
    screens["gt-furiosa"] = read_screen("claude-working")
    screens["gt-nux"] = read_screen("claude-trust")
    app = make_app(demo.root, clock=lambda: NOW, live=False,
                   observer_factory=lambda root: RecordedPanes(screens))
    assert snap_compare(app, terminal_size=(160, 48), run_before=settle)


def test_wall_with_real_codex_gemini_and_opencode_polecats(tmp_path, tmux_socket, monkeypatch,
                                                          frozen, snap_compare):
    """Screens recorded from the real Codex (furiosa), Gemini CLI (nux) and OpenCode (slit):
    each tile shows the agent's last work, not the CLI's composer, hint row, workspace
    footer or input box."""
    from tests.fixtures.towns import PANE_SESSIONS, read_screen

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    demo = build_demo_town(tmp_path, socket=tmux_socket,
                           runtimes={"furiosa": "codex", "nux": "gemini", "slit": "opencode"})
    screens = {session: read_screen(session) for session in PANE_SESSIONS}
    screens["gt-furiosa"] = read_screen("codex-working")
    screens["gt-nux"] = read_screen("gemini-working")
    screens["gt-slit"] = read_screen("opencode-working")
    app = make_app(demo.root, clock=lambda: NOW, live=False,
                   observer_factory=lambda root: RecordedPanes(screens))
    assert snap_compare(app, terminal_size=(160, 48), run_before=settle)
