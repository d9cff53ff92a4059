"""Map TOML key paths to the line they are written on, for error messages.

tomlkit keeps the text but offers no line numbers for keys, so this module scans the source
once. It is called only on text tomlkit has already accepted, and it follows just enough TOML to
know where each table header and each key starts: multi-line strings and arrays that span lines
are skipped, and `[[array.of.tables]]` get their index so a path like
``("steps", 2, "needs")`` (as pydantic reports it) finds the third `[[steps]]` table's `needs`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

Loc = tuple[str | int, ...]


class LineIndex:
    """Line numbers (1-based) of table headers and keys in one TOML text."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Loc, int] = {}
        self._scan(text)

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The line of the longest prefix of `loc` written in the text; 1 when none is."""
        path = tuple(loc)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return 1

    def has(self, loc: Sequence[str | int]) -> bool:
        return tuple(loc) in self._lines

    def _scan(self, text: str) -> None:
        array_index: dict[Loc, int] = {}  # path of each array of tables -> its current index
        table: Loc = ()
        open_string: str | None = None  # the delimiter of a multi-line string still open
        depth = 0  # brackets still open in a value that spans lines
        # TOML lines end at "\n" only; str.splitlines would also split on form feeds and the like.
        for lineno, raw in enumerate(text.split("\n"), 1):
            line = raw.rstrip("\r")
            if open_string or depth:
                open_string, depth = _scan_value(line, 0, open_string, depth)
                continue
            stripped = line.lstrip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("["):
                table = self._header(stripped, lineno, array_index)
                continue
            equals = _find_outside_quotes(line, "=")
            if equals < 0:
                continue
            keys = _split_key(line[:equals])
            for end in range(1, len(keys) + 1):
                self._lines.setdefault(table + keys[:end], lineno)
            open_string, depth = _scan_value(line, equals + 1, None, 0)

    def _header(self, stripped: str, lineno: int, array_index: dict[Loc, int]) -> Loc:
        is_array = stripped.startswith("[[")
        start = 2 if is_array else 1
        end = _find_outside_quotes(stripped, "]", start)
        keys = _split_key(stripped[start : end if end >= 0 else len(stripped)])
        path: Loc = ()
        for position, key in enumerate(keys):
            path += (key,)
            # Every enclosing array of tables refers to its latest element; the last key of
            # a `[[...]]` header is the array itself and gets a new index just below.
            is_last = position == len(keys) - 1
            if path in array_index and not (is_array and is_last):
                path += (array_index[path],)
        if is_array:
            index = array_index.get(path, -1) + 1
            array_index[path] = index
            self._lines.setdefault(path, lineno)
            path += (index,)
        self._lines.setdefault(path, lineno)
        return path


def _find_outside_quotes(text: str, char: str, start: int = 0) -> int:
    """Index of the first `char` at or after `start` that is not inside a quoted key part."""
    quote: str | None = None
    i = start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == char:
            return i
        i += 1
    return -1


def _split_key(text: str) -> Loc:
    """`a."b.c".d` -> ("a", "b.c", "d")."""
    parts: list[str] = []
    rest = text
    while True:
        dot = _find_outside_quotes(rest, ".")
        parts.append(_unquote(rest if dot < 0 else rest[:dot]))
        if dot < 0:
            return tuple(parts)
        rest = rest[dot + 1 :]


def _unquote(part: str) -> str:
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] == "'":
        return part[1:-1]
    if len(part) >= 2 and part[0] == part[-1] == '"':
        try:
            return str(json.loads(part))
        except ValueError:  # a TOML-only escape such as \U0001F600: keep the raw text
            return part[1:-1]
    return part


def _scan_value(
    line: str, start: int, open_string: str | None, depth: int
) -> tuple[str | None, int]:
    """Scan a value from `start`; return the string still open and brackets still open."""
    i, n = start, len(line)
    while i < n:
        if open_string:
            close = _find_closing(line, i, open_string)
            if close < 0:
                return open_string, depth
            i = close + 3
            # Up to two more quotes right before the delimiter belong to the string's content.
            extra = 0
            while i < n and line[i] == open_string[0] and extra < 2:
                i += 1
                extra += 1
            open_string = None
            continue
        c = line[i]
        if c == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            open_string = line[i : i + 3]
            i += 3
            continue
        if c == '"':
            i = _skip_basic_string(line, i + 1)
            continue
        if c == "'":
            close = line.find("'", i + 1)
            i = n if close < 0 else close + 1
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return open_string, depth


def _find_closing(line: str, start: int, delimiter: str) -> int:
    i = start
    while True:
        found = line.find(delimiter, i)
        if found < 0 or delimiter == "'''":
            return found
        backslashes = 0
        while found - backslashes - 1 >= start and line[found - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return found
        i = found + 1


def _skip_basic_string(line: str, i: int) -> int:
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == '"':
            return i + 1
        i += 1
    return i
