"""--json output for gt and bd, shared by the click CLI (common.py) and its fast path (fast.py)."""

from __future__ import annotations

import json

from gastown_tui.town.safe_text import json_text


def dumps(obj: object) -> str:
    """JSON for --json: every value exact; DEL, C1 controls, line separators and lone
    surrogates written as \\u escapes (json.dumps leaves them raw), so it is safe on a terminal."""
    return json_text(json.dumps(obj, indent=2, ensure_ascii=False))
