"""Names and addresses exactly as Gas Town spells them, validated before they touch a path or tmux."""

from __future__ import annotations

import re

from gastown_tui.town.errors import InvalidNameError
from gastown_tui.town.record import Record

RESERVED_RIG_NAMES = frozenset({"hq", "mayor", "deacon", "settings", "formulas", "plugins"})
RESERVED_AGENT_NAMES = frozenset({"witness", "mayor", "deacon", "refinery", "crew", "polecats"})

# \Z, not $: `$` also matches before a trailing newline, and "gastown\n" is no rig name.
_RIG_RE = re.compile(r"^[A-Za-z0-9_]{1,64}\Z")
_AGENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,63}\Z")
_PREFIX_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,19}\Z")
# bd ids: prefix, then a base36 hash (or hq-cv-xxxxx, x-wisp-xxx), then optional .N children.
_BEAD_ID_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,40}-[a-zA-Z0-9_]{1,64}(\.[0-9]{1,6}){0,8}\Z")
_COMPOUND_SUFFIXES = ("town", "ville", "port", "place", "land", "field", "wood", "ford")


def validate_rig_name(name: str) -> str:
    if not name or not _RIG_RE.match(name):
        suggestion = re.sub(r"[^A-Za-z0-9_]", "_", name or "").strip("_").lower()[:64] or "myrig"
        raise InvalidNameError(
            f"invalid rig name {name!r}: only letters, digits and _ are allowed",
            fix=f"try {suggestion!r}",
        )
    if name.lower() in RESERVED_RIG_NAMES:
        raise InvalidNameError(
            f"rig name {name!r} is reserved for town-level infrastructure",
            fix="choose another name",
        )
    return name


def validate_agent_name(name: str, *, kind: str = "polecat") -> str:
    if not name or not _AGENT_RE.match(name):
        raise InvalidNameError(
            f"invalid {kind} name {name!r}: use letters, digits and _ (starting with a letter or digit)",
            fix="pick a simple name such as 'toast'",
        )
    if name.lower() in RESERVED_AGENT_NAMES:
        raise InvalidNameError(f"{kind} name {name!r} is reserved", fix="pick another name")
    return name


def validate_prefix(prefix: str) -> str:
    if not _PREFIX_RE.match(prefix or ""):
        raise InvalidNameError(
            f"invalid bead prefix {prefix!r}: a letter then up to 19 letters, digits or '-'",
            fix="pass --prefix with a short name such as 'gt'",
        )
    if prefix.lower() == "hq":
        raise InvalidNameError("prefix 'hq' is reserved for town beads", fix="pass another --prefix")
    return prefix


def is_bead_id(value: str) -> bool:
    return bool(_BEAD_ID_RE.match(value or ""))


def validate_bead_id(value: str) -> str:
    if not is_bead_id(value):
        raise InvalidNameError(
            f"invalid bead id {value!r}",
            fix="bead ids look like 'gt-a3f' or 'hq-cv-k2j9x'",
        )
    return value


def bead_prefix(bead_id: str) -> str:
    """The routing prefix: everything before the first hyphen (as gt's ExtractPrefix)."""
    return bead_id.split("-", 1)[0]


def _split_camel(word: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for i in range(1, len(word)):
        if word[i - 1].islower() and word[i].isupper():
            parts.append(word[start:i])
            start = i
        if i >= 2 and word[i - 1].isupper() and word[i - 2].isupper() and word[i].islower():
            parts.append(word[start : i - 1])
            start = i - 1
    parts.append(word[start:])
    return [p for p in parts if p]


def _split_compound(word: str) -> list[str]:
    lower = word.lower()
    for suffix in _COMPOUND_SUFFIXES:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return [lower[: -len(suffix)], suffix]
    return [lower]


def derive_prefix(rig_name: str) -> str:
    """Upstream's deriveBeadsPrefix: gastown -> gt, my_project -> mp, myProject -> mp, foo -> foo."""
    name = rig_name
    for suffix in ("-py", "-go", "_py", "_go"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    parts = [p for p in re.split(r"[-_]", name) if p]
    if len(parts) == 1:
        camel = _split_camel(parts[0])
        parts = camel if len(camel) >= 2 else _split_compound(parts[0])
    if len(parts) >= 2:
        prefix = "".join(p[0] for p in parts).lower()
    elif len(name) <= 3:
        prefix = name.lower()
    else:
        prefix = name[:2].lower()
    if not prefix or not prefix[0].isalpha():
        prefix = "r" + prefix
    return prefix


class Address(Record):
    """An agent identity: role is mayor, deacon, witness, refinery, polecat or crew."""

    __slots__ = ("role", "rig", "name")
    _defaults = {"rig": None, "name": None}
    role: str
    rig: str | None
    name: str | None

    def __str__(self) -> str:
        if self.role in ("mayor", "deacon"):
            return self.role
        if self.role in ("witness", "refinery"):
            return f"{self.rig}/{self.role}"
        if self.role == "polecat":
            return f"{self.rig}/polecats/{self.name}"
        return f"{self.rig}/crew/{self.name}"

    @property
    def mail_identity(self) -> str:
        """Mail uses the short form (rig/name) and 'mayor/' for town roles."""
        if self.role in ("mayor", "deacon"):
            return f"{self.role}/"
        if self.role in ("polecat", "crew"):
            return f"{self.rig}/{self.name}"
        return str(self)

    def session_name(self, prefix: str | None = None) -> str:
        if self.role in ("mayor", "deacon"):
            return f"hq-{self.role}"
        if prefix is None:
            raise ValueError("rig roles need the rig's bead prefix for their session name")
        if self.role in ("witness", "refinery"):
            return f"{prefix}-{self.role}"
        if self.role == "crew":
            return f"{prefix}-crew-{self.name}"
        return f"{prefix}-{self.name}"

    def agent_bead_id(self, prefix: str | None = None) -> str:
        if self.role in ("mayor", "deacon"):
            return f"hq-{self.role}"
        if prefix is None:
            raise ValueError("rig roles need the rig's bead prefix for their agent bead id")
        if self.role in ("witness", "refinery"):
            return f"{prefix}-{self.rig}-{self.role}"
        return f"{prefix}-{self.rig}-{self.role}-{self.name}"


def parse_address(text: str) -> Address:
    """Parse mayor[/], deacon[/], rig/witness, rig/refinery, rig/name, rig/polecats/name, rig/crew/name."""
    raw = (text or "").strip()
    value = raw.rstrip("/")
    if value in ("mayor", "deacon"):
        return Address(value)
    parts = value.split("/")
    bad = InvalidNameError(
        f"invalid agent address {raw!r}",
        fix="use mayor, deacon, <rig>/witness, <rig>/refinery, <rig>/polecats/<name> or <rig>/crew/<name>",
    )
    if len(parts) == 2:
        rig, who = parts
        validate_rig_name(rig)
        if who in ("witness", "refinery"):
            return Address(who, rig)
        return Address("polecat", rig, validate_agent_name(who))
    if len(parts) == 3 and parts[1] in ("polecats", "crew"):
        rig = validate_rig_name(parts[0])
        kind = "polecat" if parts[1] == "polecats" else "crew"
        return Address(kind, rig, validate_agent_name(parts[2], kind=kind))
    raise bad


def normalize_mail_address(text: str) -> str:
    """rig/polecats/x and rig/crew/x become rig/x; mayor becomes mayor/ (as gt's normalizeAddress)."""
    value = (text or "").strip()
    if value in ("overseer", "human", "--human"):
        return "overseer"
    return parse_address(value).mail_identity
