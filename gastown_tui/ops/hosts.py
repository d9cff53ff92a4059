"""`gt host add|list|remove|check`: the town's other machines.

Adding a host checks it first, over ssh in BatchMode (a key, never a prompt): the host's gt
answers (the town's version), it has tmux and git, and it reaches the town's PostgreSQL with
the URL the town gives it. Then its satellite town folder is written there and the host is
recorded in `settings/hosts.json`. A town on SQLite has no store another machine can share,
so it is refused with the way to move it.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gastown_tui import __version__
from gastown_tui.hosts import rpc
from gastown_tui.hosts.ssh import Ssh
from gastown_tui.town.errors import ConflictError, GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.hostlist import (
    DEFAULT_CAPACITY,
    HostRecord,
    HostUnreachableError,
    get_host,
    load_hosts,
    parse_target,
    placement,
    save_hosts,
    validate_host_name,
)
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town, now_rfc3339
from gastown_tui.town.store.backend import display, is_pg

ANY_ADDRESS = ("", "0.0.0.0", "*", "::")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class HostReport:
    host: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    reachable: bool = True
    polecats: list[str] = field(default_factory=list)
    action: str = ""

    @property
    def ok(self) -> bool:
        return self.reachable and all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {**self.host, "ok": self.ok, "reachable": self.reachable,
                "polecats": self.polecats, "checks": [asdict(c) for c in self.checks],
                **({"action": self.action} if self.action else {})}


# ---------------------------------------------------------------------------- the store
def _require_shared_store(town: Town) -> None:
    location = town.store_location
    if not is_pg(location):
        raise GasTownError(
            "hosts share the town's beads through PostgreSQL, and this town keeps them in "
            "SQLite (one machine)",
            fix="move it first: gt store migrate --to postgres --pg-port 5433 --pg-listen "
                "0.0.0.0 (or --to postgresql://… a server the hosts reach)")


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def store_url_for(town: Town, seen_from_host: str, store_host: str | None) -> str:
    """The URL the host's gt and bd use: the town's own cluster over TCP with its password
    (at --store-host, else its listen address, else the address the host sees the town's
    ssh connection come from), or the server URL the town itself joined."""
    from gastown_tui.ops.store_admin import cluster_of, has_cluster

    _require_shared_store(town)
    if has_cluster(town):
        pg = cluster_of(town)
        cfg = pg.config()
        if not cfg.get("listen") or not cfg.get("password"):
            raise GasTownError(
                "the town's PostgreSQL listens on its unix socket only; another host needs TCP",
                fix="move the beads to a cluster that listens: gt store migrate --to "
                    "postgresql://… (or install a town with --store postgres --pg-port N "
                    "--pg-listen ADDR)")
        listen = str(cfg["listen"]).strip()
        chosen = store_host or (listen if listen not in ANY_ADDRESS and "," not in listen
                                else seen_from_host)
        if not chosen:
            raise GasTownError("cannot tell which address the host should use for the store",
                               fix="pass --store-host ADDR (this machine's address as the "
                                   "host sees it)")
        url = pg.remote_url(_bracket(chosen))
        assert url is not None
        return url
    location = town.store_location
    if "host=/" in location:
        raise GasTownError(f"the town's store ({display(location)}) is reached through a unix "
                           "socket, which another host cannot use",
                           fix="join a TCP address of that server (gt store migrate --to "
                               "postgresql://user:pw@addr:port/db)")
    if store_host:
        parts = urlsplit(location)
        netloc = parts.netloc.rsplit("@", 1)
        auth = netloc[0] + "@" if len(netloc) == 2 else ""
        port = f":{parts.port}" if parts.port else ""
        return parts._replace(netloc=f"{auth}{_bracket(store_host)}{port}").geturl()
    return location


# ---------------------------------------------------------------------------- the satellite
def satellite_request(town: Town, record: HostRecord) -> dict[str, Any]:
    """What the host's satellite folder holds: the town's settings with the host's store URL,
    its rigs and their settings, the town's formula overrides."""
    settings = dict(read_json(town.settings_json, {}) or {})
    settings["store_url"] = record.store_url
    rigs = {}
    for rig in town.rigs():
        rigs[rig.name] = {"config": read_json(rig.path / "config.json", {}) or {},
                          "settings": read_json(rig.path / "settings" / "config.json", {}) or {}}
    formulas = {}
    folder = town.root / "formulas"
    if folder.is_dir():
        formulas = {p.name: p.read_text(encoding="utf-8")
                    for p in sorted(folder.glob("*.formula.toml")) if p.is_file()}
    request: dict[str, Any] = {
        "town_json": town.config(), "settings": settings, "rigs_json": town.rigs_config(),
        "rigs": rigs, "formulas": formulas,
        "satellite": {"host": record.name, "town": town.name, "origin": str(town.root)}}
    escalation = read_json(town.root / "settings" / "escalation.json", None)
    if isinstance(escalation, dict):
        request["escalation.json"] = escalation
    return request


def sync(town: Town, record: HostRecord) -> dict[str, Any]:
    """Write (refresh) the host's satellite town; its answer names the host's tmux socket and
    whether the host reached the store ('' = yes)."""
    return rpc.call(Ssh(town.root, record), "prepare", satellite_request(town, record),
                    timeout=120)


# ---------------------------------------------------------------------------- checks
def _gt_candidates(gt: str | None) -> list[str]:
    if gt:
        return [gt]
    local = Path(sys.executable).parent / "gt"
    return [str(local), "gt"] if local.exists() else ["gt"]


def _probe(town: Town, record: HostRecord, gt: str | None) -> tuple[HostRecord, dict, float]:
    last: GasTownError | None = None
    for candidate in _gt_candidates(gt):
        trial = replace(record, gt=candidate)
        started = time.perf_counter()
        try:
            facts = rpc.call(Ssh(town.root, trial), "probe", timeout=60)
        except HostUnreachableError:
            raise
        except rpc.RemoteOpError:
            raise
        except GasTownError as exc:
            last = exc
            continue
        return trial, facts, (time.perf_counter() - started) * 1000
    assert last is not None
    raise last


def _facts_checks(facts: dict[str, Any], ms: float, record: HostRecord) -> list[Check]:
    checks = [Check("ssh", True, f"{record.display} answered in {ms:.0f} ms (BatchMode)")]
    version = str(facts.get("version") or "")
    checks.append(Check("gt", version == __version__,
                        f"{record.gt} {version or '?'}" + ("" if version == __version__ else
                                                          f" (the town runs {__version__})")))
    checks.append(Check("python", bool(facts.get("python")), f"Python {facts.get('python')}"))
    checks.append(Check("tmux", bool(facts.get("tmux")), facts.get("tmux") or "not installed"))
    checks.append(Check("git", bool(facts.get("git")), facts.get("git") or "not installed"))
    return checks


def _fix_for(check: Check, record: HostRecord) -> str:
    return {"gt": f"install gastown-tui {__version__} on {record.name} (the town's version)",
            "tmux": f"install tmux on {record.name} (apt-get install tmux)",
            "git": f"install git on {record.name} (apt-get install git)",
            "python": "gt there must run on Python 3.11+",
            "store": "pass --store-host with an address of this machine the host can reach, "
                     "and make sure the town's PostgreSQL listens there"}.get(check.name, "")


def _raise_failed(checks: list[Check], record: HostRecord) -> None:
    failed = [c for c in checks if not c.ok]
    if failed:
        first = failed[0]
        raise ValidationError(f"host {record.name} failed its {first.name} check: "
                              f"{first.detail}", fix=_fix_for(first, record))


def _placed_on(town: Town, host: str) -> list[str]:
    found = []
    for rig in town.rigs():
        if not rig.polecats_dir.is_dir():
            continue
        for entry in sorted(rig.polecats_dir.iterdir()):
            if entry.is_dir() and not entry.name.startswith("."):
                try:
                    where = placement(rig, entry.name)
                except GasTownError:
                    continue
                if where is not None and where.get("host") == host:
                    found.append(f"{rig.name}/{entry.name}")
    return found


_SAFE_TOWN_NAME = re.compile(r"[^A-Za-z0-9_-]")


def add_host(town: Town, name: str, target: str, *, port: int | None = None,
             identity: str | None = None, town_path: str | None = None,
             gt: str | None = None, capacity: int | None = None,
             store_host: str | None = None) -> HostReport:
    """Check the host and record it (or update the capacity of one recorded at the same
    target); nothing is recorded when a check fails."""
    validate_host_name(name)
    user, address, port = parse_target(target, port)
    _require_shared_store(town)
    if capacity is not None and capacity < 0:
        raise ValidationError(f"invalid capacity {capacity}", fix="give 0 or more polecats")
    hosts = load_hosts(town)
    existing = hosts.get(name)
    if existing is not None and (existing.user, existing.address, existing.port) != (
            user, address, port):
        raise ConflictError(f"host {name} is already {existing.display}",
                            fix=f"remove it first (gt host remove {name}) or pick another name")
    key = ""
    if identity:
        path = Path(identity).expanduser()
        if not path.is_file():
            raise ValidationError(f"no identity file {identity}",
                                  fix="give the private key ssh should use (-i)")
        key = str(path.resolve())
    record = existing or HostRecord(name=name, user=user, address=address, port=port,
                                    capacity=DEFAULT_CAPACITY, added_at=now_rfc3339())
    record = replace(record, identity=key or record.identity,
                     capacity=capacity if capacity is not None else record.capacity,
                     town_path=town_path or record.town_path)
    record, facts, ms = _probe(town, record, gt or (existing.gt if existing else None))
    checks = _facts_checks(facts, ms, record)
    _raise_failed(checks, record)
    if not record.town_path:
        base = _SAFE_TOWN_NAME.sub("-", town.name).strip("-") or "town"
        record = replace(record, town_path=f"{str(facts.get('home') or '/tmp').rstrip('/')}"
                                           f"/gt-{base}")
    if not record.town_path.startswith("/"):
        raise ValidationError(f"--town-path {record.town_path!r} is not absolute",
                              fix="give the folder on the host as an absolute path")
    url = store_url_for(town, str(facts.get("client_address") or ""), store_host)
    record = replace(record, store_url=url, version=str(facts.get("version") or ""))
    answer = sync(town, record)
    store_error = str(answer.get("store") or "")
    checks.append(Check("store", not store_error,
                        f"reaches {display(url)}" if not store_error else
                        f"cannot reach {display(url)}: {store_error}"))
    checks.append(Check("town", True, f"satellite town at {record.town_path}, tmux socket "
                                      f"{answer.get('socket')}"))
    _raise_failed(checks, record)
    record = replace(record, socket=str(answer.get("socket") or ""))
    hosts[name] = record
    save_hosts(town, hosts)
    log_event(town.root, "host_add", actor="overseer",
              payload={"host": name, "target": record.display, "town_path": record.town_path})
    return HostReport(record.as_json(), checks, polecats=_placed_on(town, name),
                      action="updated" if existing else "added")


def check_host(town: Town, name: str, *, sync_files: bool = True) -> HostReport:
    """The same checks as `add`, and the satellite folder refreshed; an unreachable host is
    a report (reachable False, ssh's words as evidence), not an exception."""
    record = get_host(town, name)
    report = HostReport(record.as_json(), polecats=_placed_on(town, name))
    try:
        record, facts, ms = _probe(town, record, record.gt)
    except HostUnreachableError as exc:
        report.reachable = False
        report.checks.append(Check("ssh", False, exc.evidence))
        return report
    report.checks = _facts_checks(facts, ms, record)
    if sync_files and all(c.ok for c in report.checks):
        answer = sync(town, record)
        store_error = str(answer.get("store") or "")
        report.checks.append(Check("store", not store_error,
                                   f"reaches {display(record.store_url)}" if not store_error
                                   else f"cannot reach {display(record.store_url)}: "
                                        f"{store_error}"))
        socket = str(answer.get("socket") or record.socket)
        if socket != record.socket or str(facts.get("version")) != record.version:
            hosts = load_hosts(town)
            hosts[name] = replace(record, socket=socket, version=str(facts.get("version")))
            save_hosts(town, hosts)
    return report


def list_hosts(town: Town, *, check: bool = False) -> list[HostReport]:
    reports = []
    for name, record in load_hosts(town).items():
        if check:
            reports.append(check_host(town, name, sync_files=False))
        else:
            reports.append(HostReport(record.as_json(), polecats=_placed_on(town, name)))
    return reports


def remove_host(town: Town, name: str, *, keep_server: bool = False) -> HostReport:
    """Forget a host that runs none of the town's polecats; its tmux server is stopped when
    it answers. Its satellite folder stays (it may hold graves or logs someone wants)."""
    record = get_host(town, name)
    placed = _placed_on(town, name)
    if placed:
        raise ConflictError(f"host {name} still runs {', '.join(placed)}",
                            fix="nuke them first (gt polecat nuke <rig>/<name>), so their "
                                "work is saved")
    report = HostReport(record.as_json(), action="removed")
    if not keep_server:
        from gastown_tui.hosts.tmux import RemoteTmux

        try:
            stopped = RemoteTmux.for_host(Ssh(town.root, record)).kill_server()
            report.checks.append(Check("tmux", True, "its tmux server stopped" if stopped
                                       else "no tmux server was running"))
        except GasTownError as exc:
            report.checks.append(Check("tmux", False, f"left as it is: {exc.problem}"))
    hosts = load_hosts(town)
    hosts.pop(name, None)
    save_hosts(town, hosts)
    log_event(town.root, "host_remove", actor="overseer", payload={"host": name})
    return report
