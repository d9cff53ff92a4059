"""Parsing formula files: the four types, unknown keys, key lines, and garbage input."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gastown_tui.formulas.locate import LineIndex
from gastown_tui.formulas.model import Formula
from gastown_tui.formulas.parse import (
    parse_formula,
    parse_formula_text,
)
from gastown_tui.town.errors import ValidationError

SRC = "t.formula.toml"


def parse(text: str) -> Formula:
    return parse_formula(textwrap.dedent(text), SRC)


def error_of(text: str) -> str:
    with pytest.raises(ValidationError) as info:
        parse_formula_text(textwrap.dedent(text), SRC)
    message = str(info.value)
    assert "\n" not in message
    return info.value.problem


# --- the four types ------------------------------------------------------------------------


def test_workflow_parses_with_steps_and_vars() -> None:
    f = parse(
        """
        formula = "wf"
        type = "workflow"
        version = 2
        [vars.feature]
        description = "what"
        required = true
        [[steps]]
        id = "a"
        title = "A {{feature}}"
        [[steps]]
        id = "b"
        needs = ["a"]
        parallel = true
        acceptance = "done"
        """
    )
    assert (f.name, f.type, f.version) == ("wf", "workflow", 2)
    assert f.vars["feature"].required and f.vars["feature"].default is None
    assert [s.id for s in f.steps] == ["a", "b"]
    assert f.steps[1].needs == ("a",) and f.steps[1].parallel and f.steps[1].acceptance == "done"


def test_convoy_parses_legs_synthesis_inputs() -> None:
    f = parse(
        """
        formula = "cv"
        type = "convoy"
        [inputs.pr]
        type = "number"
        required_unless = ["files"]
        [inputs.files]
        required_unless = ["pr"]
        [prompts]
        base = "Review {{.leg.focus}}"
        [output]
        directory = ".reviews/{{.review_id}}"
        [[legs]]
        id = "x"
        focus = "fx"
        [[legs]]
        id = "y"
        review_only = true
        [synthesis]
        title = "sum"
        depends_on = ["x", "y"]
        """
    )
    assert f.type == "convoy"
    assert [leg.id for leg in f.legs] == ["x", "y"] and f.legs[1].review_only
    assert f.synthesis is not None and f.synthesis.depends_on == ("x", "y")
    assert f.inputs["pr"].required_unless == ("files",)
    assert f.output is not None and f.output.directory == ".reviews/{{.review_id}}"


def test_expansion_parses_template() -> None:
    f = parse(
        """
        formula = "exp"
        type = "expansion"
        [[template]]
        id = "{target}.a"
        title = "A of {target.title}"
        [[template]]
        id = "{target}.b"
        needs = ["{target}.a"]
        """
    )
    assert f.type == "expansion" and [t.id for t in f.template] == ["{target}.a", "{target}.b"]


def test_aspect_parses_advice_in_both_spellings() -> None:
    f = parse(
        """
        formula = "asp"
        type = "aspect"
        [[advice]]
        target = "implement"
        [advice.around]
        [[advice.around.before]]
        id = "{step.id}-pre"
        [[advice.around.after]]
        id = "{step.id}-post"
        [[advice]]
        target = "submit"
        [advice.before]
        id = "gate"
        [advice.around.after]
        id = "single-table"
        [[pointcuts]]
        glob = "*.implement"
        """
    )
    assert f.type == "aspect"
    first, second = f.advice
    assert [s.id for s in first.before_steps] == ["{step.id}-pre"]
    assert [s.id for s in first.after_steps] == ["{step.id}-post"]
    assert [s.id for s in second.before_steps] == ["gate"]
    assert [s.id for s in second.after_steps] == ["single-table"]
    assert f.pointcuts[0].glob == "*.implement"


def test_aspect_with_analysis_aspects() -> None:
    f = parse(
        """
        formula = "audit"
        [[aspects]]
        id = "sast"
        title = "Static analysis"
        [[aspects]]
        id = "secrets"
        """
    )
    assert f.type == "aspect" and [a.id for a in f.aspects] == ["sast", "secrets"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ('[[steps]]\nid = "a"', "workflow"),
        ('extends = ["base"]', "workflow"),
        ('[[legs]]\nid = "a"', "convoy"),
        ('[[template]]\nid = "{target}.a"', "expansion"),
        ('[[advice]]\ntarget = "x"\n[advice.before]\nid = "y"', "aspect"),
    ],
)
def test_type_is_inferred_from_content(body: str, kind: str) -> None:
    assert parse(f'formula = "f"\n{body}\n').type == kind


# --- unknown keys --------------------------------------------------------------------------


def test_unknown_keys_are_kept_everywhere() -> None:
    f = parse(
        """
        formula = "wf"
        future_field = {a = 1}
        [presets.gate]
        legs = ["x"]
        [[steps]]
        id = "a"
        output = "design.md"
        gate = { type = "human", timeout = "1h" }
        [steps.requirements]
        needs = ["code analysis"]
        cognition = "basic"
        [vars.v]
        default = "1"
        enumish = [1, 2]
        """
    )
    assert f.unknown_keys == {"future_field": {"a": 1}, "presets": {"gate": {"legs": ["x"]}}}
    step = f.steps[0]
    assert step.unknown_keys["output"] == "design.md"
    assert "gate" not in step.unknown_keys  # modelled: the step parks on it
    assert (step.parks_on.type, step.parks_on.timeout) == ("human", "1h")
    assert step.unknown_keys["requirements"] == {"needs": ["code analysis"], "cognition": "basic"}
    assert f.vars["v"].unknown_keys == {"enumish": [1, 2]}


def test_var_shorthand_is_a_default() -> None:
    f = parse('formula = "p"\n[vars]\nwisp_type = "patrol"\n[[steps]]\nid = "a"\n')
    assert f.vars["wisp_type"].default == "patrol" and not f.vars["wisp_type"].required


def test_depends_on_is_accepted_like_needs() -> None:
    f = parse('formula = "p"\n[[steps]]\nid = "a"\n[[steps]]\nid = "b"\ndepends_on = ["a"]\n')
    assert f.steps[1].all_needs == ("a",)


# --- the line index ------------------------------------------------------------------------


def test_line_index_follows_nested_arrays_of_tables_and_multiline_values() -> None:
    text = textwrap.dedent(
        '''\
        a = """
        [[fake]]
        x = 1
        """
        b = ['x', "]", [
          1,
        ]]
        [[advice]]
        target = "t"
        [advice.around]
        [[advice.around.before]]
        id = "one"
        [[advice]]
        [[advice.around.before]]
        id = "two"
        [[advice.around.before]]
        "quoted.key" = 1
        dotted.key = 2
        '''
    )
    idx = LineIndex(text)
    assert idx.line_of(("a",)) == 1
    assert not idx.has(("fake",))
    assert idx.line_of(("b",)) == 5
    assert idx.line_of(("advice", 0, "target")) == 9
    assert idx.line_of(("advice", 0, "around", "before", 0, "id")) == 12
    assert idx.line_of(("advice", 1, "around", "before", 0, "id")) == 15
    assert idx.line_of(("advice", 1, "around", "before", 1, "quoted.key")) == 17
    assert idx.line_of(("advice", 1, "around", "before", 1, "dotted", "key")) == 18
    assert idx.line_of(("advice", 1, "around", "before", 1, "missing")) == 16
    assert idx.line_of(("nothing",)) == 1


# --- garbage never escapes as anything but ValidationError ---------------------------------

_FRAGMENTS = st.sampled_from(
    [
        'formula = "x"',
        "[[steps]]",
        'id = "a"',
        'id = "b"',
        'needs = ["a"]',
        'needs = ["b"]',
        "needs = 3",
        "[vars.v]",
        "required = true",
        'default = "d"',
        "[vars]",
        'v = "s"',
        'type = "convoy"',
        'type = "expansion"',
        "[[legs]]",
        "[[template]]",
        "[synthesis]",
        'depends_on = ["q"]',
        '"""',
        "'''",
        "[[advice]]",
        "[advice.around]",
        "[[advice.around.before]]",
        "extends = []",
        "[compose]",
        "[[compose.expand]]",
        'target = "a"',
        'with = "zz"',
        "[inputs.p]",
        'required_unless = ["o"]',
        "x = [",
        "]",
        "a.b.c = 1",
        '"k.q" = 2',
        "# comment",
        "",
        "=",
        "[",
        "[[",
        "\\",
        '"\\u00"',
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.one_of(_FRAGMENTS, st.text(max_size=8))).map("\n".join)))
def test_garbage_gives_validation_error_only(text: str) -> None:
    try:
        parse_formula_text(text, SRC)
    except ValidationError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith(SRC + ":")


# --- layering ------------------------------------------------------------------------------


def test_formulas_package_does_not_import_textual() -> None:
    code = (
        "import sys, gastown_tui.formulas.resolve, gastown_tui.formulas.progress, "
        "gastown_tui.cli.formula_cmd; print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
