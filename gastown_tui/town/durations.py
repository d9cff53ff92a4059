"""Go-style durations as Gas Town writes them ("90s", "1h30m", "500ms", and "7d" for days),
and bd's timeout field, which is a Go time.Duration: an integer count of nanoseconds."""

from __future__ import annotations

import math
import re

from gastown_tui.town.errors import ValidationError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
         "d": 86400.0}


def parse_duration(text: str, *, what: str = "duration") -> float:
    """Seconds in `text`; a bare number is seconds. One-line error naming the fix otherwise."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError(f"{what} is empty", fix="use a duration such as 30s, 5m or 2h")
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        # "-1", "nan", "inf" are floats but no duration (a sleep of -1 s was a traceback)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValidationError(f"{what} {raw[:40]!r} is not a duration",
                                  fix="use a duration of 0 or more, such as 30s, 5m or 2h")
        return seconds
    pos, total = 0, 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise ValidationError(f"{what} {raw[:40]!r} is not a duration",
                              fix="use a duration such as 30s, 5m, 2h or 7d")
    return total


def to_nanos(seconds: float) -> int:
    return int(round(seconds * 1e9))


def from_nanos(value: object) -> float:
    """bd's `timeout` (nanoseconds) as seconds; anything else as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) / 1e9


def format_duration(seconds: float) -> str:
    """Short, as upstream prints them: 45s, 5m, 2h, 1h30m, 3d, 2d4h."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m" + (f"{seconds % 60:.0f}s" if seconds % 60 >= 1 and
                                          seconds < 600 else "")
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours:.0f}h" + (f"{rest // 60:.0f}m" if rest >= 60 else "")
    days, rest = divmod(seconds, 86400)
    return f"{days:.0f}d" + (f"{rest // 3600:.0f}h" if rest >= 3600 else "")
