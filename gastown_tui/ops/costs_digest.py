"""`gt costs digest`: one day's spend as a permanent "Cost Report YYYY-MM-DD" bead (upstream's
CostDigest payload in its description), for an audit trail that outlives transcripts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from gastown_tui.ops import costs as ops
from gastown_tui.town.errors import ValidationError
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

LABEL = "gt:costs-digest"


def digest(town: Town, store: BeadStore, *, date_text: str | None = None,
           yesterday: bool = False, dry_run: bool = False) -> dict[str, Any]:
    if date_text:
        try:
            day = datetime.strptime(date_text, "%Y-%m-%d").astimezone()
        except ValueError as exc:
            raise ValidationError(f"--date {date_text!r} is not a date",
                                  fix="use YYYY-MM-DD") from exc
    elif yesterday:
        day = datetime.now().astimezone() - timedelta(days=1)
    else:
        raise ValidationError("which day?", fix="pass --yesterday or --date YYYY-MM-DD")
    start = day.replace(hour=0, minute=0, second=0, microsecond=0)
    rep = ops.report(town, store, since=start)
    name = start.strftime("%Y-%m-%d")
    entries = [e for e in rep.entries if ops.local_hour(e.row.hour).strftime("%Y-%m-%d") == name]
    day_rep = ops.CostReport(entries, name)
    total = day_rep.total()
    out: dict[str, Any] = {
        "date": name, "total_usd": round(total.usd, 6),
        "session_count": len({e.row.conversation for e in entries}),
        "by_role": {k: round(v.usd, 6) for k, v in day_rep.by_role().items()},
        "by_rig": {k: round(v.usd, 6) for k, v in day_rep.by_rig().items()},
        "tokens": total.tokens,
    }
    if dry_run or not entries:
        return out
    for existing in store.list_issues(labels=[LABEL], include_all=True, include_infra=True,
                                      limit=0):
        if existing.get("title") == f"Cost Report {name}":
            return {**out, "id": existing["id"], "existing": True}
    bead = store.create(f"Cost Report {name}", prefix="hq", issue_type="event",
                        description=json.dumps(out, indent=2), labels=[LABEL])
    store.set_status(bead["id"], "closed", reason="cost digest")
    return {**out, "id": bead["id"]}
