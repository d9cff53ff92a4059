"""Where everything lies in a town directory, and how a command finds its town."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from gastown_tui.town.errors import GasTownError, NoTownError, StoreCorruptError, UnknownRigError
from gastown_tui.town.jsonfile import FIX_FILE, object_field, read_json, write_json
from gastown_tui.town.names import validate_rig_name
from gastown_tui.town.record import Record

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

TOWN_MARKER = Path("mayor") / "town.json"


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def find_town_root(start: Path | None = None, explicit: str | os.PathLike[str] | None = None) -> Path:
    """--town, else the outermost directory upward holding mayor/town.json, else GT_ROOT."""
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not (root / TOWN_MARKER).is_file():
            raise NoTownError(f"{root} is not a Gas Town town (no mayor/town.json)",
                              fix="run 'gt install' there first, or pass the right --town")
        return root
    here = (start or Path.cwd()).resolve()
    found: Path | None = None
    for candidate in (here, *here.parents):
        if (candidate / TOWN_MARKER).is_file():
            found = candidate
    if found is not None:
        return found
    for var in ("GT_ROOT", "GT_TOWN_ROOT"):
        env = os.environ.get(var)
        if env and (Path(env) / TOWN_MARKER).is_file():
            return Path(env).resolve()
    raise NoTownError(f"not inside a Gas Town town ({here})",
                      fix="cd into a town, pass --town DIR, set GT_ROOT, or create one with 'gt install DIR'")


class RigInfo(Record):
    """A rig: name, bead prefix, git URL, default branch, directory (a frozen record)."""

    __slots__ = ("name", "prefix", "git_url", "default_branch", "path")
    name: str
    prefix: str
    git_url: str
    default_branch: str
    path: Path

    @property
    def bare_repo(self) -> Path:
        return self.path / ".repo.git"

    @property
    def refinery_worktree(self) -> Path:
        return self.path / "refinery" / "rig"

    @property
    def polecats_dir(self) -> Path:
        return self.path / "polecats"

    def polecat_worktree(self, name: str) -> Path:
        return self.path / "polecats" / name / self.name


class Town:
    """A town directory. Cheap to build: files are read only when asked for."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def find(cls, start: Path | None = None, explicit: str | os.PathLike[str] | None = None) -> Town:
        return cls(find_town_root(start, explicit))

    # paths
    @property
    def mayor_dir(self) -> Path:
        return self.root / "mayor"

    @property
    def town_json(self) -> Path:
        return self.root / TOWN_MARKER

    @property
    def rigs_json(self) -> Path:
        return self.root / "mayor" / "rigs.json"

    @property
    def settings_json(self) -> Path:
        return self.root / "settings" / "config.json"

    @property
    def beads_dir(self) -> Path:
        return self.root / ".beads"

    @property
    def db_path(self) -> Path:
        return self.beads_dir / "beads.db"

    @property
    def store_location(self) -> str:
        """Where the town's bead store lives: the settings' `store_url` (a postgresql:// URL,
        a PostgreSQL server many hosts share), else the SQLite file .beads/beads.db."""
        url = (read_json(self.settings_json, {}) or {}).get("store_url")
        if isinstance(url, str) and url.startswith(("postgresql://", "postgres://")):
            return url
        return str(self.db_path)

    @property
    def store_is_shared(self) -> bool:
        return self.store_location != str(self.db_path)

    @property
    def events_path(self) -> Path:
        return self.root / ".events.jsonl"

    @property
    def runtime_dir(self) -> Path:
        return self.root / ".runtime"

    # config
    def config(self) -> dict[str, Any]:
        return read_json(self.town_json, {}) or {}

    @property
    def name(self) -> str:
        return str(self.config().get("name") or self.root.name)

    def rigs_config(self) -> dict[str, Any]:
        data = read_json(self.rigs_json, None) or {"version": 1, "rigs": {}}
        rigs = object_field(data, "rigs", self.rigs_json)
        for name, entry in rigs.items():
            try:
                validate_rig_name(name)
            except GasTownError as exc:
                raise StoreCorruptError(f"{self.rigs_json} names a rig {name!r} that is not a "
                                        f"valid rig name ({exc.problem})", fix=FIX_FILE) from None
            if not isinstance(entry, dict):
                raise StoreCorruptError(f"{self.rigs_json}: rig {name!r} holds a "
                                        f"{type(entry).__name__}, not an object", fix=FIX_FILE)
        data["rigs"] = rigs
        return data

    def save_rigs_config(self, data: dict[str, Any]) -> None:
        write_json(self.rigs_json, data)

    def rigs(self) -> list[RigInfo]:
        out = []
        for name, entry in sorted(self.rigs_config()["rigs"].items()):
            out.append(self._rig_info(name, entry))
        return out

    def _rig_info(self, name: str, entry: dict[str, Any]) -> RigInfo:
        rig_path = self.root / name
        cfg = read_json(rig_path / "config.json", {}) or {}
        prefix = (object_field(entry, "beads", self.rigs_json).get("prefix")
                  or object_field(cfg, "beads", rig_path / "config.json").get("prefix") or name)
        if not isinstance(prefix, str):
            raise StoreCorruptError(f"rig {name}: its bead prefix {prefix!r} is not text",
                                    fix=FIX_FILE)
        return RigInfo(
            name=name,
            prefix=prefix,
            git_url=str(entry.get("git_url") or cfg.get("git_url") or ""),
            default_branch=str(cfg.get("default_branch") or "main"),
            path=rig_path,
        )

    def rig(self, name: str) -> RigInfo:
        validate_rig_name(name)
        entry = self.rigs_config()["rigs"].get(name)
        if entry is None:
            known = ", ".join(sorted(self.rigs_config()["rigs"])) or "none yet"
            raise UnknownRigError(f"unknown rig {name!r} (rigs: {known})",
                                  fix="see 'gt rig list', or add it with 'gt rig add'")
        return self._rig_info(name, entry)

    def rig_for_prefix(self, prefix: str) -> RigInfo | None:
        for rig in self.rigs():
            if rig.prefix == prefix:
                return rig
        return None

    def rig_at(self, path: Path) -> RigInfo | None:
        """The rig whose directory holds path (a polecat worktree included), if any."""
        try:
            rel = Path(path).resolve().relative_to(self.root.resolve())
        except ValueError:
            return None
        if not rel.parts:
            return None
        entry = self.rigs_config()["rigs"].get(rel.parts[0])
        return self._rig_info(rel.parts[0], entry) if entry is not None else None

    def gone_reason(self, rig: str | None = None) -> str:
        """Why a loop of this town (or of `rig`) has nothing left to look after; '' if it has.

        The town is gone when its marker file is; a rig when rigs.json no longer names it or
        its directory is missing.
        """
        if not self.town_json.is_file():
            if not self.root.exists():
                return f"the town directory {self.root} is gone"
            return f"{self.root} is no longer a town (no {TOWN_MARKER})"
        if rig is not None:
            if rig not in self.rigs_config()["rigs"]:
                return f"rig {rig} was removed from the town"
            if not (self.root / rig).is_dir():
                return f"the directory of rig {rig} ({self.root / rig}) is gone"
        return ""

    def prefixes(self) -> dict[str, str]:
        """bead prefix -> rig name, with 'hq' for the town."""
        out = {"hq": ""}
        for rig in self.rigs():
            out[rig.prefix] = rig.name
        return out
