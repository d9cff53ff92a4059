"""The demo's captions: README's beats named from the town's own events, and the control room
starting the story only once its first frame (the convoy at 0/N) is on screen."""

from __future__ import annotations

import threading
from pathlib import Path

from gastown_tui.demo.story import BEATS, Story


def ev(kind: str, **payload) -> dict:
    return {"type": kind, "payload": payload}


def test_each_beat_is_told_once_when_its_event_comes():
    story = Story()
    said: list[str] = []
    for event in [
        ev("sling", bead="in-a"), ev("merge_started", mr="m1", issue="in-a"),
        ev("merged", mr="m1", issue="in-a"),
        ev("merged", mr="m2", issue="in-b"),  # a second clean merge is no new beat
        ev("merge_failed", mr="m3", issue="in-c", type="conflict", files=["README.md"]),
        ev("merge_failed", mr="m4", issue="in-d", type="gates"),
        ev("mail", subject="FIX_NEEDED rictus"),
        ev("merged", mr="m3", issue="in-c"),
        ev("merged", mr="m4", issue="in-d"),
        ev("polecat_checked", polecat="inventory/polecats/x", state="stalled",
           action="found stalled"),
        ev("polecat_checked", polecat="inventory/polecats/x", state="stalled", action=""),
        ev("polecat_nudged", polecat="inventory/polecats/x", status="delivered"),
        ev("convoy_landed", title="Demo: inventory v2"),
    ]:
        said += story.feed(event)
    assert said == [
        "beat 1/5 · clean merge: in-a passed the tests and merged to main",
        "beat 2/5 · conflict caught: the Refinery refused in-c (conflict in README.md) and "
        "sent it back to be redone on the new main",
        "beat 3/5 under way · in-d failed its tests: FIX_NEEDED mailed to its polecat",
        "in-c, redone by its polecat on the new main, merged",
        "beat 3/5 · FIX_NEEDED and back: in-d's fix passed the tests and merged",
        "beat 4/5 under way · the Witness found inventory/polecats/x stalled (no commit, no "
        "output); it nudges when the GUPP timeout passes",
        "beat 4/5 · stall found and nudged: the Witness nudged inventory/polecats/x (GUPP) "
        "and it went back to work",
        "beat 5/5 · convoy landed: Demo: inventory v2: every bead is on main",
    ]
    assert story.told == [1, 2, 3, 4, 5] and story.finished and len(BEATS) == 5


def test_a_landing_logged_before_the_last_merge_still_comes_last():
    """The Refinery closes the last bead (landing the convoy) a moment before it logs that
    merge: the landing implies the bounced bead is back, told first."""
    story = Story()
    said = [*story.feed(ev("merge_failed", issue="in-d", type="gates")),
            *story.feed(ev("convoy_landed", title="T")),
            *story.feed(ev("merged", issue="in-d"))]
    assert said[1:] == ["beat 3/5 · FIX_NEEDED and back: in-d fixed and merged",
                        "beat 5/5 · convoy landed: T: every bead is on main"]
    assert story.told == [3, 5]


async def test_the_story_starts_after_the_first_frame_and_its_captions_show(
        tmp_path: Path, tmux_socket: str, monkeypatch):
    """The control room calls the demo's story once the town is on screen: at that moment
    the convoy is 0/5 and no polecat exists; a caption the story shows (from its own thread)
    is the line above the footer. Outside the demo there is no caption line."""
    from gastown_tui.app import make_app
    from gastown_tui.demo import scenario
    from gastown_tui.widgets.caption import DemoCaption
    from gastown_tui.widgets.textual_internals import screen_text
    from tests.fixtures.towns import RecordedPanes
    from tests.waiting import until

    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    demo = scenario.build(tmp_path / "town", say=lambda _line: None)
    seen: list[str] = []
    shows = []

    polecats: list[int] = []

    def story(show) -> None:
        seen.append(screen_text(app))
        polecats.append(len(app.snapshot.polecats))
        shows.append(show)

    app = make_app(demo.root, story=story, observer_factory=lambda root: RecordedPanes({}))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: seen, what="the story started")
        assert len(seen) == 1
        assert "0/5" in seen[0] and "Demo: inventory v2" in seen[0]  # the convoy, on screen
        assert polecats == [0]  # no polecat yet: the agents start after this frame
        teller = threading.Thread(target=shows[0], args=("beat 1/5 · clean merge: in-a",))
        teller.start()
        teller.join()
        await until(pilot, lambda: "▶ beat 1/5 · clean merge: in-a" in screen_text(app),
                    what="the caption line")
        caption = app.screen.query_one(DemoCaption)
        assert caption.region.y == 48 - 2  # one line, just above the footer
    plain = make_app(demo.root, observer_factory=lambda root: RecordedPanes({}))
    async with plain.run_test(size=(160, 48)) as pilot:
        await plain.wait_settled()
        assert not plain.screen.query(DemoCaption)
    shows[0]("after the app ended")  # the demo's thread may still talk: nothing happens
