"""The control room's model, without Textual: TownModel follows the town directory (watchfiles)
and publishes immutable TownSnapshots built by the readers in sources.py."""

from __future__ import annotations

from gastown_tui.town.lazy import lazy_names

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


__getattr__ = lazy_names(__name__, _WHERE)
