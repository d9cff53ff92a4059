"""Text substitution for formulas: `{{var}}` variables and convoy prompts' `{{.field}}`."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Same shape as upstream's variable pattern: `{{name}}`, no spaces, no dots. Convoy prompts'
# Go-template fields (`{{.leg.id}}`) and control words (`{{if ...}}`) therefore never match.
VAR_PATTERN = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_FIELD_PATTERN = re.compile(
    r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}"
)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace each `{{name}}` that has a value; any other `{{...}}` stays as written."""
    if "{{" not in text:
        return text
    return VAR_PATTERN.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def referenced_vars(text: str) -> list[str]:
    """The `{{name}}` variables a text uses, in order of first use."""
    return list(dict.fromkeys(VAR_PATTERN.findall(text)))


def substitute_fields(text: str, context: Mapping[str, object]) -> str:
    """Fill Go-template field references such as `{{.leg.focus}}` from nested mappings.

    Only plain field references are filled; `{{if}}`/`{{range}}` blocks and fields without a
    value are left verbatim, so a prompt never loses text it could not fill.
    """

    def lookup(match: re.Match[str]) -> str:
        value: object = context
        for part in match.group(1).split("."):
            if not isinstance(value, Mapping) or part not in value:
                return match.group(0)
            value = value[part]
        return str(value)

    return _FIELD_PATTERN.sub(lookup, text)
