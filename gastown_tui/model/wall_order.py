"""The polecat wall's order: what needs a person first, then the working, then the finished
and idle folded to one line each with a count (plain data, no Textual: the wall draws it).

At 10–30 agents an alphabetical wall fills with finished and idle polecats while the one that
is stalled scrolls out of sight. Here the wall reads top-down as a to-do list: the agents a
person must unblock (stalled, zombie, held by a dialog, rate-limited, escalated, on a host that
cannot be reached), the agents at work, and one line saying how many are done or idle.

Stability under the cursor: every key on the wall acts on the tile under the cursor (nudge,
nuke, attach), so that tile must never change between a look and a keypress. Like k9s and
lazygit, which keep the selected row on the same item while the list refreshes around it, the
selected agent keeps its index (`pinned`) and the others take their places around it; once the
cursor moves (or the filter changes) the pin follows the cursor and the wall is in full order
again, except for the one tile under the cursor. A selected tile that turns done or idle stays
a tile until the cursor leaves it, rather than vanishing into the folded line.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from gastown_tui.model.snapshot import AgentView
from gastown_tui.town.fields import parse_fields

# Most urgent first; "escalated" is an agent with an open escalation it filed itself.
ATTENTION = ("stalled", "zombie", "blocked", "rate-limited", "escalated", "host unreachable")
FOLDED = ("done", "idle", "away")  # shown as one line with a count per state


@dataclass(frozen=True)
class WallOrder:
    """The wall top to bottom: `tiles` in order (each drawn in full), then `folded` (the
    agents summed up on one line: `fold_counts`, e.g. (("done", 6), ("idle", 3)))."""

    tiles: tuple[AgentView, ...] = ()
    folded: tuple[AgentView, ...] = ()
    attention: int = 0  # how many of the first tiles need a person (the section's size)

    @property
    def fold_counts(self) -> tuple[tuple[str, int], ...]:
        counts: dict[str, int] = {}
        for agent in self.folded:
            counts[agent.state] = counts.get(agent.state, 0) + 1
        return tuple((state, counts[state]) for state in FOLDED if state in counts)


def urgency(agent: AgentView, escalated: Collection[str] = ()) -> int:
    """The agent's place in ATTENTION (0 = most urgent), or -1 when it needs no one."""
    if agent.state in ATTENTION:
        return ATTENTION.index(agent.state)
    if agent.address in escalated:
        return ATTENTION.index("escalated")
    return -1


def wall_order(agents: Iterable[AgentView], escalated: Collection[str] = (), *,
               pinned: tuple[str, int] | None = None, unfold: bool = False) -> WallOrder:
    """`agents` in attention order. `escalated`: addresses with an open escalation they filed;
    `pinned`: (address, index) of the tile under the cursor, kept at that index when the
    agent is still there; `unfold`: every agent as a tile (a filter shows all its matches)."""
    need: list[tuple[int, str, str, AgentView]] = []
    working: list[AgentView] = []
    rest: list[AgentView] = []
    for agent in agents:
        rank = urgency(agent, escalated)
        if rank >= 0:
            # the longest-waiting first within a kind: hooked_since is RFC 3339, so it sorts
            need.append((rank, agent.hooked_since or "~", agent.address, agent))
        elif agent.state in FOLDED:
            rest.append(agent)
        else:
            working.append(agent)
    by_place = sorted(need, key=lambda n: n[:3])
    working.sort(key=_place)
    rest.sort(key=lambda a: (FOLDED.index(a.state), *_place(a)))
    tiles = [n[3] for n in by_place] + working
    folded = rest
    if unfold:
        tiles, folded = tiles + rest, []
    attention = len(by_place)
    if pinned is not None:
        address, index = pinned
        agent = next((a for a in (*tiles, *folded) if a.address == address), None)
        if agent is not None:
            if agent in folded:
                folded = [a for a in folded if a is not agent]
            else:
                at = tiles.index(agent)
                tiles.pop(at)
                attention -= 1 if at < attention else 0
            index = max(0, min(index, len(tiles)))
            tiles.insert(index, agent)
            attention += 1 if index < attention or (index == attention
                                                    and urgency(agent, escalated) >= 0) else 0
    return WallOrder(tiles=tuple(tiles), folded=tuple(folded), attention=attention)


def _place(agent: AgentView) -> tuple[str, bool, str]:
    """Rig, polecats before crew, name: the old wall's order, kept within a section."""
    return (agent.rig, agent.role != "polecat", agent.name)


def fold_text(counts: Iterable[tuple[str, int]]) -> str:
    """'✓ 6 done · idle 3 · away 1' ('' when nothing is folded)."""
    parts = []
    for state, count in counts:
        parts.append(f"✓ {count} done" if state == "done" else f"{state} {count}")
    return " · ".join(parts)


def escalated_agents(escalations: Iterable[dict], addresses: Collection[str]) -> frozenset[str]:
    """Addresses of the agents among `addresses` that filed an open, unacknowledged
    escalation (its `escalated_by` or `source` field names them)."""
    out = set()
    for bead in escalations:
        fields = parse_fields(bead.get("description", "") or "")
        for who in (fields.get("escalated_by"), fields.get("source")):
            if who and who in addresses:
                out.add(who)
    return frozenset(out)
