"""TownScreen: what every full screen of the control room shares (header, banners, footer, and
the way its keys reach the verbs).

A screen draws from the app's state by watching it, as Textual's own Header watches the app's
title: `snapshot` (the town), `panes` (the live pane feed) and `marks`; its header and banners
watch the app themselves. It exposes what it has selected as a `Target` (`selection()`); its
bindings name verbs (`verb_bindings`), and one action runs them: the key's check_action, the
help screen, the palette and read-only mode all ask the same `availability` of the verb.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from gastown_tui.model.marks import Marks
from gastown_tui.model.panes import PaneFeed
from gastown_tui.model.snapshot import TownSnapshot
from gastown_tui.verbs.base import Verb
from gastown_tui.verbs.registry import verb_of
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.runner import availability, press, reason
from gastown_tui.verbs.target import NOTHING, Target
from gastown_tui.widgets.caption import DemoCaption
from gastown_tui.widgets.footer import TownFooter
from gastown_tui.widgets.header import TownBanners, TownHeader
from gastown_tui.widgets.textual_internals import closing


@dataclass(frozen=True)
class VerbState:
    """A verb as a screen offers it now: what the help screen and the palette both list."""

    verb: Verb
    key: str
    available: bool | None  # check_action's answer: True, None (greyed), False (hidden)
    why_not: str | None


class TownScreen(Screen[None]):
    """A screen that draws from the app's current snapshot and says which panes it shows."""

    TITLE = ""

    @property
    def room(self) -> Room:
        return cast("Room", self.app)

    def compose_header(self) -> ComposeResult:
        self._born_with_breakpoints()  # here: every screen composes its header first
        yield TownHeader(self.TITLE, id="town-header")
        yield TownBanners(id="town-banners")

    def _born_with_breakpoints(self) -> None:
        """Take the breakpoint classes (HORIZONTAL_BREAKPOINTS) for the terminal's width now,
        before the children are styled: added by the first Resize, as Textual does, they
        restyled every widget on the screen once more as the control room started."""
        breakpoints = self.HORIZONTAL_BREAKPOINTS
        if breakpoints is None:
            breakpoints = self.app.HORIZONTAL_BREAKPOINTS
        if not breakpoints:
            return
        width = self.app.size.width
        chosen = next((name for at, name in sorted(breakpoints, reverse=True) if width >= at),
                      None)
        for _at, name in breakpoints:
            self.set_class(name == chosen, name, update=False)

    def compose_footer(self) -> ComposeResult:
        if self.room.config.story is not None:  # the demo's caption line, in demo mode only
            yield DemoCaption(id="demo-caption")
        yield TownFooter()

    _children_mounted = False  # set first thing in on_mount

    @property
    def drawable(self) -> bool:
        """Composed, its children mounted: the app does not wait for that, so a snapshot (or
        a follow) arriving earlier waits for on_mount; one arriving while the app quits (the
        observer thread may still post) is dropped."""
        return self._children_mounted and not closing(self)

    def on_mount(self) -> None:
        # Textual calls this and the subclass's on_mount (handlers run for each class).
        self._children_mounted = True
        self.room.adopt_first_read()  # before watching: drawn once, just below
        self.watch(self.app, "snapshot", self._snapshot_changed, init=False)
        self.watch(self.app, "panes", self._panes_changed, init=False)
        self.watch(self.app, "marks", self._marks_changed, init=False)
        # The children are mounted (is_mounted turns true only after this handler): a town
        # already read is in the first frame, instead of an empty frame and a second one.
        snapshot = self.room.snapshot
        if snapshot is not None and not closing(self):
            self.show_snapshot(snapshot)
            self._drawn_at_mount = (snapshot, self.room.panes)
            # The tiles are known now (before the first layout, bounded by the terminal's
            # height): the panes' first tick captures those, not every pane in the town.
            self.room.follow_screen(self)
        # The footer read the keys as it mounted, before this handler: with no selection yet
        # (target() is NOTHING until now), every verb read as unavailable.
        self.refresh_bindings()

    _drawn_at_mount: tuple[TownSnapshot, PaneFeed] | None = None

    def on_screen_resume(self) -> None:
        drawn, self._drawn_at_mount = self._drawn_at_mount, None
        if drawn is None or drawn[0] is not self.room.snapshot or drawn[1] is not self.room.panes:
            self.redraw()  # (the first resume follows the mount, which drew the same state)
        self.room.follow_screen()

    def redraw(self) -> None:
        snapshot = self.room.snapshot
        if snapshot is not None and self.drawable:
            self.show_snapshot(snapshot)

    def _snapshot_changed(self, snapshot: TownSnapshot | None) -> None:
        if snapshot is not None and self.drawable:
            self.show_snapshot(snapshot)

    def _panes_changed(self, feed: PaneFeed) -> None:
        if feed.changed and self.drawable and self.is_active:  # others read the feed
            for update in feed.changed:
                self.show_pane(update.session, update.lines, update.history, update.activity)
            self.panes_shown()

    def _marks_changed(self, marks: Marks) -> None:
        if self.drawable:
            self.show_marks(marks)
            self.refresh_bindings()

    def show_snapshot(self, snapshot: TownSnapshot) -> None:
        """Draw the parts of the snapshot this screen shows (the header and the banners
        follow the app by themselves; subclasses draw the rest)."""

    def show_pane(self, session: str, lines: tuple[str, ...], history: bool,
                  activity: int) -> None:
        """A followed pane changed (screens that show panes override this)."""

    def panes_shown(self) -> None:
        """After a tick's panes were shown one by one: what depends on all of them."""

    def show_marks(self, marks: Marks) -> None:
        """The marks changed (screens that show marks override this)."""

    def followed_sessions(self) -> tuple[set[str], set[str]]:
        """(sessions whose screens are visible, sessions shown with scrollback)."""
        return set(), set()

    # ------------------------------------------------------------------ verbs
    def selection(self) -> Target:
        """What the verbs act on: the screen's cursor rows and marks (subclasses read their
        widgets; `target()` calls this only while they exist)."""
        return NOTHING

    def target(self) -> Target:
        """The selection, or nothing while the screen is not (or no longer) composed: Textual
        asks check_action of a screen being pushed or popped too."""
        return self.selection() if self.drawable else NOTHING

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        verb = verb_of(action, parameters)
        if verb is None:
            return True
        return availability(verb, self.target(), self.room)

    def action_verb(self, verb_id: str) -> None:
        verb = verb_of("verb", (verb_id,))
        if verb is not None:
            self.run_verb(verb, self.target())

    def run_verb(self, verb: Verb, target: Target) -> None:
        """Run `verb` on `target` (a key, the palette or a widget's message asked)."""
        press(verb, target, self.room)
        self.verb_pressed(verb, target)

    def verb_pressed(self, verb: Verb, target: Target) -> None:
        """After a verb ran or asked (screens move their cursor after a mark, say)."""

    def verb_states(self) -> list[VerbState]:
        """Every verb this screen's bindings name, with the one answer about each: the help
        screen and the command palette both list these."""
        target = self.target()
        states: list[VerbState] = []
        seen: set[str] = set()
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding):
                continue
            key = binding.key
            verb = verb_of(*_split(binding.action))
            if verb is None or verb.id in seen:
                continue
            seen.add(verb.id)
            states.append(VerbState(verb, key, availability(verb, target, self.room),
                                    reason(verb, target, self.room)))
        return states

    def on_key(self, event: events.Key) -> None:
        """A key whose verb cannot run here says why (lazygit's disabled reason), instead of
        doing nothing: Textual skips a greyed or hidden binding without a word. Runs before
        the bindings (the key bubbles up to the screen first); keys that can run pass on."""
        active = self.active_bindings.get(event.key)
        if active is not None:
            if active.enabled:
                return
            verb = verb_of(*_split(active.binding.action))
        else:  # hidden: a verb --read-only takes away
            verb = next((v for b in self.BINDINGS if isinstance(b, Binding)
                         and event.key in b.key.split(",")
                         if (v := verb_of(*_split(b.action))) is not None), None)
        if verb is None:
            return
        why = reason(verb, self.target(), self.room)
        if why:
            event.stop()
            event.prevent_default()
            self.room.flash(f"{verb.label}: {why}", "warning")


def _split(action: str) -> tuple[str, tuple[object, ...]]:
    """"verb('nudge')" -> ("verb", ("nudge",)); any other action -> (action, ())."""
    name, paren, rest = action.partition("(")
    if not paren or not rest.endswith(")"):
        return action, ()
    return name, (rest[:-1].strip("'\""),)
