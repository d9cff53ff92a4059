"""Where a new polecat runs: `gt sling … --host NAME`, or the first host with room in the
rig's (else the town's) `hosts` setting.

    <rig>/settings/config.json    {"hosts": ["local", "b"]}      where its polecats may run
    settings/config.json          {"hosts": […], "local_capacity": 8}
    settings/hosts.json           each host's capacity (gt host add … --capacity N)

Without a `hosts` list every polecat runs on the town's own machine, as before hosts
existed. A host is full when it runs `capacity` polecats of the town (any rig); the town's
own machine is never full unless `local_capacity` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.hostlist import LOCAL, get_host, load_hosts, placement, validate_host_name
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import RigInfo, Town


@dataclass(frozen=True)
class Room:
    host: str  # LOCAL for the town's own machine
    used: int
    capacity: int | None  # None: no limit

    @property
    def free(self) -> bool:
        return self.capacity is None or self.used < self.capacity


def polecats_by_host(town: Town) -> dict[str, int]:
    """How many of the town's polecats each host runs (LOCAL included)."""
    counts: dict[str, int] = {}
    for rig in town.rigs():
        if not rig.polecats_dir.is_dir():
            continue
        for entry in rig.polecats_dir.iterdir():
            if not entry.is_dir() or entry.name.startswith(".") or entry.name.endswith(
                    ".pending"):
                continue
            try:
                where = placement(rig, entry.name)
            except GasTownError:
                continue
            host = where["host"] if where else LOCAL
            counts[host] = counts.get(host, 0) + 1
    return counts


def host_list(town: Town, rig: RigInfo) -> list[str]:
    """The rig's `hosts` setting, else the town's; [] when neither names any."""
    for path in (rig.path / "settings" / "config.json", town.settings_json):
        hosts = (read_json(path, {}) or {}).get("hosts")
        if isinstance(hosts, list) and hosts:
            return [str(h) for h in hosts]
    return []


def room(town: Town, host: str, counts: dict[str, int] | None = None) -> Room:
    counts = polecats_by_host(town) if counts is None else counts
    if host == LOCAL:
        cap = (read_json(town.settings_json, {}) or {}).get("local_capacity")
        return Room(LOCAL, counts.get(LOCAL, 0), int(cap) if cap not in (None, "") else None)
    return Room(host, counts.get(host, 0), get_host(town, host).capacity)


def choose(town: Town, rig: RigInfo, requested: str | None = None) -> str | None:
    """The host a new polecat of `rig` runs on: None for the town's own machine."""
    listed = [] if requested else host_list(town, rig)
    if not requested and not listed:
        return None
    counts = polecats_by_host(town)
    if requested:
        if requested != LOCAL:
            validate_host_name(requested)
        here = room(town, requested, counts)
        if not here.free:
            raise ValidationError(f"host {requested} is full ({here.used}/{here.capacity} "
                                  "polecats)", fix="pick another --host, or raise its capacity "
                                                   f"(gt host add {requested} … --capacity N)")
        return None if requested == LOCAL else requested
    known = load_hosts(town)
    rooms = []
    for host in listed:
        if host != LOCAL and host not in known:
            continue  # a host removed since the setting was written: skip it, say so below
        rooms.append(room(town, host, counts))
        if rooms[-1].free:
            return None if host == LOCAL else host
    shown = ", ".join(f"{r.host} {r.used}/{r.capacity}" for r in rooms) or "none of them known"
    raise ValidationError(f"every host for {rig.name} is full ({shown})",
                          fix="wait for polecats to finish, raise a capacity, or name one with "
                              "--host")
