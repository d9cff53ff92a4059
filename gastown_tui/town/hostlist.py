"""The town's other hosts (`settings/hosts.json`) and where each polecat runs.

A host is another machine the town reaches over SSH: its polecats live in a town folder of
its own there (a satellite: the same rigs and settings, the store's URL as that host reaches
it), on its own tmux server. Upstream Gas Town never finished this (its `internal/connection`
ssh case is "not yet implemented"), so the file's shape is ours.

Where a polecat runs is recorded beside its name: `<rig>/polecats/<name>/.host.json` in the
town folder, so the name stays claimed (the namepool counts directories) and every local
verb can tell a remote polecat from one whose worktree is gone.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gastown_tui.town.errors import GasTownError, InvalidNameError
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import RigInfo, Town

HOSTS_FILE = Path("settings") / "hosts.json"
PLACEMENT_FILE = ".host.json"
LOCAL = "local"  # the town's own machine, in placement lists
RESERVED = frozenset({LOCAL, "hq", "localhost", "all"})
DEFAULT_CAPACITY = 4
_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}\Z")
# user@host, host, with an optional :port; a bracketed IPv6 address as [::1]:2222.
_TARGET = re.compile(r"(?:(?P<user>[A-Za-z0-9._-]{1,64})@)?"
                     r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252})"
                     r"(?::(?P<port>[0-9]{1,5}))?\Z")


class UnknownHostError(GasTownError):
    code = "unknown_host"


class HostUnreachableError(GasTownError):
    """The host does not answer over SSH; `evidence` is what ssh said (and when)."""

    code = "host_unreachable"

    def __init__(self, host: str, evidence: str, *, fix: str | None = None) -> None:
        self.host = host
        self.evidence = evidence
        super().__init__(f"host {host} unreachable: {evidence}",
                         fix=fix or f"check it with gt host check {host}; its polecats are "
                                    "kept and followed again when it answers")


def validate_host_name(name: str) -> str:
    if not name or not _NAME.match(name):
        raise InvalidNameError(
            f"invalid host name {name!r}: a lowercase letter, then letters, digits or '-' "
            "(31 at most)", fix="pick a short name such as 'b' or 'gpu-box'")
    if name in RESERVED:
        raise InvalidNameError(f"host name {name!r} is reserved", fix="pick another name")
    return name


def parse_target(text: str, port: int | None = None) -> tuple[str, str, int | None]:
    """(user, host, port) of `user@host[:port]`; checked before it reaches ssh's arguments (a
    target starting with '-' would be read as an option)."""
    match = _TARGET.match(text or "")
    if not match:
        raise InvalidNameError(f"invalid ssh target {text!r}",
                               fix="use user@host, host or user@host:port")
    found = int(match.group("port")) if match.group("port") else None
    if found is not None and port is not None and found != port:
        raise InvalidNameError(f"{text!r} names port {found} but --port says {port}",
                               fix="give the port once")
    chosen = found if found is not None else port
    if chosen is not None and not 0 < chosen < 65536:
        raise InvalidNameError(f"invalid ssh port {chosen}", fix="use a port from 1 to 65535")
    return match.group("user") or "", match.group("host").strip("[]"), chosen


@dataclass(frozen=True)
class HostRecord:
    """One host as `gt host add` recorded it (after checking it)."""

    name: str
    user: str
    address: str  # host name or IP that ssh connects to
    port: int | None = None
    identity: str = ""  # private key file (IdentityFile), '' for ssh's defaults
    town_path: str = ""  # the satellite town's folder on the host
    gt: str = "gt"  # the host's gt program
    socket: str = ""  # its tmux server's socket name (derived on the host)
    store_url: str = ""  # the store as the host reaches it (holds a password: file is 0600)
    capacity: int = DEFAULT_CAPACITY
    added_at: str = ""
    version: str = ""  # the host's gt version when last checked
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.user}@{host}" if self.user else host

    @property
    def display(self) -> str:
        return self.target + (f":{self.port}" if self.port else "")

    def as_json(self, *, secrets: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.display
        if not secrets:
            data.pop("store_url", None)
        return data

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> HostRecord:
        known = {f for f in cls.__dataclass_fields__ if f not in ("name", "extra")}
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known and k not in ("name", "target")}
        port = values.get("port")
        values["port"] = int(port) if port not in (None, "") else None
        values["capacity"] = int(values.get("capacity", DEFAULT_CAPACITY))
        return cls(name=name, extra=extra, **values)


def hosts_path(town: Town) -> Path:
    return town.root / HOSTS_FILE


def load_hosts(town: Town) -> dict[str, HostRecord]:
    data = read_json(hosts_path(town), {}) or {}
    hosts = data.get("hosts") or {}
    out = {}
    for name, entry in sorted(hosts.items()):
        if isinstance(entry, dict):
            out[name] = HostRecord.from_json(name, entry)
    return out


def save_hosts(town: Town, hosts: dict[str, HostRecord]) -> None:
    from gastown_tui.town import safe_write

    entries = {}
    for name, host in sorted(hosts.items()):
        data = host.as_json(secrets=True)
        data.pop("name", None)
        data.pop("target", None)
        extra = data.pop("extra", {}) or {}
        entries[name] = {**extra, **data}
    # It holds the store's password for the hosts: made readable by the town's user only.
    safe_write.write_text(hosts_path(town), json.dumps({"version": 1, "hosts": entries},
                                                       indent=2, ensure_ascii=False) + "\n",
                          mode=0o600)


def get_host(town: Town, name: str) -> HostRecord:
    validate_host_name(name)
    hosts = load_hosts(town)
    if name not in hosts:
        known = ", ".join(hosts) or "none yet"
        raise UnknownHostError(f"unknown host {name!r} (hosts: {known})",
                               fix="see 'gt host list', or add it with 'gt host add'")
    return hosts[name]


# ---------------------------------------------------------------------------- placement
def placement_path(rig: RigInfo, name: str) -> Path:
    return rig.polecats_dir / name / PLACEMENT_FILE


def placement(rig: RigInfo, name: str) -> dict[str, Any] | None:
    """Where a remote polecat runs ({"host", "worktree", "branch", …}); None when it is local.
    A damaged record reads as an error, never as "local" (that would lose the polecat)."""
    path = placement_path(rig, name)
    try:
        data = read_json(path, None)
    except GasTownError:
        raise
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("host"), str):
        raise GasTownError(f"{path} does not say which host the polecat runs on",
                           fix="repair it ({\"host\": \"<name>\"}) or remove the polecat")
    return data


def host_of(rig: RigInfo, name: str) -> str | None:
    found = placement(rig, name)
    return found["host"] if found else None


def write_placement(rig: RigInfo, name: str, data: dict[str, Any]) -> None:
    write_json(placement_path(rig, name), data)


def is_satellite(town: Town) -> str:
    """The host name this town folder serves as, when it is a satellite ('' otherwise)."""
    sat = (town.config().get("satellite") or {})
    return str(sat.get("host") or "") if isinstance(sat, dict) else ""
