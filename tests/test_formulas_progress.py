"""Molecule progress: steps plus bead statuses give a checklist."""

from __future__ import annotations

from gastown_tui.formulas.model import Step
from gastown_tui.formulas.progress import StepState, format_checklist, molecule_progress

STEPS = (
    Step(id="a", title="Alpha"),
    Step(id="b", title="Beta", needs=("a",)),
    Step(id="c", needs=("a",)),
    Step(id="d", title="Delta", needs=("b", "c")),
)


def test_nothing_started() -> None:
    progress = molecule_progress(STEPS, {})
    assert (progress.done, progress.total, progress.current) == (0, 4, "a")
    assert progress.checklist == [
        ("a", "Alpha", "ready"),
        ("b", "Beta", "waiting"),
        ("c", "c", "waiting"),
        ("d", "Delta", "waiting"),
    ]
    assert not progress.complete and progress.fraction == 0


def test_active_step_is_current_over_ready_ones() -> None:
    progress = molecule_progress(STEPS, {"a": "closed", "c": "in_progress"})
    assert progress.current == "c"
    assert [i.state for i in progress.items] == [
        StepState.DONE,
        StepState.READY,
        StepState.ACTIVE,
        StepState.WAITING,
    ]


def test_hooked_blocked_deferred_and_unknown_statuses() -> None:
    progress = molecule_progress(
        STEPS, {"a": "tombstone", "b": "blocked", "c": "deferred", "zz": "closed"}
    )
    assert progress.done == 1
    assert [i.state.value for i in progress.items] == ["done", "blocked", "deferred", "waiting"]
    assert progress.current is None
    assert molecule_progress(STEPS, {"a": "hooked"}).current == "a"


def test_all_done() -> None:
    progress = molecule_progress(STEPS, dict.fromkeys("abcd", "closed"))
    assert progress.complete and progress.fraction == 1.0 and progress.current is None


def test_bare_ids_are_taken_in_sequence() -> None:
    progress = molecule_progress(["x", ("y", "Why"), "z"], {"x": "closed"})
    assert progress.checklist == [("x", "x", "done"), ("y", "Why", "ready"), ("z", "z", "waiting")]
    assert progress.current == "y"
    empty = molecule_progress([], {})
    assert empty.total == 0 and empty.complete and empty.fraction == 1.0


def test_format_checklist_marks_current() -> None:
    text = format_checklist(molecule_progress(STEPS, {"a": "closed", "b": "in_progress"}))
    assert text.splitlines() == [
        "Progress: 1/4 steps done",
        "[x] a: Alpha",
        "[>] b: Beta  <- current",
        "[ ] c: c",
        "[ ] d: Delta",
    ]
