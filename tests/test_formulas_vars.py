"""Overlays and `{{vars}}`: what a resolved formula says once a town has its say."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gastown_tui.formulas.library import shipped_dir
from gastown_tui.formulas.resolve import FormulaLibrary
from gastown_tui.town.errors import ValidationError
from tests.formula_helpers import minimal_town, order, write


@pytest.fixture
def town(tmp_path: Path) -> Path:
    root = minimal_town(tmp_path / "town")
    return root



# --- overlays ------------------------------------------------------------------------------


def test_overlays_replace_append_skip_and_rig_wins(town: Path) -> None:
    overlays = town / "formula-overlays"
    overlays.mkdir()
    (overlays / "shiny.toml").write_text(
        textwrap.dedent("""
        [[step-overrides]]
        step_id = "design"
        mode = "replace"
        description = "Town design rules."

        [[step-overrides]]
        step_id = "test"
        mode = "append"
        description = "Also run the smoke test."

        [[step-overrides]]
        step_id = "review"
        mode = "skip"

        [[step-overrides]]
        step_id = "gone"
        mode = "skip"
        """)
    )
    resolved = FormulaLibrary(town).resolve("shiny")
    assert order(resolved) == [
        ("design", ()),
        ("implement", ("design",)),
        ("test", ("implement",)),
        ("submit", ("test",)),
    ]
    assert resolved.step("design").description == "Town design rules."  # type: ignore[union-attr]
    assert resolved.step("test").description.endswith("\nAlso run the smoke test.")  # type: ignore[union-attr]
    assert resolved.warnings == (
        f"{overlays / 'shiny.toml'}:17: step-overrides[3].step_id: stale override: "
        'shiny has no step "gone"',
    )
    rig_overlays = town / "gastown" / "formula-overlays"
    rig_overlays.mkdir()
    (rig_overlays / "shiny.toml").write_text(
        '[[step-overrides]]\nstep_id = "submit"\ntitle = "Ship it"\ndescription = "rig way"\n'
        '[[step-overrides]]\nstep_id = "test"\ntitle = "Test well"\n'
    )
    rig = FormulaLibrary(town, "gastown").resolve("shiny")
    assert [s.id for s in rig.steps] == ["design", "implement", "review", "test", "submit"]
    assert rig.step("submit").title == "Ship it"  # type: ignore[union-attr]
    assert rig.step("submit").description == "rig way"  # type: ignore[union-attr]
    assert rig.step("test").title == "Test well"  # type: ignore[union-attr]
    assert rig.step("test").description.startswith("Add tests")  # type: ignore[union-attr]
    assert rig.step("design").description != "Town design rules."  # type: ignore[union-attr]


def test_bad_overlay_is_a_located_error(town: Path) -> None:
    (town / "formula-overlays").mkdir()
    path = town / "formula-overlays" / "shiny.toml"
    path.write_text("[[step-overrides]]\nstep_id = 3\n")
    with pytest.raises(ValidationError) as info:
        FormulaLibrary(town).resolve("shiny")
    assert (
        info.value.problem
        == f"{path}:2: step-overrides[0].step_id: must be a string (got integer 3)"
    )


# --- variables -----------------------------------------------------------------------------


def test_vars_defaults_then_given_unknown_left_verbatim(town: Path) -> None:
    write(
        town / "formulas",
        "v",
        """
        formula = "v"
        [vars]
        greeting = "hello"
        [vars.name]
        required = true
        [[steps]]
        id = "s"
        title = "{{greeting}} {{name}} {{unknown}} {{.go.field}}"
        """,
    )
    library = FormulaLibrary(town)
    raw = library.resolve("v")
    assert not raw.rendered and raw.steps[0].title.startswith("{{greeting}}")
    rendered = library.resolve("v", {"name": "Ann"})
    assert rendered.steps[0].title == "hello Ann {{unknown}} {{.go.field}}"
    assert (
        library.resolve("v", {"name": "Ann", "greeting": "hi"}).steps[0].title.startswith("hi Ann")
    )
    assert library.resolve("v", {}, require_all=False).steps[0].title.startswith("hello {{name}}")


def test_missing_required_var_names_its_declaration(town: Path) -> None:
    path = write(
        town / "formulas",
        "v",
        """
        formula = "v"

        [vars.name]
        required = true
        [[steps]]
        id = "s"
        """,
    )
    with pytest.raises(ValidationError) as info:
        FormulaLibrary(town).resolve("v", {})
    assert info.value.problem == f"{path}:4: vars.name: required variable has no value"
    assert info.value.fix == "pass --var name=VALUE"


def test_inherited_required_var_points_at_the_parent(town: Path) -> None:
    write(town / "formulas", "c", 'formula = "c"\nextends = ["shiny"]\n')
    with pytest.raises(ValidationError) as info:
        FormulaLibrary(town).resolve("c", {})
    assert (
        info.value.problem
        == f"{shipped_dir() / 'shiny.formula.toml'}:9: vars.feature: required variable has no value"
    )


def test_enum_and_pattern_are_checked(town: Path) -> None:
    write(
        town / "formulas",
        "v",
        """
        formula = "v"
        [vars.level]
        enum = ["low", "high"]
        default = "low"
        [[steps]]
        id = "s"
        """,
    )
    library = FormulaLibrary(town)
    assert library.resolve("v", {"level": "high"}).values["level"] == "high"
    with pytest.raises(ValidationError, match="'mid' is not one of low, high"):
        library.resolve("v", {"level": "mid"})
    with pytest.raises(ValidationError, match="does not match"):
        library.resolve("release", {"version": "one"})


def test_convoy_inputs_and_leg_prompt() -> None:
    library = FormulaLibrary()
    with pytest.raises(ValidationError, match="inputs.pr: required unless one of branch, files"):
        library.resolve("code-review", {})
    resolved = library.resolve("code-review", {"branch": "feat/x"})
    prompt = resolved.leg_prompt("tests", {"review_target": "branch feat/x", "output_path": "o.md"})
    assert "# Code review: Tests" in prompt and "Review branch feat/x." in prompt
    assert "{{" not in prompt


def test_ready_steps_and_progress() -> None:
    resolved = FormulaLibrary().resolve("release", {"version": "1.0.0"})
    assert resolved.ready_steps(set()) == ("preflight",)
    assert resolved.ready_steps({"preflight"}) == ("bump-version", "changelog")
    progress = resolved.progress({"preflight": "closed", "bump-version": "in_progress"})
    assert (progress.done, progress.total, progress.current) == (1, 7, "bump-version")
