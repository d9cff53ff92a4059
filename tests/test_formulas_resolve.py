"""Resolving formulas: search order, extends, expansions, aspects, overlays and `{{vars}}`."""

from __future__ import annotations

from pathlib import Path

import pytest

from gastown_tui.formulas.library import UnknownFormulaError, shipped_dir
from gastown_tui.formulas.resolve import FormulaLibrary, resolve_formula
from gastown_tui.town.errors import InvalidNameError, ValidationError
from tests.formula_helpers import minimal_town, order, write

SHIPPED = sorted(p.name.removesuffix(".formula.toml") for p in shipped_dir().glob("*.formula.toml"))


@pytest.fixture
def town(tmp_path: Path) -> Path:
    root = minimal_town(tmp_path / "town")
    return root



# --- the shipped library -------------------------------------------------------------------


def test_shipped_dir_is_the_checkout_formulas_folder() -> None:
    assert shipped_dir() == Path(__file__).resolve().parents[1] / "formulas"
    assert {
        "mol-polecat-work",
        "shiny",
        "rule-of-five",
        "shiny-enterprise",
        "code-review",
        "security-audit",
        "release",
    } <= set(SHIPPED)


# Copied unchanged from upstream (internal/formula/formulas/, MIT): the crew prompts run them.
UPSTREAM_COPIES = {"mol-idea-to-plan", "mol-plan-review", "mol-prd-review"}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_formula_parses_resolves_and_renders(name: str) -> None:
    library = FormulaLibrary()
    values = {"issue": "gt-a3f", "feature": "login", "version": "1.2.3", "pr": "7",
              "problem": "a vague idea", "plan": "docs/plan.md"}
    resolved = library.resolve(name, values if name in UPSTREAM_COPIES else None)
    assert resolved.source == "shipped" and resolved.name == name
    assert resolved.formula.version >= 1 and resolved.description.strip()
    rendered = resolved.render(values)
    assert not resolved.warnings
    for step in rendered.steps:
        assert step.title and step.description.strip()
        if resolved.type == "workflow" and name not in UPSTREAM_COPIES:
            assert "{{" not in step.title + step.description + step.acceptance
            assert step.acceptance, f"{name}:{step.id} says when it is done"


def test_shipped_step_lists() -> None:
    library = FormulaLibrary()
    assert order(library.resolve("shiny")) == [
        ("design", ()),
        ("implement", ("design",)),
        ("review", ("implement",)),
        ("test", ("review",)),
        ("submit", ("test",)),
    ]
    assert [s.id for s in library.resolve("mol-polecat-work").steps] == [
        "load-context",
        "setup",
        "implement",
        "self-review",
        "run-tests",
        "commit",
        "submit",
    ]
    enterprise = library.resolve("shiny-enterprise")
    assert order(enterprise) == [
        ("design", ()),
        ("implement.draft", ("design",)),
        ("implement.correctness", ("implement.draft",)),
        ("implement.clarity", ("implement.correctness",)),
        ("implement.edge-cases", ("implement.clarity",)),
        ("implement.polish", ("implement.edge-cases",)),
        ("review-security-scan", ("implement.polish",)),
        ("review", ("review-security-scan",)),
        ("test", ("review",)),
        ("submit-security-gate", ("test",)),
        ("submit", ("submit-security-gate",)),
    ]
    assert enterprise.vars["feature"].required  # inherited from shiny
    review = library.resolve("code-review")
    assert [leg.id for leg in review.legs] == ["correctness", "security", "tests", "style"]
    assert review.synthesis is not None and len(review.synthesis.depends_on) == 4


def test_polecat_work_renders_issue_and_defaults() -> None:
    resolved = resolve_formula("mol-polecat-work", {"issue": "gt-a3f", "test_command": "make test"})
    text = "\n".join(s.description for s in resolved.steps)
    assert "bd show gt-a3f" in text and "make test" in text and "origin/main" in text
    assert "gt done" in resolved.step("submit").description  # type: ignore[union-attr]
    assert resolved.values["base_branch"] == "main" and resolved.rendered


# --- search order --------------------------------------------------------------------------


def test_resolution_order_rig_then_town_then_shipped(town: Path) -> None:
    body = 'formula = "shiny"\ndescription = "{}"\n[[steps]]\nid = "only"\n'
    write(town / "formulas", "shiny", body.format("town"))
    assert FormulaLibrary(town).resolve("shiny").description == "town"
    assert FormulaLibrary(town).find("shiny").tier == "town"
    write(town / "gastown" / "formulas", "shiny", body.format("rig"))
    rig_lib = FormulaLibrary(town, "gastown")
    assert rig_lib.resolve("shiny").source == "rig"
    assert rig_lib.resolve("shiny").description == "rig"
    assert FormulaLibrary(town).resolve("shiny").source == "town"  # the rig's needs --rig
    assert FormulaLibrary(town, "gastown").resolve("release").source == "shipped"
    tiers = {s.name: s.tier for s in rig_lib.sources()}
    assert tiers["shiny"] == "rig" and tiers["release"] == "shipped"
    assert [s.name for s in rig_lib.sources()] == sorted(tiers)


def test_unknown_and_invalid_names(town: Path) -> None:
    with pytest.raises(UnknownFormulaError) as info:
        FormulaLibrary(town).resolve("nope")
    assert str(info.value) == "no formula named 'nope' (gt formula list)"
    with pytest.raises(InvalidNameError):
        FormulaLibrary(town).find("../secrets")
    with pytest.raises(InvalidNameError):
        FormulaLibrary(town, "../x")


# --- extends, expand, map, aspects ---------------------------------------------------------


def test_extends_inherits_steps_and_vars_and_child_overrides(town: Path) -> None:
    write(
        town / "formulas",
        "base",
        """
        formula = "base"
        [vars.who]
        default = "me"
        [[steps]]
        id = "a"
        title = "A by {{who}}"
        [[steps]]
        id = "b"
        needs = ["a"]
        """,
    )
    write(
        town / "formulas",
        "child",
        """
        formula = "child"
        extends = ["base"]
        [vars.who]
        default = "you"
        [[steps]]
        id = "a"
        title = "A, overridden"
        [[steps]]
        id = "c"
        needs = ["b"]
        """,
    )
    resolved = FormulaLibrary(town).resolve("child", {})
    assert order(resolved) == [("a", ()), ("b", ("a",)), ("c", ("b",))]
    assert resolved.steps[0].title == "A, overridden"
    assert resolved.values["who"] == "you"


def test_expand_replaces_target_and_rewires_both_sides(town: Path) -> None:
    write(
        town / "formulas",
        "fan",
        """
        formula = "fan"
        type = "expansion"
        [[template]]
        id = "{target}.left"
        title = "Left of {target.title} for {{who}}"
        [[template]]
        id = "{target}.right"
        description = "was: {target.description}"
        [[template]]
        id = "{target}.join"
        needs = ["{target}.left", "{target}.right"]
        """,
    )
    write(
        town / "formulas",
        "wf",
        """
        formula = "wf"
        [[steps]]
        id = "start"
        [[steps]]
        id = "work"
        title = "Work"
        description = "do it"
        needs = ["start"]
        [[steps]]
        id = "end"
        needs = ["work"]
        [[compose.expand]]
        target = "work"
        with = "fan"
        vars = { who = "bob" }
        """,
    )
    resolved = FormulaLibrary(town).resolve("wf")
    assert order(resolved) == [
        ("start", ()),
        ("work.left", ("start",)),
        ("work.right", ("start",)),
        ("work.join", ("work.left", "work.right")),
        ("end", ("work.join",)),
    ]
    assert resolved.steps[1].title == "Left of Work for bob"
    assert resolved.steps[2].description == "was: do it"


def test_map_expands_every_matching_step(town: Path) -> None:
    write(
        town / "formulas",
        "twice",
        """
        formula = "twice"
        [[template]]
        id = "{target}.1"
        [[template]]
        id = "{target}.2"
        needs = ["{target}.1"]
        """,
    )
    write(
        town / "formulas",
        "wf",
        """
        formula = "wf"
        [[steps]]
        id = "build.api"
        [[steps]]
        id = "build.ui"
        needs = ["build.api"]
        [[steps]]
        id = "ship"
        needs = ["build.api", "build.ui"]
        [[compose.map]]
        select = "build.*"
        with = "twice"
        """,
    )
    assert order(FormulaLibrary(town).resolve("wf")) == [
        ("build.api.1", ()),
        ("build.api.2", ("build.api.1",)),
        ("build.ui.1", ("build.api.2",)),
        ("build.ui.2", ("build.ui.1",)),
        ("ship", ("build.api.2", "build.ui.2")),
    ]


def test_aspects_insert_before_and_after_matching_steps(town: Path) -> None:
    write(
        town / "formulas",
        "guard",
        """
        formula = "guard"
        type = "aspect"
        [[advice]]
        target = "*.impl"
        [[advice.around.before]]
        id = "{step.id}.pre"
        title = "Before {step.title}"
        [[advice.around.after]]
        id = "{step.id}.post-1"
        [[advice.around.after]]
        id = "{step.id}.post-2"
        [[advice]]
        [advice.before]
        id = "approve-{step.id}"
        [[pointcuts]]
        label = "risky"
        """,
    )
    write(
        town / "formulas",
        "wf",
        """
        formula = "wf"
        [compose]
        aspects = ["guard", "guard"]
        [[steps]]
        id = "plan"
        [[steps]]
        id = "x.impl"
        title = "Implement X"
        needs = ["plan"]
        [[steps]]
        id = "deploy"
        labels = ["risky"]
        needs = ["x.impl"]
        """,
    )
    resolved = FormulaLibrary(town).resolve("wf")
    assert order(resolved) == [
        ("plan", ()),
        ("x.impl.pre", ("plan",)),
        ("x.impl", ("x.impl.pre",)),
        ("x.impl.post-1", ("x.impl",)),
        ("x.impl.post-2", ("x.impl.post-1",)),
        ("approve-deploy", ("x.impl.post-2",)),
        ("deploy", ("approve-deploy",)),
    ]
    assert resolved.step("x.impl.pre").title == "Before Implement X"  # type: ignore[union-attr]


def test_nested_children_become_a_container(town: Path) -> None:
    write(
        town / "formulas",
        "nested",
        """
        formula = "nested"
        [[steps]]
        id = "prep"
        [[steps]]
        id = "backend"
        needs = ["prep"]
        [[steps.children]]
        id = "api"
        [[steps.children]]
        id = "db"
        needs = ["api"]
        [[steps]]
        id = "frontend"
        needs = ["db"]
        """,
    )
    assert order(FormulaLibrary(town).resolve("nested")) == [
        ("prep", ()),
        ("api", ("prep",)),
        ("db", ("api",)),
        ("backend", ("prep", "api", "db")),
        ("frontend", ("db",)),
    ]


def test_topological_order_is_stable_file_order(town: Path) -> None:
    write(
        town / "formulas",
        "wf",
        """
        formula = "wf"
        [[steps]]
        id = "c"
        needs = ["b"]
        [[steps]]
        id = "a"
        [[steps]]
        id = "b"
        [[steps]]
        id = "d"
        """,
    )
    assert [s.id for s in FormulaLibrary(town).resolve("wf").steps] == ["a", "b", "c", "d"]


# --- composition errors point at the file, line and key that caused them -----------------


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        (
            'formula = "c"\nextends = ["ghost"]\n',
            'c.formula.toml:2: extends: unknown formula "ghost"',
        ),
        (
            'formula = "c"\nextends = ["../etc/passwd"]\n',
            'c.formula.toml:2: extends: unknown formula "../etc/passwd"',
        ),
        (
            'formula = "c"\nextends = ["rule-of-five"]\n',
            "c.formula.toml:2: extends: rule-of-five is of type expansion, expected workflow",
        ),
        (
            'formula = "c"\nextends = ["shiny"]\n[[steps]]\nid = "x"\nneeds = ["nope"]\n',
            'c.formula.toml:5: steps[0].needs: unknown step "nope" (in step "x")',
        ),
        (
            'formula = "c"\nextends = ["shiny"]\n\n[[compose.expand]]\ntarget = "ghost"\nwith = "rule-of-five"\n',
            'c.formula.toml:5: compose.expand[0].target: no step "ghost" to expand',
        ),
        (
            'formula = "c"\nextends = ["shiny"]\n\n[[compose.expand]]\ntarget = "design"\nwith = "shiny"\n',
            "c.formula.toml:6: compose.expand[0].with: shiny is of type workflow, expected expansion",
        ),
        (
            'formula = "c"\nextends = ["shiny"]\n[compose]\naspects = ["shiny"]\n',
            "c.formula.toml:4: compose.aspects: shiny is of type workflow, expected aspect",
        ),
        ('formula = "c"\nextends = ["c"]\n', "c.formula.toml:2: extends: extends cycle through c"),
    ],
)
def test_composition_errors_are_located(town: Path, child: str, expected: str) -> None:
    path = write(town / "formulas", "c", child)
    with pytest.raises(ValidationError) as info:
        FormulaLibrary(town).resolve("c")
    assert info.value.problem == str(path.parent) + "/" + expected


def test_duplicate_ids_from_composition_are_reported(town: Path) -> None:
    path = write(
        town / "formulas",
        "c",
        """
        formula = "c"
        extends = ["shiny"]
        [[steps]]
        id = "implement.draft"
        [[compose.expand]]
        target = "implement"
        with = "rule-of-five"
        """,
    )
    with pytest.raises(ValidationError) as info:
        FormulaLibrary(town).resolve("c")
    assert info.value.problem == (
        f"{path}:6: compose.expand[0]: expanding 'implement' makes a duplicate step id "
        "'implement.draft'"
    )
