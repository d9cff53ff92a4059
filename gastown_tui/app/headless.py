"""`gastown-tui snapshot`: one settled frame of any screen, as SVG or text, without a terminal."""

from __future__ import annotations

from pathlib import Path

from gastown_tui.app.factory import make_app
from gastown_tui.model.town_model import Clock, utc_now
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.layout import Town
from gastown_tui.widgets.textual_internals import screen_text


class SnapshotError(GasTownError):
    code = "snapshot"


def export_text(app) -> str:
    """The current screen as plain text (what export_screenshot draws, without styles)."""
    return screen_text(app)


def render(town: Town, screen: str, size: tuple[int, int], out: Path, *,
           clock: Clock = utc_now, read_only: bool = False, observer_factory=None) -> Path:
    """Render `screen` of `town` at `size` into `out` (.svg or .txt)."""
    if out.suffix not in (".svg", ".txt"):
        raise SnapshotError(f"cannot write {out.name}: the output must end in .svg or .txt",
                            fix="pass --out FILE.svg or --out FILE.txt")
    app = make_app(town, clock=clock, read_only=read_only, live=False, start_screen=screen,
                   observer_factory=observer_factory)
    failure: list[str] = []

    async def auto_pilot(pilot) -> None:
        try:
            await app.wait_settled()
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
            if screen not in ("", "main") and len(app.screen_stack) < 2:
                failure.append(f"no screen {screen!r} in this town")
            elif out.suffix == ".svg":
                out.write_text(app.export_screenshot(title=f"gastown-tui {screen}"),
                               encoding="utf-8")
            else:
                out.write_text(export_text(app) + "\n", encoding="utf-8")
        except Exception as exc:  # anything at all: the CLI turns it into one line
            failure.append(f"{type(exc).__name__}: {exc}")
        app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    if failure:
        raise SnapshotError(failure[0], fix="check --screen (main, convoys, beads, mail, events, "
                                            "polecat:<rig>/<name>, convoy:<id>, bead:<id>)")
    return out
