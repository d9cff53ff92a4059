"""The `gt` and `bd` entry points: the agents' hottest calls answered without click.

Agents run `bd show ID --json`, `bd list --json`, `bd ready --json` and `gt hook --json` at
every start and prompt, each as a whole process; importing click alone costs about four times
a bare interpreter. These few shapes of argv are parsed here; anything else (another verb, an
option, --help, `--`, an argument that is not text) goes to the full click CLI untouched.

A call the fast path starts and cannot finish (no town, an unknown bead, a store that is
locked...) has only read so far: it runs again on the click path, which reports the problem
exactly as it always has (same message, same exit code). So the fast path never prints an error
of its own, and its output is the click path's byte for byte (tests/test_fast_path.py).

Keep the top of this module to os, sys and cli/flags.py: it is imported by every gt/bd call.
"""

from __future__ import annotations

import os
import sys

from gastown_tui.cli.flags import scan_flags

# bd's global flags, anywhere on the line (bd_group.GLOBAL_FLAGS): flag -> takes a value
_BD_FLAGS = {"--json": False, "--actor": True, "--rig": True, "--town": True, "--db": True}
_GT_FLAGS = {"--town": True}


def bd_main() -> None:
    code = bd(sys.argv[1:])
    if code is None:
        from gastown_tui.cli.bd import main

        main()  # exits
    _exit(code)


def gt_main() -> None:
    code = gt(sys.argv[1:])
    if code is None:
        from gastown_tui.cli.gt import main

        main()  # exits
    _exit(code)


def _exit(code: int) -> None:
    """Exit as sys.exit would, without the interpreter's teardown of every module (~5 ms,
    a sixth of the whole call): the atexit handlers run (PostgreSQL's connection is closed
    there), the output is flushed, the store was closed by the verb."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # None, closed, or the reader gone
            pass
    os._exit(code)


def _split_flags(args: list[str], names: dict[str, bool]) -> tuple[list[str], dict] | None:
    """scan_flags, or None where click would raise (a flag without its value) or where `--`
    is on the line (left to click)."""
    rest, found, missing, dashdash = scan_flags(args, names)
    if missing is not None or dashdash:
        return None
    return rest, found


def _usable(args: list[str]) -> bool:
    """Plain text arguments (common.check_argv's rule) and a UTF-8 stdout that click would
    write to as it is; anything else is the click path's to handle."""
    for arg in args:
        if "\x00" in arg:
            return False
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return False
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return encoding == "utf8"


def _scope_prefix(town, rig_option: str | None) -> str:
    """bd_group.scope_prefix: --rig, else the rig whose directory we are in, else hq."""
    from pathlib import Path

    if rig_option:
        return town.rig(rig_option).prefix
    rig = town.rig_at(Path.cwd())
    return rig.prefix if rig else "hq"


def _open(town_option: str | None, actor: str | None):
    """CliContext.town() and .store(): the town found from here, its store for one call."""
    from pathlib import Path

    from gastown_tui.ops.context import default_actor, open_store
    from gastown_tui.town.layout import Town

    town = Town.find(Path.cwd(), town_option)
    return town, open_store(town, actor or default_actor(), short_lived=True)


def _emit(obj) -> int:
    from gastown_tui.cli.jsonout import dumps

    text = dumps(obj) + "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as common.run
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def bd(argv: list[str]) -> int | None:
    """`bd show ID... --json`, `bd list --json`, `bd ready --json`; None for the click path."""
    if not _usable(argv):
        return None
    split = _split_flags(argv, _BD_FLAGS)
    if split is None:
        return None
    rest, found = split
    as_json = bool(found.get("--json")) or \
        os.environ.get("BD_JSON", "").lower() in ("1", "true", "yes")
    if not as_json or not rest or any(arg.startswith("-") for arg in rest):
        return None
    verb, operands = rest[0], rest[1:]
    if not ((verb == "show" and operands) or (verb in ("list", "ready") and not operands)):
        return None
    town_option = found.get("--town")
    if not town_option and found.get("--db"):
        from pathlib import Path

        town_option = str(Path(found["--db"]).resolve().parent.parent)
    store = None
    try:
        town, store = _open(town_option, found.get("--actor"))
        if verb == "show":
            out = [store.details(bead_id) for bead_id in operands]
        elif verb == "list":  # bd.py list_cmd with every option at its default
            out = store.list_issues(
                prefixes=[_scope_prefix(town, found.get("--rig"))], statuses=None,
                include_all=False, issue_types=None, assignee=None, no_assignee=False,
                labels=[], label_any=[], exclude_labels=[], parent=None, ids=None,
                priority=None, include_infra=False, limit=50, sort="priority")
        else:  # bd_more.py ready with every option at its default
            out = store.ready(
                prefixes=[_scope_prefix(town, found.get("--rig"))], limit=100, sort="priority",
                assignee=None, unassigned=False, issue_types=None, labels=[], label_any=[],
                exclude_labels=[], exclude_types=[], parent=None, include_deferred=False,
                include_ephemeral=False)
    except KeyboardInterrupt:
        return 130
    except Exception:  # only read so far: the click path reports it as it always has
        return None
    finally:
        _close(store)
    return _emit(out)


def _close(store) -> None:
    if store is not None:
        try:
            store.close_connection()
        except Exception:  # a reader's close: nothing was written to lose
            pass


def gt(argv: list[str]) -> int | None:
    """`gt hook --json` (what is on my hook); None for the click path."""
    if not _usable(argv):
        return None
    split = _split_flags(argv, _GT_FLAGS)
    if split is None or split[0] != ["hook", "--json"]:
        return None
    store = None
    try:
        from gastown_tui.ops import hook as hook_ops
        from gastown_tui.ops.molecule import view
        from gastown_tui.town.names import parse_address

        town, store = _open(split[1].get("--town"), None)
        agent = hook_ops.self_address()
        out = view(town, store, parse_address(agent)).as_json()
    except KeyboardInterrupt:
        return 130
    except Exception:  # only read so far: the click path reports it as it always has
        return None
    finally:
        _close(store)
    return _emit(out)
