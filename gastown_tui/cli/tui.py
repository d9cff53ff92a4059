"""`gastown-tui`: the control room. Until the control room lands it says what is not built."""

from __future__ import annotations

import sys
from collections.abc import Sequence

NOT_BUILT = """gastown-tui: the control room is not built yet.

What works today: the town engine and its command line:
  gt install DIR · gt rig add NAME REPO · gt status · gt convoy … · gt mail … · gt hook …
  bd create/list/show/update/close/ready/blocked/dep/label/comments/search/export/import
Still to come: agents in tmux (gt sling/nudge/nuke), the refinery, the control room and the
demo. See README.md.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write("usage: gastown-tui [demo]\n\n" + NOT_BUILT)
        return 0
    sys.stdout.write(NOT_BUILT)
    code = 0 if args[:1] == ["demo"] else 2
    if argv is None:
        sys.exit(code)
    return code
