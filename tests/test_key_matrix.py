"""Every key on every screen and dialog, pressed: with a selection, without one, with marks and
in --read-only. Each key must run what it names or say why not; the help screen and the
command palette must list the same verbs with the same answer.

The town is the demo fixture town on disk (real store, real git, real tmux sessions for
liveness; the panes' text recorded). A verb that runs, runs for real on that throwaway town.
Which action a key ran is read off `App.run_action` (what Textual's key bindings call); what a
verb did is read off the app's messages (its dialog, its outcome, its flash message).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from gastown_tui.app.commands import town_commands
from gastown_tui.app.messages import ActionFinished
from gastown_tui.dialogs.confirm import ConfirmModal, PromptModal
from gastown_tui.dialogs.nudge import NudgeModal
from gastown_tui.dialogs.nuke import NukeModal
from gastown_tui.dialogs.sling import SlingModal
from gastown_tui.model.marks import NO_MARKS, Marks
from gastown_tui.screens.base import TownScreen
from gastown_tui.screens.bead import BeadScreen
from gastown_tui.screens.beads import BeadsScreen
from gastown_tui.screens.convoys import ConvoyScreen, ConvoysScreen
from gastown_tui.screens.events import EventsScreen
from gastown_tui.screens.help import HelpScreen, help_rows
from gastown_tui.screens.mail import MailScreen
from gastown_tui.screens.main import MainScreen
from gastown_tui.screens.polecat import PolecatScreen
from gastown_tui.verbs.messages import VerbFinished
from gastown_tui.verbs.registry import VERBS, verb_of
from gastown_tui.verbs.runner import availability, reason
from gastown_tui.widgets.keyed_table import KeyedTable
from gastown_tui.widgets.polecat_wall import PolecatWall
from tests.fixtures.towns import DemoTown, build_demo_town, settled_app

# What a verb that can run does when its key is pressed.
DIALOG = {"nudge": NudgeModal, "sling": SlingModal, "nuke": NukeModal,
          "start-mayor": ConfirmModal, "convoy": PromptModal, "reject-mr": PromptModal,
          "close-escalation": PromptModal, "clean-finished": ConfirmModal}
OPENS = {"zoom": PolecatScreen, "open-bead": BeadScreen, "goto-polecat": PolecatScreen}
MARKS = ("mark-agent", "mark-bead")
TERMINAL = ("attach", "watch")  # headless: the app cannot hand the terminal to tmux
FINISHES = ("retry-mr", "read-mail", "read-all-mail", "ack-escalation")  # no dialog: runs at once
SKIPPED_KEYS = {"q"}  # quit ends the app: pressed once, last (test_q_quits)


@dataclass
class Case:
    """One screen in one state: how to open it, and how to put it in that state."""

    name: str
    open: Callable[[Any], Screen]
    setup: Callable[[Any, Screen], Any] = lambda app, screen: None
    read_only: bool = False
    marks: Marks = NO_MARKS


def main_screen(app) -> Screen:
    return app.screen_stack[0]


def nothing_on_the_wall(app, screen) -> None:
    wall = screen.query_one(PolecatWall)
    wall.set_filter("no-polecat-is-called-this")
    wall.focus()


def queue_focused(app, screen) -> None:
    screen.query_one("#mq-table").focus()


def needs_on(kind: str) -> Callable[[Any, Screen], None]:
    """Needs-you focused, its cursor on the first item of `kind` (the first item when the
    town no longer has one: an earlier case may have handled it)."""
    def setup(app, screen) -> None:
        from gastown_tui.widgets.needs_you import NeedsYou

        needs = screen.query_one(NeedsYou)
        options = screen.query_one("#attention")
        items = app.snapshot.needs_you if app.snapshot else ()
        index = next((i for i, item in enumerate(items) if item.kind == kind), 0)
        options.focus()
        if items:
            options.highlighted = index
        assert needs.query_one("#attention") is options  # focus lands after the pause
    return setup


def filtered_out(app, screen) -> None:
    screen.filter_text = "no-bead-is-called-this"
    screen.redraw()


def pushed(factory: Callable[[], Screen]) -> Callable[[Any], Screen]:
    def open_it(app) -> Screen:
        screen = factory()
        app.push_screen(screen)
        return screen
    return open_it


CASES = [
    Case("main", main_screen),
    Case("main-no-selection", main_screen, nothing_on_the_wall),
    Case("main-queue", main_screen, queue_focused),
    Case("main-marked", main_screen,
         marks=Marks(agents=frozenset({"gastown/polecats/nux", "gastown/polecats/slit"}),
                     beads=frozenset({"gt-a9", "gt-k2m"}))),
    Case("main-read-only", main_screen, read_only=True),
    Case("main-read-only-queue", main_screen, queue_focused, read_only=True),
    Case("main-needs-escalation", main_screen, needs_on("escalation")),
    Case("main-needs-conflict", main_screen, needs_on("conflict")),
    Case("main-needs-stalled", main_screen, needs_on("stalled")),
    Case("main-needs-mail", main_screen, needs_on("mail")),
    Case("main-needs-read-only", main_screen, needs_on("escalation"), read_only=True),
    Case("polecat", pushed(lambda: PolecatScreen("gastown/polecats/furiosa"))),
    Case("polecat-gone", pushed(lambda: PolecatScreen("gastown/polecats/nobody"))),
    Case("polecat-read-only", pushed(lambda: PolecatScreen("gastown/polecats/furiosa")),
         read_only=True),
    Case("beads", pushed(BeadsScreen)),
    Case("beads-no-selection", pushed(BeadsScreen), filtered_out),
    Case("beads-marked", pushed(BeadsScreen), marks=Marks(beads=frozenset({"gt-a9", "gt-k2m"}))),
    Case("beads-read-only", pushed(BeadsScreen), read_only=True),
    Case("convoys", pushed(ConvoysScreen)),
    Case("convoy", pushed(lambda: ConvoyScreen("hq-cv-auth"))),
    Case("convoy-gone", pushed(lambda: ConvoyScreen("hq-cv-none"))),
    Case("mail", pushed(MailScreen)),
    Case("mail-read-only", pushed(MailScreen), read_only=True),
    Case("events", pushed(EventsScreen)),
    Case("bead", pushed(lambda: BeadScreen("gt-a3f"))),
]


@dataclass
class Recorder:
    """What the app did: the actions its keys ran, and the messages it showed."""

    actions: list[tuple[str, bool]] = field(default_factory=list)
    flashes: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    def hook(self, message) -> None:
        if isinstance(message, ActionFinished):
            self.flashes.append(message.text)
        elif isinstance(message, VerbFinished):
            self.finished.append(message.verb)

    def clear(self) -> None:
        self.actions.clear()
        self.flashes.clear()
        self.finished.clear()


def spy_actions(app, recorder: Recorder) -> None:
    original = app.run_action

    async def run_action(action, default_namespace=None, namespaces=None):
        ran = await original(action, default_namespace, namespaces)
        recorder.actions.append((action if isinstance(action, str) else str(action), ran))
        return ran

    app.run_action = run_action


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, request) -> DemoTown:
    """One demo town for the module (the verbs that run change it a little; no case here
    depends on what another one changed)."""
    import os
    import uuid

    from gastown_tui.ops.sessions import tmux_for
    from gastown_tui.town.layout import Town

    socket = f"gttest-keys-{uuid.uuid4().hex[:8]}"
    saved = os.environ.get("GT_TMUX_SOCKET")
    os.environ["GT_TMUX_SOCKET"] = socket
    demo = build_demo_town(tmp_path_factory.mktemp("keys"), socket=socket)
    yield demo
    tmux_for(Town(demo.root)).kill_server()
    if saved is None:
        os.environ.pop("GT_TMUX_SOCKET", None)
    else:
        os.environ["GT_TMUX_SOCKET"] = saved


def app_on(demo: DemoTown, *, read_only: bool = False):
    return settled_app(demo, read_only=read_only)


async def settle(pilot) -> None:
    await pilot.pause()
    actions = [w for w in pilot.app.workers if w.group in ("actions", "nuke-check")]
    if actions:
        await pilot.app.workers.wait_for_complete(actions)
    await pilot.pause()


async def until(pilot, condition, what: str, timeout: float = 10.0) -> None:
    from tests.waiting import until as wait

    await wait(pilot, condition, timeout, what)


def bindings_to_press(screen: Screen) -> dict[str, Binding]:
    """Every key of ours the screen answers to now (its widgets', its own and the app's,
    as the footer and help see them), and each verb key read-only mode hides."""
    active = screen.active_bindings
    own = {b.key for b in screen.BINDINGS if isinstance(b, Binding)}
    # Ours (they carry an id), and a widget's binding that shadows one of the screen's keys
    # (a table's enter): that one runs, so that one is pressed.
    keys = {key: a.binding for key, a in active.items()
            if (a.binding.id or key in own) and key not in SKIPPED_KEYS}
    for binding in screen.BINDINGS:
        if isinstance(binding, Binding) and binding.key not in active \
                and binding.action.startswith("verb("):
            keys[binding.key] = binding
    return keys


async def restore(pilot, case: Case, screen: Screen) -> Screen:
    """Back to `screen` in the case's state: dialogs and pushed screens closed, marks and
    filters as the case wants them (a key that changed nothing costs no redraw)."""
    app = pilot.app
    changed = False
    while app.screen is not screen and screen in app.screen_stack:
        app.pop_screen()
        await pilot.pause()
    if screen not in app.screen_stack:  # the key closed it (escape)
        screen = case.open(app)
        await until(pilot, lambda: app.screen is screen and screen.drawable, "the screen again")
        changed = True
    if app.marks != case.marks:
        app.marks = case.marks
        changed = True
    if isinstance(screen, MainScreen):
        wall = screen.query_one(PolecatWall)
        box = screen.filter_box  # (mounted by the first /)
        if box is not None and (box.value or box.has_class("-shown")) or wall.filter_text:
            if box is not None:
                box.value = ""
                box.remove_class("-shown")
            wall.set_filter("")
            changed = True
        wall.focus()
    if isinstance(screen, BeadsScreen):
        box = screen.query_one("#bead-filter", Input)
        if box.value or box.has_class("-shown") or screen.filter_text:
            box.value = ""
            box.remove_class("-shown")
            screen.filter_text = ""
            screen.redraw()
            changed = True
        screen.query_one(KeyedTable).focus()
    case.setup(app, screen)
    await pilot.pause()
    if changed:
        await pilot.pause()
    return screen


def expect_verb(verb_id: str, app, before: Screen, recorder: Recorder, marks: Marks) -> str:
    """'' when the verb visibly did what it does, else what is missing."""
    if verb_id in DIALOG:
        return "" if isinstance(app.screen, DIALOG[verb_id]) else f"no {DIALOG[verb_id].__name__}"
    if verb_id in OPENS:
        return "" if isinstance(app.screen, OPENS[verb_id]) else f"no {OPENS[verb_id].__name__}"
    if verb_id in MARKS:
        return "" if app.marks != marks else "marks unchanged"
    if verb_id in TERMINAL:
        return "" if any("needs a real terminal" in f for f in recorder.flashes) else "no flash"
    if verb_id in FINISHES:
        return "" if verb_id in recorder.finished else "no outcome"
    return f"no expectation for {verb_id}"


async def press_everything(pilot, case: Case, recorder: Recorder, tally: Counter) -> list[str]:
    app = pilot.app
    screen = case.open(app)
    await until(pilot, lambda: app.screen is screen and screen.drawable, "the screen")
    screen = await restore(pilot, case, screen)
    failures: list[str] = []
    for key, binding in sorted(bindings_to_press(screen).items()):
        screen = await restore(pilot, case, screen)
        target = screen.target() if isinstance(screen, TownScreen) else None
        verb = verb_of(*_split(binding.action)) if isinstance(screen, TownScreen) else None
        state = availability(verb, target, app) if verb else True
        why = reason(verb, target, app) if verb else None
        marks = app.marks
        recorder.clear()
        await pilot.press(key)
        await settle(pilot)
        where = f"{case.name}: {key} ({binding.id or binding.action})"
        if verb is None:
            ran = [action for action, ok in recorder.actions if ok]
            if not ran:
                failures.append(f"{where}: no action ran ({recorder.actions})")
            tally["other key ran"] += 1
            continue
        if state is True:
            if verb.id in FINISHES:
                await until(pilot, lambda v=verb.id: v in recorder.finished, f"{where} outcome")
            missing = expect_verb(verb.id, app, screen, recorder, marks)
            if missing:
                failures.append(f"{where}: {missing}")
            tally["verb ran"] += 1
        else:
            said = f"{verb.label}: {why}"
            if said not in recorder.flashes:
                failures.append(f"{where}: expected the flash {said!r}, got {recorder.flashes}")
            if isinstance(app.screen, ModalScreen):
                failures.append(f"{where}: a dialog opened for a verb that cannot run")
            tally["verb said why not" if state is None else "read-only said why not"] += 1
    return failures


def _split(action: str) -> tuple[str, tuple[object, ...]]:
    name, _, rest = action.partition("(")
    return name, ((rest[:-1].strip("'\""),) if rest else ())


async def help_and_palette(pilot, case: Case) -> list[str]:
    """The help screen (opened with ?) and the palette list the same verbs, same answers."""
    app = pilot.app
    await settle(pilot)
    while len(app.screen_stack) > 1:
        app.pop_screen()
        await pilot.pause()
    screen = case.open(app)
    await until(pilot, lambda: app.screen is screen and screen.drawable, "the screen")
    screen = await restore(pilot, case, screen)
    palette = {(c.title.rsplit(" (", 1)[0], c.available, c.help.removeprefix("unavailable: "))
               for c in town_commands(app, screen) if c.verb and c.title.endswith(")")}
    await pilot.press("question_mark")
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)
    verb_labels = {VERBS[s.verb.id].label for s in screen.verb_states()}
    helped = {(label, available, note) for _, label, note, available in app.screen.rows
              if label in verb_labels}
    again = {(label, available, note)
             for _, label, note, available in help_rows(screen, app.get_key_display)
             if label in verb_labels}
    await pilot.press("escape")
    await pilot.pause()
    problems = []
    if helped != palette:
        problems.append(f"{case.name}: help {sorted(helped - palette)} "
                        f"vs palette {sorted(palette - helped)}")
    if helped != again:
        problems.append(f"{case.name}: help drifted while open")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_every_key_runs_its_verb_or_says_why_not(demo, case: Case):
    recorder = Recorder()
    tally: Counter = Counter()
    app = app_on(demo, read_only=case.read_only)
    async with app.run_test(size=(160, 48), message_hook=recorder.hook) as pilot:
        await app.wait_settled()
        await pilot.pause()
        spy_actions(app, recorder)
        failures = await press_everything(pilot, case, recorder, tally)
        failures += await help_and_palette(pilot, case)
    assert not failures, "\n".join(failures)
    assert sum(tally.values()) > 0
    print(f"\n{case.name}: {dict(tally)}")  # the counts, for the report (-s)


DIALOG_CASES = {
    "nudge": ("j n", NudgeModal, ["escape"]),
    "sling-bead": ("s", SlingModal, ["down", "up", "escape"]),
    "sling-target": ("s", SlingModal, ["enter", "down", "up", "escape", "escape"]),
    "nuke": ("ctrl+d", NukeModal, ["escape"]),
    "confirm-no": ("M", ConfirmModal, ["n"]),
    "help": ("question_mark", HelpScreen, ["escape"]),
    "palette": ("colon", CommandPalette, ["escape"]),
}


@pytest.mark.parametrize("name", list(DIALOG_CASES))
async def test_every_dialog_key_does_what_it_says(demo, name: str):
    """Each dialog's keys: the dialog opens on its key, each of its keys runs its action, and
    its closing key closes it without running the verb."""
    key, dialog, keys = DIALOG_CASES[name]
    recorder = Recorder()
    app = app_on(demo)
    async with app.run_test(size=(160, 48), message_hook=recorder.hook) as pilot:
        await app.wait_settled()
        await pilot.pause()
        if name == "confirm-no":  # the Mayor runs in the demo town: ask on a stopped one
            app.push_screen(ConfirmModal("Start the Mayor?", "start"))
        else:
            await pilot.press(*key.split())
        await settle(pilot)
        assert isinstance(app.screen, dialog), app.screen
        spy_actions(app, recorder)
        for dialog_key in keys:
            recorder.clear()
            await pilot.press(dialog_key)
            await settle(pilot)
            if isinstance(app.screen, dialog) or dialog_key in ("escape", "n"):
                ran = [a for a, ok in recorder.actions if ok]
                handled = ran or not isinstance(app.screen, dialog)
                assert handled, f"{name}: {dialog_key} did nothing ({recorder.actions})"
        assert not isinstance(app.screen, ModalScreen)
        assert recorder.finished == []  # cancelled: no verb ran


async def test_q_quits(demo):
    app = app_on(demo)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_settled()
        await pilot.press("q")
        await asyncio.wait_for(_exited(app), 10)


async def _exited(app) -> None:
    while app.is_running:
        await asyncio.sleep(0.05)


def test_there_is_a_case_for_every_screen():
    from gastown_tui.screens.registry import SCREEN_NAMES

    names = {case.name.split("-")[0] for case in CASES}
    assert set(SCREEN_NAMES) | {"polecat", "convoy", "bead"} <= names
