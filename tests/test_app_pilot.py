"""The control room driven by its keys against a real town: a private tmux server, sim agents.

Each test presses keys in the live app and checks what happened in the town (the pane, the
store, the worktree), waiting on the app's workers and polling the town with a timeout where
a real agent has to act."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from gastown_tui.app import make_app
from gastown_tui.town.layout import Town
from tests.waiting import until, wait_for

HANG = "```sim\nhang: true\n```"
KEY_NAMES = {" ": "space", "-": "minus", ".": "full_stop", "/": "slash", ":": "colon"}


@pytest.fixture
def town(sim_rig_town: Town) -> Town:
    return sim_rig_town


def store_for(town: Town):
    from gastown_tui.ops.context import open_store

    return open_store(town, "overseer")


def slung_hanging_polecat(town: Town, title: str = "Wait for orders"):
    from gastown_tui.ops.sling import sling

    store = store_for(town)
    try:
        bead = store.create(title, prefix="gt", description=HANG)["id"]
        result = sling(town, store, [bead], "gastown")[0]
    finally:
        store.close_connection()
    return bead, result


def screen_of(town: Town, session: str) -> str:
    from gastown_tui.ops.sessions import tmux_for

    return "\n".join(tmux_for(town).capture(session, lines=200))


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[KEY_NAMES.get(ch, ch) for ch in text])


async def actions_done(app) -> None:
    """Wait for the verbs the keys started (an empty list would mean every worker, and the
    live app's watchers never finish)."""
    running = [w for w in app.workers if w.group == "actions"]
    if running:
        await app.workers.wait_for_complete(running)


async def test_n_nudges_the_selected_polecat(town: Town):
    bead, slung = slung_hanging_polecat(town)
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: "hanging" in screen_of(town, slung.session), what="sim hangs")
        await until(pilot, lambda: app.screen.selection().agent is not None, what="tile")
        assert app.screen.selection().agent.address == slung.agent
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "hello from the control room")
        await pilot.press("enter")
        await pilot.pause()
        await actions_done(app)
        text = await until(pilot, lambda: "[sim] received:" in screen_of(town, slung.session)
                           and screen_of(town, slung.session), what="nudge echoed")
        assert "hello from the control room" in text.split("[sim] received:", 1)[1]


async def test_s_slings_a_bead_to_a_rig(town: Town):
    from gastown_tui.ops.sessions import tmux_for

    store = store_for(town)
    bead = store.create("Paint the water tower", prefix="gt", description=HANG)["id"]
    store.create("Something else entirely", prefix="gt")
    store.close_connection()
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await pilot.press("s")
        await pilot.pause()
        await type_text(pilot, "water")
        # The first snapshot comes without the bead lists; the dialog fills as they arrive.
        await until(pilot, lambda: any(b.id == bead for b in app.screen.beads),
                    what="the bead in the sling dialog")
        await pilot.pause()
        await pilot.press("enter")  # the bead
        await pilot.pause()
        await pilot.press("enter")  # the first target: rig gastown, a new polecat
        await pilot.pause()
        await pilot.press("enter")  # confirm
        await pilot.pause()
        await actions_done(app)
        store = store_for(town)
        try:
            hooked = store.get(bead)
        finally:
            store.close_connection()
        assert hooked["status"] == "hooked"
        assert hooked["assignee"].startswith("gastown/polecats/")
        name = hooked["assignee"].rsplit("/", 1)[1]
        assert tmux_for(town).has_session(f"gt-{name}")
        # ... and the control room shows it, through the same watch path as any change
        agent = await until(pilot, lambda: app.snapshot.agent(hooked["assignee"]),
                            what="the new polecat on screen")
        assert agent.hooked_bead == bead


async def test_ctrl_d_on_a_dirty_polecat_is_refused_in_the_dialog(town: Town):
    from gastown_tui.dialogs.nuke import NukeModal
    from gastown_tui.ops.sessions import tmux_for

    bead, slung = slung_hanging_polecat(town, "Half-done work")
    worktree = Path(slung.worktree)
    (worktree / "notes.txt").write_text("not committed yet\n")
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: app.screen.selection().agent is not None, what="tile")
        await pilot.press("ctrl+d")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, NukeModal)
        await until(pilot, lambda: modal.reasons is not None, what="safety check")
        assert any("uncommitted file" in r and "notes.txt" in r for r in modal.reasons)
        assert any(f"work on its hook: {bead}" in r for r in modal.reasons)
        findings = str(modal.query_one("#findings").render())
        assert "Refusing" in findings and "notes.txt" in findings
        assert modal.query_one("#nuke-go").disabled
        await pilot.click("#nuke-go")  # a disabled button does nothing
        await pilot.click("#force-word")  # the override box, with the word mistyped
        await pilot.pause()
        await type_text(pilot, "forse")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is modal and modal.query_one("#nuke-go").disabled
        await pilot.press("escape")
        await pilot.pause()
        await actions_done(app)
        assert not isinstance(app.screen, NukeModal)
    assert (worktree / "notes.txt").exists()
    assert tmux_for(town).has_session(slung.session)
    store = store_for(town)
    try:
        assert store.get(bead)["status"] == "hooked"
    finally:
        store.close_connection()


async def test_mayor_line_reaches_the_mayor(town: Town):
    from gastown_tui.ops.up import start_mayor

    start_mayor(town)
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: "ready" in screen_of(town, "hq-mayor"), what="mayor up")
        await pilot.press("m")
        await type_text(pilot, "status")
        await pilot.press("enter")
        await pilot.pause()
        await actions_done(app)
        await until(pilot, lambda: "beads ready" in screen_of(town, "hq-mayor"),
                    what="the mayor answered")
        # the Mayor pane follows its screen live
        await until(pilot, lambda: any("beads ready" in line
                                       for line in app.pane_history.get("hq-mayor", ())),
                    what="the Mayor pane updated")


async def test_read_only_hides_every_verb_and_attaches_read_only(town: Town):
    from gastown_tui.verbs.registry import VERBS

    slung_hanging_polecat(town)
    app = make_app(town, read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: app.screen.selection().agent is not None, what="tile")
        keys = {b.binding.id for b in app.screen.active_bindings.values()}
        assert {"zoom", "watch"} <= keys
        assert not {"nudge", "sling", "nuke", "attach"} & keys
        messages = []
        app.notify = lambda text, **kw: messages.append(text)  # type: ignore[method-assign]
        await pilot.press("n", "s", "ctrl+d")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]  # no dialog opened, and each key says why
        assert messages == [f"{verb}: the control room is read-only (--read-only)"
                            for verb in ("nudge", "sling", "nuke")]
        messages.clear()
        await pilot.press("a")  # watch: headless, the app cannot hand the terminal to tmux
        await pilot.pause()
        assert messages == ["watch needs a real terminal"]
        agent = app.screen.selection().agent
        argv = VERBS["watch"].argv(app, agent)  # type: ignore[attr-defined]
        assert argv[argv.index("attach-session") + 1] == "-r"
        assert "-r" not in VERBS["attach"].argv(app, agent)  # type: ignore[attr-defined]


async def test_quitting_leaves_no_observer_behind(town: Town):
    slung_hanging_polecat(town)
    app = make_app(town)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: app.pane_screens, what="a pane followed")
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("tmux-observer")]
    assert leftovers == []


async def test_the_nuke_dialog_types_force_into_its_box_and_nukes(town: Town):
    """A refusal focuses the override box: "force" typed at once lands there, enter nukes (the
    work is kept in the graveyard), instead of vanishing on the cancel button."""
    from gastown_tui.dialogs.nuke import NukeModal
    from gastown_tui.ops.sessions import tmux_for

    bead, slung = slung_hanging_polecat(town, "Half-done work")
    (Path(slung.worktree) / "notes.txt").write_text("not committed yet\n")
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: app.screen.selection().agent is not None, what="tile")
        await pilot.press("ctrl+d")
        modal = await until(pilot, lambda: isinstance(app.screen, NukeModal) and app.screen,
                            what="the nuke dialog")
        await until(pilot, lambda: modal.reasons, what="the refusal")
        assert app.focused is modal.query_one("#force-word")
        await type_text(pilot, "force")
        await pilot.press("enter")
        await pilot.pause()
        await actions_done(app)
        assert not isinstance(app.screen, NukeModal)
    assert not tmux_for(town).has_session(slung.session)
    assert not Path(slung.worktree).exists()


async def test_sling_offers_the_beads_rig_first_and_asks_before_stacking(town: Town):
    """With a busy polecat selected, sling still offers a new polecat in the bead's rig first;
    choosing the busy one says what it holds, enter does not stack work on it, `y` does."""
    from gastown_tui.dialogs.sling import SlingModal

    busy_bead, slung = slung_hanging_polecat(town, "Busy already")
    store = store_for(town)
    try:
        bead = store.create("Paint the fire station", prefix="gt", description=HANG)["id"]
    finally:
        store.close_connection()
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: app.screen.selection().agent is not None, what="tile")
        assert app.screen.selection().agent.address == slung.agent
        await pilot.press("s")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, SlingModal)
        await type_text(pilot, "fire station")
        await pilot.press("enter")
        await pilot.pause()
        targets = modal.query_one("#target-list")
        values = [t.value for t in modal.targets]
        assert values[targets.highlighted] == "gastown"  # the bead's rig: a new polecat
        targets.highlighted = values.index(slung.agent)
        await pilot.press("enter")
        await pilot.pause()
        summary = str(modal.query_one("#sling-summary").render())
        assert f"already has {busy_bead} on its hook" in summary
        await pilot.press("enter")  # not enough to stack
        await pilot.pause()
        assert app.screen is modal and modal.step == "confirm"
        await pilot.press("y")
        await pilot.pause()
        await actions_done(app)
        assert not isinstance(app.screen, SlingModal)
    store = store_for(town)
    try:
        assert store.get(bead)["assignee"] == slung.agent
    finally:
        store.close_connection()


async def test_bulk_nudge_reports_each_agent_as_it_lands(town: Town):
    """Marked polecats are nudged together; each one's outcome is shown as it comes, then
    one line for all of them."""
    from gastown_tui.verbs.messages import VerbFinished, VerbProgress

    first = slung_hanging_polecat(town, "First")[1]
    second = slung_hanging_polecat(town, "Second")[1]
    seen: list[object] = []
    app = make_app(town)
    async with app.run_test(size=(160, 48), message_hook=seen.append) as pilot:
        await app.wait_settled()
        for slung in (first, second):
            await until(pilot, lambda s=slung: "hanging" in screen_of(town, s.session),
                        what="sim hangs")
        await until(pilot, lambda: len(app.snapshot.polecats) == 2, what="two tiles")
        await pilot.press("space", "space")  # mark both (the cursor moves on after a mark)
        await pilot.pause()
        assert app.marks.agents == {first.agent, second.agent}
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "both of you")
        await pilot.press("enter")
        await pilot.pause()
        await actions_done(app)
        assert app.marks.agents == frozenset()  # spent
    progress = [m.text for m in seen if isinstance(m, VerbProgress)]
    finished = [m.text for m in seen if isinstance(m, VerbFinished)]
    labels = {a.rsplit("/", 1)[1] for a in (first.agent, second.agent)}
    assert len(progress) == 2 and {p.split()[1].rsplit("/", 1)[1].rstrip(":") for p in progress} == labels
    assert finished and finished[-1].startswith("nudge: 2 agents")


async def test_a_nudge_to_a_dead_pane_says_so_at_once(town: Town):
    from gastown_tui.ops.nudge import nudge
    from gastown_tui.ops.sessions import tmux_for
    from gastown_tui.town.errors import GasTownError

    store = store_for(town)
    try:
        bead = store.create("Exit at once", prefix="gt", description="```sim\nexit: 1\n```")["id"]
        from gastown_tui.ops.sling import sling

        slung = sling(town, store, [bead], "gastown")[0]
    finally:
        store.close_connection()
    tmux = tmux_for(town)
    def exited() -> bool:
        return any(s.name == slung.session and s.pane_dead for s in tmux.list_sessions())

    await asyncio.to_thread(wait_for, exited, 20, "the exit")
    started = time.monotonic()
    with pytest.raises(GasTownError, match="exited"):
        nudge(town, slung.agent, "anyone there?")
    assert time.monotonic() - started < 3  # not the 15 s wait for a prompt
    messages: list[str] = []
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        agent = await until(pilot, lambda: (a := app.snapshot.agent(slung.agent)) is not None
                            and not a.session_running and a, what="the dead pane seen")
        app.notify = lambda text, **kw: messages.append(text)  # type: ignore[method-assign]
        await until(pilot, lambda: app.screen.selection().agent == agent, what="selected")
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]  # no dialog to type into
    assert messages == [f"nudge: {agent.label} has no running session (its program exited "
                        "or was stopped)"]


def arrived_first_read(town: Town):
    """The CLI's forked first read, already in when the app starts (FirstRead's interface)."""
    import concurrent.futures

    from gastown_tui.model.town_model import TownModel

    model = TownModel(town.root)
    try:
        read = model.load(defer_bead_lists=True)
    finally:
        model.close()

    class Arrived:
        def future(self):
            future = concurrent.futures.Future()
            future.set_result(read)
            return future

    return Arrived()


async def test_a_first_read_that_arrived_before_the_screen_is_in_its_first_frame(town: Town):
    """The CLI starts the town's first read before the control room imports Textual; when it
    is in by the time the main screen mounts, the screen draws it as it mounts, so the first
    frame shows the town rather than empty panes redrawn when the read's message comes."""
    from gastown_tui.screens.main import MainScreen
    from gastown_tui.widgets.polecat_wall import PolecatWall

    slung_hanging_polecat(town)
    arrived = arrived_first_read(town)
    draws: list[tuple[bool, int]] = []  # (screen mounted yet, polecats drawn) per draw
    original = MainScreen.show_snapshot

    def show_snapshot(self, snapshot):
        original(self, snapshot)
        draws.append((self.is_mounted, self.query_one(PolecatWall).polecat_count))

    MainScreen.show_snapshot = show_snapshot  # type: ignore[method-assign]
    try:
        app = make_app(town, first_read=arrived)
        async with app.run_test(size=(160, 48)) as pilot:
            await app.wait_settled()
            await pilot.pause()
            assert draws[0] == (False, 1)  # drawn as the screen mounted, with the polecat
            assert [d for d in draws[1:] if d[1] != 1] == []
    finally:
        MainScreen.show_snapshot = original  # type: ignore[method-assign]


@pytest.mark.parametrize("first_read", ["arrived", "thread"])
async def test_the_panes_first_tick_captures_only_the_tiles_that_fit(town: Town, first_read):
    """The first whole frame must not grow with the town: the panes' first tick captures the
    tiles the terminal can show (and the Mayor), not every polecat's pane, whether the first
    read came from the CLI's forked child before the screen mounted or from a thread after."""

    from gastown_tui.app.panes import town_observer
    from gastown_tui.widgets.polecat_wall import TILE_LINES, PolecatWall

    sessions = {slung_hanging_polecat(town, f"Wait {n}")[1].session for n in range(8)}
    handed = arrived_first_read(town) if first_read == "arrived" else None
    asked: list[set[str] | None] = []

    class Spy:  # the real observer; records which panes each tick asked it to capture
        def __init__(self, root):
            self.real = town_observer(root)

        def poll_changes(self, *args, only=None, **kwargs):
            asked.append(None if only is None else set(only))
            return self.real.poll_changes(*args, only=only, **kwargs)

        def __getattr__(self, name):
            return getattr(self.real, name)

    height = 20
    app = make_app(town, first_read=handed, observer_factory=Spy)
    async with app.run_test(size=(100, height)) as pilot:
        await app.wait_settled()
        first = asked[0]
        assert first is not None, "the first tick captured every pane"
        fit = height // TILE_LINES + 1  # tiles partly in view count too
        assert 0 < len(first & sessions) <= fit < len(sessions), first
        # ...and the tiles in view show their panes from that first tick on.
        wall = app.screen.query_one(PolecatWall)
        await until(pilot, lambda: wall.visible_sessions() and all(
            s in app.panes.screens for s in wall.visible_sessions()), what="tiles' screens")
        assert wall.visible_sessions() <= first | set(app.followed or ())
