"""Every problem in a formula file is one line naming the file, line and key."""

from __future__ import annotations

import textwrap

import pytest

from gastown_tui.formulas.parse import parse_formula_text, parse_overlay_text
from gastown_tui.town.errors import ValidationError

SRC = "t.formula.toml"


def error_of(text: str) -> str:
    with pytest.raises(ValidationError) as info:
        parse_formula_text(textwrap.dedent(text), SRC)
    assert "\n" not in str(info.value)
    return info.value.problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'formula = "x"\n[[steps]]\nid = "a"\ntitle = 3\n',
            "t.formula.toml:4: steps[0].title: must be a string (got integer 3)",
        ),
        (
            'formula = "x"\n[[steps]]\nid = "a"\n[[steps]]\nid = "b"\nneeds = "a"\n',
            't.formula.toml:6: steps[1].needs: must be an array (got string "a")',
        ),
        (
            'formula = "x"\n[[steps]]\nid = "a"\nparallel = "yes"\n',
            't.formula.toml:4: steps[0].parallel: must be true or false (got string "yes")',
        ),
        (
            'formula = "x"\nversion = "1"\n[[steps]]\nid = "a"\n',
            't.formula.toml:2: version: must be an integer (got string "1")',
        ),
        (
            'formula = "x"\n[[steps]]\ntitle = "no id"\n',
            "t.formula.toml:2: steps[0].id: is required",
        ),
        (
            'formula = "x"\ntype = "pipeline"\n[[steps]]\nid = "a"\n',
            "t.formula.toml:2: type: must be 'workflow', 'convoy', 'expansion' or 'aspect' (got \"pipeline\")",
        ),
        (
            'formula = "x"\n[vars]\nissue = 3\n[[steps]]\nid = "a"\n',
            "t.formula.toml:3: vars.issue: must be a table or a string (got integer 3)",
        ),
        (
            'formula = "x"\n[vars.issue]\nrequired = "yes"\n[[steps]]\nid = "a"\n',
            't.formula.toml:3: vars.issue.required: must be true or false (got string "yes")',
        ),
        (
            'formula = "x"\nsteps = "a"\n',
            't.formula.toml:2: steps: must be an array (got string "a")',
        ),
        (
            'formula = "x"\n[[advice]]\ntarget = "a"\n[[advice.around.before]]\ntitle = "t"\n',
            "t.formula.toml:4: advice[0].around.before[0].id: is required",
        ),
        (
            'formula = 7\n[[steps]]\nid = "a"\n',
            "t.formula.toml:1: formula: must be a string (got integer 7)",
        ),
    ],
)
def test_type_errors_name_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_formula_text(text, SRC)
    assert info.value.problem == expected


def test_structure_errors_name_file_line_and_key() -> None:
    needs_unknown = """\
formula = "x"
description = '''
a [ bracket and "quote
'''

[[steps]]
id = "a"

[[steps]]
id = "b"
needs = [
  "a",
  "ghost",
]
"""
    assert error_of(needs_unknown) == (
        't.formula.toml:11: steps[1].needs: unknown step "ghost" (in step "b")'
    )
    cycle = 'formula = "x"\n[[steps]]\nid = "a"\nneeds = ["c"]\n[[steps]]\nid = "b"\nneeds = ["a"]\n[[steps]]\nid = "c"\nneeds = ["b"]\n'
    assert error_of(cycle) == "t.formula.toml:4: steps[0].needs: dependency cycle: a -> c -> b -> a"
    self_cycle = 'formula = "x"\n[[steps]]\nid = "a"\nneeds = ["a"]\n'
    assert error_of(self_cycle) == "t.formula.toml:4: steps[0].needs: dependency cycle: a -> a"
    dup = 'formula = "x"\n[[steps]]\nid = "a"\n\n[[steps]]\nid = "a"\n'
    assert error_of(dup) == (
        't.formula.toml:6: steps[1].id: duplicate step id "a" (first defined at line 2)'
    )
    depends = 'formula = "x"\n[[steps]]\nid = "a"\ndepends_on = ["nope"]\n'
    assert error_of(depends) == (
        't.formula.toml:4: steps[0].depends_on: unknown step "nope" (in step "a")'
    )


def test_missing_name_and_empty_types() -> None:
    assert error_of("") == "t.formula.toml:1: formula: is required"
    assert (
        error_of('type = "workflow"\n[[steps]]\nid = "a"\n')
        == "t.formula.toml:1: formula: is required"
    )
    assert (
        error_of('formula = "x"\n')
        == "t.formula.toml:1: type: cannot tell the formula type from its content"
    )
    assert error_of('formula = "x"\ntype = "workflow"\n') == (
        "t.formula.toml:1: steps: a workflow needs at least one [[steps]] entry or extends"
    )
    assert error_of('formula = "x"\ntype = "convoy"\n') == (
        "t.formula.toml:1: legs: a convoy needs at least one [[legs]] entry"
    )
    assert error_of('formula = "x"\ntype = "convoy"\nextends = ["y"]\n[[legs]]\nid="a"\n') == (
        "t.formula.toml:3: extends: only a workflow can extend, not a convoy"
    )


def test_convoy_errors() -> None:
    base = 'formula = "c"\n[[legs]]\nid = "a"\n'
    assert error_of(base + '[[legs]]\nid = "a"\n') == (
        't.formula.toml:5: legs[1].id: duplicate leg id "a" (first defined at line 2)'
    )
    assert error_of(base + '[synthesis]\ntitle = "s"\ndepends_on = ["a", "b"]\n') == (
        't.formula.toml:6: synthesis.depends_on: unknown leg "b"'
    )
    assert error_of(base + '[inputs.pr]\nrequired_unless = ["files"]\n') == (
        't.formula.toml:5: inputs.pr.required_unless: unknown input "files"'
    )


def test_expansion_errors() -> None:
    assert error_of('formula = "e"\n[[template]]\nid = "{target}.a"\nneeds = ["{target}.z"]\n') == (
        't.formula.toml:4: template[0].needs: unknown step "{target}.z" (in step "{target}.a")'
    )


def test_toml_syntax_error_reports_its_line() -> None:
    assert error_of('formula = "x"\n[[steps]]\nid = "a\n').startswith("t.formula.toml:3: (toml): ")
    assert error_of('formula = "x"\nformula = "y"\n') == (
        't.formula.toml:2: (toml): Key "formula" already exists.'
    )
    assert error_of("a = 1979-13-27\n") == "t.formula.toml:1: (toml): Invalid date"


def test_error_carries_a_fix_and_is_one_line() -> None:
    with pytest.raises(ValidationError) as info:
        parse_formula_text('type = "workflow"\n[[steps]]\nid = "a"\n', "mol-x.formula.toml")
    assert info.value.fix == 'add formula = "mol-x"'
    assert str(info.value) == 'mol-x.formula.toml:1: formula: is required (add formula = "mol-x")'


def test_overlay_parse_and_errors() -> None:
    overlay = parse_overlay_text(
        '[[step-overrides]]\nstep_id = "a"\nmode = "skip"\n\n[[step-overrides]]\nstep_id = "b"\n'
        'description = "x"\n',
        "o.toml",
    ).model
    assert [(o.step_id, o.mode) for o in overlay.step_overrides] == [
        ("a", "skip"),
        ("b", "replace"),
    ]
    with pytest.raises(ValidationError) as info:
        parse_overlay_text('[[step-overrides]]\nstep_id = "a"\nmode = "delete"\n', "o.toml")
    assert info.value.problem.startswith("o.toml:3: step-overrides[0].mode: must be ")
