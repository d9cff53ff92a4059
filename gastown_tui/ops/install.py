"""`gt install`: create a town directory with the layout of town-format.md."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.town import safe_write
from gastown_tui.town.errors import TownExistsError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import TOWN_MARKER, Town, now_rfc3339
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore

TOWN_CLAUDE_MD = """# Gas Town

This directory is a Gas Town: a town of AI coding agents working on the rigs (git projects) below.

Run `gt prime` to learn your role and your work, then `gt hook` to see what is on your hook.
If there is work on your hook, you run it.
"""

DEFAULT_SETTINGS = {
    "type": "town-settings",
    "version": 1,
    "default_agent": "claude",
    "agents": {},
    "role_agents": {},
    "convoy": {"notify_on_complete": False},
}

DEFAULT_ESCALATION = {
    "type": "escalation",
    "version": 1,
    "routes": {
        "low": ["bead"],
        "medium": ["bead", "mail:mayor"],
        "high": ["bead", "mail:mayor", "email:human"],
        "critical": ["bead", "mail:mayor", "email:human", "sms:human"],
    },
    "contacts": {"human_email": "", "human_sms": "", "slack_webhook": ""},
    "stale_threshold": "4h",
    "max_reescalations": 2,
}

CONTROL_ROOM_TOML = """# Settings of the gastown-tui control room.
theme = "textual-dark"

[keys]
# Override a key here, e.g. nudge = "N"
"""


@dataclass(frozen=True)
class InstallResult:
    root: Path
    name: str
    created: bool
    store: str = ""  # where the bead store lives (a URL without its password, or a path)


def _git_identity() -> str:
    try:
        out = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True,
                             timeout=5, check=False)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def install(directory: Path, *, name: str | None = None, owner: str | None = None,
            store: str | None = None, pg_port: int | None = None,
            pg_listen: str | None = None) -> InstallResult:
    """`store`: sqlite (the default), postgres (a cluster inside the town, socket only unless
    `pg_port`/`pg_listen`), or a postgresql:// URL to join; None keeps an existing town's."""
    from gastown_tui.ops import store_admin

    root = Path(directory).expanduser().resolve()
    store_admin.check_choice(store, root)
    is_town = (root / TOWN_MARKER).is_file()
    if root.exists() and not root.is_dir():
        raise TownExistsError(f"{root} exists and is not a directory",
                              fix="choose another path for the town")
    if root.is_dir() and not is_town and any(root.iterdir()):
        raise TownExistsError(f"{root} is not empty and is not a Gas Town town",
                              fix="choose an empty or new directory, e.g. 'gt install ~/gt'")
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("mayor", "deacon/dogs/boot", "settings", "formulas", "plugins", ".beads",
                ".runtime/heartbeats", ".runtime/nudge_queue", ".runtime/locks"):
        safe_write.ensure_dir(root / sub, within=root)
    town = Town(root)
    created = not is_town
    if not is_town:
        write_json(town.town_json, {
            "type": "town", "version": 2, "name": name or root.name,
            "owner": owner or _git_identity() or os.environ.get("USER", ""),
            "public_name": name or root.name, "created_at": now_rfc3339(),
        }, within=root)
    if read_json(town.rigs_json) is None:
        write_json(town.rigs_json, {"version": 1, "rigs": {}}, within=root)
    if read_json(town.settings_json) is None:
        write_json(town.settings_json, DEFAULT_SETTINGS, within=root)
    if read_json(root / "settings" / "escalation.json") is None:
        write_json(root / "settings" / "escalation.json", DEFAULT_ESCALATION, within=root)
    control_room = root / "settings" / "control-room.toml"
    if not control_room.exists():
        safe_write.write_text(control_room, CONTROL_ROOM_TOML, within=root)
    claude_md = root / "CLAUDE.md"
    if not claude_md.exists():
        safe_write.write_text(claude_md, TOWN_CLAUDE_MD, within=root)
    agents_md = root / "AGENTS.md"
    if not agents_md.exists() and not agents_md.is_symlink():
        agents_md.symlink_to("CLAUDE.md")
    safe_write.append_bytes(root / ".events.jsonl", b"", within=root)
    location = store_admin.configure(town, store, port=pg_port, listen=pg_listen,
                                     fresh=created)
    beads = BeadStore.create_at(location, actor="mayor")
    try:
        ensure_agent_bead(beads, Address("mayor"), None)
        ensure_agent_bead(beads, Address("deacon"), None)
    finally:
        beads.close_connection()
    if created:
        log_event(root, "install", actor="overseer", payload={"name": town.name})
    from gastown_tui.town.store.backend import display

    return InstallResult(root=root, name=town.name, created=created, store=display(location))
