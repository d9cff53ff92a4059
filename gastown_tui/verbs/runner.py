"""How a verb runs, whoever asks (a key, the palette, a widget's message): the one answer to
"can it run here, and if not why" (`availability`, `reason`), then its dialog, then its work in
a thread worker whose progress and outcome come back to the app as messages."""

from __future__ import annotations

from functools import partial
from typing import Any

from gastown_tui.town.errors import GasTownError
from gastown_tui.verbs.base import Job, Outcome, Verb
from gastown_tui.verbs.messages import VerbFinished
from gastown_tui.verbs.room import Room
from gastown_tui.verbs.target import Target

READ_ONLY = "the control room is read-only (--read-only)"
WORKER_GROUP = "actions"


def reason(verb: Verb, target: Target, room: Room) -> str | None:
    """Why `verb` cannot run on `target` in `room`, or None: read-only mode first."""
    if verb.dangerous and room.config.read_only:
        return READ_ONLY
    return verb.why_not(target, room)


def availability(verb: Verb, target: Target, room: Room) -> bool | None:
    """What Textual's check_action wants: True runs, None shows the key greyed (it says why
    when pressed), False hides it (a verb that changes the town, in read-only mode)."""
    if verb.dangerous and room.config.read_only:
        return False
    return None if verb.why_not(target, room) else True


def press(verb: Verb, target: Target, room: Room) -> None:
    """Run `verb` on `target` as if its key was pressed: say why not, or ask, then run."""
    why = reason(verb, target, room)
    if why:
        room.flash(f"{verb.label}: {why}", "warning")
        return
    dialog = verb.ask(target, room)
    if dialog is None:
        run(verb, target, room, None)
        return

    def answered(answer: Any) -> None:
        if answer is not None and answer is not False:
            run(verb, target, room, answer)

    room.push_screen(dialog, answered)


def run(verb: Verb, target: Target, room: Room, answer: Any) -> None:
    """Run the verb's work now (its dialog, if any, was answered)."""
    if verb.clears_marks:  # the marked rows it acts on are spent; other marks stay
        marks = room.marks
        if target.marked_beads:
            marks = marks.without_beads()
        if target.marked_agents:
            marks = marks.without_agents()
        room.marks = marks
    if not verb.in_thread:
        verb.act(room, target, answer)
        return
    room.run_worker(partial(_work, verb, target, answer, room), thread=True,
                    group=WORKER_GROUP, exit_on_error=False, description=verb.label)


def _work(verb: Verb, target: Target, answer: Any, room: Room) -> None:
    """The verb's thread: every outcome, a failure included, becomes one message."""
    job = Job(room.town, verb.id, room.post_message)
    try:
        outcome = verb.perform(job, target, answer)
    except GasTownError as exc:
        fix = f" — {exc.fix}" if exc.fix else ""
        outcome = Outcome(f"{verb.label}: {exc.problem}{fix}", "error")
    except Exception as exc:  # a bug must not take the control room down with it
        outcome = Outcome(f"{verb.label} failed unexpectedly: {exc!r}", "error")
    finally:
        job.close()
    room.post_message(VerbFinished(verb.id, outcome.text, outcome.severity))
