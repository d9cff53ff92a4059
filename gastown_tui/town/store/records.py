"""Bead records as bd shapes them: field order, defaults, validation and JSON encoding.

A bead is handled as a plain dict in bd's export key order. Plain dicts keep `bd show` start-up
cheap (no model library import on the hot path) and carry unknown keys through untouched."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from gastown_tui.town.errors import ValidationError

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

# bd's export key order (beads-reference §1.1). "always" keys are emitted even when empty.
FIELD_ORDER: tuple[str, ...] = (
    "id", "title", "description", "design", "acceptance_criteria", "notes", "spec_id", "status",
    "priority", "issue_type", "assignee", "owner", "estimated_minutes", "created_at", "created_by",
    "updated_at", "started_at", "closed_at", "close_reason", "closed_by_session", "due_at",
    "defer_until", "external_ref", "source_system", "metadata", "compaction_level", "compacted_at",
    "compacted_at_commit", "original_size", "labels", "dependencies", "comments", "sender",
    "ephemeral", "no_history", "wisp_type", "pinned", "is_template", "bonded_from", "await_type",
    "await_id", "timeout", "waiters", "source_formula", "source_location", "mol_type", "work_type",
    "event_kind", "actor", "target", "payload",
)
ALWAYS = frozenset({"id", "title", "priority", "created_at", "updated_at"})
CORE_COLUMNS = (
    "id", "prefix", "title", "description", "status", "priority", "issue_type", "assignee",
    "created_at", "updated_at", "closed_at", "defer_until", "ephemeral", "pinned", "is_template",
)
NESTED = frozenset({"labels", "dependencies", "comments"})
COUNT_KEYS = ("dependency_count", "dependent_count", "comment_count", "parent")

BUILTIN_STATUSES = ("open", "in_progress", "blocked", "deferred", "closed", "pinned", "hooked")
CUSTOM_STATUSES = ("staged_ready", "staged_warnings")
STATUSES = frozenset(BUILTIN_STATUSES + CUSTOM_STATUSES)
BUILTIN_TYPES = (
    "bug", "feature", "task", "epic", "chore", "decision", "message", "molecule", "gate", "spike",
    "story", "milestone", "event",
)
GASTOWN_TYPES = (
    "agent", "role", "rig", "convoy", "slot", "queue", "event", "message", "molecule", "gate",
    "merge-request",
)
TYPES = frozenset(BUILTIN_TYPES + GASTOWN_TYPES)
TYPE_ALIASES = {
    "enhancement": "feature", "feat": "feature", "dec": "decision", "adr": "decision",
    "investigation": "spike", "timebox": "spike", "user-story": "story", "user_story": "story",
    "ms": "milestone", "mr": "merge-request", "mol": "molecule",
}
DEP_TYPES = (
    "blocks", "conditional-blocks", "waits-for", "parent-child", "related", "relates-to",
    "discovered-from", "replies-to", "duplicates", "supersedes", "tracks", "until", "caused-by",
    "validates", "delegated-from", "authored-by", "assigned-to", "approved-by", "attests",
)
BLOCKING_DEP_TYPES = ("blocks", "conditional-blocks")
# Types that never count as ready work (beads-reference §3.4).
NOT_WORK_TYPES = ("merge-request", "gate", "molecule", "message", "agent", "role", "rig")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_time(value: str | None, *, field: str = "time") -> str | None:
    """Accept any RFC3339 (bd's readers do), store UTC with Z."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        # Fixed width, so stored times compare and sort correctly as text; display_time trims it.
        return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (ValueError, OverflowError) as exc:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValidationError(f"{field}: {text[:64]!r} is not an RFC3339 time",
                              fix="use a time like 2026-01-12T02:16:00Z") from exc


TIME_FIELDS = ("created_at", "updated_at", "started_at", "closed_at", "due_at", "defer_until",
               "compacted_at")


def display_time(value: str | None) -> str | None:
    if value and value.endswith(".000000Z"):
        return value[:-8] + "Z"
    return value


def normalize_type(value: str | None) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"issue type {value!r} is not a string", fix="use e.g. task or bug")
    t = (value or "task").strip().lower()
    t = TYPE_ALIASES.get(t, t)
    if t not in TYPES:
        raise ValidationError(f"unknown issue type {value!r}",
                              fix=f"use one of: {', '.join(sorted(TYPES))}")
    return t


def normalize_status(value: str | None) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"status {value!r} is not a string", fix="use e.g. open or closed")
    s = (value or "open").strip().lower()
    if s not in STATUSES:
        raise ValidationError(f"unknown status {value!r}",
                              fix=f"use one of: {', '.join(BUILTIN_STATUSES + CUSTOM_STATUSES)}")
    return s


def normalize_priority(value: Any) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"priority {value!r} is not 0-4", fix="use 0 (critical) to 4 (backlog)")
    text = str(value).strip().upper()
    if text.startswith("P"):
        text = text[1:]
    try:
        p = int(text)
    except ValueError as exc:
        raise ValidationError(f"priority {value!r} is not 0-4",
                              fix="use 0 (critical) to 4 (backlog), or P0-P4") from exc
    if not 0 <= p <= 4:
        raise ValidationError(f"priority {p} is out of range", fix="use 0 (critical) to 4 (backlog)")
    return p


def validate_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ValidationError("title is required", fix="give the bead a short title")
    if len(title) > 500:
        raise ValidationError(f"title is {len(title)} characters long (max 500)",
                              fix="shorten it and put the rest in the description")
    return title


def row_to_issue(row: Any) -> dict[str, Any]:
    """Merge a row's core columns with its JSON data column, in bd key order."""
    data = json.loads(row["data"]) if row["data"] else {}
    merged: dict[str, Any] = dict(data)
    for col in CORE_COLUMNS:
        if col == "prefix":
            continue
        value = row[col]
        if col in ("ephemeral", "pinned", "is_template"):
            value = bool(value)
        merged[col] = value
    for key in TIME_FIELDS:
        if merged.get(key):
            merged[key] = display_time(merged[key])
    return order_issue(merged)


def order_issue(issue: dict[str, Any]) -> dict[str, Any]:
    """bd key order with omitempty; unknown keys (kept from imports) follow the known ones."""
    out: dict[str, Any] = {}
    for key in FIELD_ORDER:
        if key in issue:
            value = issue[key]
            if key in ALWAYS or not _is_empty(value):
                out[key] = value
    for key, value in issue.items():
        if key not in out and key not in FIELD_ORDER and key not in COUNT_KEYS:
            out[key] = value
    return out


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value is False or value == 0 or value == [] or value == {}


def split_for_row(issue: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Core column values, and the JSON text of everything else (nested tables excluded)."""
    core = {col: issue.get(col) for col in CORE_COLUMNS if col != "prefix"}
    rest = {k: v for k, v in issue.items()
            if k not in CORE_COLUMNS and k not in NESTED and k not in COUNT_KEYS and k != "_type"
            and not _is_empty(v)}
    return core, json.dumps(rest, ensure_ascii=False, separators=(",", ":"))


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}


def bd_jsonl_line(obj: dict[str, Any]) -> str:
    """One compact line as Go's encoding/json writes it (HTML escaping on, UTF-8 raw)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    if any(ch in text for ch in _GO_ESCAPES):
        text = "".join(_GO_ESCAPES.get(ch, ch) for ch in text)
    return text
