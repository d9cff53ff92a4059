"""The town's bead store as a service: choosing its backend at install, starting and stopping
the town's own PostgreSQL cluster (gt up / down / shutdown), its health (gt doctor, gt dolt
status), and `gt store migrate` between backends through the JSONL export."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore
from gastown_tui.town.store.backend import display, is_pg

CHOICES = "sqlite, postgres (a cluster inside the town) or a postgresql:// URL"


def backend_of(location: str) -> str:
    return "postgres" if is_pg(location) else "sqlite"


def check_choice(choice: str | None, root: Path | None = None) -> None:
    """Refuse a bad --store before anything is created (for postgres: the programs, who
    runs them, and whether that user can reach the town's folder `root`)."""
    if choice is None or choice in ("sqlite", "postgres") or is_pg(choice):
        if choice == "postgres":
            from gastown_tui.town.store import cluster

            if root is not None:
                cluster.preflight(Path(root) / ".beads" / "pg")
            else:
                cluster.bindir()
                cluster.run_as()
        return
    raise ValidationError(f"--store {choice!r} is not a store", fix=f"use {CHOICES}")


def cluster_of(town: Town):
    from gastown_tui.town.store.cluster import Cluster

    return Cluster.of_town(town.root)


def has_cluster(town: Town) -> bool:
    """Whether the town's store is its own PostgreSQL cluster (gt install --store postgres);
    a cluster the town migrated away from stays on disk, unmanaged."""
    if not (town.root / ".beads" / "pg" / "cluster.json").is_file():
        return False
    return town.store_location == cluster_of(town).url()


def target_location(town: Town, choice: str, *, port: int | None = None,
                    listen: str | None = None) -> str:
    """The store location a --store/--to choice means, making (and starting) the town's own
    cluster for 'postgres'."""
    if choice == "sqlite":
        return str(town.db_path)
    if choice == "postgres":
        pg = cluster_of(town)
        pg.init(port=port, listen=listen)
        pg.start()
        return pg.url()
    if is_pg(choice):
        return choice
    raise ValidationError(f"{choice!r} is not a store", fix=f"use {CHOICES}")


def set_location(town: Town, location: str) -> None:
    settings = read_json(town.settings_json, {}) or {}
    if is_pg(location):
        settings["store_url"] = location
    else:
        settings.pop("store_url", None)
    write_json(town.settings_json, settings)


def configure(town: Town, choice: str | None, *, port: int | None = None,
              listen: str | None = None, fresh: bool) -> str:
    """At install: the store location for `choice` (None keeps what the town has). An
    existing town keeps its store; asking it for another one says how to move it."""
    current = town.store_location
    if choice is None:
        return current
    if not fresh:
        same = (choice == current or (choice == "sqlite" and not is_pg(current))
                or (choice == "postgres" and has_cluster(town)
                    and current == cluster_of(town).url()))
        if not same:
            raise GasTownError(f"this town's store is already {display(current)}",
                               fix="move it with 'gt store migrate --to …'")
        if choice == "postgres":
            cluster_of(town).start()
        return current
    location = target_location(town, choice, port=port, listen=listen)
    set_location(town, location)
    return location


# ---------------------------------------------------------------------------- the service
@dataclass
class ServiceStep:
    action: str  # started | running | stopped | absent
    detail: str = ""


def start(town: Town) -> ServiceStep | None:
    """gt up: the town's own cluster, started (None for a town without one)."""
    if not has_cluster(town):
        return None
    pg = cluster_of(town)
    started = pg.start()
    return ServiceStep("started" if started else "running", str(pg.socket_dir))


def stop(town: Town) -> ServiceStep | None:
    """gt down / shutdown: the town's own cluster, stopped (its connections closed first)."""
    if not has_cluster(town):
        return None
    from gastown_tui.town.store.pg import close_all

    close_all()
    pg = cluster_of(town)
    return ServiceStep("stopped" if pg.stop() else "absent", str(pg.data))


def health(town: Town) -> dict[str, Any]:
    """The store's health, for gt doctor and gt dolt status (never raises)."""
    location = town.store_location
    out: dict[str, Any] = {"backend": backend_of(location), "location": display(location)}
    if not is_pg(location):
        out["path"] = str(town.db_path)
    if has_cluster(town):
        pg = cluster_of(town)
        out["cluster"] = {"data": str(pg.data), "running": pg.running(), "port": pg.port,
                          "socket_dir": str(pg.socket_dir)}
    started = time.perf_counter()
    try:
        store = BeadStore(location, actor="doctor")
    except GasTownError as exc:
        out.update(healthy=False, problems=[str(exc)], issues=0, size_bytes=0)
        return out
    try:
        problems = store.integrity_check()
        out["issues"] = int(store.conn.read("SELECT count(*) FROM issues")[0][0])
        out["size_bytes"] = store.conn.size_bytes()
    except GasTownError as exc:
        problems = [str(exc)]
        out.setdefault("issues", 0)
        out.setdefault("size_bytes", 0)
    finally:
        store.close_connection()
    out["healthy"] = not problems
    out["problems"] = problems
    out["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


# ---------------------------------------------------------------------------- migrate
@dataclass
class MigrateReport:
    source: str
    target: str
    folder: Path
    issues: int = 0
    events: int = 0
    tables: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"source": display(self.source), "target": display(self.target),
                "backend": backend_of(self.target), "export": str(self.folder),
                "issues": self.issues, "events": self.events, "tables": self.tables}


_TABLES = ("issues", "dependencies", "labels", "comments", "events")


def _counts(store: BeadStore) -> dict[str, int]:
    return {t: int(store.conn.read(f"SELECT count(*) FROM {t}")[0][0]) for t in _TABLES}


def migrate(town: Town, to: str, *, port: int | None = None,
            listen: str | None = None) -> MigrateReport:
    """Move the town's store to another backend through the JSONL export: every bead (wisps,
    templates and agent beads too) with its labels, dependencies and comments, and the audit
    events, into an empty target; the target is checked to export the same lines and hold
    the same rows before the town switches to it. The export stays in .beads/ as a backup,
    and so does the old store."""
    from gastown_tui.town.store.jsonl import export_event_lines, export_lines, import_jsonl

    source = town.store_location
    if to == "sqlite" and not is_pg(source) or to == source:
        raise GasTownError(f"the town's store is already {display(source)}",
                           fix=f"name another store: {CHOICES}")
    if to == "sqlite" and town.db_path.exists():
        old = BeadStore(str(town.db_path), actor="migrate")
        try:
            held = _counts(old)["issues"]
        finally:
            old.close_connection()
        if held:
            raise GasTownError(f"{town.db_path} already holds {held} beads",
                               fix="move it aside first (it is an older store of this town)")
    src = BeadStore(source, actor="migrate")
    try:
        folder = _new_export_folder(town.beads_dir)
        lines = list(export_lines(src, include_all=True, include_infra=True))
        events = list(export_event_lines(src))
        safe_write.write_text(folder / "issues.jsonl", "".join(f"{line}\n" for line in lines),
                              within=town.root)
        safe_write.write_text(folder / "events.jsonl", "".join(f"{line}\n" for line in events),
                              within=town.root)
        before = _counts(src)
    finally:
        src.close_connection()
    location = target_location(town, to, port=port, listen=listen)
    if location == source:
        raise GasTownError(f"the town's store is already {display(source)}",
                           fix=f"name another store: {CHOICES}")
    dst = BeadStore.create_at(location, actor="migrate")
    try:
        held = _counts(dst)["issues"]
        if held:
            raise GasTownError(f"the target store {display(location)} already holds {held} "
                               "beads", fix="migrate into an empty store (a new database)")
        report = import_jsonl(dst, folder, audit=False)
        if report.errors or report.skipped:
            first = report.errors[0] if report.errors else ("", 0, f"{report.skipped} skipped")
            raise GasTownError(f"the export did not import whole ({first[2]}, line {first[1]})",
                               fix=f"nothing was switched; the export is in {folder}")
        after = _counts(dst)
        again = list(export_lines(dst, include_all=True, include_infra=True))
    finally:
        dst.close_connection()
    if again != lines or after != before:
        diff = {t: (before[t], after[t]) for t in _TABLES if before[t] != after[t]}
        raise GasTownError(f"the target does not hold what the source did ({diff or 'beads differ'})",
                           fix=f"nothing was switched; the export is in {folder}")
    own = has_cluster(town)
    set_location(town, location)
    if own:  # the town's own cluster is no longer its store: stopped, its data kept
        from gastown_tui.town.store.pg import close_all

        close_all()
        cluster_of(town).stop()
    return MigrateReport(source=source, target=location, folder=folder, issues=after["issues"],
                         events=after["events"], tables=after)


def _new_export_folder(beads_dir: Path) -> Path:
    """A fresh folder for this migration's export: two migrations within one second (there and
    back again) must not meet in one folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        folder = beads_dir / (f"migrate-{stamp}" + (f"-{n}" if n else ""))
        try:
            folder.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            continue
        return folder
    raise GasTownError(f"too many migrations at {stamp} in {beads_dir}",
                       fix="move the old migrate-* folders aside and retry")
