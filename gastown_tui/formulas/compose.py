"""Composition of workflow formulas: `extends`, `compose.expand`/`compose.map`, `compose.aspects`
and step overlays. Each operation keeps the step graph whole: whatever needed a replaced or
removed step ends up needing what took its place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from gastown_tui.formulas.library import UnknownFormulaError
from gastown_tui.formulas.locate import Loc
from gastown_tui.formulas.model import AdviceRule, AdviceStep, Pointcut, Step, VarDef
from gastown_tui.formulas.parse import (
    ParsedFormula,
    ParsedOverlay,
    flat_steps,
    one_line,
    walk_steps,
)
from gastown_tui.formulas.render import substitute
from gastown_tui.town.errors import InvalidNameError

Loader = Callable[[str], ParsedFormula]


@dataclass
class Composition:
    """Steps (needs merged, in file order) plus what is left to apply to them."""

    steps: list[Step] = field(default_factory=list)
    origins: dict[str, tuple[ParsedFormula, Loc]] = field(default_factory=dict)
    vars: dict[str, VarDef] = field(default_factory=dict)
    var_sources: dict[str, str] = field(default_factory=dict)
    expands: list[tuple[ParsedFormula, int]] = field(default_factory=list)
    maps: list[tuple[ParsedFormula, int]] = field(default_factory=list)
    aspects: list[tuple[ParsedFormula, str]] = field(default_factory=list)

    @classmethod
    def of(cls, parsed: ParsedFormula) -> Composition:
        formula = parsed.model
        comp = cls(
            steps=flat_steps(formula.steps),
            origins={step.id: (parsed, loc) for step, loc in walk_steps(formula.steps, ("steps",))},
            vars=dict(formula.vars),
            var_sources={name: parsed.where(("vars", name)) for name in formula.vars},
        )
        if formula.compose:
            comp.expands = [(parsed, i) for i in range(len(formula.compose.expand))]
            comp.maps = [(parsed, i) for i in range(len(formula.compose.map))]
            comp.aspects = [(parsed, name) for name in formula.compose.aspects]
        return comp

    def merge(self, other: Composition) -> None:
        """Add `other` on top: a step with an id already present replaces it in place."""
        positions = {step.id: i for i, step in enumerate(self.steps)}
        for step in other.steps:
            if step.id in positions:
                self.steps[positions[step.id]] = step
            else:
                positions[step.id] = len(self.steps)
                self.steps.append(step)
        self.origins.update(other.origins)
        self.vars.update(other.vars)
        self.var_sources.update(other.var_sources)
        self.expands += other.expands
        self.maps += other.maps
        self.aspects += other.aspects

    def index(self, step_id: str) -> int | None:
        return next((i for i, step in enumerate(self.steps) if step.id == step_id), None)

    def replace_need(self, old: str, new: Sequence[str]) -> None:
        """Every step that needed `old` now needs `new` instead."""
        for i, step in enumerate(self.steps):
            if old in step.needs:
                needs: list[str] = []
                for need in step.needs:
                    needs.extend(new if need == old else (need,))
                self.steps[i] = step.model_copy(update={"needs": tuple(dict.fromkeys(needs))})


def compose_workflow(parsed: ParsedFormula, load: Loader) -> Composition:
    """`parsed` with its parents, expansions and aspects applied (overlays come later)."""
    comp = _flatten(parsed, load, ())
    _check_inherited_needs(comp)
    for owner, index in comp.expands:
        _apply_expand(comp, owner, index, load)
    for owner, index in comp.maps:
        _apply_map(comp, owner, index, load)
    applied: set[str] = set()
    for owner, name in comp.aspects:
        if name not in applied:
            applied.add(name)
            _apply_aspect(comp, owner, name, load)
    return comp


def _load_ref(load: Loader, name: str, owner: ParsedFormula, loc: Loc, kind: str) -> ParsedFormula:
    try:
        ref = load(name)
    except (UnknownFormulaError, InvalidNameError):
        raise owner.error(loc, f"unknown formula {one_line(name)}", fix="gt formula list") from None
    if ref.model.type != kind:
        raise owner.error(loc, f"{name} is of type {ref.model.type}, expected {kind}")
    return ref


def _flatten(parsed: ParsedFormula, load: Loader, chain: tuple[str, ...]) -> Composition:
    name = parsed.model.name
    if parsed.source in chain:
        raise parsed.error(("extends",), f"extends cycle through {name}")
    comp = Composition()
    for parent_name in parsed.model.extends:
        parent = _load_ref(load, parent_name, parsed, ("extends",), "workflow")
        comp.merge(_flatten(parent, load, (*chain, parsed.source)))
    comp.merge(Composition.of(parsed))
    return comp


def _check_inherited_needs(comp: Composition) -> None:
    known = {step.id for step in comp.steps}
    for step in comp.steps:
        for need in step.needs:
            if need not in known:
                owner, loc = comp.origins[step.id]
                raise owner.error(
                    (*loc, "needs"),
                    f"unknown step {one_line(need)} (in step {one_line(step.id)})",
                    fix="name a step of this formula or of the formulas it extends",
                )


def _target_text(text: str, target: Step) -> str:
    for placeholder, value in (
        ("{target}", target.id),
        ("{target.id}", target.id),
        ("{target.title}", target.display_title),
        ("{target.description}", target.description),
    ):
        text = text.replace(placeholder, value)
    return text


def _expand_step(
    comp: Composition,
    target: Step,
    expansion: ParsedFormula,
    rule_vars: dict[str, str],
    owner: ParsedFormula,
    loc: Loc,
) -> None:
    template = flat_steps(expansion.model.template)
    needed_inside = {need for tmpl in template for need in tmpl.all_needs}
    new_steps: list[Step] = []
    for tmpl in template:
        needs = tuple(_target_text(n, target) for n in tmpl.all_needs) or target.needs
        new_steps.append(
            tmpl.model_copy(
                update={
                    "id": _target_text(tmpl.id, target),
                    "title": substitute(_target_text(tmpl.title, target), rule_vars),
                    "description": substitute(_target_text(tmpl.description, target), rule_vars),
                    "acceptance": substitute(_target_text(tmpl.acceptance, target), rule_vars),
                    "needs": needs,
                    "depends_on": (),
                }
            )
        )
    sinks = [_target_text(t.id, target) for t in template if t.id not in needed_inside]
    existing = {step.id for step in comp.steps} - {target.id}
    for step in new_steps:
        if step.id in existing:
            raise owner.error(loc, f"expanding {target.id!r} makes a duplicate step id {step.id!r}")
        comp.origins[step.id] = (owner, loc)
    position = comp.index(target.id)
    assert position is not None
    comp.steps[position : position + 1] = new_steps
    comp.replace_need(target.id, sinks)
    for name, spec in expansion.model.vars.items():
        if name not in comp.vars:
            comp.vars[name] = spec
            comp.var_sources[name] = expansion.where(("vars", name))


def _apply_expand(comp: Composition, owner: ParsedFormula, index: int, load: Loader) -> None:
    assert owner.model.compose is not None
    rule = owner.model.compose.expand[index]
    loc: Loc = ("compose", "expand", index)
    position = comp.index(rule.target)
    if position is None:
        raise owner.error(
            (*loc, "target"),
            f"no step {one_line(rule.target)} to expand",
            fix="name a step of this formula or of the formulas it extends",
        )
    expansion = _load_ref(load, rule.with_, owner, (*loc, "with"), "expansion")
    _expand_step(comp, comp.steps[position], expansion, rule.vars, owner, loc)


def _apply_map(comp: Composition, owner: ParsedFormula, index: int, load: Loader) -> None:
    assert owner.model.compose is not None
    rule = owner.model.compose.map[index]
    loc: Loc = ("compose", "map", index)
    expansion = _load_ref(load, rule.with_, owner, (*loc, "with"), "expansion")
    for target_id in [s.id for s in comp.steps if fnmatchcase(s.id, rule.select)]:
        # Look the target up again: expanding an earlier match may have rewired its needs.
        position = comp.index(target_id)
        assert position is not None
        _expand_step(comp, comp.steps[position], expansion, rule.vars, owner, loc)


def _matches(rule: AdviceRule, step: Step, pointcuts: Sequence[Pointcut]) -> bool:
    if rule.target:
        return fnmatchcase(step.id, rule.target)
    return any(
        (not pc.glob or fnmatchcase(step.id, pc.glob))
        and (not pc.type or step.type == pc.type)
        and (not pc.label or pc.label in step.labels)
        and (pc.glob or pc.type or pc.label)
        for pc in pointcuts
    )


def _advice_step(advice: AdviceStep, target: Step) -> Step:
    def fill(text: str) -> str:
        return text.replace("{step.id}", target.id).replace("{step.title}", target.display_title)

    step_id = fill(advice.id)
    return Step(
        id=step_id,
        title=fill(advice.title) or step_id,
        description=fill(advice.description),
        type=advice.type,
        acceptance=fill(advice.acceptance),
    )


def _apply_aspect(comp: Composition, owner: ParsedFormula, name: str, load: Loader) -> None:
    loc: Loc = ("compose", "aspects")
    aspect = _load_ref(load, name, owner, loc, "aspect")
    rules = aspect.model.advice
    if not rules:
        raise owner.error(loc, f"aspect {name} has no [[advice]] to apply")
    # Advice matches only steps that existed before this aspect, never the steps it inserts.
    for target_id in [step.id for step in comp.steps]:
        position = comp.index(target_id)
        assert position is not None
        target = comp.steps[position]
        matching = [r for r in rules if _matches(r, target, aspect.model.pointcuts)]
        before = [_advice_step(a, target) for r in matching for a in r.before_steps]
        after = [_advice_step(a, target) for r in matching for a in r.after_steps]
        if not before and not after:
            continue
        existing = {step.id for step in comp.steps}
        for i, step in enumerate(before):
            needs = (before[i - 1].id,) if i else target.needs
            before[i] = step.model_copy(update={"needs": needs})
        for i, step in enumerate(after):
            after[i] = step.model_copy(update={"needs": (after[i - 1].id if i else target.id,)})
        inserted = [step.id for step in (*before, *after)]
        clash = next((i for i in inserted if i in existing or inserted.count(i) > 1), None)
        if clash is not None:
            raise aspect.error(
                ("advice",), f"applied to step {target_id!r} it makes a duplicate step id {clash!r}"
            )
        for step_id in inserted:
            comp.origins[step_id] = (aspect, ("advice",))
        if after:
            # Insert the after-steps only below, so this rewires the target's dependents alone.
            comp.replace_need(target_id, [after[-1].id])
        if before:
            target = target.model_copy(update={"needs": (before[-1].id,)})
        comp.steps[position : position + 1] = [*before, target, *after]


def apply_overlay(comp: Composition, overlay: ParsedOverlay, formula_name: str) -> list[str]:
    """Apply `[[step-overrides]]`; return warnings for overrides naming no step."""
    warnings: list[str] = []
    for i, override in enumerate(overlay.model.step_overrides):
        position = comp.index(override.step_id)
        if position is None:
            warnings.append(
                f"{overlay.where(('step-overrides', i, 'step_id'))}: stale override: "
                f"{formula_name} has no step {one_line(override.step_id)}"
            )
            continue
        step = comp.steps[position]
        if override.mode == "skip":
            del comp.steps[position]
            comp.replace_need(step.id, step.needs)
            continue
        description = override.description
        if override.mode == "append" and step.description:
            description = step.description + "\n" + override.description
        update: dict[str, str] = {}
        # `title` is our addition: an override that sets only a title keeps the description.
        if "description" in override.model_fields_set or not override.title:
            update["description"] = description
        if override.title:
            update["title"] = override.title
        comp.steps[position] = step.model_copy(update=update)
    return warnings


def template_steps(parsed: ParsedFormula) -> list[Step]:
    """An expansion formula's own template steps, needs merged, as a standalone step list."""
    return flat_steps(parsed.model.template)
