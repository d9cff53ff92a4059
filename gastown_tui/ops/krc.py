"""KRC, the Key Record Chronicle (upstream gastown's internal/krc): how long ephemeral records
live, so the event log and the bead store do not grow without end.

Two kinds of record age out here:
- lines of `.events.jsonl`, by event type (upstream's TTL table: patrol noise after a day,
  sessions after three, sling/done after two weeks, mail and merges after a month);
- closed ephemeral beads (wisps) in the store, by class: heartbeats and pings, patrol
  digests, plugin runs, mail, merge requests, escalations. Upstream leaves those to its
  reaper dog over Dolt's wisps table; with one SQLite store, KRC prunes both.
Open beads and persistent (non-ephemeral) beads are never pruned.

The configuration is upstream's `.krc.yaml` (JSON, durations in nanoseconds) in the town
root; `gt krc config set <pattern> <ttl>` edits it. Store classes are keyed `store:<class>`.
"""

from __future__ import annotations

import fnmatch
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.town.durations import format_duration, parse_duration, to_nanos
from gastown_tui.town.errors import ValidationError
from gastown_tui.town.events import prune_events, read_events
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore

DAY = 86400.0
HOUR = 3600.0
DEFAULT_TTLS: dict[str, float] = {
    "patrol_*": DAY, "polecat_checked": DAY, "polecat_nudged": DAY,
    "session_start": 3 * DAY, "session_end": 3 * DAY,
    "nudge": 3 * DAY, "handoff": 7 * DAY,
    "mail": 30 * DAY, "sling": 14 * DAY, "done": 14 * DAY, "hook": 14 * DAY,
    "unhook": 14 * DAY, "session_death": 30 * DAY, "mass_death": 90 * DAY,
    "merge_*": 30 * DAY,
    # closed ephemeral beads, by class (this town's addition: one store holds the wisps)
    "store:heartbeat": 6 * HOUR, "store:ping": 6 * HOUR, "store:patrol": DAY,
    "store:gc_report": DAY, "store:digest": 7 * DAY, "store:plugin-run": 7 * DAY,
    "store:mail": 7 * DAY, "store:merge-request": 7 * DAY, "store:escalation": 7 * DAY,
    "store:recovery": 7 * DAY, "store:error": 7 * DAY, "store:*": DAY,
}
DEFAULT_TTL = 7 * DAY
PRUNE_INTERVAL = HOUR
MIN_RETAIN = 100
AGE_BUCKETS = (("0-1d", DAY), ("1-7d", 7 * DAY), ("7-30d", 30 * DAY), ("30d+", math.inf))
CURVES = {"patrol_*": "rapid", "polecat_checked": "rapid", "polecat_nudged": "rapid",
          "heartbeat": "rapid", "ping": "rapid", "session_start": "steady",
          "session_end": "steady", "nudge": "steady", "handoff": "steady",
          "gc_report": "steady", "hook": "slow", "unhook": "slow", "sling": "slow",
          "done": "slow", "error": "slow", "recovery": "slow", "escalation": "slow",
          "mail": "flat", "session_death": "flat", "mass_death": "flat", "merge_*": "flat"}


class Config:
    def __init__(self, default_ttl: float = DEFAULT_TTL, ttls: dict[str, float] | None = None,
                 prune_interval: float = PRUNE_INTERVAL, min_retain: int = MIN_RETAIN) -> None:
        self.default_ttl = default_ttl
        self.ttls = dict(DEFAULT_TTLS if ttls is None else ttls)
        self.prune_interval = prune_interval
        self.min_retain = min_retain

    def ttl(self, kind: str) -> float:
        """Exact match, then the longest matching glob, then the default (upstream's order)."""
        if kind in self.ttls:
            return self.ttls[kind]
        for pattern in sorted((p for p in self.ttls if "*" in p), key=len, reverse=True):
            if fnmatch.fnmatchcase(kind, pattern):
                return self.ttls[pattern]
        return self.default_ttl

    def as_json(self) -> dict[str, Any]:
        """Upstream's file shape: Go durations as nanoseconds."""
        return {"default_ttl": to_nanos(self.default_ttl),
                "ttls": {k: to_nanos(v) for k, v in sorted(self.ttls.items())},
                "prune_interval": to_nanos(self.prune_interval),
                "min_retain_count": self.min_retain}


def config_path(town: Town) -> Path:
    return town.root / ".krc.yaml"  # upstream's name; its content is JSON


def load_config(town: Town) -> Config:
    data = read_json(config_path(town), None)
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise ValidationError(f"{config_path(town)} is not a JSON object",
                              fix="gt krc config reset writes the defaults")
    try:
        ttls = {str(k): float(v) / 1e9 for k, v in (data.get("ttls") or {}).items()}
        return Config(default_ttl=float(data.get("default_ttl", to_nanos(DEFAULT_TTL))) / 1e9,
                      ttls={**DEFAULT_TTLS, **ttls},
                      prune_interval=float(data.get("prune_interval",
                                                    to_nanos(PRUNE_INTERVAL))) / 1e9,
                      min_retain=int(data.get("min_retain_count", MIN_RETAIN)))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{config_path(town)} has a value that is not a duration ({exc})",
                              fix="gt krc config reset writes the defaults") from exc


def save_config(town: Town, config: Config) -> None:
    write_json(config_path(town), config.as_json())


def set_ttl(town: Town, pattern: str, ttl: str) -> Config:
    seconds = parse_duration(ttl, what="TTL")
    if seconds <= 0:
        raise ValidationError(f"TTL {ttl!r} must be positive", fix="e.g. 12h, 3d")
    config = load_config(town)
    if pattern == "default":
        config.default_ttl = seconds
    else:
        config.ttls[pattern] = seconds
    save_config(town, config)
    return config


def _ts(text: str) -> float | None:
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


# ---------------------------------------------------------------------------- the store
def store_class(bead: dict[str, Any]) -> str:
    """The TTL class of a closed ephemeral bead."""
    labels = bead.get("labels") or []
    if bead.get("wisp_type"):
        return str(bead["wisp_type"])
    if "digest" in labels:
        return "digest"
    if "type:plugin-run" in labels:
        return "plugin-run"
    if "gt:message" in labels or bead.get("issue_type") == "message":
        return "mail"
    if "gt:merge-request" in labels:
        return "merge-request"
    if "gt:escalation" in labels:
        return "escalation"
    return "wisp"


def store_candidates(store: BeadStore, config: Config, now: float) -> list[dict[str, Any]]:
    """Closed ephemeral beads past their class's TTL, oldest first."""
    closed = store.list_issues(statuses=["closed"], include_infra=True, limit=0,
                               sort="oldest", counts=False)
    out = []
    for bead in closed:
        if not bead.get("ephemeral"):
            continue
        closed_at = _ts(bead.get("closed_at") or bead.get("updated_at") or "")
        kind = store_class(bead)
        ttl = config.ttl(f"store:{kind}")
        if closed_at is not None and now - closed_at > ttl:
            out.append({**bead, "_class": kind})
    return out


def prune_store(town: Town, store: BeadStore, *, dry_run: bool = False,
                now: float | None = None, override_ttl: str | None = None) -> dict[str, Any]:
    config = load_config(town)
    if override_ttl:  # bd mol wisp gc --age: one TTL for every class
        seconds = parse_duration(override_ttl, what="--age")
        config.ttls = {k: v for k, v in config.ttls.items() if not k.startswith("store:")}
        config.ttls["store:*"] = seconds
    now = datetime.now(UTC).timestamp() if now is None else now
    candidates = store_candidates(store, config, now)
    by_class: dict[str, int] = {}
    for bead in candidates:
        by_class[bead["_class"]] = by_class.get(bead["_class"], 0) + 1
    ids = [b["id"] for b in candidates]
    removed = ids if dry_run else store.delete_issues(ids)
    return {"pruned": len(removed), "by_class": by_class, "ids": removed, "dry_run": dry_run}


# ---------------------------------------------------------------------------- the event log
def prune_log(town: Town, *, dry_run: bool = False, now: float | None = None
              ) -> dict[str, Any]:
    config = load_config(town)
    now = datetime.now(UTC).timestamp() if now is None else now

    def expired(event: dict[str, Any]) -> bool:
        when = _ts(str(event.get("ts", "")))
        return when is not None and now - when > config.ttl(str(event.get("type", "")))

    return prune_events(town.root, expired, min_retain=config.min_retain, dry_run=dry_run)


def prune(town: Town, store: BeadStore, *, dry_run: bool = False, now: float | None = None
          ) -> dict[str, Any]:
    """gt krc prune: both kinds, one report (upstream's PruneResult plus the store's part)."""
    log = prune_log(town, dry_run=dry_run, now=now)
    beads = prune_store(town, store, dry_run=dry_run, now=now)
    return {**log, "beads_pruned": beads["pruned"], "beads_by_class": beads["by_class"],
            "bead_ids": beads["ids"], "dry_run": dry_run}


def auto_state_path(town: Town) -> Path:
    return town.root / ".krc-autoprune.json"


def auto_prune(town: Town, store: BeadStore, *, now: float | None = None
               ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Prune when prune_interval has passed since the last time (the Deacon calls this every
    patrol). (result or None when not due, the scheduling state)."""
    config = load_config(town)
    now = datetime.now(UTC).timestamp() if now is None else now
    state = read_json(auto_state_path(town), {}) or {}
    last = _ts(state.get("last_prune_time", "")) if state.get("last_prune_time") else None
    if last is not None and now - last < config.prune_interval:
        return None, state
    result = prune(town, store, now=now)
    state = {"last_prune_time": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "last_result": result, "prune_count": int(state.get("prune_count", 0)) + 1,
             "total_pruned": int(state.get("total_pruned", 0)) + result["events_pruned"]
             + result["beads_pruned"],
             "total_bytes_freed": int(state.get("total_bytes_freed", 0))
             + result["bytes_before"] - result["bytes_after"]}
    write_json(auto_state_path(town), state)
    return result, state


# ---------------------------------------------------------------------------- stats / decay
def stats(town: Town, store: BeadStore, *, now: float | None = None) -> dict[str, Any]:
    config = load_config(town)
    now = datetime.now(UTC).timestamp() if now is None else now
    path = town.events_path
    by_type: dict[str, int] = {}
    by_age: dict[str, int] = {}
    ttl_info: dict[str, dict[str, Any]] = {}
    oldest = newest = None
    count = 0
    for event in read_events(town.root):
        kind = str(event.get("type", ""))
        when = _ts(str(event.get("ts", "")))
        if when is None:
            continue
        count += 1
        age = now - when
        by_type[kind] = by_type.get(kind, 0) + 1
        bucket = next(name for name, limit in AGE_BUCKETS if age < limit)
        by_age[bucket] = by_age.get(bucket, 0) + 1
        oldest = when if oldest is None else min(oldest, when)
        newest = when if newest is None else max(newest, when)
        ttl = config.ttl(kind)
        info = ttl_info.setdefault(kind, {"ttl": to_nanos(ttl), "count": 0, "expired": 0,
                                          "expires_in": 0, "_oldest": when})
        info["count"] += 1
        info["_oldest"] = min(info["_oldest"], when)
        if age > ttl:
            info["expired"] += 1
    for kind, info in ttl_info.items():
        info["expires_in"] = to_nanos(max(0.0, info.pop("_oldest") + config.ttl(kind) - now))

    def iso(value: float | None) -> str:
        return "" if value is None else datetime.fromtimestamp(value, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")

    store_expired = store_candidates(store, config, now)
    closed_wisps = [b for b in store.list_issues(statuses=["closed"], include_infra=True,
                                                 limit=0, counts=False) if b.get("ephemeral")]
    by_class: dict[str, int] = {}
    for bead in closed_wisps:
        kind = store_class(bead)
        by_class[kind] = by_class.get(kind, 0) + 1
    return {
        "events_file": {"path": str(path), "size": path.stat().st_size if path.exists() else 0,
                        "event_count": count},
        "by_type": by_type, "by_age": by_age, "oldest_event": iso(oldest),
        "newest_event": iso(newest), "ttl_breakdown": ttl_info,
        "store": {"backend": store.backend, "closed_wisps": len(closed_wisps),
                  "by_class": by_class, "expired": len(store_expired)},
    }


def _curve(kind: str) -> str:
    if kind in CURVES:
        return CURVES[kind]
    for pattern in sorted((p for p in CURVES if "*" in p), key=len, reverse=True):
        if fnmatch.fnmatchcase(kind, pattern):
            return CURVES[pattern]
    return "steady"


def forensic_score(kind: str, age: float, ttl: float) -> float:
    """Upstream's decay curves: value 1.0 when new, 0.0 at the TTL."""
    if ttl <= 0 or age < 0:
        return 1.0
    ratio = age / ttl
    if ratio >= 1:
        return 0.0
    curve = _curve(kind)
    if curve == "rapid":
        return 2 ** (-4 * ratio)
    if curve == "slow":
        return 2 ** (-ratio / 0.75)
    if curve == "flat":
        return 1.0 if ratio < 0.9 else (1.0 - ratio) / 0.1
    return 1.0 - ratio


def decay(town: Town, *, now: float | None = None) -> dict[str, Any]:
    config = load_config(town)
    now = datetime.now(UTC).timestamp() if now is None else now
    per: dict[str, list[float]] = {}
    ages: dict[str, list[float]] = {}
    for event in read_events(town.root):
        when = _ts(str(event.get("ts", "")))
        if when is None:
            continue
        kind = str(event.get("type", ""))
        per.setdefault(kind, []).append(forensic_score(kind, now - when, config.ttl(kind)))
        ages.setdefault(kind, []).append(now - when)
    types = []
    for kind, scores in sorted(per.items()):
        types.append({"event_type": kind, "count": len(scores),
                      "ttl": to_nanos(config.ttl(kind)), "curve": _curve(kind),
                      "avg_age": to_nanos(sum(ages[kind]) / len(ages[kind])),
                      "avg_score": round(sum(scores) / len(scores), 3),
                      "min_score": round(min(scores), 3),
                      "expired_count": sum(1 for s in scores if s == 0.0)})
    total = sum(t["count"] for t in types)
    all_scores = [s for scores in per.values() for s in scores]
    return {"types": types, "total_events": total,
            "total_score": round(sum(all_scores) / total, 3) if total else 0.0,
            "at_risk": sum(1 for s in all_scores if 0 < s < 0.25),
            "expired": sum(1 for s in all_scores if s == 0.0),
            "generated": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def human(seconds: float) -> str:
    return format_duration(seconds)
