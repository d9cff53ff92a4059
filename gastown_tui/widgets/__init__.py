"""The control room's widgets: each draws one part of a TownSnapshot (or of the pane feed)
it watches on the app, with its own CSS."""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    """Each class loads with its module on first use: the package names its public
    classes without making `import gastown_tui.<package>` pay for all of them."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
