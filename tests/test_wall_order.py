"""The wall's attention order (model/wall_order.py): what needs a person first, then the
working, then done and idle folded; the tile under the cursor keeps its place."""

from __future__ import annotations

from gastown_tui.model.snapshot import AgentView
from gastown_tui.model.wall_order import escalated_agents, fold_text, wall_order


def polecat(name: str, state: str, rig: str = "gastown", since: str = "") -> AgentView:
    return AgentView(address=f"{rig}/polecats/{name}", role="polecat", rig=rig, name=name,
                     session=f"gt-{name}", state=state, hooked_since=since)


TOWN = (polecat("ace", "done"), polecat("bolt", "idle"), polecat("cole", "working"),
        polecat("dag", "stalled", since="2026-03-14T09:10:00Z"), polecat("eve", "done"),
        polecat("fax", "zombie"), polecat("gus", "blocked"), polecat("hex", "working"),
        polecat("ink", "rate-limited"), polecat("jax", "idle"),
        polecat("kit", "stalled", rig="beads", since="2026-03-14T09:05:00Z"))


def names(agents) -> list[str]:
    return [a.name for a in agents]


def test_what_needs_a_person_comes_first_then_working_then_the_rest_folds():
    order = wall_order(TOWN)
    # stalled (longest waiting first), zombie, blocked, rate-limited; then working by name
    assert names(order.tiles) == ["kit", "dag", "fax", "gus", "ink", "cole", "hex"]
    assert order.attention == 5
    assert names(order.folded) == ["ace", "eve", "bolt", "jax"]
    assert order.fold_counts == (("done", 2), ("idle", 2))
    assert fold_text(order.fold_counts) == "✓ 2 done · idle 2"


def test_an_agent_that_escalated_joins_the_attention_section():
    order = wall_order(TOWN, escalated={"gastown/polecats/hex"})
    assert names(order.tiles)[:6] == ["kit", "dag", "fax", "gus", "ink", "hex"]
    assert order.attention == 6


def test_the_tile_under_the_cursor_keeps_its_index_when_states_change():
    before = wall_order(TOWN)
    assert before.tiles[5].name == "cole"  # the cursor is here
    # gus's dialog is answered (working) and hex stalls: the rest re-sorts around cole
    changed = tuple(polecat("gus", "working") if a.name == "gus"
                    else polecat("hex", "stalled") if a.name == "hex" else a for a in TOWN)
    after = wall_order(changed, pinned=("gastown/polecats/cole", 5))
    assert after.tiles[5].name == "cole"
    assert names(after.tiles) == ["kit", "dag", "hex", "fax", "ink", "cole", "gus"]
    # unpinned (the cursor moved away), the wall is in full order again
    assert names(wall_order(changed).tiles) == ["kit", "dag", "hex", "fax", "ink", "cole", "gus"]


def test_a_selected_tile_that_finishes_stays_a_tile_until_the_cursor_leaves():
    finished = tuple(polecat("cole", "done") if a.name == "cole" else a for a in TOWN)
    pinned = wall_order(finished, pinned=("gastown/polecats/cole", 5))
    assert pinned.tiles[5].name == "cole" and "cole" not in names(pinned.folded)
    assert pinned.fold_counts == (("done", 2), ("idle", 2))
    assert wall_order(finished).fold_counts == (("done", 3), ("idle", 2))


def test_a_pin_past_the_end_lands_last_and_a_gone_agent_is_ignored():
    order = wall_order(TOWN, pinned=("gastown/polecats/cole", 99))
    assert order.tiles[-1].name == "cole"
    assert wall_order(TOWN, pinned=("gastown/polecats/nobody", 0)) == wall_order(TOWN)


def test_a_pinned_attention_tile_counts_in_its_section_where_it_lands():
    order = wall_order(TOWN, pinned=("gastown/polecats/dag", 0))
    assert names(order.tiles)[:2] == ["dag", "kit"] and order.attention == 5
    # a recovered agent pinned inside the attention section is not counted in it
    recovered = tuple(polecat("dag", "working") if a.name == "dag" else a for a in TOWN)
    order = wall_order(recovered, pinned=("gastown/polecats/dag", 1))
    assert names(order.tiles)[:2] == ["kit", "dag"]
    assert order.attention == 5  # kit, fax, gus, ink, and dag drawn among them


def test_unfold_shows_every_agent_as_a_tile():
    order = wall_order(TOWN, unfold=True)
    assert order.folded == () and len(order.tiles) == len(TOWN)
    assert names(order.tiles)[-4:] == ["ace", "eve", "bolt", "jax"]


def test_escalated_agents_come_from_open_escalations_that_name_them():
    beads = [{"description": "severity: high\nescalated_by: gastown/polecats/hex"},
             {"description": "severity: low\nescalated_by: gastown/refinery"},
             {"description": "source: beads/polecats/kit\nescalated_by: overseer"}]
    found = escalated_agents(beads, {a.address for a in TOWN})
    assert found == {"gastown/polecats/hex", "beads/polecats/kit"}


def test_a_screen_is_read_again_when_it_changes_and_once_while_it_does_not():
    """The header, Needs-you and the wall all ask how each agent looks on its live screen,
    every tick: an unchanged screen is read once for all of them, and a new one (a dialog
    coming up, then going) is read as it comes."""
    from pathlib import Path

    from gastown_tui.model import panes
    from gastown_tui.runtimes.screen import CLAUDE_SCREEN

    fixtures = Path(__file__).parent / "fixtures" / "panes"
    working = tuple((fixtures / "claude-working.ans").read_text().splitlines())
    trust = tuple((fixtures / "claude-trust.ans").read_text().splitlines())
    agent = polecat("nux", "working")
    agent = type(agent)(**{**{f: getattr(agent, f) for f in agent.__dataclass_fields__},
                           "screen": CLAUDE_SCREEN, "session_running": True})
    reads = []
    original = panes.read_screen
    panes.read_screen = lambda spec, lines: reads.append(lines) or original(spec, lines)
    try:
        assert panes.as_seen(agent, working).state == "working"
        assert panes.as_seen(agent, working).state == "working"
        assert panes.as_seen(agent, trust).state == "blocked"
        assert panes.as_seen(agent, tuple(list(working))).state == "working"  # a new screen
        assert panes.as_seen(agent, trust).state == "blocked"
    finally:
        panes.read_screen = original
    assert len(reads) == 3
