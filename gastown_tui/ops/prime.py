"""`gt prime [--hook]`: an agent's role context, its hooked bead and the attached formula's
steps with variables filled in (reference §3.1 GUPP; what Claude's SessionStart hook prints)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops import mail as mail_ops
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, parse_address
from gastown_tui.town.store import BeadStore

ROLE_TEXT = {
    "mayor": "You are the Mayor: you turn the overseer's requests into beads and sling them to "
             "rigs (`bd create`, `gt sling <bead> <rig>`), watch convoys (`gt convoy list`) "
             "and answer mail.",
    "deacon": "You are the Deacon: you keep the town's agents alive and land finished convoys.",
    "witness": "You are a Witness: you watch your rig's polecats, nudge the stuck ones and "
               "escalate what you cannot fix.",
    "refinery": "You are the Refinery: you merge your rig's merge requests into the default "
                "branch, one at a time, after the gates pass.",
    "polecat": "You are a polecat: a worker with one job, the bead on your hook. If there is "
               "work on your hook, YOU MUST RUN IT. When it is committed, run `gt done`.",
    "crew": "You are crew: a human-guided worker in this rig.",
}


def identity(town: Town, cwd: Path) -> Address:
    role = os.environ.get("GT_ROLE") or os.environ.get("BD_ACTOR") or ""
    if role:
        try:
            return parse_address(role)
        except GasTownError:
            pass
    rig = town.rig_at(cwd)
    if rig is not None:
        try:
            rel = cwd.resolve().relative_to(rig.path.resolve())
        except ValueError:
            rel = Path()
        if rel.parts[:1] == ("polecats",) and len(rel.parts) > 1:
            return Address("polecat", rig.name, rel.parts[1])
        if rel.parts[:1] in (("witness",), ("refinery",)):
            return Address(rel.parts[0], rig.name)
    return Address("mayor")


def _formula_vars(town: Town, addr: Address, bead: dict[str, Any]) -> dict[str, str]:
    values = {"issue": bead["id"], "feature": bead["title"], "title": bead["title"]}
    if addr.rig:
        rig = town.rig(addr.rig)
        values["base_branch"] = rig.default_branch
        values["rig"] = rig.name
        mq = (read_json(rig.path / "settings" / "config.json", {}) or {}).get("merge_queue") or {}
        for key in ("setup_command", "typecheck_command", "lint_command", "test_command",
                    "build_command"):
            values[key] = str(mq.get(key) or "")
    fields = parse_fields(bead.get("description", ""))
    for line in (fields.get("formula_vars") or "").split(","):
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def formula_steps(town: Town, addr: Address, bead: dict[str, Any]) -> tuple[str, list[str]]:
    """(formula name, rendered step lines) for the bead's attached formula, if any."""
    name = parse_fields(bead.get("description", "")).get("attached_formula", "")
    if not name:
        return "", []
    from gastown_tui.formulas.resolve import FormulaLibrary  # lazy: pydantic, tomlkit

    try:
        resolved = FormulaLibrary(town.root, addr.rig).resolve(
            name, _formula_vars(town, addr, bead), require_all=False)
    except GasTownError as exc:
        return name, [f"(formula {name} could not be loaded: {exc})"]
    lines = []
    for number, step in enumerate(resolved.steps, start=1):
        needs = f"  (after {', '.join(step.needs)})" if step.needs else ""
        lines.append(f"{number}. [{step.id}] {step.title}{needs}")
        for text in step.description.strip().splitlines():
            lines.append(f"     {text}")
    return name, lines


def prime(town: Town, store: BeadStore, *, cwd: Path | None = None, hook_only: bool = False
          ) -> dict[str, Any]:
    addr = identity(town, Path(cwd or Path.cwd()))
    agent = "mayor/" if addr.role == "mayor" else str(addr)
    bead = hook_ops.hooked_for(store, str(addr)) or (
        hook_ops.hooked_for(store, agent) if agent != str(addr) else None)
    unread = [m for m in mail_ops.inbox(store, addr.mail_identity, include_read=False)]
    out: dict[str, Any] = {"role": addr.role, "address": str(addr), "rig": addr.rig or "",
                           "town": str(town.root), "hook": None, "formula": "", "steps": [],
                           "unread_mail": len(unread)}
    lines = [f"# Gas Town — {addr} ({addr.role})", "", ROLE_TEXT.get(addr.role, ""), "",
             f"Town: {town.root}"]
    if addr.rig:
        rig = town.rig(addr.rig)
        lines.append(f"Rig: {rig.name} (beads prefix {rig.prefix}, branch {rig.default_branch})")
    lines.append("")
    if bead is None:
        lines.append("Your hook is empty. Check your mail (`gt mail inbox`) for work.")
    else:
        out["hook"] = {"id": bead["id"], "title": bead["title"], "status": bead["status"]}
        fields = parse_fields(bead.get("description", ""))
        lines += [f"## On your hook: {bead['id']} — {bead['title']} [{bead['status']}]", ""]
        if fields.get("merge_request"):
            lines.append(f"Submitted: merge request {fields['merge_request']} is in the queue. "
                         "Wait for mail from the Refinery (FIX_NEEDED means: fix, commit, gt done).")
        lines += [bead.get("description", "").strip(), ""]
        name, steps = formula_steps(town, addr, bead)
        if name:
            out["formula"] = name
            out["steps"] = steps
            lines += [f"## Steps ({name})", *steps, ""]
        if addr.role == "polecat":
            lines.append("When the work is committed: `gt done`.")
    if unread and not hook_only:
        lines += ["", f"## Mail: {len(unread)} unread"]
        lines += [f"- {m['id']} from {m['from']}: {m['subject']}" for m in unread[:10]]
    out["text"] = "\n".join(lines).rstrip() + "\n"
    return out
