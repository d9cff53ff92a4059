"""The role guides an agent learns its job from (`gt prime`, the worktree's CLAUDE.md/AGENTS.md).

The texts live in runtimes/roles/*.md with `${name}` placeholders filled in for the agent
reading them; roles run as plain loops here (witness, refinery, deacon) get a short note.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address

ROLES_DIR = Path(__file__).resolve().parent.parent / "runtimes" / "roles"
GUIDES = ("polecat", "mayor", "crew")  # roles with a full guide; the others are loops

LOOP_NOTES = {
    "deacon": "You are the Deacon. In this town the Deacon is a deterministic loop "
              "(`gt deacon run`): it keeps the Mayor, witnesses and refineries alive, "
              "executes death warrants (`gt warrant list`), opens gates whose condition holds "
              "(`bd gate check`), lands and feeds convoys, hands due plugins to dogs "
              "(`gt plugin list`, `gt dog list`) and prunes old records (`gt krc prune`). "
              "Its state: `gt status`; its log: `gt feed`.",
    "witness": "You are the Witness of rig ${rig}. In this town the Witness is a "
               "deterministic loop (`gt witness run ${rig}`): it watches the polecats, "
               "nudges stalled ones (GUPP), restarts dead sessions, answers HELP mail and "
               "escalates what it cannot fix. Its verdicts: `gt witness status ${rig}`.",
    "refinery": "You are the Refinery of rig ${rig}. In this town the Refinery is a "
                "deterministic loop (`gt refinery run ${rig}`): it merges the queue one MR "
                "at a time after the rig's gates. Its queue: `gt mq list ${rig}`; its state: "
                "`gt refinery status ${rig}`.",
}


@cache
def _template(role: str) -> Template:
    return Template((ROLES_DIR / f"{role}.md").read_text(encoding="utf-8"))


def role_values(town: Town, addr: Address, *, worktree: Path | None = None,
                branch: str = "") -> dict[str, str]:
    values = {"town": str(town.root), "town_name": town.name, "role": addr.role,
              "name": addr.name or "", "polecat": addr.name or "", "rig": addr.rig or "",
              "prefix": "", "default_branch": "main", "branch": branch or "(your branch)",
              "worktree": str(worktree or "")}
    if addr.rig:
        rig = town.rig(addr.rig)
        values.update(prefix=rig.prefix, default_branch=rig.default_branch)
        if addr.role == "polecat" and worktree is None:
            values["worktree"] = str(rig.polecat_worktree(str(addr.name)))
        if addr.role == "crew" and worktree is None:
            values["worktree"] = str(rig.path / "crew" / str(addr.name))
    rigs = town.rigs()
    values["rigs"] = ", ".join(f"{r.name} (prefix {r.prefix}-)" for r in rigs) or \
        "none yet (add one with `gt rig add <name> <git-url-or-path>`)"
    return values


def role_text(town: Town, addr: Address, *, worktree: Path | None = None,
              branch: str = "") -> str:
    """The guide for `addr`, filled in; '' for a role we have nothing to say about."""
    values = role_values(town, addr, worktree=worktree, branch=branch)
    if addr.role in GUIDES:
        return _template(addr.role).safe_substitute(values)
    note = LOOP_NOTES.get(addr.role)
    return Template(note).safe_substitute(values) + "\n" if note else ""


def guide_commands(role: str) -> str:
    """The raw guide of a role, placeholders and all (for the tests that run its commands)."""
    return (ROLES_DIR / f"{role}.md").read_text(encoding="utf-8")
