"""The store's SQL is written once, in SQLite's dialect; `to_pg` turns a statement into
PostgreSQL's. What differs is small: `?` placeholders become `$n`, `INSERT OR IGNORE` becomes
`… ON CONFLICT DO NOTHING`, and LIKE becomes ILIKE (SQLite's LIKE ignores ASCII case).
Functions SQLite has and PostgreSQL lacks are defined by pg_schema.py instead."""

from __future__ import annotations

import re
from functools import lru_cache

_LIKE = re.compile(r"\bLIKE\b")


@lru_cache(maxsize=1024)
def to_pg(sql: str) -> str:
    text = sql.strip()
    ignore = False
    if text[:16].upper() == "INSERT OR IGNORE":
        text = "INSERT" + text[16:]
        ignore = True
    out: list[str] = []
    n = 0
    quoted = False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif ch == "?" and not quoted:
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    text = _LIKE.sub("ILIKE", "".join(out))
    if ignore:
        text += " ON CONFLICT DO NOTHING"
    return text
