"""Polecat names: a 50-name theme per rig, then numbers from 51 (reference §2.2)."""

from __future__ import annotations

import fcntl
from pathlib import Path

from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import RigInfo
from gastown_tui.town.names import RESERVED_AGENT_NAMES

THEMES: dict[str, tuple[str, ...]] = {
    "mad-max": (
        "furiosa", "nux", "slit", "rictus", "dementus", "capable", "toast", "dag", "cheedo",
        "valkyrie", "keeper", "morsov", "ace", "warboy", "imperator", "splendid", "angharad",
        "joe", "scrotus", "corpus", "organic", "bullet", "farmer", "praetorian", "vuvalini",
        "immortan", "jabassa", "mary", "glory", "miss", "tortoise", "octoboss", "gastown",
        "citadel", "bullet_farm", "doof", "coma", "prime", "lancer", "kamacrazee", "buzzard",
        "rockrider", "fang", "nitro", "chrome", "witness_me", "fury", "road", "rig", "sandstorm",
    ),
    "minerals": (
        "obsidian", "quartz", "jasper", "onyx", "garnet", "topaz", "opal", "agate", "beryl",
        "cobalt", "flint", "granite", "basalt", "marble", "mica", "pyrite", "galena", "halite",
        "gypsum", "talc", "feldspar", "olivine", "zircon", "rutile", "malachite", "azurite",
        "calcite", "dolomite", "fluorite", "hematite", "magnetite", "jade", "amber", "coral",
        "pearl", "ruby", "sapphire", "emerald", "diamond", "spinel", "tourmaline", "peridot",
        "citrine", "amethyst", "carnelian", "chalcedony", "lapis", "turquoise", "cinnabar",
        "bismuth",
    ),
    "wasteland": (
        "rust", "chrome", "nitro", "dust", "ash", "cinder", "scrap", "bolt", "rivet", "piston",
        "gasket", "sprocket", "crank", "axle", "clutch", "diesel", "torque", "spark", "fuse",
        "static", "rad", "geiger", "scav", "drifter", "nomad", "raider", "ranger", "outrider",
        "vulture", "jackal", "coyote", "hyena", "scorpion", "viper", "mamba", "cobra", "gecko",
        "iguana", "raven", "crow", "kestrel", "falcon", "hawk", "osprey", "condor", "harrier",
        "mirage", "dune", "mesa", "canyon",
    ),
}
MAX_THEMED = 50


def theme_for(rig: RigInfo) -> tuple[str, tuple[str, ...]]:
    settings = read_json(rig.path / "settings" / "config.json", {}) or {}
    pool = settings.get("namepool") or {}
    custom = [n for n in pool.get("names") or [] if isinstance(n, str) and n]
    if custom:
        return "custom", tuple(custom)
    style = pool.get("style")
    if style in THEMES:
        return style, THEMES[style]
    h = 0
    for byte in rig.name.encode():
        h = (h * 31 + byte) & 0xFFFFFFFF  # Go's int arithmetic, kept in 32 bits
    name = sorted(THEMES)[h % len(THEMES)]
    return name, THEMES[name]


def names_in_use(rig: RigInfo) -> set[str]:
    """In use is derived from the disk: polecat directories and pending markers."""
    if not rig.polecats_dir.is_dir():
        return set()
    used = set()
    for entry in rig.polecats_dir.iterdir():
        if entry.name.startswith("."):
            continue
        used.add(entry.name.removesuffix(".pending"))
    return used


def allocate(rig: RigInfo) -> str:
    """Claim the first free name by creating its directory, under the rig's pool lock."""
    lock_path = rig.path / ".runtime" / "namepool.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    rig.polecats_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        used = names_in_use(rig)
        _, names = theme_for(rig)
        candidates = [n for n in names[:MAX_THEMED]
                      if n not in used and n not in RESERVED_AGENT_NAMES]
        name = candidates[0] if candidates else _overflow(used)
        (rig.polecats_dir / name).mkdir()
        return name


def claim(rig: RigInfo, name: str) -> bool:
    """Take a particular name (a restore wants its old one) if nobody holds it."""
    lock_path = rig.path / ".runtime" / "namepool.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    rig.polecats_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if name in names_in_use(rig):
            return False
        (rig.polecats_dir / name).mkdir()
        return True


def _overflow(used: set[str]) -> str:
    n = MAX_THEMED + 1
    while str(n) in used:
        n += 1
    return str(n)


def release(rig: RigInfo, name: str) -> None:
    path: Path = rig.polecats_dir / f"{name}.pending"
    path.unlink(missing_ok=True)
