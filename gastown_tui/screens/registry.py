"""Screen names, as the palette, `open_screen` and `gastown-tui snapshot --screen` spell them."""

from __future__ import annotations

from textual.screen import Screen

from gastown_tui.model.snapshot import TownSnapshot

SCREEN_NAMES = ("main", "convoys", "beads", "mail", "events")
ENTITY_SCREENS = ("polecat:<rig>/<name>", "convoy:<id>", "bead:<id>")


def polecat_address(text: str) -> str:
    """rig/name or rig/polecats/name -> rig/polecats/name."""
    parts = text.strip("/").split("/")
    return f"{parts[0]}/polecats/{parts[-1]}" if len(parts) in (2, 3) else text


def screen_for(spec: str, snapshot: TownSnapshot | None) -> Screen | None:
    """A new screen for `spec`, or None when it names nothing in the town."""
    from gastown_tui.screens.bead import BeadScreen
    from gastown_tui.screens.beads import BeadsScreen
    from gastown_tui.screens.convoys import ConvoyScreen, ConvoysScreen
    from gastown_tui.screens.events import EventsScreen
    from gastown_tui.screens.mail import MailScreen
    from gastown_tui.screens.polecat import PolecatScreen

    kind, _, arg = spec.partition(":")
    if kind == "convoys":
        return ConvoysScreen()
    if kind == "beads":
        return BeadsScreen()
    if kind == "mail":
        return MailScreen()
    if kind == "events":
        return EventsScreen()
    if kind == "polecat" and arg:
        address = polecat_address(arg)
        if snapshot is not None and snapshot.agent(address) is None:
            return None
        return PolecatScreen(address)
    if kind == "convoy" and arg:
        if snapshot is not None and snapshot.convoy(arg) is None:
            return None
        return ConvoyScreen(arg)
    if kind == "bead" and arg:
        return BeadScreen(arg)
    return None
