"""Needs-you: what a person must act on, each item handled in place from the control room.

Unit tests of the classification (model/parts.attention, routine mail, event folding and the
event filter), then pilot tests driving the live app's keys against a real town (a private
tmux server, sim agents, the real Refinery on real git branches): each action works, and a
handled item leaves the list."""

from __future__ import annotations

from pathlib import Path

import pytest

from gastown_tui.app import make_app
from gastown_tui.model.event_filter import EventFilter, fold_counts, fold_line
from gastown_tui.model.parts import FIX_RETRIES, attention, routine_mail
from gastown_tui.model.snapshot import AgentView, EventView, MailView, MergeView
from gastown_tui.town.layout import Town
from tests.waiting import until

HANG = "```sim\nhang: true\n```"
KEY_NAMES = {" ": "space", "-": "minus", ".": "full_stop", "/": "slash", ":": "colon"}


# ------------------------------------------------------------------ classification (units)
def mail(subject: str, sender: str = "deacon/", msg_type: str = "notification",
         priority: str = "normal", body: str = "") -> MailView:
    return MailView(id=f"m-{abs(hash((subject, sender))) % 10**6}", sender=sender,
                    subject=subject, body=body, priority=priority, msg_type=msg_type)


@pytest.mark.parametrize(("message", "routine"), [
    (mail("🚚 Convoy landed: Auth"), True),
    (mail("Convoy landed: Release 0.1", sender="mayor/"), True),
    (mail("GATE_OPEN hq-g1", sender="gastown/polecats/nux"), True),
    (mail("patrol report", sender="gastown/witness"), True),
    (mail("HELP: nux is stuck", sender="gastown/witness", msg_type="escalation"), False),
    (mail("Convoy landed: but urgent", priority="urgent"), False),
    (mail("please review the plan", sender="mayor/"), False),
    (mail("question about the API", sender="gastown/polecats/nux"), False),
    (mail("Re: your question", sender="deacon/", msg_type="reply"), False),
    (mail("do this", sender="deacon/", msg_type="task"), False),
])
def test_routine_mail_is_the_loops_notices_only(message: MailView, routine: bool) -> None:
    assert routine_mail(message) is routine


def polecat(name: str, state: str, evidence: str = "") -> AgentView:
    return AgentView(address=f"gastown/polecats/{name}", role="polecat", rig="gastown",
                     name=name, session=f"gt-{name}", state=state, evidence=evidence)


def mr(mr_id: str, stage: str, retries: int = 0) -> MergeView:
    return MergeView(id=mr_id, rig="gastown", position=1, source_issue="gt-1", worker="nux",
                     stage=stage, retries=retries)


def test_attention_holds_only_what_a_person_must_act_on() -> None:
    escalation = {"id": "hq-e1", "title": "stuck on auth",
                  "description": "severity: high\nescalated_by: gastown/polecats/nux\n"}
    items = attention(
        [escalation],
        [mr("gt-mr1", "conflict"), mr("gt-mr2", "failed", retries=1),
         mr("gt-mr3", "failed", retries=FIX_RETRIES), mr("gt-mr4", "queued")],
        [polecat("nux", "working"), polecat("slit", "stalled", "no session"),
         polecat("ace", "blocked", "API key"), polecat("rox", "rate-limited"),
         polecat("zed", "zombie"), polecat("ok", "done"), polecat("idle", "idle")],
        [mail("🚚 Convoy landed: Auth"), mail("look at this", sender="mayor/"),
         mail("ESCALATION [high]: stuck", sender="gastown/polecats/nux", msg_type="escalation",
              body="Escalation: hq-e1\nSeverity: high")],
        gates=[{"id": "hq-g1", "blocks": "gt-9"}])
    assert [(i.kind, i.key) for i in items] == [
        ("escalation", "hq-e1"), ("conflict", "gt-mr1"), ("failed", "gt-mr3"),
        ("stalled", "gastown/polecats/slit"), ("blocked", "gastown/polecats/ace"),
        ("rate-limited", "gastown/polecats/rox"), ("zombie", "gastown/polecats/zed"),
        ("gate", "hq-g1"), ("mail", mail("look at this", sender="mayor/").id)]
    # each item names the polecat it concerns, so nudge, nuke and "go to" act on it
    assert items[0].agent == "gastown/polecats/nux"  # who escalated
    assert items[1].agent == "gastown/polecats/nux"  # the MR's worker
    assert items[3].agent == "gastown/polecats/slit"
    assert items[7].agent == ""  # a gate is nobody's polecat


def event(kind: str, actor: str = "gastown/polecats/nux", rig: str = "gastown",
          summary: str = "") -> EventView:
    return EventView(ts="2026-03-14T09:00:00Z", type=kind, actor=actor, rig=rig, summary=summary)


def test_routine_events_fold_to_counts_per_kind() -> None:
    events = ([event("nudge_received")] * 41 + [event("session_start")] * 10
              + [event("sling"), event("done"), event("mail")])
    assert fold_counts(events) == [("nudge_received", 41), ("session_start", 10), ("mail", 1)]
    assert fold_line(events) == "nudge_received ×41 · session_start ×10 · mail ×1"
    assert fold_line([event("sling")]) == ""


def test_the_event_filter_matches_rig_agent_kind_and_words() -> None:
    events = [event("sling", actor="mayor", rig="gastown", summary="bead=gt-a3f"),
              event("done", actor="gastown/polecats/nux"),
              event("done", actor="beads/polecats/ace", rig="beads"),
              event("merged", actor="gastown/refinery", summary="mr=gt-wisp-1")]

    def kept(text: str) -> list[tuple[str, str]]:
        chosen = EventFilter.parse(text)
        return [(e.type, e.actor) for e in events if chosen.matches(e)]

    assert kept("") == [(e.type, e.actor) for e in events]
    assert kept("rig:beads") == [("done", "beads/polecats/ace")]
    assert kept("agent:nux") == [("done", "gastown/polecats/nux")]
    assert kept("kind:done,merged rig:gastown") == [("done", "gastown/polecats/nux"),
                                                    ("merged", "gastown/refinery")]
    assert kept("kind:m*") == [("merged", "gastown/refinery")]
    assert kept("gt-a3f") == [("sling", "mayor")]
    assert EventFilter.parse("rig:a,b kind:done x").describe() == "rig:a,b kind:done x"


# ------------------------------------------------------------------ the live control room
@pytest.fixture
def town(sim_rig_town: Town) -> Town:
    return sim_rig_town


def open_store(town: Town, actor: str = "overseer"):
    from gastown_tui.ops.context import open_store as opened

    return opened(town, actor)


def hanging_polecat(town: Town, title: str = "Wait for orders"):
    from gastown_tui.ops.sling import sling

    store = open_store(town)
    try:
        bead = store.create(title, prefix="gt", description=HANG)["id"]
        return sling(town, store, [bead], "gastown")[0]
    finally:
        store.close_connection()


async def actions_done(app) -> None:
    running = [w for w in app.workers if w.group == "actions"]
    if running:
        await app.workers.wait_for_complete(running)


def items(app, kind: str) -> list[str]:
    return [i.key for i in app.snapshot.needs_you if i.kind == kind] if app.snapshot else []


async def cursor_on(pilot, key: str) -> None:
    """Focus Needs-you (5) and move its cursor down to the item about `key`."""
    app = pilot.app
    await pilot.press("5")
    await until(pilot, lambda: app.focused is not None and app.focused.id == "attention",
                what="Needs-you focused")
    keys = [i.key for i in app.snapshot.needs_you]
    await pilot.press("home", *["down"] * keys.index(key))
    await until(pilot, lambda: app.screen.selection().pane == "needs"
                and app.screen.query_one("#needs-you").selected_item.key == key,
                what=f"the cursor on {key}")


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[KEY_NAMES.get(ch, ch) for ch in text])


def footer_keys(app) -> set[str]:
    from gastown_tui.widgets.footer import TownFooter

    return {e.key for e in app.screen.query_one(TownFooter).entries}


async def test_an_escalation_is_acked_closed_and_leads_to_its_polecat(town: Town):
    from gastown_tui.ops.escalate import escalate
    from gastown_tui.screens.polecat import PolecatScreen
    from gastown_tui.town.fields import parse_fields

    slung = hanging_polecat(town)
    store = open_store(town, slung.agent)
    try:
        first = escalate(town, store, "Cannot reach the auth server", severity="high",
                         escalated_by=slung.agent).id
        second = escalate(town, store, "Tests need a database", severity="medium",
                          escalated_by=slung.agent).id
    finally:
        store.close_connection()
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: {first, second} <= set(items(app, "escalation")),
                    what="both escalations listed")
        assert "A" not in footer_keys(app)  # the wall has focus: no escalation keys shown
        await cursor_on(pilot, first)
        await until(pilot, lambda: {"A", "X", "p"} <= footer_keys(app), what="the item's keys")
        await pilot.press("p")
        screen = await until(pilot, lambda: isinstance(app.screen, PolecatScreen) and app.screen,
                             what="the polecat's screen")
        assert screen.address == slung.agent
        await pilot.press("escape")
        await cursor_on(pilot, first)
        await pilot.press("A")
        await actions_done(app)
        await until(pilot, lambda: first not in items(app, "escalation"), what="ack: it leaves")
        await cursor_on(pilot, second)
        await pilot.press("X")
        await pilot.pause()
        await type_text(pilot, "database added")
        await pilot.press("enter")
        await actions_done(app)
        await until(pilot, lambda: not items(app, "escalation"), what="close: it leaves")
    store = open_store(town)
    try:
        assert parse_fields(store.get(first)["description"])["acked_by"] == "overseer"
        closed = store.get(second)
        assert closed["status"] == "closed" and "database added" in closed["close_reason"]
    finally:
        store.close_connection()


async def test_a_stalled_polecat_is_nuked_from_needs_you(town: Town):
    from gastown_tui.dialogs.nuke import NukeModal
    from gastown_tui.ops.sessions import tmux_for

    slung = hanging_polecat(town, "Hang, then lose the session")
    tmux_for(town).kill_session(slung.session)
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: slung.agent in items(app, "stalled"), what="stalled listed")
        await cursor_on(pilot, slung.agent)
        assert app.screen.selection().agent.address == slung.agent
        await pilot.press("ctrl+d")
        modal = await until(pilot, lambda: isinstance(app.screen, NukeModal) and app.screen,
                            what="the nuke dialog")
        await until(pilot, lambda: modal.reasons, what="its findings (work on its hook)")
        await type_text(pilot, "force")
        await pilot.press("enter")
        await actions_done(app)
        await until(pilot, lambda: slung.agent not in items(app, "stalled"), what="it leaves")
    assert not Path(slung.worktree).exists()


async def test_a_conflicted_mr_is_retried_or_rejected_in_place(town: Town):
    from gastown_tui.dialogs.confirm import PromptModal
    from gastown_tui.refinery.process import process_mr
    from tests.refinery_helpers import RigEnv

    store = open_store(town, "gastown/polecats/toast")
    rig = town.rig("gastown")
    env = RigEnv(town=town, rig=rig, store=store, upstream=rig.path)
    conflicts = []
    try:
        # three branches from the same main edit the same line: one lands, two conflict
        requests = [env.submit(f"README edit {n}", {"README.md": f"edit {n}\n"},
                               worker=f"toast{n}")[1] for n in range(3)]
        for request in requests:
            if process_mr(town, rig, request.id).outcome == "conflict":
                conflicts.append(request.id)
    finally:
        store.close_connection()
    assert len(conflicts) == 2
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: set(conflicts) <= set(items(app, "conflict")),
                    what="both conflicts listed")
        await cursor_on(pilot, conflicts[0])
        await until(pilot, lambda: {"r", "x"} <= footer_keys(app), what="retry/reject shown")
        await pilot.press("r")
        await actions_done(app)
        await until(pilot, lambda: conflicts[0] not in items(app, "conflict"),
                    what="retried: it leaves")
        await cursor_on(pilot, conflicts[1])
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, PromptModal), what="reject asks why")
        await type_text(pilot, "superseded")
        await pilot.press("enter")
        await actions_done(app)
        await until(pilot, lambda: not items(app, "conflict"), what="rejected: it leaves")
    store = open_store(town)
    try:
        assert store.get(conflicts[0])["status"] == "open"
        assert "needs-rebase" not in store.get(conflicts[0])["labels"]
        assert store.get(conflicts[1])["status"] == "closed"
    finally:
        store.close_connection()


async def test_routine_mail_and_events_stay_out_and_all_mail_is_read_at_once(town: Town):
    from gastown_tui.ops import mail as mail_ops
    from gastown_tui.screens.events import EventsScreen
    from gastown_tui.town.events import log_event
    from gastown_tui.widgets.needs_you import NeedsYou

    store = open_store(town, "mayor")
    try:
        landed = mail_ops.send(town, store, "overseer", "🚚 Convoy landed: Auth",
                               "done", sender="deacon/")
        asks = [mail_ops.send(town, store, "overseer", f"Decide: plan {n}", "which one?")
                for n in (1, 2)]
    finally:
        store.close_connection()
    for _ in range(41):
        log_event(town.root, "nudge_received", actor="gastown/polecats/nux",
                  payload={"rig": "gastown"})
    log_event(town.root, "sling", actor="mayor", payload={"bead": "gt-a1", "rig": "gastown"})
    log_event(town.root, "done", actor="beads/polecats/ace", payload={"bead": "bd-2"})
    app = make_app(town)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_settled()
        ids = [m["id"] for m in asks]
        await until(pilot, lambda: items(app, "mail") == ids, what="the two asks, not the landing")
        assert landed["id"] in [m.id for m in app.snapshot.mail]  # still in the mail
        needs = app.screen.query_one(NeedsYou)
        await until(pilot, lambda: "nudge_received ×41" in needs.folded, what="the fold")
        lines = needs.event_lines
        assert any(" sling " in line for line in lines)
        assert not any("nudge_received" in line for line in lines)
        await cursor_on(pilot, ids[0])
        await until(pilot, lambda: "R" in footer_keys(app), what="R shown")
        await pilot.press("R")
        await actions_done(app)
        await until(pilot, lambda: not items(app, "mail") and not app.snapshot.mail,
                    what="every message read")
        # the events screen shows every kind, filtered by rig, agent and kind
        app.open_screen("events")
        events = await until(pilot, lambda: isinstance(app.screen, EventsScreen)
                             and app.screen.drawable and app.screen, what="the events screen")
        await until(pilot, lambda: any("nudge_received" in line for line in events.shown_lines),
                    what="routine events listed in full there")
        await pilot.press("slash")
        await type_text(pilot, "kind:sling,done")
        await until(pilot, lambda: events.shown_lines and all(
            " sling " in line or " done " in line for line in events.shown_lines),
            what="only slings and dones")
        assert len(events.shown_lines) == 2
        await pilot.press(*["backspace"] * len("kind:sling,done"))
        await type_text(pilot, "rig:beads")
        await until(pilot, lambda: len(events.shown_lines) == 1
                    and "ace done" in events.shown_lines[0], what="the beads rig only")
        await pilot.press("escape")
        await until(pilot, lambda: len(events.shown_lines) > 40, what="filter cleared")


async def test_C_cleans_up_finished_polecats_and_names_the_one_it_keeps(town: Town):
    """Two finished polecats: one whose work the Refinery merged, one with a commit never
    merged. C asks, nukes the first and reports the second; the wall keeps only the second."""
    from gastown_tui.dialogs.confirm import ConfirmModal
    from gastown_tui.ops.mr import create_mr
    from gastown_tui.ops.sessions import tmux_for
    from gastown_tui.refinery.process import process_mr
    from gastown_tui.verbs.messages import VerbFinished
    from tests.gitrun import git

    finished = [hanging_polecat(town, f"Finished work {n}") for n in (1, 2)]
    store = open_store(town)
    rig = town.rig("gastown")
    try:
        for n, slung in enumerate(finished):
            tmux_for(town).kill_session(slung.session)
            path = Path(slung.worktree)
            (path / f"work{n}.txt").write_text(f"{n}\n")
            git(path, "add", "-A")
            git(path, "commit", "-q", "-m", f"work {n}")
            branch = git(path, "rev-parse", "--abbrev-ref", "HEAD").strip()
            name = slung.agent.rsplit("/", 1)[1]
            agent = f"{rig.prefix}-gastown-polecat-{name}"
            if n == 0:  # gt done, and the Refinery merges it
                request, _ = create_mr(store, rig, branch=branch, target="main",
                                       source_issue=slung.bead, worker=name,
                                       commit_sha=git(path, "rev-parse", "HEAD").strip(),
                                       agent_bead=agent)
                store.update(agent, description_fields={"agent_state": "done",
                                                        "active_mr": request.id})
                assert process_mr(town, rig, request.id).outcome == "merged"
            else:  # its bead closed by hand: the commit is all that is left
                store.update(slung.bead, changes={"status": "closed"})
    finally:
        store.close_connection()
    said: list[str] = []

    def heard(message) -> None:
        if isinstance(message, VerbFinished):
            said.append(message.text)

    app = make_app(town)
    async with app.run_test(size=(160, 48), message_hook=heard) as pilot:
        await app.wait_settled()
        await until(pilot, lambda: len(app.snapshot.polecats) == 2 and all(
            a.state in ("done", "idle") for a in app.snapshot.polecats),
            what="two finished polecats")
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="C asks first")
        await pilot.press("y")
        await actions_done(app)
        text = await until(pilot, lambda: next((t for t in said if "cleaned up" in t), ""),
                           what="the outcome")
        assert "cleaned up 1 finished polecat" in text
        kept = finished[1].agent.replace("/polecats/", "/")
        assert f"kept {kept} (1 commit not merged to main)" in text
        await until(pilot, lambda: [a.address for a in app.snapshot.polecats]
                    == [finished[1].agent], what="only the kept polecat left")
    assert not Path(finished[0].worktree).exists() and Path(finished[1].worktree).exists()
