"""How a control room is made: its town, clock, mode and pane source (see factory.make_app)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gastown_tui.app.panes import ObserverFactory, town_observer
from gastown_tui.model.first_read import FirstRead
from gastown_tui.model.town_model import Clock, utc_now
from gastown_tui.town.layout import Town

POLL_INTERVAL = 0.25  # 4 Hz: a changed pane is on screen within ~250 ms


@dataclass(frozen=True)
class AppConfig:
    town: Town
    clock: Clock = utc_now
    read_only: bool = False
    live: bool = True  # follow the town and the panes; False renders one settled frame
    observer_factory: ObserverFactory = town_observer
    start_screen: str = "main"
    poll_interval: float = POLL_INTERVAL
    model_options: dict[str, int] = field(default_factory=dict)
    first_read: FirstRead | None = None  # the CLI's forked first read of the town
    theme: str = ""  # the town's control_room.theme (gt theme); '' keeps Textual's default
    # The CLI paused the cyclic garbage collector for start-up (cli/tui.py): the app resumes
    # it once the first whole frame is drawn (or GC_PAUSE_MAX_S after it mounted).
    gc_paused: bool = False
    # The demo (gastown_tui/demo): called once the first frame is on screen, with a function
    # any thread may call to show a caption line; None outside the demo (no caption line).
    story: Callable[[Callable[[str], None]], None] | None = None
