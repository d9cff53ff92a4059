"""The verbs as objects: the one availability answer, targets, and how screens bind them.
(Pressing their keys in the running control room is tests/test_key_matrix.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from textual.binding import Binding

from gastown_tui.model.marks import NO_MARKS, Marks
from gastown_tui.model.snapshot import AgentView, RigView, TownSnapshot
from gastown_tui.screens.beads import BeadsScreen
from gastown_tui.screens.convoys import ConvoyScreen, ConvoysScreen
from gastown_tui.screens.mail import MailScreen
from gastown_tui.screens.main import MainScreen
from gastown_tui.screens.polecat import PolecatScreen
from gastown_tui.verbs.registry import VERBS, verb_of
from gastown_tui.verbs.runner import READ_ONLY, availability, reason
from gastown_tui.verbs.target import NOTHING, Target
from tests.fixtures.towns import NOW

SCREENS = (MainScreen, PolecatScreen, BeadsScreen, ConvoysScreen, ConvoyScreen, MailScreen)


def agent(name: str, *, running: bool = True, role: str = "polecat") -> AgentView:
    return AgentView(address=f"gastown/polecats/{name}", role=role, rig="gastown", name=name,
                     session=f"gt-{name}", session_running=running, state="working")


@dataclass
class Config:
    read_only: bool = False
    live: bool = False


@dataclass
class FakeRoom:
    """Only what why_not reads: the config and the snapshot (no app, no screen)."""

    config: Config = field(default_factory=Config)
    snapshot: TownSnapshot | None = None
    marks: Marks = NO_MARKS


def snapshot(*agents: AgentView) -> TownSnapshot:
    mayor = AgentView(address="mayor", role="mayor", session="hq-mayor", session_running=True,
                      state="running")
    return TownSnapshot(name="t", root="/t", taken_at=NOW, agents=(mayor, *agents),
                        rigs=(RigView(name="gastown", prefix="gt"),))


def test_one_answer_for_keys_help_palette_and_read_only():
    nudge, live, dead = VERBS["nudge"], agent("nux"), agent("slit", running=False)
    room = FakeRoom(snapshot=snapshot(live, dead))
    assert availability(nudge, Target(agent=live), room) is True
    assert availability(nudge, Target(agent=dead), room) is None  # greyed, and says why
    assert reason(nudge, Target(agent=dead), room) == \
        "gastown/slit has no running session (its program exited or was stopped)"
    assert reason(nudge, NOTHING, room) == "select an agent (or mark some with space) first"
    read_only = FakeRoom(Config(read_only=True), room.snapshot)
    assert availability(nudge, Target(agent=live), read_only) is False  # hidden
    assert reason(nudge, Target(agent=live), read_only) == READ_ONLY
    assert availability(VERBS["watch"], Target(agent=live), read_only) is True


def test_bulk_targets_prefer_the_marked_rows():
    a, b, c = agent("a"), agent("b"), agent("c")
    assert Target(agent=a).agents == (a,)
    assert Target(agent=a, marked_agents=(b, c)).agents == (b, c)
    assert Target(bead="gt-1").beads == ("gt-1",)
    assert Target(bead="gt-1", marked_beads=("gt-2",)).beads == ("gt-2",)
    room = FakeRoom(snapshot=snapshot(a, b))
    # one live agent among the marked is enough to nudge; none is a reason
    dead = agent("d", running=False)
    assert availability(VERBS["nudge"], Target(marked_agents=(dead, a)), room) is True
    assert reason(VERBS["nudge"], Target(marked_agents=(dead, agent("e", running=False))),
                  room) == "none of the marked agents has a running session"


@pytest.mark.parametrize("verb_id, target, why", [
    ("nuke", Target(agent=AgentView(address="mayor", role="mayor", session="hq-mayor",
                                    state="running")), "only polecats can be nuked"),
    ("zoom", NOTHING, "select a polecat first"),
    ("start-mayor", NOTHING, "the Mayor is already running"),
    ("tell-mayor", Target(text="  "), "type a line for the Mayor first"),
    ("convoy", Target(bead="gt-1"), "mark beads with space"),
    ("retry-mr", NOTHING, "pick a merge request in the refinery queue (4) first"),
    ("read-mail", NOTHING, "no unread message under the cursor"),
    ("open-bead", NOTHING, "no bead under the cursor"),
])
def test_each_verb_says_why_it_cannot_run(verb_id, target, why):
    assert why in (reason(VERBS[verb_id], target, FakeRoom(snapshot=snapshot())) or "")


def test_every_verb_is_reachable_and_no_screen_binds_a_key_twice():
    """Every verb is bound on some screen (the Mayor line comes from its input); on a screen
    two verbs share a key only as attach/watch do (the first available one runs)."""
    bound: set[str] = {"tell-mayor"}
    for screen in SCREENS:
        keys: dict[str, list[str]] = {}
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding):
                name, _, rest = binding.action.partition("(")
                verb = verb_of(name, (rest[:-1].strip("'"),) if rest else ())
                keys.setdefault(binding.key, []).append(verb.id if verb else binding.action)
                if verb is not None:
                    bound.add(verb.id)
                    assert binding.id == verb.id and binding.description == verb.label
        shared = {key: ids for key, ids in keys.items() if len(ids) > 1}
        assert all(ids == ["attach", "watch"] for ids in shared.values()), (screen, shared)
    assert bound == set(VERBS)


def test_verbs_are_grouped_by_what_they_act_on():
    assert {verb.group for verb in VERBS.values()} == {"agents", "beads", "merges", "mail",
                                                       "escalations"}
    dangerous = {v.id for v in VERBS.values() if v.dangerous}
    assert dangerous == {"nudge", "sling", "nuke", "attach", "start-mayor", "tell-mayor",
                         "convoy", "retry-mr", "reject-mr", "read-mail", "read-all-mail",
                         "ack-escalation", "close-escalation", "clean-finished"}
