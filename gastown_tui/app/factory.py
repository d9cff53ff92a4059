"""`make_app`: the one way to build the control room, for the CLI, snapshots and tests."""

from __future__ import annotations

from pathlib import Path

from gastown_tui.app.panes import ObserverFactory, town_observer
from gastown_tui.model.town_model import Clock, utc_now
from gastown_tui.town.layout import Town


def make_app(town: Town | Path | str, *, clock: Clock = utc_now, read_only: bool = False,
             observer_factory: ObserverFactory | None = None, live: bool = True,
             start_screen: str = "main", poll_interval: float | None = None,
             model_options: dict[str, int] | None = None, first_read=None, story=None,
             gc_paused: bool = False):
    """Build the app on `town`.

    `live=False` renders one settled frame: the town is read once, the panes polled once, no
    watcher, no timers, no animation (snapshot mode and snapshot tests). `observer_factory`
    supplies pane screens (tests pass recorded ones); `clock` dates the snapshots. `story`:
    the demo's (AppConfig.story). `gc_paused`: the caller disabled the cyclic garbage
    collector for start-up; the app enables it again after the first whole frame."""
    from gastown_tui.app.app import GasTownApp
    from gastown_tui.app.config import POLL_INTERVAL, AppConfig

    if not isinstance(town, Town):
        town = Town(Path(town).resolve())
    config = AppConfig(town=town, clock=clock, read_only=read_only, live=live,
                       observer_factory=observer_factory or town_observer,
                       start_screen=start_screen,
                       poll_interval=POLL_INTERVAL if poll_interval is None else poll_interval,
                       model_options=dict(model_options or {}), first_read=first_read,
                       theme=saved_theme(town), story=story, gc_paused=gc_paused)
    return GasTownApp(config)


def saved_theme(town: Town) -> str:
    """The theme `gt theme` (or the palette's theme picker) saved for this town; '' if none
    or the settings cannot be read (the control room still starts, in the default theme)."""
    from gastown_tui.ops.theme import get_theme
    from gastown_tui.town.errors import GasTownError

    try:
        return get_theme(town)
    except GasTownError:  # a broken settings file is gt doctor's to report, not the UI's to die of
        return ""
