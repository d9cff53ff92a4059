"""`ResolvedFormula`: a formula after extends, expansions, aspects and overlays, ready to run.

Its `steps` are in dependency order with `needs` complete. `render()` fills `{{var}}` values in
(defaults first, then the values given) and checks that every required variable has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gastown_tui.formulas.model import (
    AdviceRule,
    Aspect,
    Formula,
    FormulaType,
    Input,
    Leg,
    Output,
    Step,
    Synthesis,
    VarDef,
)
from gastown_tui.formulas.progress import MoleculeProgress, molecule_progress
from gastown_tui.formulas.render import substitute, substitute_fields
from gastown_tui.town.errors import ValidationError

Tier = Literal["rig", "town", "shipped"]


class ResolvedFormula(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: FormulaType
    description: str = ""
    version: int | None = None
    source: Tier = "shipped"
    path: str = ""
    formula: Formula = Field(repr=False)  # the top-level file as written, before composition
    vars: dict[str, VarDef] = Field(default_factory=dict)
    # "<file>:<line>: vars.<name>" for each var and input, to point errors at the declaration
    var_sources: dict[str, str] = Field(default_factory=dict, repr=False)
    values: dict[str, str] = Field(default_factory=dict)
    rendered: bool = False
    steps: tuple[Step, ...] = ()  # workflow steps (expansion: template steps), dependency order
    inputs: dict[str, Input] = Field(default_factory=dict)
    prompts: dict[str, str] = Field(default_factory=dict)
    output: Output | None = None
    legs: tuple[Leg, ...] = ()
    synthesis: Synthesis | None = None
    aspects: tuple[Aspect, ...] = ()
    advice: tuple[AdviceRule, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(step.id for step in self.steps)

    def step(self, step_id: str) -> Step | None:
        return next((step for step in self.steps if step.id == step_id), None)

    def leg(self, leg_id: str) -> Leg | None:
        return next((leg for leg in self.legs if leg.id == leg_id), None)

    def ready_steps(self, done: set[str] | frozenset[str]) -> tuple[str, ...]:
        """Steps not done whose needs are all done, in order."""
        return tuple(
            step.id
            for step in self.steps
            if step.id not in done and all(need in done for need in step.needs)
        )

    def progress(self, statuses: Mapping[str, str]) -> MoleculeProgress:
        """Checklist progress of this formula's steps given each step bead's status."""
        return molecule_progress(self.steps, statuses)

    def leg_prompt(self, leg_id: str, context: Mapping[str, object] | None = None) -> str:
        """The convoy base prompt for one leg: `{{.leg.*}}` and `{{.<key>}}` filled in."""
        leg = self.leg(leg_id)
        if leg is None:
            raise ValidationError(
                f"{self.name}: no leg {leg_id!r}", fix="gt formula show " + self.name
            )
        fields: dict[str, object] = {"formula_name": self.name, **self.values, **(context or {})}
        fields["leg"] = {
            "id": leg.id,
            "title": leg.title,
            "focus": leg.focus,
            "description": leg.description,
        }
        return substitute_fields(self.prompts.get("base", ""), fields)

    def render(
        self, values: Mapping[str, str] | None = None, *, require_all: bool = True
    ) -> ResolvedFormula:
        """Fill `{{var}}`s: defaults, then `values`. Unknown `{{x}}` stay verbatim.

        With `require_all`, a required var or input left without a value is a
        `ValidationError` pointing at its declaration; without it (for showing a formula)
        such placeholders simply stay in the text.
        """
        given = {str(k): str(v) for k, v in (values or {}).items()}
        filled = {k: d.default for k, d in self.vars.items() if d.default is not None}
        for name, spec in self.inputs.items():
            if spec.default is not None:
                filled.setdefault(name, spec.default)
        filled.update(given)
        self._check_values(filled)
        if require_all:
            self._check_required(filled)

        def fill(model: Any, *keys: str) -> Any:
            if model is None:
                return None
            return model.model_copy(update={k: substitute(getattr(model, k), filled) for k in keys})

        def fill_step(step: Any) -> Any:
            done = fill(step, "title", "description", "acceptance")
            if step.gate is not None:  # a gate may await {{pr}} or {{workflow}}
                done = done.model_copy(update={"gate": fill(step.gate, "id", "await_id")})
            return done

        return self.model_copy(
            update={
                "description": substitute(self.description, filled),
                "steps": tuple(fill_step(s) for s in self.steps),
                "legs": tuple(fill(leg, "title", "focus", "description") for leg in self.legs),
                "synthesis": fill(self.synthesis, "title", "description"),
                "output": fill(self.output, "directory", "leg_pattern", "synthesis"),
                "prompts": {k: substitute(v, filled) for k, v in self.prompts.items()},
                "values": filled,
                "rendered": True,
            }
        )

    def _where(self, name: str, kind: str = "vars") -> str:
        return self.var_sources.get(name) or f"{self.path or self.name}:1: {kind}.{name}"

    def _check_required(self, filled: Mapping[str, str]) -> None:
        for name, spec in self.vars.items():
            if spec.required and name not in filled:
                raise ValidationError(
                    f"{self._where(name)}: required variable has no value",
                    fix=f"pass --var {name}=VALUE",
                )
        for name, spec in self.inputs.items():
            if name in filled:
                continue
            others = [o for o in spec.required_unless if o in filled]
            if spec.required and not spec.required_unless:
                raise ValidationError(
                    f"{self._where(name, 'inputs')}: required input has no value",
                    fix=f"pass --var {name}=VALUE",
                )
            if spec.required_unless and not others:
                choices = ", ".join([name, *spec.required_unless])
                raise ValidationError(
                    f"{self._where(name, 'inputs')}: required unless one of "
                    f"{', '.join(spec.required_unless)} is given",
                    fix=f"pass --var with one of: {choices}",
                )

    def _check_values(self, filled: Mapping[str, str]) -> None:
        for name, spec in self.vars.items():
            value = filled.get(name)
            if value is None:
                continue
            if spec.enum and value not in spec.enum:
                raise ValidationError(
                    f"{self._where(name)}: {value!r} is not one of {', '.join(spec.enum)}",
                    fix=f"pass --var {name}=<one of {'|'.join(spec.enum)}>",
                )
            if spec.pattern and not _full_match(spec.pattern, value):
                raise ValidationError(
                    f"{self._where(name)}: {value!r} does not match {spec.pattern!r}"
                )


def _full_match(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        # A pattern Python cannot compile (Go's RE2 syntax differs a little) checks nothing.
        return True
