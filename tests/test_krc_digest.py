"""KRC and patrol digests on a real town: gt krc config|stats|prune|decay|auto-prune-status
with short TTLs prune old event lines and closed wisps (never persistent beads), gt patrol
report leaves cycle digests that gt patrol digest aggregates into one Patrol Report, and the
Deacon's patrol does both by itself (auto-prune once per interval, yesterday's report once)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli

# the store-touching forms run on SQLite and on PostgreSQL (a town joined by URL)
ON_BOTH_BACKENDS = pytest.mark.parametrize("town", BACKENDS, indirect=True)


def _krc(town: Path, **ttls_ns: int) -> None:
    path = town / ".krc.yaml"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["min_retain_count"] = 0
    data.setdefault("ttls", {}).update(ttls_ns)
    path.write_text(json.dumps(data))


def _event_types(town: Path) -> list[str]:
    return [json.loads(line)["type"] for line in
            (town / ".events.jsonl").read_text().splitlines() if line.strip()]


@ON_BOTH_BACKENDS
def test_krc_prunes_expired_events_and_closed_wisps_only(cli: Cli, town: Path):
    assert "Set TTL for 'patrol_report' to 1s" in cli.gt("krc", "config", "set",
                                                         "patrol_report", "1s").stdout
    cli.gt("krc", "config", "set", "store:patrol", "1s")
    _krc(town)
    config = cli.json("gt", "krc", "config")
    assert config["ttls"]["patrol_report"] == 1_000_000_000 and config["min_retain_count"] == 0
    assert config["ttls"]["store:mail"] == 7 * 86400 * 1_000_000_000  # defaults kept

    report = cli.json("gt", "patrol", "report", "--summary", "all quiet",
                      env={"GT_ROLE": "deacon"})
    assert report["role"] == "deacon"
    digest = cli.json("bd", "show", report["digest"])[0]
    assert digest["status"] == "closed" and digest["ephemeral"]
    kept = cli.json("bd", "create", "A real bead")["id"]
    cli.bd("close", kept, "-r", "done")
    stats = cli.json("gt", "krc", "stats")
    assert stats["by_type"]["patrol_report"] == 1
    assert stats["store"]["by_class"].get("patrol") == 1

    time.sleep(1.5)
    dry = cli.json("gt", "krc", "prune", "--dry-run")
    assert dry["dry_run"] and dry["pruned_by_type"] == {"patrol_report": 1}
    assert dry["bead_ids"] == [report["digest"]]
    assert cli.json("bd", "show", report["digest"])  # still there
    assert "patrol_report" in _event_types(town)

    done = cli.json("gt", "krc", "prune")
    assert done["events_pruned"] == 1 and done["beads_pruned"] == 1
    assert done["beads_by_class"] == {"patrol": 1}
    assert "patrol_report" not in _event_types(town)
    assert "sling" not in done["pruned_by_type"]
    gone = cli.bd("show", report["digest"], ok=False)
    assert gone.returncode != 0 and len(gone.stderr.strip().splitlines()) == 1
    assert cli.json("bd", "show", kept)[0]["status"] == "closed"  # persistent: never pruned
    assert "No expired records to prune." in cli.gt("krc", "prune").stdout

    decay = cli.json("gt", "krc", "decay")
    assert decay["total_events"] >= 1 and {t["curve"] for t in decay["types"]} <= {
        "rapid", "steady", "slow", "flat"}
    bad = cli.gt("krc", "config", "set", "patrol_*", "soon", ok=False)
    assert bad.returncode != 0 and "soon" in bad.stderr
    cli.gt("krc", "config", "reset")
    ttls = cli.json("gt", "krc", "config")["ttls"]
    assert "patrol_report" not in ttls and ttls["patrol_*"] == 86400 * 1_000_000_000


@ON_BOTH_BACKENDS
def test_patrol_digest_aggregates_a_days_cycles_once(cli: Cli):
    ids = [cli.json("gt", "patrol", "report", "--summary", f"cycle {n}",
                    env={"GT_ROLE": role})["digest"]
           for n, role in enumerate(("deacon", "deacon", "gastown/witness"))]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    dry = cli.json("gt", "patrol", "digest", "--date", today, "--dry-run")
    assert dry["total_cycles"] == 3 and dry["by_role"] == {"deacon": 2, "witness": 1}
    assert not dry["created"] and [c["id"] for c in dry["cycles"]] == ids

    made = cli.json("gt", "patrol", "digest", "--date", today)
    assert made["created"] and made["deleted"] == 3
    report = cli.json("bd", "show", made["report"])[0]
    assert report["title"] == f"Patrol Report {today}" and report["issue_type"] == "event"
    assert report["status"] == "closed" and not report.get("ephemeral")
    assert "deacon: 2 cycles" in report["description"]
    for digest_id in ids:
        assert cli.bd("show", digest_id, ok=False).returncode != 0

    again = cli.json("gt", "patrol", "digest", "--date", today)
    assert again["existing"] == made["report"] and not again["created"]
    assert "already exists" in cli.gt("patrol", "digest", "--date", today).stdout
    missing = cli.gt("patrol", "digest", ok=False)
    assert missing.returncode != 0 and "--yesterday" in missing.stderr
    assert "No patrol digests found" in cli.gt("patrol", "digest", "--yesterday").stdout


def _backdate(town: Path, ids: list[str], when: datetime) -> None:
    """Make beads look made at `when` (no verb does that), in whichever store the town has."""
    from gastown_tui.ops.context import open_store
    from gastown_tui.town.layout import Town

    store = open_store(Town(town), "tester")
    try:
        with store.conn.write() as db:
            for bead in ids:
                db.execute("UPDATE issues SET created_at = ? WHERE id = ?",
                           (when.strftime("%Y-%m-%dT%H:%M:%SZ"), bead))
    finally:
        store.close_connection()


@ON_BOTH_BACKENDS
def test_the_deacon_prunes_once_per_interval_and_writes_yesterdays_report(cli: Cli,
                                                                         town: Path):
    ids = [cli.json("gt", "patrol", "report", "--summary", "old cycle",
                    env={"GT_ROLE": "witness"})["digest"] for _ in range(2)]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    _backdate(town, ids, yesterday)
    assert cli.json("gt", "krc", "auto-prune-status") == {}

    out = cli.gt("deacon", "run", "--once", "--no-keep-alive").stdout
    day = yesterday.strftime("%Y-%m-%d")
    assert "deacon: wrote patrol report" in out
    status = cli.json("gt", "krc", "auto-prune-status")
    assert status["prune_count"] == 1 and status["last_prune_time"]
    report = cli.json("gt", "patrol", "digest", "--date", day)
    assert report["existing"] and not report["created"]
    shown = cli.json("bd", "show", report["existing"])[0]
    assert json.loads(shown["payload"])["by_role"] == {"witness": 2}
    # that patrol did something, so it left a digest of itself; a quiet one does not
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    cycles = cli.json("gt", "patrol", "digest", "--date", today, "--dry-run")
    assert cycles["by_role"] == {"deacon": 1}

    out = cli.gt("deacon", "run", "--once", "--no-keep-alive").stdout
    assert "wrote patrol report" not in out
    assert cli.json("gt", "krc", "auto-prune-status")["prune_count"] == 1  # not due again
    assert cli.json("gt", "patrol", "digest", "--date", today, "--dry-run")[
        "total_cycles"] == 1
    auto = cli.json("gt", "krc", "prune", "--auto")
    assert auto["ran"] is False
