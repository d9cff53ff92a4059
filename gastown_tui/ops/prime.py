"""`gt prime [--hook]`: an agent's role context, its hooked bead and the attached formula's
steps with variables filled in (reference §3.1 GUPP; what Claude's SessionStart hook prints)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops import mail as mail_ops
from gastown_tui.ops.memories import list_memories
from gastown_tui.ops.role_text import role_text
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address, parse_address
from gastown_tui.town.store import BeadStore


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
        if rel.parts[:1] == ("crew",) and len(rel.parts) > 1:
            return Address("crew", rig.name, rel.parts[1])
        if rel.parts[:1] in (("witness",), ("refinery",)):
            return Address(rel.parts[0], rig.name)
    return Address("mayor")


def formula_vars(town: Town, addr: Address, bead: dict[str, Any]) -> dict[str, str]:
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


def steps_done(bead: dict[str, Any]) -> list[str]:
    """The steps of the bead's formula marked done (`gt mol step done <step>`)."""
    raw = parse_fields(bead.get("description", "")).get("steps_done", "")
    return [s for s in (x.strip() for x in raw.split(",")) if s]


def formula_steps(town: Town, addr: Address, bead: dict[str, Any],
                  parked: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """(formula name, rendered step lines) for the bead's attached formula, if any; `parked`
    maps a step to the open gate it waits on (shown on the step)."""
    name = parse_fields(bead.get("description", "")).get("attached_formula", "")
    if not name:
        return "", []
    from gastown_tui.formulas.resolve import FormulaLibrary  # lazy: pydantic, tomlkit

    try:
        resolved = FormulaLibrary(town.root, addr.rig).resolve(
            name, formula_vars(town, addr, bead), require_all=False)
    except GasTownError as exc:
        return name, [f"(formula {name} could not be loaded: {exc})"]
    lines = []
    done = set(steps_done(bead))
    for number, step in enumerate(resolved.steps, start=1):
        needs = f"  (after {', '.join(step.needs)})" if step.needs else ""
        gate = (parked or {}).get(step.id, "")
        mark = "[x]" if step.id in done else "[⏸]" if gate else "[ ]"
        lines.append(f"{number}. {mark} [{step.id}] {step.title}{needs}")
        if gate:
            lines.append(f"     PARKED on gate {gate}. Stop here: you are nudged "
                         "(GATE_OPEN) when it opens, then do this step.")
        for text in step.description.strip().splitlines():
            lines.append(f"     {text}")
    return name, lines


HANDOFF_PREFIX = "🤝 HANDOFF"


def handoff_notes(store: BeadStore, addr: Address) -> list[dict[str, Any]]:
    """Open handoff mail an agent sent itself, newest first (gt handoff writes them)."""
    notes = [m for m in mail_ops.inbox(store, addr.mail_identity)
             if m["subject"].startswith(HANDOFF_PREFIX) and m["from"] == addr.mail_identity]
    return sorted(notes, key=lambda m: m["timestamp"], reverse=True)


def prime(town: Town, store: BeadStore, *, cwd: Path | None = None, hook_only: bool = False,
          session: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything an agent needs to (re)start its work: its role guide, the bead on its hook
    with the formula's steps filled in, its handoff notes, its unread mail (and, for the
    Mayor, the town's memories). `session` is what the runtime's hook said (id, source)."""
    addr = identity(town, Path(cwd or Path.cwd()))
    agent = "mayor/" if addr.role == "mayor" else str(addr)
    bead = hook_ops.hooked_for(store, str(addr)) or (
        hook_ops.hooked_for(store, agent) if agent != str(addr) else None)
    unread = mail_ops.inbox(store, addr.mail_identity, include_read=False)
    notes = handoff_notes(store, addr)
    note_ids = {n["id"] for n in notes}
    unread = [m for m in unread if m["id"] not in note_ids]
    out: dict[str, Any] = {"role": addr.role, "address": str(addr), "rig": addr.rig or "",
                           "town": str(town.root), "hook": None, "formula": "", "steps": [],
                           "unread_mail": len(unread), "handoff": [n["id"] for n in notes],
                           "session": session or {}}
    tags: list[str] = []
    if session and session.get("session_id"):
        tags.append(f"[session:{session['session_id']}]")
        if session.get("source"):
            tags.append(f"[source:{session['source']}]")
    branch = os.environ.get("GT_BRANCH", "") if addr.role == "polecat" else ""
    guide = role_text(town, addr, branch=branch)
    guide = guide.rstrip() if guide else f"# Gas Town: {addr} ({addr.role})"
    where = [f"Town: {town.root}"]
    if addr.rig:
        rig = town.rig(addr.rig)
        where.append(f"Rig: {rig.name} (beads prefix {rig.prefix}-, branch {rig.default_branch})")
    if bead is None:
        hook = ["## Your hook is empty",
                "Check your mail (`gt mail inbox`); a polecat with an empty hook tells "
                "its witness." if addr.role == "polecat" else
                "Check your mail (`gt mail inbox`), then wait for instructions."]
    else:
        out["hook"] = {"id": bead["id"], "title": bead["title"], "status": bead["status"]}
        hook = _hook_section(town, addr, bead, out, store)
    handoff: list[str] = []
    if notes:
        latest = notes[0]
        handoff = [f"## Handoff from your previous session ({latest['timestamp']})",
                   f"**{latest['subject']}**", "", (latest["body"] or "(no notes)").strip()]
        if len(notes) > 1:
            handoff.append(f"(and {len(notes) - 1} older handoff note(s): `gt mail inbox`)")
    mail: list[str] = []
    if unread:
        mail = [f"## Mail: {len(unread)} unread"]
        mail += [f"- {m['id']} from {m['from']}: {m['subject']}" for m in unread[:10]]
        mail.append("Read with `gt mail read <id>`.")
    memories = _memories_section(town) if addr.role == "mayor" else []
    if hook_only:
        out["text"] = hook_text(addr, tags, where, hook, handoff, mail, memories, guide)
        return out
    lines = [*tags, guide, "", "---", "", *where, "", *hook]
    if handoff:
        lines += ["", *handoff]
    if mail:
        lines += ["", *mail]
    lines += memories
    out["text"] = "\n".join(lines).rstrip() + "\n"
    return out


# Claude Code keeps a hook's output only up to about 10,000 characters (more is replaced by a
# 2 KB preview and a file path the model never opens), so what the model must know comes
# first and the whole stays under this.
HOOK_BUDGET = 8000


def _cut(lines: list[str], budget: int, more: str) -> list[str]:
    """`lines` cut to `budget` characters, ending with where to read the rest."""
    out: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            out.append(f"… (cut here to fit the session-start limit; {more})")
            break
        out.append(line)
        used += len(line) + 1
    return out


def hook_text(addr: Address, tags: list[str], where: list[str], hook: list[str],
              handoff: list[str], mail: list[str], memories: list[str], guide: str) -> str:
    """`gt prime --hook`: the hook, its steps, the handoff note and the mail first, then the
    role guide if it still fits, else where to read it. Never over HOOK_BUDGET."""
    who = f"{addr.role} {addr.name}" if addr.name else addr.role
    head = [*tags, f"# Gas Town: you are the {who}" + (f" of rig {addr.rig}" if addr.rig else "")
            + " (session start: your work first, your role guide after)", *where, ""]
    parts: list[list[str]] = [head]
    left = HOOK_BUDGET - 600  # room for the guide's pointer at the end
    for section, more in ((hook, "`gt hook` and `bd show <id>` show it all"),
                          (handoff, "`gt mail inbox` has the whole note"),
                          (mail, "`gt mail inbox`"), (memories, "`gt memories`")):
        if not section:
            continue
        size = sum(len(line) + 1 for part in parts for line in part)
        cut = _cut(section, max(200, left - size), more)
        parts.append([*cut, ""])
    text = "\n".join(line for part in parts for line in part).rstrip() + "\n"
    guide_block = f"\n---\n\n{guide}\n"
    if len(text) + len(guide_block) <= HOOK_BUDGET:
        return text + guide_block
    where_guide = ("CLAUDE.md/AGENTS.md in your worktree" if addr.role == "polecat"
                   else "`gt prime`")
    return (text + "\n---\n\nYour role guide (how your work ends, the commands you use) is in "
            f"{where_guide}; `gt prime` prints it in full. Read it before you start if you "
            "have not.\n")


def _hook_section(town: Town, addr: Address, bead: dict[str, Any],
                  out: dict[str, Any], store: BeadStore | None = None) -> list[str]:
    fields = parse_fields(bead.get("description", ""))
    lines = [f"## On your hook: {bead['id']} — {bead['title']} [{bead['status']}]", ""]
    if "gt:message" in bead.get("labels", []):
        lines.append("This is a message: its text is your instructions (GUPP).")
    if fields.get("merge_request"):
        lines.append(f"Submitted: merge request {fields['merge_request']} is in the queue. "
                     "Wait for mail from the Refinery (FIX_NEEDED means: fix, commit, gt done).")
    lines += [bead.get("description", "").strip(), ""]
    if bead.get("notes"):
        lines += ["### Notes saved on the bead", bead["notes"].strip(), ""]
    parked: dict[str, str] = {}
    if store is not None and fields.get("attached_formula"):
        from gastown_tui.ops.gates import describe, gates_on

        for gate in gates_on(store, bead["id"]):
            step = parse_fields(gate.get("description", "")).get("step", "")
            if step:
                parked[step] = f"{gate['id']} ({describe(gate)})"
    name, steps = formula_steps(town, addr, bead, parked)
    if name:
        out["formula"] = name
        out["steps"] = steps
        lines += [f"## Steps ({name})", *steps, ""]
    if addr.role == "polecat":
        lines.append("When the work is committed: `gt done`.")
    return lines


def _memories_section(town: Town) -> list[str]:
    memories = list_memories(town)
    if not memories:
        return []
    lines = ["", f"## Memories ({len(memories)})"]
    lines += [f"- [{m['type']}] {m['key']}: {m['text']}" for m in memories[:30]]
    return lines


def hook_json(event: str, text: str) -> str:
    """A hook's output in the JSON form whose additionalContext the runtime gives its model
    (Gemini CLI shows plain hook output on screen only). Empty text gives an empty object."""
    import json

    if not text.strip():
        return "{}"
    return json.dumps({"hookSpecificOutput": {"hookEventName": event,
                                              "additionalContext": text}})


def _reprime_mark(town: Town, session: str) -> Path | None:
    if not session or not session.replace("-", "").replace("_", "").isalnum():
        return None
    return town.runtime_dir / "sessions" / f"{session}.reprime"


def mark_reprime(town: Town, session: str) -> None:
    """After a manual compression the runtime's next prompt primes the agent again."""
    mark = _reprime_mark(town, session)
    if mark is not None:
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()


def take_reprime(town: Town, session: str) -> bool:
    """Whether a compression asked for a new prime (the mark is taken: once)."""
    mark = _reprime_mark(town, session)
    if mark is None:
        return False
    try:
        mark.unlink()
    except FileNotFoundError:
        return False
    return True
