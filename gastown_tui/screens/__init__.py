"""The control room's screens and dialogs; each .tcss beside its screen holds its layout."""

from __future__ import annotations

from gastown_tui.town.lazy import lazy_names

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


__getattr__ = lazy_names(__name__, _WHERE)
