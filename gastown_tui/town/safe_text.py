"""Stored text on its way to a terminal or into an agent's context, made inert.

A bead title, a comment, a mail subject or an event payload is whatever someone typed, an agent
wrote or a repository carried: `\\e]52;c;…\\a` in it writes the reader's clipboard, `\\e[2J`
clears their screen, U+009B is a CSI to some terminals, U+202E turns the rest of a line around.
The store keeps such text exactly as written and `--json` carries it exactly (JSON escapes it);
only what is printed for a person or an agent to read goes through here.

Each control character (C0 but newline and tab, DEL, C1), each bidirectional override and each
byte that was not UTF-8 (a surrogate from os.fsdecode/surrogateescape) is shown as a visible
escape (`\\x1b`, `\\u202e`, `\\xff`): an escape sequence loses its ESC and becomes plain text,
and the reader can see that something was there. `tmux/text.py` uses the same character classes
for text that is typed into a pane (where escapes are dropped instead: a pane is an input)."""

from __future__ import annotations

import re

# ESC-introduced sequences, longest forms first: CSI (ESC [ ... final), OSC / DCS / SOS / PM /
# APC strings (ESC ] ... BEL or ST), then any two-character escape, then a lone ESC.
ESCAPE_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[ -~]"
    r"|\x1b"
)
# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F).
CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# What a terminal or a reader would act on: controls (newline and tab kept), bidirectional
# embeddings/overrides/isolates, and surrogates (lone ones cannot even be encoded).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as surrogateescape carries it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: object, *, keep_sgr: bool = False) -> str:
    """`text` as it may be printed: newline and tab kept, everything a terminal would act on
    shown as an escape. `keep_sgr` keeps colour sequences (ESC [ … m) whole, for `gt peek
    --colours`, and escapes every other sequence."""
    value = text if isinstance(text, str) else str(text)
    if not keep_sgr:
        return _UNSAFE.sub(_visible, value)
    out, last = [], 0
    for match in _SGR.finditer(value):
        out.append(_UNSAFE.sub(_visible, value[last:match.start()]))
        out.append(match.group())
        last = match.end()
    out.append(_UNSAFE.sub(_visible, value[last:]))
    return "".join(out)


def one_line(text: object) -> str:
    """`text` as one line (an error message, a table cell): newlines and tabs escaped too."""
    value = text if isinstance(text, str) else str(text)
    return _UNSAFE_ONE_LINE.sub(_visible, value)


def is_inert(text: str) -> bool:
    """True when printing `text` can do nothing but show characters (tests, assertions)."""
    return _UNSAFE.search(text) is None


# json.dumps(ensure_ascii=False) escapes C0 controls but writes DEL, the C1 controls, the
# Unicode line separators, bidirectional overrides and lone surrogates (not even encodable) raw. They can only
# stand inside JSON strings, so escaping them there changes no value.
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(text: str) -> str:
    """JSON text from json.dumps(…, ensure_ascii=False) with nothing raw a terminal would act
    on; it decodes to exactly the same values."""
    return _RAW_IN_JSON.sub(_json_escape, text)
