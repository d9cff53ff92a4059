"""The control room's view of spend: the usage ledger read into a CostsView every few
seconds (the transcripts live outside the town, so no file event says they grew)."""

from __future__ import annotations

from datetime import datetime

from gastown_tui.model.snapshot import CostsView, RigSpend
from gastown_tui.ops import costs as ops
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore
from gastown_tui.town.store.usage import TOKEN_COLUMNS

COSTS_EVERY_S = 10.0


def read_costs(town: Town, store: BeadStore, now: datetime | None = None) -> CostsView:
    """Today's spend (town, per session, per rig by hour) and each convoy's last seven days.
    Refreshes the ledger first: only transcript files that grew are read."""
    ops.refresh(town, store)
    week = ops.report(town, store, "week", do_refresh=False, now=now)
    start = ops.period_start("today", now)
    today_hour = start.astimezone().astimezone(ops.UTC).strftime("%Y-%m-%dT%H") if start else ""
    today = ops.CostReport([e for e in week.entries if e.row.hour >= today_hour], "today")
    total = today.total()
    rigs = tuple(RigSpend(rig=name, today=round(spend.usd, 6),
                          hourly=tuple(round(v, 6) for v in today.hourly(name, day=now)))
                 for name, spend in today.by_rig().items())
    return CostsView(
        today=round(total.usd, 6), today_tokens=sum(total.tokens[c] for c in TOKEN_COLUMNS),
        sessions=tuple((k, round(v.usd, 6)) for k, v in today.by_session().items()),
        convoys=tuple((k, round(v.usd, 6)) for k, v in week.by_convoy().items()),
        rigs=rigs, known=True)
