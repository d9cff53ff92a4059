"""How `gt` and `bd` find their global flags in a line: one reading for the fast path and for
click. Imports nothing: it is on the path of every gt/bd call."""

from __future__ import annotations


def scan_flags(args: list[str], names: dict[str, bool]) -> tuple[list[str], dict, str | None,
                                                                 bool]:
    """Global flags pulled out of argv wherever they stand (agents write `bd show x --json`):
    (the other arguments, the flags found, the flag left without its value or None, whether a
    `--` ended the scan: it and what follows are the end of the other arguments). `names` maps
    a flag to whether it takes a value. Shared by the fast path (cli/fast.py)
    and the click path (common.extract_global_flags), so the two read a line the same way."""
    rest: list[str] = []
    found: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return rest + args[i:], found, None, True
        key, _, inline = arg.partition("=")
        if key in names:
            if names[key]:
                if inline:
                    found[key] = inline
                elif i + 1 < len(args):
                    found[key] = args[i + 1]
                    i += 1
                else:
                    return rest, found, key, False
            else:
                found[key] = True
            i += 1
            continue
        rest.append(arg)
        i += 1
    return rest, found, None, False
