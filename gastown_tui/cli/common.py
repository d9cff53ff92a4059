"""What every command line shares: finding the town, one-line errors, bd's JSON shapes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from gastown_tui.cli.flags import scan_flags  # one reading of the line for both paths
from gastown_tui.cli.jsonout import dumps  # one definition for both paths
from gastown_tui.town.errors import GasTownError, NoTownError, from_os_error
from gastown_tui.town.layout import Town
from gastown_tui.town.safe_text import one_line, terminal_text


@dataclass
class CliContext:
    town_option: str | None = None
    json_output: bool = False
    actor: str | None = None
    rig_option: str | None = None
    cwd: Path = field(default_factory=Path.cwd)
    _town: Town | None = None

    def town(self) -> Town:
        if self._town is None:
            self._town = Town.find(self.cwd, self.town_option)
        return self._town

    def town_or_none(self) -> Town | None:
        try:
            return self.town()
        except NoTownError:
            return None

    def log(self, event_type: str, payload: dict[str, Any], *, source: str = "bd") -> None:
        """Every verb leaves one line in the town's .events.jsonl (upstream's event shape)."""
        from gastown_tui.ops.context import default_actor
        from gastown_tui.town.events import log_event

        log_event(self.town().root, event_type, actor=self.actor or default_actor(),
                  payload=payload, source=source)

    def store(self, actor: str | None = None):
        from gastown_tui.ops.context import default_actor, open_store

        return open_store(self.town(), actor or self.actor or default_actor(), short_lived=True)


class DefaultGroup(click.Group):
    """A group whose first argument may instead start its default command: `gt escalate
    "what is wrong" -s high` raises one, `gt escalate list` lists them (as upstream)."""

    default = "raise"

    def __init__(self, *args: Any, default: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if default is not None:
            self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default, *args]
        elif not args and not self.invoke_without_command:
            args = [self.default]
        return super().parse_args(ctx, args)


def echo(message: Any = "", *, err: bool = False, nl: bool = True, keep_sgr: bool = False) -> None:
    """Human output. Whatever it holds (titles, bodies, addresses, event payloads: stored text
    anyone may have written) is printed inert (town/safe_text.py); JSON goes through dumps."""
    click.echo(terminal_text(message, keep_sgr=keep_sgr), err=err, nl=nl)


def emit_json(obj: Any, *, schema: bool = False) -> None:
    """bd prints arrays as they are and injects schema_version into objects."""
    if schema and isinstance(obj, dict):
        obj = {"schema_version": 1, **obj}
    click.echo(dumps(obj))


def fail(exc: GasTownError, *, as_json: bool) -> int:
    if as_json:
        sys.stderr.write(json.dumps({"schema_version": 1, "error": str(exc), "code": exc.code})
                         + "\n")
    else:
        sys.stderr.write(f"Error: {one_line(exc)}\n")
    return exc.exit_code


def show_usage_error(exc: click.ClickException) -> None:
    """click's own report (usage, hint, `Error: …`) with the message kept to one inert line:
    it quotes the arguments, which may hold anything."""
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        hint = ""
        if exc.ctx.command.get_help_option(exc.ctx) is not None:
            hint = (f"Try '{exc.ctx.command_path} {exc.ctx.help_option_names[0]}' "
                    "for help.\n")
        sys.stderr.write(terminal_text(f"{exc.ctx.get_usage()}\n{hint}\n"))
    sys.stderr.write(f"Error: {one_line(exc.format_message())}\n")


def check_argv(args: Sequence[str]) -> None:
    """Every argument must be text: a byte that is not UTF-8 (os.fsdecode turns it into a lone
    surrogate) could be neither stored nor printed."""
    for number, arg in enumerate(args, start=1):
        if "\x00" in arg:  # no real argv holds one; a caller of main() might
            raise click.UsageError(f"argument {number} holds a NUL character: pass plain text")
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise click.UsageError(
                f"argument {number} ({one_line(arg[:40])}) is not valid UTF-8 (byte "
                f"{one_line(arg[exc.start])} at position {exc.start}): pass UTF-8 text") from None


def extract_global_flags(argv: Sequence[str], names: dict[str, bool]) -> tuple[list[str], dict[str, Any]]:
    """Pull global flags out of argv wherever they stand (agents write `bd show x --json`).

    `names` maps a flag to whether it takes a value. Everything after `--` is left alone."""
    rest, found, missing, _ = scan_flags(list(argv), names)
    if missing is not None:
        raise click.UsageError(f"{missing} needs a value")
    return rest, found


def run(group: click.Group, argv: Sequence[str] | None, make_ctx: Callable[[list[str]], tuple[list[str], CliContext]],
        prog: str) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    ctx_obj = CliContext()
    try:
        check_argv(args)
        args, ctx_obj = make_ctx(args)
        result = group.main(args=args, prog_name=prog, obj=ctx_obj, standalone_mode=False)
        # Without standalone mode click returns an Exit's code instead of raising it.
        return result if isinstance(result, int) else 0
    except GasTownError as exc:
        return fail(exc, as_json=ctx_obj.json_output)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        show_usage_error(exc)
        return exc.exit_code
    except click.exceptions.Abort:
        sys.stderr.write("Aborted.\n")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); quietly stop like other CLI tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a full disk, a name too long, no permission: one line, not a trace
        return fail(from_os_error(exc), as_json=ctx_obj.json_output)
    except Exception as exc:
        # A bug. The user still gets one line, and the trace when they ask for it.
        if os.environ.get("GT_DEBUG"):
            raise
        return fail(GasTownError(f"internal error: {type(exc).__name__}: {exc}",
                                 fix="this is a bug; rerun with GT_DEBUG=1 for the traceback"),
                    as_json=ctx_obj.json_output)


def split_csv(values: Sequence[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


STATUS_ICON = {"closed": "✓", "in_progress": "▶", "hooked": "▶", "blocked": "✗", "deferred": "❄",
               "pinned": "📌"}


def bead_line(issue: dict[str, Any]) -> str:
    icon = STATUS_ICON.get(issue.get("status", ""), "○")
    who = f" @{issue['assignee']}" if issue.get("assignee") else ""
    labels = f" [{', '.join(issue['labels'])}]" if issue.get("labels") else ""
    return (f"{icon} {issue['id']} [P{issue.get('priority', 2)}] [{issue.get('issue_type', 'task')}]"
            f" {issue.get('status', '')}{who} - {issue['title']}{labels}")


def rig_here(cli: CliContext, rig_name: str | None):
    """The rig a command is about: named, else GT_RIG, else the one the cwd is in."""
    town = cli.town()
    name = rig_name or os.environ.get("GT_RIG")
    if name:
        return town.rig(name)
    found = town.rig_at(cli.cwd)
    if found is None:
        raise click.UsageError("which rig? name it, or run the command inside the rig")
    return found
