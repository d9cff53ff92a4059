"""`gt doctor`'s runtime check: can the town's agents start at all, and did any die?

A runtime whose command is missing makes every sling fail (it refuses in one line); a pane
whose program exited stays visible (remain-on-exit) and says why in its last line."""

from __future__ import annotations

from gastown_tui.ops.doctor_findings import DoctorContext, Finding
from gastown_tui.ops.sessions import agent_path, root_env, tmux_for
from gastown_tui.runtimes.presets import require_installed, resolve_runtime
from gastown_tui.town.errors import GasTownError


def check_runtimes(ctx: DoctorContext, f: Finding) -> None:
    town = ctx.town
    seen: set[str] = set()
    wanted = [("mayor", None)] + [("polecat", rig.name) for rig in town.rigs()]
    for role, rig in wanted:
        try:
            runtime = resolve_runtime(town, role, rig)
        except GasTownError as exc:
            f.errors.append(f"{role}{f' of {rig}' if rig else ''}: {exc}")
            continue
        if runtime.name in seen:
            continue
        seen.add(runtime.name)
        try:
            found = require_installed(runtime, agent_path())
        except GasTownError as exc:
            f.warnings.append(f"{role}{f' of {rig}' if rig else ''}: {exc}")
            continue
        f.notes.append(f"{runtime.name}: {found}")
        for key, value in root_env(runtime).items():
            f.notes.append(f"{runtime.name} runs as root here, so its agents get {key}={value}")
    try:
        sessions = tmux_for(town).list_sessions()
    except GasTownError:
        return
    for session in sessions:
        if not session.pane_dead:
            continue
        try:
            # tmux scrolls a dead pane's output into its history: read some of that too
            last = next((ln.strip() for ln in reversed(tmux_for(town).capture(session.name,
                                                                              lines=200))
                         if ln.strip() and not ln.startswith("Pane is dead")), "")
        except GasTownError:
            last = ""
        f.warnings.append(f"{session.name}: its program exited"
                          + (f" ({last[:120]})" if last else "")
                          + "; restart it (gt session restart) or nuke it")
