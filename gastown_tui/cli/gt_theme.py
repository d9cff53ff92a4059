"""`gt theme [NAME] [--list]`: the control room's theme, saved in the town's settings.

Upstream's `gt theme` colours each rig's tmux status bar; here the town's one screen is the
control room, so the theme is its (Textual's) theme. `gt theme default` goes back to Textual's
default."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

DEFAULT = "textual-dark"


def _themes() -> dict:
    from textual.theme import BUILTIN_THEMES  # lazy: only this command needs Textual

    return dict(sorted(BUILTIN_THEMES.items()))


@click.command()
@click.argument("name", required=False)
@click.option("-l", "--list", "list_", is_flag=True, help="List available themes.")
@json_option
@pass_cli
def theme(cli: CliContext, name: str | None, list_: bool, as_json: bool) -> None:
    """View or set the control room's theme (kept in settings/config.json, control_room.theme;
    picking one in the control room's palette saves it too).

    \b
    gt theme              # show the current theme
    gt theme --list       # list available themes
    gt theme nord         # use 'nord' from the next start of gastown-tui
    gt theme default      # back to the default (textual-dark)
    """
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.theme import clear_theme, get_theme, set_theme

    town = cli.town()
    if list_:
        themes = _themes()
        current = get_theme(town) or DEFAULT
        if as_json:
            echo_json([{"name": n, "dark": t.dark, "primary": t.primary, "current": n == current}
                       for n, t in themes.items()])
            return
        echo("Available themes:")
        for n, t in themes.items():
            mark = "*" if n == current else " "
            echo(f" {mark} {n:<20}  {'dark' if t.dark else 'light'}, primary {t.primary}")
        return
    if name is None:
        saved = get_theme(town)
        if as_json:
            echo_json({"theme": saved or DEFAULT, "source": "settings" if saved else "default"})
        else:
            echo(f"Theme: {saved} (settings/config.json)" if saved else f"Theme: {DEFAULT} (default)")
        return
    if name in ("default", "none"):
        clear_theme(town, actor=default_actor())
        stored, source = DEFAULT, "default"
    else:
        stored, source = set_theme(town, name, known=list(_themes()), actor=default_actor()), \
            "settings"
    if as_json:
        echo_json({"theme": stored, "source": source})
        return
    echo(f"Theme '{stored}' saved for the control room" if source == "settings"
         else f"Theme back to the default ({stored})")
    echo("A running gastown-tui keeps its theme until it restarts (or pick one in its "
         "palette: ctrl+p, then 'theme')")
