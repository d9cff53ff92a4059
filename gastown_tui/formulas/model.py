"""Pydantic models of `*.formula.toml` files, shaped like upstream Gas Town and beads.

Field names follow upstream (`internal/formula/types.go` in gastown and beads) so real formula
files load unchanged. Every model keeps keys it does not know (``extra="allow"``): upstream
grows new keys faster than we do, and a formula we cannot run fully is still worth showing.
Scalars are strict (a number where a string belongs is an error, never silently coerced);
arrays are read as tuples so the models can stay frozen.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator

FormulaType = Literal["workflow", "convoy", "expansion", "aspect"]
FORMULA_TYPES: tuple[str, ...] = ("workflow", "convoy", "expansion", "aspect")


class FormulaRecord(BaseModel):
    """Base of every formula table: frozen, strict scalars, unknown keys kept."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    @property
    def unknown_keys(self) -> dict[str, Any]:
        """The keys of this table we do not model, as they appeared in the file."""
        return dict(self.__pydantic_extra__ or {})


class VarDef(FormulaRecord):
    """A `{{var}}` variable: `[vars.<name>]`, or the shorthand `name = "default"`."""

    description: StrictStr = ""
    required: StrictBool = False
    # None means "no default": a required var without a value is an error at render time.
    default: StrictStr | None = None
    enum: tuple[StrictStr, ...] = ()
    pattern: StrictStr = ""
    type: StrictStr = ""


class Input(FormulaRecord):
    """A convoy formula input (`[inputs.<name>]`), e.g. `pr`, `files` or `branch`."""

    description: StrictStr = ""
    type: StrictStr = ""
    required: StrictBool = False
    required_unless: tuple[StrictStr, ...] = ()
    default: StrictStr | None = None


# The gate types a step can park on (bd's await types); others (upstream's `conditional`, …)
# are kept as written and park nothing.
AWAITABLE_GATES = ("human", "timer", "gh:run", "gh:pr", "bead", "mail")


class StepGate(FormulaRecord):
    """`[steps.gate]`: the async wait a step parks on (beads' formula Gate): `type` is human,
    timer, gh:run, gh:pr, bead or mail; `timeout` a duration; `await_id` (or `id`) what it
    waits for, e.g. a workflow name, a PR number or a bead id."""

    type: StrictStr
    id: StrictStr = ""
    await_id: StrictStr = ""
    timeout: StrictStr = ""

    @property
    def awaits(self) -> str:
        return self.await_id or self.id


class Step(FormulaRecord):
    """A workflow step (`[[steps]]`) or an expansion template step (`[[template]]`)."""

    id: StrictStr
    title: StrictStr = ""
    description: StrictStr = ""
    needs: tuple[StrictStr, ...] = ()
    # beads spells the same thing `depends_on`; resolution merges it into `needs`.
    depends_on: tuple[StrictStr, ...] = ()
    type: StrictStr = ""
    parallel: StrictBool = False
    acceptance: StrictStr = ""
    labels: tuple[StrictStr, ...] = ()
    # beads' nested steps: the parent is a container finished when its children are.
    children: tuple[Step, ...] = ()
    gate: StepGate | None = None

    @property
    def parks_on(self) -> StepGate | None:
        """The gate this step parks on: its `[steps.gate]` when of a type a gate can await."""
        return self.gate if self.gate is not None and self.gate.type in AWAITABLE_GATES else None

    @property
    def all_needs(self) -> tuple[str, ...]:
        """`needs` then `depends_on`, without repeats."""
        return tuple(dict.fromkeys((*self.needs, *self.depends_on)))

    @property
    def display_title(self) -> str:
        return self.title or self.id


class Leg(FormulaRecord):
    """A convoy leg: one parallel unit of work, usually one polecat."""

    id: StrictStr
    title: StrictStr = ""
    focus: StrictStr = ""
    description: StrictStr = ""
    agent: StrictStr = ""
    review_only: StrictBool = False


class Synthesis(FormulaRecord):
    """The convoy step that combines the legs' findings."""

    title: StrictStr = ""
    description: StrictStr = ""
    depends_on: tuple[StrictStr, ...] = ()


class Output(FormulaRecord):
    """Where a convoy's legs and synthesis write their results."""

    directory: StrictStr = ""
    leg_pattern: StrictStr = ""
    synthesis: StrictStr = ""


class Aspect(FormulaRecord):
    """An analysis aspect of an aspect formula (`[[aspects]]`), run in parallel like a leg."""

    id: StrictStr
    title: StrictStr = ""
    focus: StrictStr = ""
    description: StrictStr = ""


class AdviceStep(FormulaRecord):
    """A step that advice inserts; `{step.id}` and `{step.title}` name the matched step."""

    id: StrictStr
    title: StrictStr = ""
    description: StrictStr = ""
    type: StrictStr = ""
    acceptance: StrictStr = ""


class AroundAdvice(FormulaRecord):
    before: tuple[AdviceStep, ...] = ()
    after: tuple[AdviceStep, ...] = ()

    @field_validator("before", "after", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # Upstream docs write both `[advice.around.before]` (one table) and
        # `[[advice.around.before]]` (an array of tables); accept either.
        return [value] if isinstance(value, dict) else value


class AdviceRule(FormulaRecord):
    """Insert steps before and/or after every step whose id matches `target` (a glob)."""

    target: StrictStr = ""
    before: AdviceStep | None = None
    after: AdviceStep | None = None
    around: AroundAdvice | None = None

    @property
    def before_steps(self) -> tuple[AdviceStep, ...]:
        head = (self.before,) if self.before else ()
        return head + (self.around.before if self.around else ())

    @property
    def after_steps(self) -> tuple[AdviceStep, ...]:
        head = (self.after,) if self.after else ()
        return head + (self.around.after if self.around else ())


class Pointcut(FormulaRecord):
    """Which steps an aspect's advice applies to when a rule names no target."""

    glob: StrictStr = ""
    type: StrictStr = ""
    label: StrictStr = ""


class ExpandRule(FormulaRecord):
    """`[[compose.expand]]`: replace step `target` with the template of formula `with`."""

    target: StrictStr
    with_: StrictStr = Field(alias="with")
    vars: dict[str, StrictStr] = Field(default_factory=dict)


class MapRule(FormulaRecord):
    """`[[compose.map]]`: expand every step whose id matches the glob `select`."""

    select: StrictStr
    with_: StrictStr = Field(alias="with")
    vars: dict[str, StrictStr] = Field(default_factory=dict)


class Compose(FormulaRecord):
    expand: tuple[ExpandRule, ...] = ()
    map: tuple[MapRule, ...] = ()
    aspects: tuple[StrictStr, ...] = ()


class Formula(FormulaRecord):
    """One `*.formula.toml` file, any of the four types. `type` is inferred when absent."""

    name: StrictStr = Field("", alias="formula")
    description: StrictStr = ""
    type: FormulaType | None = None
    version: StrictInt | None = None
    extends: tuple[StrictStr, ...] = ()
    vars: dict[str, VarDef] = Field(default_factory=dict)
    # workflow / expansion
    steps: tuple[Step, ...] = ()
    template: tuple[Step, ...] = ()
    compose: Compose | None = None
    # convoy
    inputs: dict[str, Input] = Field(default_factory=dict)
    prompts: dict[str, StrictStr] = Field(default_factory=dict)
    output: Output | None = None
    legs: tuple[Leg, ...] = ()
    synthesis: Synthesis | None = None
    # aspect
    aspects: tuple[Aspect, ...] = ()
    advice: tuple[AdviceRule, ...] = ()
    pointcuts: tuple[Pointcut, ...] = ()
    # instantiation hints, carried through for `gt formula run` and `gt sling`
    pour: StrictBool = False
    agent: StrictStr = ""
    review_only: StrictBool = False
    execution: StrictStr = ""
    phase: StrictStr = ""

    @field_validator("vars", mode="before")
    @classmethod
    def _var_shorthand(cls, value: Any) -> Any:
        # `[vars] base_branch = "main"` is shorthand for a var whose default is "main".
        if isinstance(value, dict):
            return {k: {"default": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    def inferred_type(self) -> str | None:
        """The type upstream would infer from content when `type` is absent."""
        if self.type:
            return self.type
        if self.steps or self.extends:
            return "workflow"
        if self.legs:
            return "convoy"
        if self.template:
            return "expansion"
        if self.aspects or self.advice:
            return "aspect"
        return None


class StepOverride(FormulaRecord):
    """One `[[step-overrides]]` entry of a formula overlay."""

    step_id: StrictStr
    mode: Literal["replace", "append", "skip"] = "replace"
    description: StrictStr = ""
    title: StrictStr = ""


class FormulaOverlay(FormulaRecord):
    """`<town>/formula-overlays/<name>.toml` or `<town>/<rig>/formula-overlays/<name>.toml`."""

    step_overrides: tuple[StepOverride, ...] = Field((), alias="step-overrides")
