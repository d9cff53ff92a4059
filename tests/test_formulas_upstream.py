"""Upstream Gas Town formula shapes parse unchanged.

The samples are small and hand-written for these tests, in the shapes upstream's files use:
no `type`, literal strings, keys in any order, Go-template prompts, `[presets]`, `[compose]`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gastown_tui.formulas.parse import parse_formula
from gastown_tui.formulas.resolve import FormulaLibrary

UPSTREAM_POLECAT = '''\
description = """
Full polecat lifecycle.

```bash
gt hook               # Shows your pinned molecule
bd show {{issue}}
```"""
formula = "mol-sample-work"
version = 8

[[steps]]
id = "load-context"
title = "Load context"
description = """
**1. Prime:**
```bash
gt prime
```
**Exit criteria:** You understand the work."""

[[steps]]
id = "branch-setup"
title = "Set up branch"
needs = ["load-context"]
description = """Rebase on origin/{{base_branch}}."""

[vars]
[vars.issue]
description = "The issue ID"
required = true

[vars.base_branch]
description = "Base branch"
default = "main"

[vars.setup_command]
description = "Setup. Empty = skip."
default = ""
'''

UPSTREAM_PATROL = """\
description = "Patrol loop.\\n\\n```\\ninbox-check ─► survey\\n```"
formula = 'mol-sample-patrol'
version = 2

[[steps]]
description = "Check inbox.\\n\\n```bash\\ngt mail inbox\\n```"
id = 'inbox-check'
title = 'Process mail'

[[steps]]
description = "Survey.\\n**Step 1**: `bd list --type=agent --json`"
id = 'survey-workers'
needs = ['inbox-check']
parallel = true
title = 'Inspect polecats'

[[steps]]
description = "Ping."
id = 'ping'
needs = ['inbox-check']
parallel = true
title = 'Ping deacon'
"""

UPSTREAM_CONVOY = '''\
# Code Review Convoy Formula
#
# Usage:
#   gt formula run sample-review --pr=123

description = """
Comprehensive code review via parallel reviewers.
"""
formula = "sample-review"
type = "convoy"
version = 1

# Input variables - provided at runtime
[inputs]
[inputs.pr]
description = "Pull request number"
type = "number"
required_unless = ["files", "branch"]

[inputs.files]
description = "File glob"
type = "string"
required_unless = ["pr", "branch"]

[inputs.branch]
description = "Branch name"
type = "string"
required_unless = ["pr", "files"]

[prompts]
base = """
- **Your focus**: {{.leg.focus}}
{{if .pr_number -}}
PR #{{.pr_number}}
{{range .changed_files -}}
- {{.path}} (+{{.additions}}/-{{.deletions}})
{{end -}}
{{end}}
"""

[output]
directory = ".reviews/{{.review_id}}"
leg_pattern = "{{.leg.id}}-findings.md"
synthesis = "review-summary.md"

[[legs]]
id = "correctness"
title = "Correctness Review"
focus = "Logical correctness"
description = """
Review the code for logical errors."""

[[legs]]
id = "security"
title = "Security Review"
focus = "Security vulnerabilities"
description = "Look for injection."

[presets]
[presets.gate]
description = "Light review"
legs = ["security"]

[synthesis]
title = "Review Synthesis"
description = """
All leg findings from: {{.output.directory}}/
"""
depends_on = ["correctness", "security"]
'''

UPSTREAM_COMPOSITION = """\
description = "Enterprise workflow."
extends = ["shiny"]
formula = "shiny-enterprise"
type = "workflow"
version = 1

[compose]

[[compose.expand]]
target = "implement"
with = "rule-of-five"
"""

UPSTREAM_ASPECT = """\
description = "Security aspect"
formula = "security-audit"
type = "aspect"
version = 1

[[advice]]
target = "implement"
[advice.around]

[[advice.around.after]]
description = "Post-scan"
id = "{step.id}-security-postscan"
title = "Security postscan for {step.id}"

[[advice.around.before]]
description = "Pre-scan"
id = "{step.id}-security-prescan"
title = "Security prescan for {step.id}"

[[pointcuts]]
glob = "implement"

[[pointcuts]]
glob = "submit"
"""

UPSTREAM_EXPANSION = """\
description = "Iterative refinement"
formula = "rule-of-five"
type = "expansion"
version = 1

[[template]]
description = "Initial attempt: {target.description}"
id = "{target}.draft"
title = "Draft: {target.title}"

[[template]]
description = "Refine for correctness"
id = "{target}.refine-1"
needs = ["{target}.draft"]
title = "Refine 1"
"""


@pytest.mark.parametrize(
    ("text", "name", "kind", "ids"),
    [
        (UPSTREAM_POLECAT, "mol-sample-work", "workflow", ["load-context", "branch-setup"]),
        (
            UPSTREAM_PATROL,
            "mol-sample-patrol",
            "workflow",
            ["inbox-check", "survey-workers", "ping"],
        ),
        (UPSTREAM_CONVOY, "sample-review", "convoy", ["correctness", "security"]),
        (UPSTREAM_COMPOSITION, "shiny-enterprise", "workflow", []),
        (UPSTREAM_ASPECT, "security-audit", "aspect", []),
        (UPSTREAM_EXPANSION, "rule-of-five", "expansion", ["{target}.draft", "{target}.refine-1"]),
    ],
)
def test_upstream_shaped_files_parse_unchanged(text: str, name: str, kind: str, ids: list) -> None:
    f = parse_formula(text, "upstream.formula.toml")
    assert (f.name, f.type) == (name, kind)
    got = [s.id for s in f.steps] or [leg.id for leg in f.legs] or [t.id for t in f.template]
    assert got == ids


def test_upstream_details_survive() -> None:
    polecat = parse_formula(UPSTREAM_POLECAT)
    assert polecat.vars["setup_command"].default == ""
    assert "bd show {{issue}}" in polecat.description
    convoy = parse_formula(UPSTREAM_CONVOY)
    assert "{{range .changed_files -}}" in convoy.prompts["base"]
    assert convoy.unknown_keys["presets"]["gate"]["legs"] == ["security"]
    composition = parse_formula(UPSTREAM_COMPOSITION)
    assert composition.compose is not None
    assert composition.compose.expand[0].with_ == "rule-of-five"
    patrol = parse_formula(UPSTREAM_PATROL)
    assert patrol.steps[1].parallel and "─►" in patrol.description


# Shapes seen in the real upstream files (checked against all 26 `.beads/formulas` and
# `docs/examples` files and a sample of `internal/formula/formulas`), not covered above:
# CRLF line endings (half of the `.beads/formulas` files), a step that needs a step defined
# further down, basic strings with `\n`, `\"` and `\\` escapes, top-level metadata keys, an
# inline-table `gate`, `[[rollback_steps]]`, and `[vars]` shorthand mixed with tables.
UPSTREAM_SHAPES = (
    "# Formula ownership and metadata\n"
    'owner = "gastown/crew/sample"\n'
    'description = "Sample loop.\\n\\n```bash\\ngt mail send x -s \\"hi\\" \\\\\\n  -m y\\n```"\n'
    "formula = 'mol-sample-shapes'\n"
    "version = 3\n"
    "\n"
    "[squash]\n"
    'trigger = "on_complete"\n'
    "include_metrics = true\n"
    "\n"
    "[vars]\n"
    'wisp_type = "patrol"\n'
    "\n"
    "[vars.rig]\n"
    'description = "The rig"\n'
    "required = true\n"
    "\n"
    "[[steps]]\n"
    'id = "prepare"\n'
    'title = "Prepare {{rig}} ({{ rig }})"\n'
    'description = """\n'
    "Run:\n"
    "```bash\n"
    "make \\\n"
    "  all\n"
    '```"""\n'
    "\n"
    "[[steps]]\n"
    'id = "sync"\n'
    'needs = ["cleanup"]\n'
    'gate = { type = "conditional", condition = "clean" }\n'
    'run = "git pull"\n'
    "\n"
    "[[steps]]\n"
    'id = "cleanup"\n'
    'needs = ["prepare"]\n'
    "\n"
    "[[rollback_steps]]\n"
    'id = "undo-prepare"\n'
    'description = "Undo."\n'
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_upstream_shapes_parse_with_either_line_ending(newline: str) -> None:
    f = parse_formula(UPSTREAM_SHAPES.replace("\n", newline), "shapes.formula.toml")
    assert (f.name, f.type, f.version) == ("mol-sample-shapes", "workflow", 3)
    assert 'gt mail send x -s "hi" \\\n  -m y' in f.description
    assert [s.id for s in f.steps] == ["prepare", "sync", "cleanup"]
    assert "make all" in f.steps[0].description.replace(newline, "\n")
    assert f.steps[1].unknown_keys == {"run": "git pull"}
    # [steps.gate] is modelled; a type no gate can await is kept as written and parks nothing
    assert f.steps[1].gate.type == "conditional"
    assert f.steps[1].gate.unknown_keys == {"condition": "clean"}
    assert f.steps[1].parks_on is None
    assert f.unknown_keys["owner"] == "gastown/crew/sample"
    assert f.unknown_keys["rollback_steps"][0]["id"] == "undo-prepare"
    assert f.vars["wisp_type"].default == "patrol" and f.vars["rig"].required


def test_upstream_shapes_resolve_from_a_crlf_file(tmp_path: Path) -> None:
    path = tmp_path / "mol-sample-shapes.formula.toml"
    path.write_bytes(UPSTREAM_SHAPES.replace("\n", "\r\n").encode())
    resolved = FormulaLibrary(shipped=tmp_path).resolve("mol-sample-shapes", {"rig": "gastown"})
    assert [(s.id, s.needs) for s in resolved.steps] == [
        ("prepare", ()),
        ("cleanup", ("prepare",)),
        ("sync", ("cleanup",)),
    ]
    # `{{ rig }}` with spaces is not upstream's variable syntax: it stays as written.
    assert resolved.steps[0].title == "Prepare gastown ({{ rig }})"
    assert "\r" not in resolved.steps[0].description


def test_a_byte_order_mark_is_skipped_as_upstream_does(tmp_path):
    from gastown_tui.formulas.parse import load_formula

    path = tmp_path / "bom.formula.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'formula = "bom"\n[[steps]]\nid = "a"\ntitle = "A"\n')
    parsed = load_formula(path)
    assert parsed.model.name == "bom" and [s.id for s in parsed.model.steps] == ["a"]
