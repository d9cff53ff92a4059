"""The wall at 10–30 polecats, as an operator sees it (Pilot, on real fixture towns): what needs
a person first, the working next, done and idle folded to one line; the tile under the cursor
stays put while states change; the Mayor's lines wrap; the header keeps its words at 80x24."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import time_machine

from gastown_tui.app import make_app
from tests.fixtures.crowd import TEN, build_crowd_town, thirty
from tests.fixtures.towns import NOW, build_demo_town, settled_app


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ten(tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    return build_crowd_town(tmp_path, TEN, socket=tmux_socket)


def crowd_app(crowd):
    return make_app(crowd.root, clock=lambda: NOW, live=False,
                    observer_factory=lambda root: crowd.panes())


async def settle(pilot) -> None:
    await pilot.app.wait_settled()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def wall_text(app) -> list[str]:
    """The wall's lines as the terminal shows them."""
    from gastown_tui.widgets.polecat_wall import PolecatWall

    wall = app.screen.query_one(PolecatWall)
    return [wall.render_line(y).text.rstrip() for y in range(wall.size.height)]


async def test_ten_polecats_stalled_first_working_next_done_and_idle_folded(ten, frozen):
    from gastown_tui.widgets.polecat_wall import PolecatWall

    app = crowd_app(ten)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        wall = app.screen.query_one(PolecatWall)
        # jax is stalled (no session), eve is held by Claude's trust dialog; hex works
        assert [a.name for a in wall.visible_agents] == ["jax", "eve", "hex"]
        assert wall.selected_agent.name == "jax"  # the cursor starts on what needs you
        lines = wall_text(app)
        assert lines[0].strip() == "⚠ 2 need you"
        assert "jax" in lines[1] and "stalled" in lines[1]
        assert "eve" in lines[6] and "blocked" in lines[6]
        assert lines[11].strip() == "1 working"
        assert "hex" in lines[12] and "working" in lines[12]
        assert lines[17].strip().startswith("✓ 4 done · idle 3")  # seven tiles in one line
        assert not any(name in "\n".join(lines) for name in ("ace", "bolt", "ink"))
        # the header counts what the wall shows: eve's screen says blocked, not working
        assert app.screen.query_one("#wall-box").border_subtitle == "1/10 working"
        # and Needs-you and the header agree with the wall: eve's dialog needs you too
        from gastown_tui.widgets.header import TownHeader
        from gastown_tui.widgets.needs_you import NeedsYou

        needs = app.screen.query_one(NeedsYou)
        assert [(i.kind, i.agent.rsplit("/", 1)[1]) for i in needs._items] == [
            ("stalled", "jax"), ("blocked", "eve")]
        assert "⚠ 2 need you" in app.screen.query_one(TownHeader).render().plain

        # z shows the folded as tiles (done first), and folds them again
        await pilot.press("z")
        await pilot.pause()
        assert [a.name for a in wall.visible_agents][3:] == ["ace", "cole", "dag", "gus",
                                                             "bolt", "fax", "ink"]
        await pilot.press("z")
        await pilot.pause()
        assert len(wall.visible_agents) == 3


async def test_the_tile_under_the_cursor_stays_while_states_change(ten, frozen):
    from gastown_tui.widgets.polecat_wall import PolecatWall

    app = crowd_app(ten)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        wall = app.screen.query_one(PolecatWall)
        await pilot.press("j", "j")  # onto hex, the working one
        await pilot.pause()
        assert wall.selected == 2 and wall.selected_agent.name == "hex"
        # a new snapshot: hex stalls, eve's dialog is answered; hex must not jump away
        snapshot = app.snapshot
        agents = tuple(replace(a, state="stalled") if a.name == "hex"
                       else replace(a, screen=None) if a.name == "eve" else a
                       for a in snapshot.agents)
        wall.show(replace(snapshot, agents=agents), {}, {})
        await pilot.pause()
        assert wall.selected == 2 and wall.selected_agent.name == "hex"
        assert [a.name for a in wall.visible_agents] == ["jax", "eve", "hex"]
        # the cursor moves: the wall re-sorts around the tile it lands on
        await pilot.press("k")
        await pilot.pause()
        assert wall.selected_agent.name == "eve" and wall.selected == 1
        await pilot.press("g")
        await pilot.pause()
        # full order again: both stalled (hex hooked first, so waiting longest), then eve
        assert [a.name for a in wall.visible_agents] == ["hex", "jax", "eve"]
        assert wall.selected_agent.name == "hex"


async def test_thirty_polecats_fold_to_the_ones_that_matter(tmp_path, tmux_socket, monkeypatch,
                                                           frozen):
    from gastown_tui.widgets.polecat_wall import PolecatWall

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    crowd = build_crowd_town(tmp_path, thirty(), socket=tmux_socket)
    app = crowd_app(crowd)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        wall = app.screen.query_one(PolecatWall)
        states = [a.state for a in wall.visible_agents]
        assert len(states) == 13  # 3 stalled, a zombie, a blocked, 8 working
        assert states[:3] == ["stalled"] * 3 and states[3] == "zombie"
        # the blocked one is "working" to the model; its screen (the trust dialog) says not
        blocked = next(n for n, s in crowd.states.items() if s == "blocked")
        assert wall.visible_agents[4].name == blocked and states[5:] == ["working"] * 8
        lines = wall_text(app)
        assert lines[0].strip() == "⚠ 5 need you"
        assert app.screen.query_one("#wall-box").border_subtitle == "8/30 working"


@pytest.mark.parametrize("size", [(80, 24), (120, 35), (160, 48), (200, 60)],
                         ids=["80x24", "120x35", "160x48", "200x60"])
async def test_layouts_stay_legible(tmp_path, tmux_socket, monkeypatch, frozen, size):
    """The Mayor's pane wraps (its last words are on screen, not cut); at 80 columns the
    header says 'convoys' and 'need you' in words and the panes are 40 cells or wider."""
    from gastown_tui.widgets.header import TownHeader
    from gastown_tui.widgets.pane_view import PaneView

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    demo = build_demo_town(tmp_path, socket=tmux_socket)
    app = settled_app(demo)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        header = app.screen.query_one(TownHeader).render().plain
        assert "2 convoys" in header and "⚠ 5 need you" in header, header
        assert len(header) <= size[0] - 2
        mayor = app.screen.query_one("#mayor-screen", PaneView)
        shown = " ".join(mayor.render_line(y).text.strip()
                         for y in range(mayor.size.height)).split()
        # the Mayor's last line, every word of it, on screen (before: cut at the pane's edge)
        assert " ".join(shown[-10:]).endswith("I would nuke it and re-sling bd-9c2 to beads. ❯")
        wall = app.screen.query_one("#wall-box")
        assert wall.size.width >= size[0] * 0.6  # the wall has the most room
        for pane in ("#convoy-board", "#needs-you"):
            assert app.screen.query_one(pane).size.width >= 36, pane  # was 25 at 80x24
        if size[0] >= 100:
            assert app.screen.query_one("#refinery-queue").display
