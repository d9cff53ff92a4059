"""The control room's screens and dialogs; each .tcss beside its screen holds its layout."""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "BeadScreen": "bead",
    "BeadsScreen": "beads",
    "ConfirmModal": "confirm",
    "ConvoyScreen": "convoys",
    "ConvoysScreen": "convoys",
    "EventsScreen": "events",
    "HelpScreen": "help",
    "MailScreen": "mail",
    "MainScreen": "main",
    "NudgeModal": "nudge",
    "NudgeRequest": "nudge",
    "NukeModal": "nuke",
    "NukeRequest": "nuke",
    "PolecatScreen": "polecat",
    "PromptModal": "confirm",
    "SlingModal": "sling",
    "SlingRequest": "sling",
    "SlingTarget": "sling",
    "TownScreen": "base",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Each class loads with its module on first use: the package names its public
    classes without making `import gastown_tui.<package>` pay for all of them."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
