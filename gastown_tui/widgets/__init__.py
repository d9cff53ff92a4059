"""The control room's widgets: each draws one part of a TownSnapshot (or of the pane feed)
it watches on the app, with its own CSS."""

from __future__ import annotations

from gastown_tui.town.lazy import lazy_names

_WHERE = {
    "ConvoyBoard": "convoy_board",
    "ConvoyList": "convoy_board",
    "MayorChat": "mayor_chat",
    "NeedsYou": "needs_you",
    "PaneView": "pane_view",
    "PolecatWall": "polecat_wall",
    "RefineryQueue": "refinery_queue",
    "TownBanners": "header",
    "TownFooter": "footer",
    "TownHeader": "header",
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_names(__name__, _WHERE)
