"""Read `*.formula.toml` (and overlay) text into models, with errors that name file, line, key.

Every problem, from a TOML syntax error to a step that needs an unknown step, is raised as one
`ValidationError` whose message is one line: ``<file>:<line>: <key>: <problem>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pydantic
import tomlkit
from tomlkit.exceptions import ParseError

from gastown_tui.formulas.graph import find_cycle
from gastown_tui.formulas.locate import LineIndex, Loc
from gastown_tui.formulas.model import Formula, FormulaOverlay, FormulaRecord, Step
from gastown_tui.town.errors import ValidationError

FORMULA_SUFFIX = ".formula.toml"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_LOCATION = re.compile(r"\s+at line \d+ col \d+\s*$")

M = TypeVar("M", bound=FormulaRecord)


def format_key(loc: Sequence[str | int]) -> str:
    """`("steps", 2, "needs")` -> `steps[2].needs`, the way the key is shown to a user."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE_KEY.match(part) else '"' + part.replace('"', '\\"') + '"'
            text += f".{name}" if text else name
    return text or "(file)"


def one_line(value: object, limit: int = 60) -> str:
    """A short single-line rendering of a value for an error message."""
    text = repr(value) if not isinstance(value, str) else '"' + value + '"'
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def located_error(
    source: str, line: int, key: str, problem: str, fix: str | None = None
) -> ValidationError:
    problem = problem.replace("\r", " ").replace("\n", " ")
    return ValidationError(f"{source}:{line}: {key}: {problem}", fix=fix)


@dataclass(frozen=True)
class Parsed(Generic[M]):
    """A parsed file: the model, where it came from, and its key lines for later errors."""

    model: M
    source: str
    lines: LineIndex = field(repr=False)

    def line_of(self, loc: Sequence[str | int]) -> int:
        return self.lines.line_of(loc)

    def where(self, loc: Sequence[str | int]) -> str:
        """`<file>:<line>: <key>` for a key of this file."""
        return f"{self.source}:{self.line_of(loc)}: {format_key(loc)}"

    def error(
        self, loc: Sequence[str | int], problem: str, fix: str | None = None
    ) -> ValidationError:
        return located_error(self.source, self.line_of(loc), format_key(loc), problem, fix)


ParsedFormula = Parsed[Formula]
ParsedOverlay = Parsed[FormulaOverlay]


def parse_formula_text(text: str, source: str = "<string>") -> ParsedFormula:
    """Parse and validate formula text; `source` names it in error messages."""
    data, lines = _load_toml(text, source)
    formula = _to_model(Formula, data, lines, source)
    parsed = Parsed(formula, source, lines)
    if not formula.name:
        stem = Path(source).name.removesuffix(FORMULA_SUFFIX)
        raise parsed.error(("formula",), "is required", fix=f'add formula = "{stem}"')
    inferred = formula.inferred_type()
    if inferred is None:
        raise parsed.error(
            ("type",),
            "cannot tell the formula type from its content",
            fix='add type = "workflow", "convoy", "expansion" or "aspect"',
        )
    if formula.type is None:
        parsed = Parsed(formula.model_copy(update={"type": inferred}), source, lines)
    _validate(parsed)
    return parsed


def parse_formula(text: str, source: str = "<string>") -> Formula:
    return parse_formula_text(text, source).model


def load_formula(path: Path) -> ParsedFormula:
    return parse_formula_text(_read(path), str(path))


def parse_overlay_text(text: str, source: str = "<string>") -> ParsedOverlay:
    data, lines = _load_toml(text, source)
    return Parsed(_to_model(FormulaOverlay, data, lines, source), source, lines)


def load_overlay(path: Path) -> ParsedOverlay:
    return parse_overlay_text(_read(path), str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise located_error(str(path), 1, "(file)", f"cannot read the file: {reason}") from None


def _load_toml(text: str, source: str) -> tuple[dict[str, Any], LineIndex]:
    try:
        data = tomlkit.parse(text).unwrap()
    except ParseError as exc:
        problem = _LOCATION.sub("", str(exc)) or "invalid TOML"
        raise located_error(
            source, exc.line, "(toml)", problem, fix="fix the TOML syntax"
        ) from None
    except Exception as exc:
        # Whatever tomlkit trips on, the user should see "bad TOML in this file", not a trace.
        raise located_error(source, 1, "(toml)", f"invalid TOML: {exc}") from None
    return data, LineIndex(text)


def _to_model(model: type[M], data: dict[str, Any], lines: LineIndex, source: str) -> M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        # Report the problem nearest the top of the file: that is where a reader starts.
        first = min(errors, key=lambda e: lines.line_of(e["loc"]))
        loc = tuple(first["loc"])
        raise located_error(source, lines.line_of(loc), format_key(loc), _describe(first)) from None


_EXPECTED = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "tuple_type": "must be an array",
    "list_type": "must be an array",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "missing": "is required",
}


def _describe(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be {expected} (got {one_line(error['input'])})"
    if kind == "missing":
        return "is required"
    expected = _EXPECTED.get(kind)
    if expected is None:
        return error["msg"][:1].lower() + error["msg"][1:]
    if kind == "model_type" and len(loc) == 2 and loc[0] == "vars":
        expected = "must be a table or a string"
    return f"{expected} (got {_toml_type(error['input'])})"


def _toml_type(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string"}
    for kind, name in names.items():
        if type(value) is kind:
            return f"{name} {one_line(value, 40)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _validate(parsed: ParsedFormula) -> None:
    formula = parsed.model
    if formula.extends and formula.type != "workflow":
        raise parsed.error(("extends",), f"only a workflow can extend, not a {formula.type}")
    if formula.type == "workflow":
        if not formula.steps and not formula.extends:
            raise parsed.error(
                ("steps",), "a workflow needs at least one [[steps]] entry or extends"
            )
        # Steps inherited through `extends` are only known at resolution time.
        check_steps(parsed, "steps", formula.steps, check_needs=not formula.extends)
    elif formula.type == "expansion":
        if not formula.template:
            raise parsed.error(("template",), "an expansion needs at least one [[template]]")
        check_steps(parsed, "template", formula.template, check_needs=True)
    elif formula.type == "convoy":
        _validate_convoy(parsed)
    elif not formula.aspects and not formula.advice:
        raise parsed.error(("advice",), "an aspect needs at least one [[advice]] or [[aspects]]")
    else:
        _unique_ids(
            parsed, [(a.id, ("aspects", i)) for i, a in enumerate(formula.aspects)], "aspect"
        )


def walk_steps(steps: Sequence[Step], base: Loc) -> list[tuple[Step, Loc]]:
    """Every step and nested child with its key path, each parent before its children."""
    found: list[tuple[Step, Loc]] = []
    for index, step in enumerate(steps):
        loc = (*base, index)
        found.append((step, loc))
        found.extend(walk_steps(step.children, (*loc, "children")))
    return found


def flat_steps(steps: Sequence[Step]) -> list[Step]:
    """Steps with `needs` merged and nested children made plain steps of one graph.

    A child that needs nothing inherits its parent's needs, and the parent (a container)
    then needs its children, so it is done only when they are; children come first.
    """
    flat: list[Step] = []
    for step in steps:
        needs = step.all_needs
        if step.children:
            flat.extend(
                flat_steps(
                    [
                        c if c.all_needs else c.model_copy(update={"needs": needs})
                        for c in step.children
                    ]
                )
            )
            needs = tuple(dict.fromkeys((*needs, *(child.id for child in step.children))))
        flat.append(step.model_copy(update={"needs": needs, "depends_on": (), "children": ()}))
    return flat


def check_steps(
    parsed: ParsedFormula, table: str, steps: Sequence[Step], *, check_needs: bool
) -> None:
    """Duplicate or empty ids, needs on unknown steps, and cycles among `steps`."""
    walked = walk_steps(steps, (table,))
    _unique_ids(parsed, [(step.id, loc) for step, loc in walked], "step")
    if not check_needs:
        return
    known = {step.id for step, _ in walked}
    for step, loc in walked:
        for key in ("needs", "depends_on"):
            for need in getattr(step, key):
                if need not in known:
                    raise parsed.error(
                        (*loc, key),
                        f"unknown step {one_line(need)} (in step {one_line(step.id)})",
                        fix="name a step id of this formula",
                    )
    flat = flat_steps(steps)
    cycle = find_cycle([s.id for s in flat], {s.id: s.needs for s in flat})
    if cycle:
        loc = next(loc for step, loc in walked if step.id == cycle[0])
        raise parsed.error(
            (*loc, "needs"),
            "dependency cycle: " + " -> ".join(cycle),
            fix="remove one of these needs",
        )


def _unique_ids(parsed: ParsedFormula, items: Sequence[tuple[str, Loc]], what: str) -> None:
    first_seen: dict[str, Loc] = {}
    for item_id, loc in items:
        if not item_id.strip():
            raise parsed.error((*loc, "id"), f"a {what} id must not be empty")
        if item_id in first_seen:
            first_line = parsed.line_of(first_seen[item_id])
            raise parsed.error(
                (*loc, "id"),
                f"duplicate {what} id {one_line(item_id)} (first defined at line {first_line})",
            )
        first_seen[item_id] = loc


def _validate_convoy(parsed: ParsedFormula) -> None:
    formula = parsed.model
    if not formula.legs:
        raise parsed.error(("legs",), "a convoy needs at least one [[legs]] entry")
    leg_ids = [leg.id for leg in formula.legs]
    _unique_ids(parsed, [(leg, ("legs", i)) for i, leg in enumerate(leg_ids)], "leg")
    if formula.synthesis:
        for dep in formula.synthesis.depends_on:
            if dep not in leg_ids:
                raise parsed.error(
                    ("synthesis", "depends_on"),
                    f"unknown leg {one_line(dep)}",
                    fix="name a leg id of this formula",
                )
    for name, spec in formula.inputs.items():
        for other in spec.required_unless:
            if other not in formula.inputs:
                raise parsed.error(
                    ("inputs", name, "required_unless"), f"unknown input {one_line(other)}"
                )
