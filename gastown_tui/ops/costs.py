"""What the town's agents cost (`gt costs`): tokens from the runtimes' own transcripts, money
at configurable prices, per session, agent, bead, convoy, rig, role, hour and day.

Upstream (internal/cmd/costs.go) sums the usage of each Claude Code transcript's assistant
messages and applies a price per model; a Stop hook appends each session's cost to a log.
Here the transcripts are read incrementally into the store's usage ledger
(town/store/usage.py) by whoever asks (gt costs, the control room, the Deacon), so nothing
depends on a hook having run, and a bead's or convoy's spend is known: a polecat's branch
(`polecat/<name>/<bead>@…`, in every transcript line) names the bead it was paid for."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gastown_tui.ops.accounts import config_dirs
from gastown_tui.runtimes import transcripts as tx
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore
from gastown_tui.town.store.usage import TOKEN_COLUMNS, UsageRow, file_states, record, usage_rows

_BRANCH_BEAD = re.compile(r"^polecat/[^/]+/([^@/]+)@")
# Per million tokens: input, output, cache read, cache creation. Upstream's table (costs.go)
# and, for models it does not name, the family's price; `costs.prices` in
# settings/config.json overrides any of them (same keys, or a model-name prefix).
DEFAULT_PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-opus-4-5-20251101": (15.0, 75.0, 1.5, 18.75),
    "claude-sonnet-4-20250514": (3.0, 15.0, 0.3, 3.75),
    "claude-3-5-haiku-20241022": (1.0, 5.0, 0.1, 1.25),
    "claude-opus": (15.0, 75.0, 1.5, 18.75),
    "claude-sonnet": (3.0, 15.0, 0.3, 3.75),
    "claude-haiku": (1.0, 5.0, 0.1, 1.25),
    "default": (3.0, 15.0, 0.3, 3.75),
}


# ---------------------------------------------------------------------------- prices
@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_read: float
    cache_creation: float
    source: str = "default"  # the table key that gave it

    def usd(self, tokens: dict[str, int]) -> float:
        return (tokens.get("input_tokens", 0) * self.input
                + tokens.get("output_tokens", 0) * self.output
                + tokens.get("cache_read_input_tokens", 0) * self.cache_read
                + tokens.get("cache_creation_input_tokens", 0) * self.cache_creation) / 1e6


class Prices:
    """A model's price: the town's configured table first (the model's name, else the longest
    configured prefix of it), then the built-in one the same way, then `default`."""

    def __init__(self, table: dict[str, Price], configured: dict[str, Price] | None = None
                 ) -> None:
        self.table = table
        self.configured = configured or {}
        self._cache: dict[str, Price] = {}

    @classmethod
    def for_town(cls, town: Town) -> Prices:
        table = {k: Price(*v, source=k) for k, v in DEFAULT_PRICES.items()}
        configured: dict[str, Price] = {}
        settings = read_json(town.settings_json, {}) or {}
        entries = ((settings.get("costs") or {}).get("prices") or {}) \
            if isinstance(settings, dict) else {}
        for model, entry in entries.items() if isinstance(entries, dict) else ():
            try:
                if not isinstance(entry, dict):
                    raise TypeError("not an object")
                base = float(entry["input"])
                configured[str(model)] = Price(
                    base, float(entry.get("output", base * 5)),
                    float(entry.get("cache_read", base * 0.1)),
                    float(entry.get("cache_creation", base * 1.25)), source=str(model))
            except (KeyError, TypeError, ValueError) as exc:
                raise GasTownError(f"settings/config.json costs.prices[{model!r}] is not a price "
                                   f"({exc})", fix='give {"input": N, "output": N} in USD per '
                                   "million tokens") from exc
        return cls(table, configured)

    def of(self, model: str) -> Price:
        found = self._cache.get(model)
        if found is None:
            found = _match(self.configured, model) or _match(self.table, model) \
                or self.table["default"]
            self._cache[model] = found
        return found


def _match(table: dict[str, Price], model: str) -> Price | None:
    if model in table:
        return table[model]
    keys = [k for k in table if k != "default" and model.startswith(k)]
    return table[max(keys, key=len)] if keys else None


# ---------------------------------------------------------------------------- attribution
@dataclass(frozen=True)
class Who:
    """The town agent a working directory belongs to."""

    role: str  # mayor | deacon | witness | refinery | polecat | crew | town
    rig: str = ""
    name: str = ""
    address: str = ""
    session: str = ""


def attribute(town_root: str, prefixes: dict[str, str], cwd: str) -> Who | None:
    """Who worked in `cwd` (a path inside the town), or None for a path outside it."""
    root = town_root.rstrip("/")
    if cwd != root and not cwd.startswith(root + "/"):
        return None
    parts = [p for p in cwd[len(root):].split("/") if p]
    if not parts:
        return Who("town", address="town")
    head = parts[0]
    if head in ("mayor", "deacon"):
        return Who(head, address=head, session=f"hq-{head}")
    prefix = prefixes.get(head)
    if prefix is None or len(parts) < 2:
        return Who("town", address="town")
    kind = parts[1]
    try:
        if kind == "polecats" and len(parts) >= 3:
            addr = Address("polecat", head, parts[2])
        elif kind == "crew" and len(parts) >= 3:
            addr = Address("crew", head, parts[2])
        elif kind in ("refinery", "witness"):
            addr = Address(kind, head)
        else:
            return Who("rig", rig=head, address=head)
        return Who(addr.role, head, addr.name or "", str(addr), addr.session_name(prefix))
    except GasTownError:
        return Who("rig", rig=head, address=head)


def bead_of_branch(branch: str) -> str:
    found = _BRANCH_BEAD.match(branch or "")
    return found.group(1) if found else ""


# ---------------------------------------------------------------------------- the ledger
@dataclass
class RefreshResult:
    files: int = 0  # transcript files that had grown
    messages: int = 0  # assistant messages added to the ledger


def host_name() -> str:
    return socket.gethostname() or "localhost"


def _hour(ts: str) -> str:
    """'YYYY-MM-DDTHH' (UTC) of an RFC3339 time; '' when it is not one."""
    return ts[:13] if len(ts) >= 13 and ts[4] == "-" and ts[10] == "T" else ""


def refresh(town: Town, store: BeadStore,
            dirs: Iterable[Path] | None = None) -> RefreshResult:
    """Read what the town's agents' transcripts gained into the ledger. Cheap when nothing
    grew (one stat per file); each file's messages and its mark move in one transaction."""
    root = os.path.realpath(town.root)
    host = host_name()
    result = RefreshResult()
    known = file_states(store.conn, host)
    for config_dir in dirs if dirs is not None else config_dirs(town):
        for path in tx.transcripts(tx.project_dirs(config_dir, root)):
            key = str(path)
            offset, state_json = known.get(key, (0, "{}"))
            try:
                if path.stat().st_size == offset:
                    continue
            except OSError:
                continue
            state = tx.state_from_json(offset, state_json)
            usages = [u for u in tx.read_new(path, state)
                      if u.cwd == root or u.cwd.startswith(root + "/")]
            if state.offset == offset:
                continue
            rows = _bucket(usages)
            if record(store.conn, host, key, offset, state.offset, tx.state_to_json(state),
                      rows):
                result.files += 1
                result.messages += sum(r.messages for r in rows)
    return result


def _bucket(usages: Iterable[tx.Usage]) -> list[UsageRow]:
    sums: dict[tuple[str, str, str, str, str], list[Any]] = {}
    for u in usages:
        hour = _hour(u.ts)
        if not hour:
            continue
        key = (hour, u.conversation, u.cwd, u.branch, u.model)
        entry = sums.setdefault(key, [0, 0, 0, 0, 0, ""])
        entry[0] += u.input_tokens
        entry[1] += u.output_tokens
        entry[2] += u.cache_creation_input_tokens
        entry[3] += u.cache_read_input_tokens
        entry[4] += 0 if u.message_id.startswith("+") else 1
        entry[5] = max(entry[5], u.ts)
    return [UsageRow(*key, *value) for key, value in sums.items()]


# ---------------------------------------------------------------------------- reports
@dataclass
class Spend:
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_COLUMNS, 0))
    usd: float = 0.0
    messages: int = 0

    def add(self, row: UsageRow, price: Price) -> None:
        counted = {c: getattr(row, c) for c in TOKEN_COLUMNS}
        for column, value in counted.items():
            self.tokens[column] += value
        self.usd += price.usd(counted)
        self.messages += row.messages

    def as_json(self) -> dict[str, Any]:
        return {"cost_usd": round(self.usd, 6), "tokens": dict(self.tokens),
                "messages": self.messages}


@dataclass(frozen=True)
class Entry:
    row: UsageRow
    who: Who
    bead: str
    price: Price


def local_hour(hour: str) -> datetime:
    """The local time at which a UTC ledger hour starts."""
    return datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC).astimezone()


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    """today: local midnight; week: local midnight six days ago (seven days with today);
    all: None."""
    now = (now or datetime.now(UTC)).astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return midnight
    if period == "week":
        return midnight - timedelta(days=6)
    return None


class CostReport:
    """The ledger's rows in a period, each attributed to its agent, bead and price."""

    def __init__(self, entries: list[Entry], period: str,
                 convoy_of: Callable[[str], list[str]] | None = None) -> None:
        self.entries = entries
        self.period = period
        self._convoy_of = convoy_of or (lambda _bead: [])

    def total(self) -> Spend:
        out = Spend()
        for e in self.entries:
            out.add(e.row, e.price)
        return out

    def by(self, key: Callable[[Entry], str | list[str] | None]) -> dict[str, Spend]:
        out: dict[str, Spend] = {}
        for e in self.entries:
            found = key(e)
            for k in found if isinstance(found, list) else ([found] if found else []):
                out.setdefault(k, Spend()).add(e.row, e.price)
        return dict(sorted(out.items()))

    def by_role(self) -> dict[str, Spend]:
        return self.by(lambda e: e.who.role)

    def by_rig(self) -> dict[str, Spend]:
        return self.by(lambda e: e.who.rig or None)

    def by_agent(self) -> dict[str, Spend]:
        return self.by(lambda e: e.who.address)

    def by_session(self) -> dict[str, Spend]:
        return self.by(lambda e: e.who.session or None)

    def by_conversation(self) -> dict[str, Spend]:
        return self.by(lambda e: e.row.conversation)

    def by_bead(self) -> dict[str, Spend]:
        return self.by(lambda e: e.bead or None)

    def by_convoy(self) -> dict[str, Spend]:
        return self.by(lambda e: self._convoy_of(e.bead) if e.bead else None)

    def by_day(self) -> dict[str, Spend]:
        return self.by(lambda e: local_hour(e.row.hour).strftime("%Y-%m-%d"))

    def by_model(self) -> dict[str, Spend]:
        return self.by(lambda e: e.row.model or "unknown")

    def hourly(self, rig: str | None = None, *, day: datetime | None = None) -> list[float]:
        """USD per local hour (24 values) of `day` (default today), for one rig or all."""
        day = (day or datetime.now(UTC)).astimezone()
        out = [0.0] * 24
        for e in self.entries:
            if rig is not None and e.who.rig != rig:
                continue
            at = local_hour(e.row.hour)
            if at.date() == day.date():
                out[at.hour] += e.price.usd({c: getattr(e.row, c) for c in TOKEN_COLUMNS})
        return out

    def prices_used(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for e in self.entries:
            model = e.row.model or "unknown"
            if model not in out:
                p = e.price
                out[model] = {"input": p.input, "output": p.output, "cache_read": p.cache_read,
                              "cache_creation": p.cache_creation, "matched": p.source}
        return out


def convoy_lookup(store: BeadStore) -> Callable[[str], list[str]]:
    """bead -> the convoys tracking it (memoised for one report)."""
    memo: dict[str, list[str]] = {}

    def lookup(bead: str) -> list[str]:
        if bead not in memo:
            try:
                memo[bead] = sorted({d["issue_id"] for d in store.dependent_records(bead)
                                     if d.get("type") == "tracks"})
            except GasTownError:
                memo[bead] = []
        return memo[bead]

    return lookup


def report(town: Town, store: BeadStore, period: str = "all", *,
           since: datetime | None = None, do_refresh: bool = True,
           now: datetime | None = None) -> CostReport:
    """The town's spend in a period (today, week, all), the ledger refreshed first."""
    if do_refresh:
        refresh(town, store)
    start = since if since is not None else period_start(period, now)
    since_hour = start.astimezone(UTC).strftime("%Y-%m-%dT%H") if start else ""
    root = os.path.realpath(town.root)
    prefixes = {r.name: r.prefix for r in town.rigs()}
    prices = Prices.for_town(town)
    entries = []
    for row in usage_rows(store.conn, since_hour=since_hour, cwd_prefix=root):
        who = attribute(root, prefixes, row.cwd)
        if who is None:
            continue
        bead = bead_of_branch(row.branch) if who.role == "polecat" else ""
        entries.append(Entry(row, who, bead, prices.of(row.model)))
    return CostReport(entries, period, convoy_lookup(store))


def live(town: Town, store: BeadStore, rep: CostReport | None = None) -> list[dict[str, Any]]:
    """Upstream's live view: each running Gas Town session with the cost of its current
    conversation (the one it wrote to last), and ours too: its spend today."""
    from gastown_tui.ops.polecats import live_sessions

    rep = rep or report(town, store, "all")
    today = period_start("today")
    since_hour = today.astimezone(UTC).strftime("%Y-%m-%dT%H") if today else ""
    sessions = live_sessions(town)
    by_session: dict[str, list[Entry]] = {}
    for e in rep.entries:
        if e.who.session:
            by_session.setdefault(e.who.session, []).append(e)
    out = []
    for session in sorted(set(sessions) | set(by_session)):
        entries = by_session.get(session, [])
        if session not in sessions and not entries:
            continue
        if session not in sessions:
            continue  # upstream lists running sessions only
        who = entries[0].who if entries else _who_of_session(town, session)
        if who is None:
            continue
        current = max(entries, key=lambda e: e.row.last_at).row.conversation if entries else ""
        now_spend, day_spend = Spend(), Spend()
        for e in entries:
            if e.row.conversation == current:
                now_spend.add(e.row, e.price)
            if e.row.hour >= since_hour:
                day_spend.add(e.row, e.price)
        out.append({"session": session, "role": who.role, "rig": who.rig,
                    "worker": who.name or (who.role if not who.rig else ""),
                    "cost_usd": round(now_spend.usd, 6), "running": sessions[session],
                    "address": who.address, "conversation": current,
                    "tokens": now_spend.tokens, "today_usd": round(day_spend.usd, 6),
                    "today_tokens": day_spend.tokens})
    return out


def _who_of_session(town: Town, session: str) -> Who | None:
    if session in ("hq-mayor", "hq-deacon"):
        role = session[3:]
        return Who(role, address=role, session=session)
    for rig in town.rigs():
        if session.startswith(rig.prefix + "-"):
            tail = session[len(rig.prefix) + 1:]
            if tail in ("witness", "refinery"):
                return Who(tail, rig.name, "", f"{rig.name}/{tail}", session)
            if tail.startswith("crew-"):
                return Who("crew", rig.name, tail[5:], f"{rig.name}/crew/{tail[5:]}", session)
            return Who("polecat", rig.name, tail, f"{rig.name}/polecats/{tail}", session)
    return None


def usd(value: float) -> str:
    """Money as a person reads it: cents, or a tenth of a cent below a dollar's cent."""
    if value and abs(value) < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def tokens_text(tokens: dict[str, int]) -> str:
    def short(n: int) -> str:
        if n >= 1_000_000:
            return f"{n / 1e6:.1f}M"
        if n >= 10_000:
            return f"{n / 1e3:.0f}k"
        if n >= 1_000:
            return f"{n / 1e3:.1f}k"
        return str(n)

    parts = [f"in {short(tokens.get('input_tokens', 0))}",
             f"out {short(tokens.get('output_tokens', 0))}"]
    cached = tokens.get("cache_read_input_tokens", 0) + \
        tokens.get("cache_creation_input_tokens", 0)
    if cached:
        parts.append(f"cache {short(cached)}")
    return " ".join(parts)
