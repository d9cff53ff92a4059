"""Rate limits and account rotation (`gt quota`): which sessions hit a limit, which accounts
are free, and moving a limited session to a free account.

A limit is read from two places: the agent's screen (runtimes/screen.py: "5-hour limit
reached · retrying … (10:44am)", "You've hit your limit", "Request rejected (429)") and its
Claude transcript (runtimes/transcripts.py: the API error Claude wrote when its retries ran
out, with no answer after it). Upstream's shapes (internal/quota, internal/cmd/quota.go):
`mayor/quota.json` `{"version": 1, "accounts": {handle: {status, limited_at, resets_at,
last_used}}}`, status available | limited | cooldown.

Where we differ: upstream rotates by swapping macOS Keychain credentials under the session's
config dir and resuming the conversation; here each account is its own CLAUDE_CONFIG_DIR, so
a rotation restarts the session in place on the new account's dir, its hook kept and a handoff
note saying why (the new account cannot resume the old one's conversation)."""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gastown_tui.ops import accounts as acct
from gastown_tui.runtimes import transcripts as tx
from gastown_tui.runtimes.screen import Reading
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town
from gastown_tui.town.locks import try_lock

AVAILABLE, LIMITED, COOLDOWN = "available", "limited", "cooldown"
# Upstream's near-limit signals (constants.DefaultNearLimitPatterns), matched ignoring case.
NEAR_LIMIT = [re.compile(p, re.I) for p in (
    r"\d{2,3}%\s*(of\s*)?(your\s*)?(daily\s*)?(usage|limit|quota)",
    r"usage\s+(is\s+)?(at|near|approaching)\s+\d+\s*%",
    r"approaching\s+(your\s+)?(rate\s+)?limit",
    r"nearing\s+(your\s+)?(rate\s+)?limit",
    r"close\s+to\s+(your\s+)?(rate\s+)?limit",
    r"almost\s+(at|hit|reached)\s+(your\s+)?(rate\s+)?limit")]
_CLOCK = re.compile(r"(\d{1,2})(?::(\d\d))?\s*([ap]m)", re.I)


# ---------------------------------------------------------------------------- state file
def state_path(town: Town) -> Path:
    return town.mayor_dir / "quota.json"


def load_state(town: Town) -> dict[str, Any]:
    data = read_json(state_path(town), None) or {}
    if not isinstance(data, dict):
        data = {}
    accounts = data.get("accounts")
    data["accounts"] = accounts if isinstance(accounts, dict) else {}
    data["version"] = 1
    return data


def _locked(town: Town):
    return try_lock(town.runtime_dir / "locks" / "quota.flock",
                    busy="another gt quota command is changing the quota state",
                    fix="try again in a moment")


def _save(town: Town, data: dict[str, Any]) -> None:
    write_json(state_path(town), data)


def resets_epoch(resets_at: str, since: float | None = None) -> float | None:
    """When a limit resets, from what the screen said ("10:44am") or an RFC3339 time."""
    if not resets_at:
        return None
    try:
        return datetime.fromisoformat(resets_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        pass
    found = _CLOCK.search(resets_at)
    if not found:
        return None
    hour = int(found.group(1)) % 12 + (12 if found.group(3).lower() == "pm" else 0)
    minute = int(found.group(2) or 0)
    base = datetime.fromtimestamp(since if since is not None else time.time()).astimezone()
    at = base.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at.timestamp() < base.timestamp() - 60:
        at += timedelta(days=1)
    return at.timestamp()


def clear_expired(data: dict[str, Any], now: float | None = None) -> int:
    now = time.time() if now is None else now
    cleared = 0
    for handle, entry in data["accounts"].items():
        if entry.get("status") in (LIMITED, COOLDOWN):
            limited_at = _epoch(entry.get("limited_at", ""))
            until = resets_epoch(entry.get("resets_at", ""), limited_at)
            if until is not None and now >= until:
                data["accounts"][handle] = {"status": AVAILABLE,
                                            "last_used": entry.get("last_used", "")}
                cleared += 1
    return cleared


def _epoch(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mark_limited(town: Town, handle: str, resets_at: str = "") -> None:
    with _locked(town):
        data = load_state(town)
        old = data["accounts"].get(handle) or {}
        if old.get("status") == LIMITED and (old.get("resets_at") or not resets_at):
            return  # already known (keep when it was first seen)
        data["accounts"][handle] = {"status": LIMITED, "limited_at": _now(),
                                    "resets_at": resets_at,
                                    "last_used": old.get("last_used", "")}
        _save(town, data)
    log_event(town.root, "quota_limited", actor="gt",
              payload={"account": handle, "resets_at": resets_at})


def mark_used(town: Town, handle: str) -> None:
    with _locked(town):
        data = load_state(town)
        entry = dict(data["accounts"].get(handle) or {"status": AVAILABLE})
        entry["last_used"] = _now()
        data["accounts"][handle] = entry
        _save(town, data)


def clear(town: Town, handles: list[str] | None = None) -> list[str]:
    """Mark accounts available again (all limited ones when none are named)."""
    for handle in handles or ():
        acct.account(town, handle)
    with _locked(town):
        data = load_state(town)
        targets = handles or [h for h, e in data["accounts"].items()
                              if e.get("status") in (LIMITED, COOLDOWN)]
        for handle in targets:
            data["accounts"][handle] = {"status": AVAILABLE, "last_used":
                                        (data["accounts"].get(handle) or {}).get("last_used", "")}
        _save(town, data)
    return targets


def status(town: Town) -> list[dict[str, Any]]:
    """Every account with its quota state (upstream's QuotaStatusItem), expired limits
    cleared."""
    accounts = acct.accounts(town)
    if not accounts:
        return []
    with _locked(town):
        data = load_state(town)
        if clear_expired(data):
            _save(town, data)
    out = []
    for a in accounts:
        entry = data["accounts"].get(a.handle) or {}
        item = {"handle": a.handle, "email": a.email,
                "status": entry.get("status") or AVAILABLE, "is_default": a.is_default}
        for key in ("limited_at", "resets_at", "last_used"):
            if entry.get(key):
                item[key] = entry[key]
        out.append(item)
    return out


# ---------------------------------------------------------------------------- detection
@dataclass
class ScanResult:
    """Upstream's quota.ScanResult, plus where the evidence came from."""

    session: str
    account_handle: str = ""
    config_dir: str = ""
    rate_limited: bool = False
    near_limit: bool = False
    matched_line: str = ""
    resets_at: str = ""
    source: str = ""  # screen | transcript
    address: str = ""

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: v for k, v in out.items()
                if v not in ("", None) or k in ("session", "rate_limited", "near_limit")}


def session_config_dir(town: Town, session: str) -> tuple[str, str]:
    """(account handle, config dir) a session runs on: its heartbeat's account, else the
    user's own config dir."""
    from gastown_tui.ops.sessions import read_heartbeat

    handle = str((read_heartbeat(town, session) or {}).get("account") or "")
    if handle:
        try:
            return handle, str(acct.account(town, handle).path)
        except GasTownError:
            pass
    return "", str(tx.default_config_dir())


def latest_transcript(config_dir: str, cwd: Path) -> Path | None:
    folder = Path(config_dir) / "projects" / tx.project_dir_name(os.path.realpath(cwd))
    try:
        files = [p for p in folder.iterdir() if p.suffix == ".jsonl"]
    except OSError:
        return None
    return max(files, key=lambda p: p.stat().st_mtime, default=None)


def transcript_limit(config_dir: str, cwd: Path) -> tx.ApiError | None:
    """The rate-limit error the session's latest conversation ended on, if it did."""
    path = latest_transcript(config_dir, cwd)
    if path is None:
        return None
    error = tx.tail_state(path).error
    if error is not None and (error.kind == "rate_limit" or error.status == 429):
        return error
    return None


def limit_reading(town: Town, session: str, cwd: Path) -> Reading | None:
    """A rate-limit reading from the transcript, for a screen that no longer shows one."""
    from gastown_tui.runtimes.screen import CLAUDE_SCREEN

    _, config_dir = session_config_dir(town, session)
    error = transcript_limit(config_dir, cwd)
    if error is None:
        return None
    dialog = next(d for d in CLAUDE_SCREEN.dialogs if d.kind == "rate-limit")
    when = error.ts[11:16] + "Z" if len(error.ts) >= 16 else error.ts
    return Reading("dialog", f"transcript at {when}: {error.text or error.kind}"[:160], dialog)


def scan(town: Town, only: list[str] | None = None) -> list[ScanResult]:
    """Every running Claude session of the town (or the sessions `only` names): limited
    (screen or transcript), near its limit (screen), or neither."""
    from gastown_tui.ops.agent_screen import read_agent, runtime_of
    from gastown_tui.ops.handoff import agent_cwd
    from gastown_tui.ops.sessions import tmux_for

    try:  # (not polecats.live_sessions: polecats reads limits from here)
        live = {s.name: not s.pane_dead for s in tmux_for(town).list_sessions()}
    except GasTownError:
        live = {}
    out = []
    for session, alive in sorted(live.items()):
        addr = address_of(town, session)
        if addr is None or not alive or (only is not None and session not in only):
            continue
        runtime = runtime_of(town, session, addr.rig)
        if runtime is None or runtime.hooks_provider != "claude":
            continue
        handle, config_dir = session_config_dir(town, session)
        result = ScanResult(session, handle, config_dir, address=str(addr))
        try:
            reading, lines = read_agent(town, session, runtime)
        except GasTownError:
            continue
        if reading.dialog is not None and reading.dialog.kind == "rate-limit":
            result.rate_limited, result.source = True, "screen"
            result.matched_line, result.resets_at = reading.evidence, reading.until
        else:
            error = transcript_limit(config_dir, agent_cwd(town, addr))
            if error is not None:
                result.rate_limited, result.source = True, "transcript"
                result.matched_line = error.text or error.kind
            else:
                near = next((ln.strip() for ln in lines[-20:] for p in NEAR_LIMIT
                             if p.search(ln)), "")
                if near:
                    result.near_limit, result.matched_line, result.source = True, near, "screen"
        out.append(result)
    return out


def address_of(town: Town, session: str):
    """The agent address a session name belongs to (None for one that is not the town's)."""
    from gastown_tui.town.names import Address

    if session in ("hq-mayor", "hq-deacon"):
        return Address(session[3:])
    for rig in town.rigs():
        if session.startswith(rig.prefix + "-"):
            tail = session[len(rig.prefix) + 1:]
            try:
                if tail in ("witness", "refinery"):
                    return Address(tail, rig.name)
                if tail.startswith("crew-"):
                    return Address("crew", rig.name, tail[5:])
                return Address("polecat", rig.name, tail)
            except GasTownError:
                return None
    return None


def record_scan(town: Town, results: list[ScanResult]) -> None:
    """`gt quota scan --update`: each limited session's account is marked limited."""
    for r in results:
        if r.rate_limited and r.account_handle:
            mark_limited(town, r.account_handle, r.resets_at)


# ---------------------------------------------------------------------------- rotation
@dataclass
class RotatePlan:
    limited_sessions: list[ScanResult] = field(default_factory=list)
    available_accounts: list[str] = field(default_factory=list)
    assignments: dict[str, str] = field(default_factory=dict)  # session -> new account
    skipped_accounts: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"limited_sessions": [r.as_json() for r in self.limited_sessions],
                "available_accounts": self.available_accounts,
                "assignments": self.assignments, "skipped_accounts": self.skipped_accounts}


def plan(town: Town, *, from_account: str | None = None, sessions: list[str] | None = None,
         results: list[ScanResult] | None = None) -> RotatePlan:
    """Which limited sessions (or, with `from_account`, which sessions on it) move to which
    free account: the sessions of one account move together, to the least recently used
    free one (upstream's PlanRotation)."""
    accounts = acct.accounts(town)
    if len(accounts) < 2:
        raise ValidationError(f"need at least 2 accounts for rotation (have {len(accounts)})",
                              fix="add another: gt account add <handle>")
    if from_account:
        acct.account(town, from_account)
    results = results if results is not None else scan(town)
    if sessions is not None:
        results = [r for r in results if r.session in sessions]
    out = RotatePlan()
    out.limited_sessions = [r for r in results
                            if (r.account_handle == from_account if from_account
                                else r.rate_limited)]
    with _locked(town):
        data = load_state(town)
        for r in out.limited_sessions:  # what was just seen is limited, whatever the file says
            if r.rate_limited and r.account_handle:
                data["accounts"].setdefault(r.account_handle, {})["status"] = LIMITED
        clear_expired(data)
    free = [a for a in accounts if (data["accounts"].get(a.handle) or {}).get("status",
                                                                               AVAILABLE)
            == AVAILABLE and a.handle != from_account]
    for a in free:
        if not a.path.is_dir():
            out.skipped_accounts[a.handle] = f"config dir {a.config_dir} is missing"
    free = [a for a in free if a.handle not in out.skipped_accounts]
    free.sort(key=lambda a: (data["accounts"].get(a.handle) or {}).get("last_used", ""))
    out.available_accounts = [a.handle for a in free]
    groups: dict[str, list[ScanResult]] = {}
    for r in out.limited_sessions:
        groups.setdefault(r.account_handle or r.config_dir, []).append(r)
    pool = list(out.available_accounts)
    for key in sorted(groups):
        choice = next((h for h in pool if h != key), None)
        if choice is None:
            break
        pool.remove(choice)
        for r in groups[key]:
            out.assignments[r.session] = choice
    return out


@dataclass
class RotateResult:
    session: str
    old_account: str = ""
    new_account: str = ""
    rotated: bool = False
    error: str = ""
    note: str = ""  # the handoff note left for the new session

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", None) or k in
                ("session", "rotated")}


def rotate_session(town: Town, store, result: ScanResult, new_account: str) -> RotateResult:
    """Restart one session in place on `new_account`: a handoff note says why, the hook
    stays, and the limited account is marked (with its reset time when known)."""
    from gastown_tui.ops.handoff import handoff
    from gastown_tui.ops.sessions import restart_agent

    out = RotateResult(result.session, result.account_handle, new_account)
    addr = address_of(town, result.session)
    if addr is None:
        out.error = "not a session of this town"
        return out
    try:
        acct.account(town, new_account)
        why = (f"{result.account_handle or 'your account'} hit its rate limit"
               + (f" (resets {result.resets_at})" if result.resets_at else "")
               if result.rate_limited else f"moved off {result.account_handle}")
        plan_ = handoff(town, store, cwd=town.root, target=str(addr),
                        subject=f"rotated to account {new_account}",
                        message=f"{why}; this session runs on account {new_account}. "
                                "Your hook is unchanged: carry on with it.", collect=True)
        out.note = plan_.mail
        if result.rate_limited and result.account_handle:
            mark_limited(town, result.account_handle, result.resets_at)
        restart_agent(town, addr, Path(plan_.cwd), topic_suffix="rotated",
                      account=new_account)
        mark_used(town, new_account)
        out.rotated = True
        # The new account's Claude has not seen this folder: answer its trust question as
        # sling does, so the session gets going instead of waiting at the dialog.
        from gastown_tui.ops.agent_screen import runtime_of, settle_new_agent

        runtime = runtime_of(town, result.session, addr.rig)
        if runtime is not None:
            settle_new_agent(town, result.session, runtime, str(addr))
    except GasTownError as exc:
        out.error = exc.problem
        return out
    log_event(town.root, "quota_rotated", actor="gt",
              payload={"session": result.session, "from": result.account_handle,
                       "to": new_account, "evidence": result.matched_line})
    return out


def rotate(town: Town, store, *, from_account: str | None = None, idle_only: bool = False,
           dry_run: bool = False, sessions: list[str] | None = None,
           results: list[ScanResult] | None = None) -> tuple[RotatePlan, list[RotateResult]]:
    """`gt quota rotate`: plan, then move each assigned session (busy ones stay with
    --idle)."""
    the_plan = plan(town, from_account=from_account, sessions=sessions, results=results)
    if idle_only:
        from gastown_tui.ops.agent_screen import read_agent, runtime_of

        for session in list(the_plan.assignments):
            runtime = runtime_of(town, session)
            try:
                reading = read_agent(town, session, runtime)[0] if runtime else None
            except GasTownError:
                reading = None
            if reading is None or reading.kind == "busy":
                del the_plan.assignments[session]
    if dry_run:
        return the_plan, []
    by_session = {r.session: r for r in the_plan.limited_sessions}
    done = [rotate_session(town, store, by_session[s], new)
            for s, new in sorted(the_plan.assignments.items())]
    return the_plan, done


def auto_rotate_enabled(town: Town) -> bool:
    """settings/config.json "quota": {"auto_rotate": true}: the Witness (polecats) and the
    Deacon (the Mayor) move a limited session to a free account on their own."""
    settings = read_json(town.settings_json, {}) or {}
    quota = settings.get("quota") if isinstance(settings, dict) else None
    return bool(isinstance(quota, dict) and quota.get("auto_rotate"))


def on_limited(town: Town, store, session: str, evidence: str, until: str = "") -> str:
    """What the Witness (or the Deacon, for the Mayor) does about a limited session: its
    account is marked limited; with auto-rotation on and a free account, the session moves
    there. Returns what was done ('' for nothing but waiting)."""
    handle, config_dir = session_config_dir(town, session)
    if handle:
        mark_limited(town, handle, until)
    if not auto_rotate_enabled(town) or len(acct.accounts(town)) < 2:
        return ""
    seen = ScanResult(session, handle, config_dir, rate_limited=True, matched_line=evidence,
                      resets_at=until, source="patrol")
    try:
        the_plan, done = rotate(town, store, results=[seen])
    except GasTownError as exc:
        return f"not rotated: {exc.problem}"
    if not done:
        return "not rotated: no free account"
    result = done[0]
    if result.rotated:
        return f"rotated {handle or 'its account'} -> {result.new_account}"
    return f"rotation failed: {result.error}"

