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
    name = _hashed_theme(rig.name)
    return name, THEMES[name]


def _hashed_theme(rig_name: str) -> str:
    """An unconfigured rig's theme, picked from its name."""
    h = 0
    for byte in rig_name.encode():
        h = (h * 31 + byte) & 0xFFFFFFFF  # Go's int arithmetic, kept in 32 bits
    return sorted(THEMES)[h % len(THEMES)]


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


# ------------------------------------------------------------------ gt namepool
def _settings_path(rig: RigInfo) -> Path:
    return rig.path / "settings" / "config.json"


def _pool_settings(rig: RigInfo) -> tuple[dict, dict]:
    """(the rig's settings, its namepool section), refusing a section of the wrong shape."""
    from gastown_tui.town.errors import ValidationError

    settings = read_json(_settings_path(rig), {}) or {}
    if not isinstance(settings, dict):
        raise ValidationError(f"{_settings_path(rig)} is not a settings object",
                              fix="gt doctor names what is wrong with it")
    pool = settings.get("namepool")
    if pool is None:
        pool = settings["namepool"] = {}
    if not isinstance(pool, dict):
        raise ValidationError(f"namepool in {_settings_path(rig)} is not an object",
                              fix="gt config unset --rig <rig> namepool")
    return settings, pool


def pool_status(rig: RigInfo) -> dict:
    """What `gt namepool` shows: the theme, whether it is configured, the names in use."""
    _, pool = _pool_settings(rig)
    style = pool.get("style") if pool.get("style") in THEMES else ""
    theme = style or _hashed_theme(rig.name)
    custom = [n for n in pool.get("names") or [] if isinstance(n, str) and n]
    _, names = theme_for(rig)
    in_use = sorted(names_in_use(rig))
    return {"rig": rig.name, "theme": theme, "builtin": True,
            "configured": bool(style or custom), "custom_names": custom,
            "polecats": len(in_use), "in_use": in_use,
            "max_before_numbering": MAX_THEMED, "pool_size": len(names[:MAX_THEMED])}


def set_style(rig: RigInfo, theme: str) -> None:
    from gastown_tui.town.errors import ValidationError
    from gastown_tui.town.jsonfile import write_json

    if theme not in THEMES:
        raise ValidationError(f"unknown theme: {theme}",
                              fix="use 'gt namepool themes' to list available themes")
    settings, pool = _pool_settings(rig)
    pool["style"] = theme  # custom names, if any, are kept (and still come first)
    write_json(_settings_path(rig), settings)


def add_name(rig: RigInfo, name: str) -> bool:
    """Add a custom name to the rig's pool; False when it was already there."""
    from gastown_tui.town.jsonfile import write_json
    from gastown_tui.town.names import validate_agent_name

    name = validate_agent_name(name.lower())
    settings, pool = _pool_settings(rig)
    names = [n for n in pool.get("names") or [] if isinstance(n, str)]
    if name in names:
        return False
    pool["names"] = [*names, name]
    write_json(_settings_path(rig), settings)
    return True


def reset(rig: RigInfo, *, grace: float = 60.0) -> list[str]:
    """Release the names nobody holds any more: a name is in use while its polecat directory
    exists (as upstream reconciles it), so what a reset can free is a claim a sling left
    behind when it died (an empty directory older than `grace` seconds, or a .pending
    marker). A polecat with anything in its directory keeps its name: nuke it to free it."""
    import time

    released = []
    lock_path = rig.path / ".runtime" / "namepool.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    if not rig.polecats_dir.is_dir():
        return released
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        now = time.time()
        for entry in sorted(rig.polecats_dir.iterdir()):
            if entry.is_symlink() or entry.name.startswith("."):
                continue
            if entry.name.endswith(".pending") and entry.is_file():
                entry.unlink(missing_ok=True)
                released.append(entry.name.removesuffix(".pending"))
            elif (entry.is_dir() and not any(entry.iterdir())
                  and now - entry.stat().st_mtime > grace):
                entry.rmdir()
                released.append(entry.name)
    return released
