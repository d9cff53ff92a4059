"""The event log as a person reads it: routine kinds folded into counts, and a filter by rig,
agent and kind (no I/O; the Needs-you pane and the events screen both use it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from gastown_tui.model.snapshot import EventView

# Events the town writes all the time while it works as it should: they fold to one count per
# kind under Needs-you. Everything else (slings, merges, kills, escalations, landings, restarts,
# hosts coming and going) is shown line by line.
ROUTINE_EVENTS = frozenset({
    "nudge", "nudge_received", "polecat_nudged", "polecat_checked", "session_start",
    "session_end", "session_inject", "mail", "mail_acknowledged", "hook", "unhook",
    "mol_step_done", "patrol_report", "patrol_digest", "scheduler_dispatch",
    "scheduler_enqueue", "context_told", "dialog_answered", "gate_waiter", "queue_claimed",
    "notify_level", "boot", "channel_subscribed",
})


def routine(event: EventView) -> bool:
    return event.type in ROUTINE_EVENTS


def fold_counts(events: Iterable[EventView]) -> list[tuple[str, int]]:
    """Routine events per kind, most frequent first (ties by name)."""
    counts = Counter(e.type for e in events if e.type in ROUTINE_EVENTS)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def fold_line(events: Iterable[EventView]) -> str:
    """'nudge_received ×41 · session_start ×10', or '' when nothing routine happened."""
    return " · ".join(f"{kind} ×{n}" for kind, n in fold_counts(events))


@dataclass(frozen=True)
class EventFilter:
    """`rig:gastown agent:nux kind:sling,done` and free words, all of which must match: a
    rig exactly, an agent as part of its actor, a kind exactly (or as a prefix ending in *),
    and each word anywhere in the line."""

    rigs: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> EventFilter:
        rigs: list[str] = []
        agents: list[str] = []
        kinds: list[str] = []
        words: list[str] = []
        for token in text.split():
            key, colon, value = token.partition(":")
            values = [v for v in value.lower().split(",") if v] if colon else []
            if colon and key.lower() == "rig":
                rigs += values
            elif colon and key.lower() == "agent":
                agents += values
            elif colon and key.lower() in ("kind", "type"):
                kinds += values
            else:
                words.append(token.lower())
        return cls(tuple(rigs), tuple(agents), tuple(kinds), tuple(words))

    @property
    def empty(self) -> bool:
        return not (self.rigs or self.agents or self.kinds or self.words)

    def matches(self, event: EventView) -> bool:
        if self.rigs and event.rig.lower() not in self.rigs:
            return False
        actor = event.actor.lower()
        if self.agents and not any(a in actor for a in self.agents):
            return False
        kind = event.type.lower()
        if self.kinds and not any(kind == k or (k.endswith("*") and kind.startswith(k[:-1]))
                                  for k in self.kinds):
            return False
        line = f"{actor} {kind} {event.summary.lower()} {event.rig.lower()}"
        return all(w in line for w in self.words)

    def describe(self) -> str:
        parts = [f"rig:{','.join(self.rigs)}" if self.rigs else "",
                 f"agent:{','.join(self.agents)}" if self.agents else "",
                 f"kind:{','.join(self.kinds)}" if self.kinds else "", *self.words]
        return " ".join(p for p in parts if p)
