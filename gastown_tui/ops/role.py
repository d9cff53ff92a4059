"""`gt role`: which agent role a directory (or GT_ROLE) stands for, upstream's RoleInfo.

GT_ROLE is authoritative when set; the working directory is always read too, and a
disagreement is reported (an agent started in the wrong place, or a stale shell).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_tui.town.layout import Town

ROLES: tuple[tuple[str, str], ...] = (
    ("mayor", "Global coordinator at mayor/"),
    ("deacon", "Background supervisor daemon"),
    ("witness", "Per-rig polecat lifecycle manager"),
    ("refinery", "Per-rig merge queue processor"),
    ("polecat", "Worker with persistent identity, ephemeral sessions"),
    ("crew", "Persistent worker with own worktree"),
)
RIG_ROLES = frozenset({"witness", "refinery", "polecat", "crew"})
NAMED_ROLES = frozenset({"polecat", "crew", "dog"})


@dataclass
class RoleInfo:
    role: str
    source: str  # env | cwd
    home: str = ""
    rig: str = ""
    polecat: str = ""  # a polecat's, crew member's or dog's name
    env_role: str = ""
    cwd_role: str = ""
    mismatch: bool = False
    env_incomplete: bool = False
    town_root: str = ""
    work_dir: str = ""

    def as_json(self) -> dict[str, Any]:
        """Upstream's RoleInfo: empty optional fields left out (its omitempty)."""
        out: dict[str, Any] = {"role": self.role, "source": self.source, "home": self.home}
        for key in ("rig", "polecat", "env_role", "cwd_role", "mismatch", "env_incomplete",
                    "town_root", "work_dir"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


def detect(town: Town, cwd: Path) -> RoleInfo:
    """The role the directory stands for (upstream's detectRole); the town root is neutral."""
    info = RoleInfo(role="unknown", source="cwd", town_root=str(town.root), work_dir=str(cwd))
    try:
        parts = Path(cwd).resolve().relative_to(town.root.resolve()).parts
    except ValueError:
        return info
    if not parts:
        return info
    if parts[0] == "mayor":
        info.role = "mayor"
    elif parts[0] == "deacon" and parts[1:3] == ("dogs", "boot"):
        info.role = "boot"
    elif parts[0] == "deacon" and len(parts) >= 3 and parts[1] == "dogs":
        info.role, info.polecat = "dog", parts[2]
    elif parts[0] == "deacon":
        info.role = "deacon"
    else:
        info.rig = parts[0]
        sub = parts[1] if len(parts) > 1 else ""
        if sub in ("mayor", "witness", "refinery"):
            info.role = sub
        elif sub in ("polecats", "crew") and len(parts) >= 3:
            info.role = "polecat" if sub == "polecats" else "crew"
            info.polecat = parts[2]
    info.home = home(town, info.role, info.rig, info.polecat)
    return info


def parse_role(text: str) -> tuple[str, str, str]:
    """(role, rig, name) from "mayor", "gastown/witness", "gastown/polecats/nux" and the like."""
    s = text.strip()
    while "//" in s:
        s = s.replace("//", "/")
    s = s.rstrip("/")
    if s in ("mayor", "deacon", "boot", "dog"):
        return s, "", ""
    parts = s.split("/")
    if len(parts) < 2:
        return s, "", ""
    rig, kind = parts[0], parts[1]
    if kind == "boot" and rig == "deacon" and len(parts) == 2:
        return "boot", "", ""
    if kind in ("witness", "refinery"):
        return kind, rig, ""
    if kind in ("polecats", "crew"):
        return ("polecat" if kind == "polecats" else "crew"), rig, parts[2] if len(parts) > 2 else ""
    return "polecat", rig, kind


def current(town: Town, cwd: Path, environ: dict[str, str] | None = None) -> RoleInfo:
    """GT_ROLE first (GT_RIG, GT_CREW, GT_POLECAT complete it), else the directory."""
    env = os.environ if environ is None else environ
    here = detect(town, cwd)
    env_role = env.get("GT_ROLE", "")
    if not env_role:
        return here
    role, rig, name = parse_role(env_role)
    info = RoleInfo(role=role, source="env", rig=rig or env.get("GT_RIG", ""),
                    polecat=name or env.get("GT_CREW", "") or env.get("GT_POLECAT", ""),
                    env_role=env_role, cwd_role=here.role if here.role != "unknown" else "",
                    town_root=str(town.root), work_dir=str(cwd))
    if role in RIG_ROLES and not info.rig and here.rig:
        info.rig, info.env_incomplete = here.rig, True
    if role in NAMED_ROLES and not info.polecat and here.polecat:
        info.polecat, info.env_incomplete = here.polecat, True
    info.mismatch = here.role != "unknown" and here.role != role
    info.home = home(town, role, info.rig, info.polecat)
    return info


def home(town: Town, role: str, rig: str = "", name: str = "") -> str:
    """The role's canonical directory ('' when rig or name is missing, or the role unknown)."""
    root = town.root
    if role == "mayor":
        return str(root / "mayor")
    if role == "deacon":
        return str(root / "deacon")
    if role == "boot":
        return str(root / "deacon" / "dogs" / "boot")
    if role == "dog":
        return str(root / "deacon" / "dogs" / name) if name else ""
    if role == "witness" and rig:
        return str(root / rig / "witness")
    if role == "refinery" and rig:
        return str(root / rig / "refinery" / "rig")
    if role in ("polecat", "crew") and rig and name:
        return str(root / rig / ("polecats" if role == "polecat" else "crew") / name)
    return ""
