"""`gt hooks`: the hook files this town writes for each runtime, whether each is in place,
and rewriting them (what every agent start does for its own role).

Claude Code's settings live once per role (<rig>/polecats/.claude/settings.json, passed with
--settings); Gemini CLI's and OpenCode's live in the agent's working directory, so they are
listed for a worktree that is named (for the runtime its agent's role resolves to). The expected content is exactly what an agent start
writes (ops/sessions.py), so "in sync" means the next start would change nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_tui.ops.sessions import (
    CLAUDE_SETTINGS,
    GEMINI_SETTINGS,
    OPENCODE_PLUGIN,
    settings_dir,
)
from gastown_tui.town import safe_write
from gastown_tui.town.errors import ValidationError
from gastown_tui.town.jsonfile import write_json
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address


@dataclass
class HookTarget:
    target: str  # upstream's display key: mayor, deacon, gastown/polecats, …
    runtime: str  # claude | gemini | opencode
    path: Path
    status: str = "missing"  # in sync | out of sync | missing | error
    exists: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "runtime": self.runtime, "overrides": [],
                "status": self.status, "path": str(self.path), "exists": self.exists}


def _claude_targets(town: Town) -> list[tuple[str, Address]]:
    out = [("mayor", Address("mayor")), ("deacon", Address("deacon"))]
    for rig in town.rigs():
        out += [(f"{rig.name}/crew", Address("crew", rig.name, "x")),
                (f"{rig.name}/polecats", Address("polecat", rig.name, "x")),
                (f"{rig.name}/refinery", Address("refinery", rig.name)),
                (f"{rig.name}/witness", Address("witness", rig.name))]
    return out


def _expected(runtime: str) -> Any:
    return {"claude": CLAUDE_SETTINGS, "gemini": GEMINI_SETTINGS}.get(runtime, OPENCODE_PLUGIN)


def _status(target: HookTarget) -> HookTarget:
    path = target.path
    if path.is_symlink():
        target.exists, target.status = True, "error"  # never followed: a link is not ours
        return target
    if not path.is_file():
        return target
    target.exists = True
    try:
        text = path.read_text(encoding="utf-8")
        current: Any = text if target.runtime == "opencode" else json.loads(text)
    except (OSError, ValueError):
        target.status = "error"
        return target
    target.status = "in sync" if current == _expected(target.runtime) else "out of sync"
    return target


def worktree_targets(town: Town, worktree: Path) -> list[HookTarget]:
    """The file the agent working in `worktree` gets there: Gemini CLI's settings or
    OpenCode's plugin, by the runtime its role resolves to (none for Claude Code, whose
    settings are its role's; none for a runtime without hooks)."""
    from gastown_tui.ops.role import detect
    from gastown_tui.runtimes.presets import resolve_runtime

    info = detect(town, worktree)
    if info.role not in ("mayor", "deacon", "witness", "refinery", "polecat", "crew"):
        raise ValidationError(f"{worktree} is no agent's directory (its role is {info.role})",
                              fix="name a polecat's, crew's, witness's or refinery's worktree")
    provider = resolve_runtime(town, info.role, info.rig or None).hooks_provider
    target = info.rig + "/" + (f"polecats/{info.polecat}" if info.role == "polecat" else
                               f"crew/{info.polecat}" if info.role == "crew" else info.role) \
        if info.rig else info.role
    if provider == "gemini":
        return [HookTarget(target, "gemini", worktree / ".gemini" / "settings.json")]
    if provider == "opencode":
        return [HookTarget(target, "opencode",
                           worktree / ".opencode" / "plugins" / "gastown.js")]
    return []


def list_targets(town: Town, worktree: Path | None = None) -> list[HookTarget]:
    targets = [HookTarget(key, "claude", settings_dir(town, addr) / ".claude" / "settings.json")
               for key, addr in _claude_targets(town)]
    if worktree is not None:
        targets += worktree_targets(town, worktree)
    return [_status(t) for t in targets]


def sync(town: Town, worktree: Path | None = None, *, dry_run: bool = False
         ) -> list[HookTarget]:
    """Rewrite every target that is missing or out of sync (never through a link: safe_write
    refuses one); returns the targets that were (or, dry, would be) written."""
    changed = [t for t in list_targets(town, worktree) if t.status != "in sync"]
    if dry_run:
        return changed
    for target in changed:
        # The worktree's files are written below the worktree, never outside it.
        within = worktree if target.runtime != "claude" else town.root
        if target.runtime == "opencode":
            safe_write.write_text(target.path, OPENCODE_PLUGIN, within=within)
        else:
            write_json(target.path, _expected(target.runtime), within=within)
        target.exists, target.status = True, "in sync"
    return changed
