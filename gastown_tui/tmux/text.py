"""Turning arbitrary text into something that can only arrive as typed text in a pane."""

from __future__ import annotations

import re

from gastown_tui.town.safe_text import CONTROLS as _CONTROLS
from gastown_tui.town.safe_text import ESCAPE_SEQUENCES as _ESCAPES

# The character classes are the terminal sanitiser's (town/safe_text.py); typed into a pane,
# escapes are dropped rather than shown.
_BLANKS = re.compile(r"[\t\n]")


def sanitize_text(text: str | bytes) -> str:
    """The characters of `text` that can only arrive as typed text.

    Bytes are decoded as UTF-8 with U+FFFD for what is not UTF-8; str that carries undecodable
    bytes as surrogates (os.fsdecode) gets the same treatment. Escape sequences are removed
    whole, tab and newline become a space (a newline typed into a pane is Enter, which would
    submit half a message), and every other control character is dropped.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    else:
        try:
            raw = text.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError:
            # A lone surrogate outside surrogateescape's U+DC80-U+DCFF ("\ud800" from JSON or
            # an API): encoded as is, it is invalid UTF-8 and becomes U+FFFD below.
            raw = text.encode("utf-8", errors="surrogatepass")
        text = raw.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n")
    text = _ESCAPES.sub("", text)
    text = _BLANKS.sub(" ", text)
    return _CONTROLS.sub("", text)


def chunks(text: str, size: int) -> list[str]:
    """`text` cut into pieces of at most `size` characters (never inside a character)."""
    return [text[i : i + size] for i in range(0, len(text), size)]
