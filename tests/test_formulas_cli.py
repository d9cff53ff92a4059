"""`gt formula list|show` through click's CliRunner on a temporary town."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gastown_tui.cli.formula_cmd import find_town_root, formula
from gastown_tui.formulas.library import UnknownFormulaError
from gastown_tui.town.errors import NoTownError, UnknownRigError, ValidationError
from tests.formula_helpers import minimal_town


@pytest.fixture
def town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = minimal_town(tmp_path / "town")
    (root / "formulas" / "local.formula.toml").write_text(
        'formula = "local"\ndescription = "Town only"\n[[steps]]\nid = "one"\ntitle = "One"\n'
    )
    (root / "gastown" / "formulas" / "shiny.formula.toml").write_text(
        'formula = "shiny"\ndescription = "Rig shiny"\n[[steps]]\nid = "only"\n'
    )
    monkeypatch.delenv("GT_ROOT", raising=False)
    monkeypatch.chdir(root)
    return root


def run(*args: str, obj: object = None) -> Result:
    return CliRunner().invoke(formula, list(args), obj=obj)


def test_list_json_shows_tiers(town: Path) -> None:
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["local"] == {
        "name": "local",
        "type": "workflow",
        "description": "Town only",
        "source": "town",
        "path": str(town / "formulas" / "local.formula.toml"),
    }
    assert rows["shiny"]["source"] == "shipped" and rows["code-review"]["type"] == "convoy"
    with_rig = {r["name"]: r for r in json.loads(run("list", "--rig", "gastown", "--json").output)}
    assert with_rig["shiny"]["source"] == "rig" and with_rig["shiny"]["description"] == "Rig shiny"


def test_list_text(town: Path) -> None:
    result = run("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "SOURCE", "DESCRIPTION"]
    assert any(line.split()[:3] == ["local", "workflow", "town"] for line in lines)


def test_list_shows_a_broken_file_instead_of_failing(town: Path) -> None:
    (town / "formulas" / "broken.formula.toml").write_text('formula = "broken"\n[[steps]]\n')
    rows = {r["name"]: r for r in json.loads(run("list", "--json").output)}
    assert rows["broken"]["type"] == "invalid"
    assert "broken.formula.toml:2: steps[0].id: is required" in rows["broken"]["description"]


def test_show_json_workflow_with_vars(town: Path) -> None:
    result = run("show", "shiny-enterprise", "--var", "feature=login", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "shiny-enterprise" and data["type"] == "workflow"
    assert data["vars"]["feature"] == {
        "description": "The feature to build, in a few words",
        "required": True,
        "default": None,
    }
    steps = data["steps"]
    assert [s["id"] for s in steps][:3] == ["design", "implement.draft", "implement.correctness"]
    assert steps[0]["title"] == "Design login" and steps[1]["needs"] == ["design"]
    assert set(steps[0]) == {"id", "title", "description", "needs"}
    assert "legs" not in data


def test_show_without_vars_keeps_placeholders(town: Path) -> None:
    data = json.loads(run("show", "mol-polecat-work", "--json").output)
    assert "bd show {{issue}}" in data["steps"][0]["description"]


def test_show_json_convoy_has_legs_and_synthesis(town: Path) -> None:
    data = json.loads(run("show", "code-review", "--json").output)
    assert data["steps"] == []
    assert [leg["id"] for leg in data["legs"]] == ["correctness", "security", "tests", "style"]
    assert data["synthesis"]["depends_on"] == ["correctness", "security", "tests", "style"]
    assert data["inputs"]["pr"]["required_unless"] == ["branch", "files"]


def test_show_text(town: Path) -> None:
    result = run("show", "release", "--var", "version=2.0.0")
    assert result.exit_code == 0, result.output
    assert "release  (workflow, shipped:" in result.output
    assert '  version = "2.0.0"  [required]' in result.output
    assert (
        "   4. verify: Test the release candidate  (needs bump-version, changelog)" in result.output
    )
    aspect = run("show", "security-audit").output
    assert "review: before {step.id}-security-scan" in aspect
    assert "Template:" in run("show", "rule-of-five").output


def test_show_rig_formula(town: Path) -> None:
    data = json.loads(run("show", "shiny", "--rig", "gastown", "--json").output)
    assert data["source"] == "rig" and [s["id"] for s in data["steps"]] == ["only"]


def test_overlay_warnings_go_to_stderr(town: Path) -> None:
    (town / "formula-overlays").mkdir()
    (town / "formula-overlays" / "local.toml").write_text(
        '[[step-overrides]]\nstep_id = "ghost"\nmode = "skip"\n'
    )
    result = run("show", "local", "--json")  # click >= 8.2 keeps stderr apart
    assert result.exit_code == 0
    assert "stale override" in result.stderr
    assert json.loads(result.stdout)["name"] == "local"


@pytest.mark.parametrize(
    ("args", "error", "text"),
    [
        (("show", "nope"), UnknownFormulaError, "no formula named 'nope'"),
        (
            ("show", "shiny", "--var", "novalue"),
            ValidationError,
            "--var 'novalue': expected KEY=VALUE",
        ),
        (("list", "--rig", "ghost"), UnknownRigError, "no rig named 'ghost'"),
    ],
)
def test_errors_are_gastown_errors(town: Path, args: tuple, error: type, text: str) -> None:
    result = run(*args)
    assert isinstance(result.exception, error)
    assert text in str(result.exception)


def test_rig_outside_a_town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GT_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    result = run("list", "--rig", "gastown")
    assert isinstance(result.exception, NoTownError)
    # Outside a town the shipped library still lists.
    rows = json.loads(run("list", "--json").output)
    assert {r["source"] for r in rows} == {"shipped"}


def test_town_discovery(town: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (town / "gastown" / "deep").mkdir()
    assert find_town_root(town / "gastown" / "deep") == town
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(NoTownError):
        find_town_root(elsewhere)
    monkeypatch.setenv("GT_ROOT", str(town))
    assert find_town_root(elsewhere) == town
    monkeypatch.setenv("GT_ROOT", str(elsewhere))
    with pytest.raises(NoTownError):
        find_town_root(elsewhere)


@dataclass
class _Town:
    root: Path


class _GtContext:
    def __init__(self, root: Path | None) -> None:
        self.root = root

    def town_or_none(self) -> _Town | None:
        return None if self.root is None else _Town(self.root)


def test_uses_the_gt_context_object(
    town: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not inside the town: only the context object knows it
    rows = {r["name"]: r for r in json.loads(run("list", "--json", obj=_GtContext(town)).output)}
    assert rows["local"]["source"] == "town"
    rows = {r["name"] for r in json.loads(run("list", "--json", obj=_GtContext(None)).output)}
    assert "local" not in rows
