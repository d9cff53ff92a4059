"""`key: value` lines in bead descriptions, as Gas Town keeps agent, MR, convoy and attachment
state. Parsing is case-insensitive, accepts `_`/`-` variants, and keeps the prose around it."""

from __future__ import annotations

import re

_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_\- ]{0,40}):\s?(.*)$")
# Everything str.splitlines() breaks on: a value holding one would end its line early and the
# rest would be read as prose, or as another field ("x\nagent_state: nuked").
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


def one_line(value: str) -> str:
    """A field value as one line: line breaks become a single space."""
    return _LINE_BREAKS.sub(" ", value)


def _norm(key: str) -> str:
    return key.strip().lower().replace("-", "_").replace(" ", "_")


def parse_fields(description: str) -> dict[str, str]:
    """Every `key: value` line; `null` means empty. Later duplicates win."""
    out: dict[str, str] = {}
    for line in (description or "").splitlines():
        m = _LINE.match(line.strip())
        if m:
            value = m.group(2).strip()
            out[_norm(m.group(1))] = "" if value == "null" else value
    return out


def get_field(description: str, key: str) -> str:
    return parse_fields(description).get(_norm(key), "")


def set_fields(description: str, updates: dict[str, str | None], *, null_empty: bool = True) -> str:
    """Replace the lines for the given keys in place, append new ones after the existing field
    block, and leave every other line (prose included) untouched."""
    wanted = {_norm(k): ("null" if (v is None or v == "") and null_empty else one_line(v or ""))
              for k, v in updates.items()}
    lines = (description or "").splitlines()
    seen: set[str] = set()
    out: list[str] = []
    last_field_index = -1
    for line in lines:
        m = _LINE.match(line.strip())
        if m and _norm(m.group(1)) in wanted:
            key = _norm(m.group(1))
            if key in seen:
                continue
            seen.add(key)
            out.append(f"{m.group(1).strip()}: {wanted[key]}")
            last_field_index = len(out) - 1
            continue
        if m:
            last_field_index = len(out)
        out.append(line)
    spelled = {_norm(k): k.strip() for k in updates}  # a new line keeps the caller's case
    missing = [f"{spelled[k]}: {v}" for k, v in wanted.items() if k not in seen]
    if missing:
        if last_field_index >= 0:
            out[last_field_index + 1:last_field_index + 1] = missing
        else:
            if out and out[-1].strip():
                out.append("")
            out.extend(missing)
    return "\n".join(out)


def format_fields(title: str, fields: dict[str, str | None]) -> str:
    """An agent-bead style description: the title, a blank line, then the field lines."""
    body = "\n".join(f"{k}: {'null' if v in (None, '') else one_line(str(v))}"
                     for k, v in fields.items())
    return f"{title}\n\n{body}" if title else body
