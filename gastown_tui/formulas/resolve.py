"""Find formulas by name (rig, then town, then shipped) and resolve them into `ResolvedFormula`.

library = FormulaLibrary(town_root, rig="gastown")
resolved = library.resolve("mol-polecat-work", {"issue": "gt-a3f"})
for step in resolved.steps: ...           # dependency order, {{vars}} filled in
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.formulas.compose import (
    Composition,
    apply_overlay,
    compose_workflow,
    template_steps,
)
from gastown_tui.formulas.graph import find_cycle, stable_topological_order
from gastown_tui.formulas.library import UnknownFormulaError, shipped_dir
from gastown_tui.formulas.model import Step
from gastown_tui.formulas.parse import (
    FORMULA_SUFFIX,
    ParsedFormula,
    ParsedOverlay,
    load_formula,
    load_overlay,
)
from gastown_tui.formulas.resolved import ResolvedFormula, Tier
from gastown_tui.town.errors import InvalidNameError, NoTownError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_RIG_NAME = re.compile(r"^[A-Za-z0-9_]+\Z")


@dataclass(frozen=True)
class FormulaSource:
    """Where the formula of a name comes from: the file that wins resolution."""

    name: str
    path: Path
    tier: Tier


class FormulaLibrary:
    """The formulas visible from a town (and optionally one of its rigs).

    Resolution order for a name: `<town>/<rig>/formulas/`, `<town>/formulas/`, then the
    shipped library. Parsed files are cached for the life of the object, so make a new one
    to see edits.
    """

    def __init__(
        self,
        town_root: Path | None = None,
        rig: str | None = None,
        *,
        shipped: Path | None = None,
    ) -> None:
        if rig is not None and not _RIG_NAME.match(rig):
            raise InvalidNameError(f"invalid rig name {rig!r}", fix="use letters, digits and _")
        if rig is not None and town_root is None:
            raise NoTownError(f"rig {rig!r} given without a town", fix="pass the town root")
        self.town_root = town_root
        self.rig = rig
        self.shipped = shipped if shipped is not None else shipped_dir()
        self._cache: dict[Path, ParsedFormula] = {}

    def search_path(self) -> list[tuple[Tier, Path]]:
        tiers: list[tuple[Tier, Path]] = []
        if self.town_root is not None:
            if self.rig is not None:
                tiers.append(("rig", self.town_root / self.rig / "formulas"))
            tiers.append(("town", self.town_root / "formulas"))
        tiers.append(("shipped", self.shipped))
        return tiers

    def sources(self) -> list[FormulaSource]:
        """Every visible formula once, the winning file for each name, sorted by name."""
        found: dict[str, FormulaSource] = {}
        for tier, folder in self.search_path():
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*" + FORMULA_SUFFIX)):
                name = path.name.removesuffix(FORMULA_SUFFIX)
                found.setdefault(name, FormulaSource(name, path, tier))
        return [found[name] for name in sorted(found)]

    def find(self, name: str) -> FormulaSource:
        if not _NAME.match(name):
            raise InvalidNameError(f"invalid formula name {name!r}", fix="gt formula list")
        for tier, folder in self.search_path():
            path = folder / (name + FORMULA_SUFFIX)
            if path.is_file():
                return FormulaSource(name, path, tier)
        raise UnknownFormulaError(f"no formula named {name!r}", fix="gt formula list")

    def load(self, name: str) -> ParsedFormula:
        """The parsed file of `name` (not resolved)."""
        path = self.find(name).path
        if path not in self._cache:
            self._cache[path] = load_formula(path)
        return self._cache[path]

    def overlay(self, name: str) -> ParsedOverlay | None:
        """The overlay for `name`: the rig's if it has one (it wins entirely), else the town's."""
        if self.town_root is None:
            return None
        candidates = [self.town_root / "formula-overlays" / f"{name}.toml"]
        if self.rig is not None:
            candidates.insert(0, self.town_root / self.rig / "formula-overlays" / f"{name}.toml")
        for path in candidates:
            if path.is_file():
                return load_overlay(path)
        return None

    def resolve(
        self,
        name: str,
        values: Mapping[str, str] | None = None,
        *,
        require_all: bool = True,
    ) -> ResolvedFormula:
        """Resolve `name`; with `values` (even `{}`) also render its `{{vars}}`.

        Without `values` the steps keep their placeholders and nothing is checked about
        required variables: call `.render(values)` on the result later.
        """
        source = self.find(name)
        resolved = self._resolve(self.load(name), source)
        if values is None:
            return resolved
        return resolved.render(values, require_all=require_all)

    def _resolve(self, parsed: ParsedFormula, source: FormulaSource) -> ResolvedFormula:
        formula = parsed.model
        assert formula.type is not None  # the parser infers it or fails
        warnings: list[str] = []
        var_sources = {n: parsed.where(("vars", n)) for n in formula.vars}
        var_sources.update({n: parsed.where(("inputs", n)) for n in formula.inputs})
        variables = dict(formula.vars)
        steps: list[Step] = []
        if formula.type == "workflow":
            comp = compose_workflow(parsed, self.load)
            overlay = self.overlay(source.name)
            if overlay is not None:
                warnings += apply_overlay(comp, overlay, source.name)
            steps = _ordered(comp, parsed)
            variables = comp.vars
            var_sources.update(comp.var_sources)
        elif formula.type == "expansion":
            comp = Composition(steps=template_steps(parsed))
            steps = _ordered(comp, parsed)
        return ResolvedFormula(
            name=formula.name,
            type=formula.type,
            description=formula.description,
            version=formula.version,
            source=source.tier,
            path=str(source.path),
            formula=formula,
            vars=variables,
            var_sources=var_sources,
            steps=tuple(steps),
            inputs=formula.inputs,
            prompts=formula.prompts,
            output=formula.output,
            legs=formula.legs,
            synthesis=formula.synthesis,
            aspects=formula.aspects,
            advice=formula.advice,
            warnings=tuple(warnings),
        )


def _ordered(comp: Composition, top: ParsedFormula) -> list[Step]:
    ids = [step.id for step in comp.steps]
    needs = {step.id: step.needs for step in comp.steps}
    for step in comp.steps:
        missing = next((n for n in step.needs if n not in needs), None)
        if missing is not None:
            owner, loc = comp.origins.get(step.id, (top, ("steps",)))
            raise owner.error(
                (*loc, "needs") if len(loc) > 1 else loc,
                f"step {step.id!r} needs {missing!r}, which composition removed",
            )
    cycle = find_cycle(ids, needs)
    if cycle:
        owner, loc = comp.origins.get(cycle[0], (top, ("steps",)))
        raise owner.error(
            (*loc, "needs") if len(loc) > 1 else loc,
            "dependency cycle after composition: " + " -> ".join(cycle),
        )
    by_id = {step.id: step for step in comp.steps}
    return [by_id[step_id] for step_id in stable_topological_order(ids, needs)]


def resolve_formula(
    name: str,
    values: Mapping[str, str] | None = None,
    *,
    town_root: Path | None = None,
    rig: str | None = None,
    require_all: bool = True,
) -> ResolvedFormula:
    """One-shot `FormulaLibrary(town_root, rig).resolve(name, values)`."""
    return FormulaLibrary(town_root, rig).resolve(name, values, require_all=require_all)
