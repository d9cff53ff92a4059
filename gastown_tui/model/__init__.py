"""The control room's model, without Textual: TownModel follows the town directory (watchfiles)
and publishes immutable TownSnapshots built by the readers in sources.py."""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AgentView": "snapshot",
    "AttentionItem": "snapshot",
    "Banner": "snapshot",
    "BeadCounts": "snapshot",
    "BeadView": "snapshot",
    "ChangeSet": "watch_filter",
    "ConvoyView": "snapshot",
    "EventTail": "sources",
    "EventView": "snapshot",
    "MailView": "snapshot",
    "MergeView": "snapshot",
    "RefineryView": "snapshot",
    "RigView": "snapshot",
    "TownFilter": "watch_filter",
    "TownModel": "town_model",
    "TownSnapshot": "snapshot",
    "TrackedItem": "snapshot",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Each class loads with its module on first use: the package names its public
    classes without making `import gastown_tui.<package>` pay for all of them."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
