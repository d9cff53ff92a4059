"""What an agent's pane shows right now, and getting a new agent past its start-up dialogs.

A real CLI can stop at a dialog before it does any work (Claude Code's folder-trust question
for every new worktree; its bypass-permissions warning). The safe ones are answered as
upstream Gas Town answers them (AcceptStartupDialogs), by choosing the option on screen, never
by a blind key; the others leave the agent `blocked: <dialog>` with the screen line as
evidence, for a person."""

from __future__ import annotations

import time
from collections.abc import Callable

from gastown_tui.ops.sessions import read_heartbeat, root_env, tmux_for
from gastown_tui.runtimes.presets import Runtime, runtime_named
from gastown_tui.runtimes.screen import Reading, option_keys, read_screen
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town

POLL = 0.25
STEADY = 0.3  # seconds a dialog's screen must stay the same before a key


def runtime_of(town: Town, session: str, rig: str | None = None) -> Runtime | None:
    """The runtime the session was started with (its heartbeat says), if known."""
    alias = (read_heartbeat(town, session) or {}).get("runtime")
    if not alias:
        return None
    try:
        return runtime_named(town, str(alias), rig)
    except GasTownError:
        return None


def read_agent(town: Town, session: str, runtime: Runtime, *, host: str | None = None
               ) -> tuple[Reading, list[str]]:
    """(reading, screen lines) of the session's pane (on `host`, when it runs there); a dead
    pane reads as `exited`."""
    tmux = tmux_for(town, host)
    lines = tmux.capture(session)
    dead = next((s for s in tmux.list_sessions() if s.name == session and s.pane_dead), None)
    if dead is not None:
        # tmux scrolls a dead pane's last words into its history
        last = next((ln.strip() for ln in reversed(tmux.capture(session, lines=200))
                     if ln.strip() and not ln.startswith("Pane is dead")), "")
        return Reading("exited", last[:160]), lines
    return read_screen(runtime.screen, lines), lines


def _steady(tmux, session: str, wait: float = STEADY) -> list[str]:
    """The screen once two captures `wait` apart agree: a menu that is still being drawn (or
    re-drawn as the CLI finishes starting) takes keys it then forgets."""
    before = tmux.capture(session)
    while True:
        time.sleep(wait)
        after = tmux.capture(session)
        if after == before:
            return after
        before = after


def answer_dialog(town: Town, session: str, reading: Reading, lines: list[str],
                  timeout: float = 8.0) -> bool:
    """Choose the safe option of the dialog on screen and confirm it; False when the dialog
    has no safe answer or its cursor did not reach the option in time.

    One arrow key at a time, each seen to move the cursor before the next: a key pressed
    before the CLI reads its keyboard may arrive late, and one too many wraps the menu round
    to "No, exit". Enter goes only when the cursor has stayed on the option."""
    dialog = reading.dialog
    if dialog is None or not dialog.accept:
        return False
    tmux = tmux_for(town)
    deadline = time.monotonic() + timeout
    screen = _steady(tmux, session)
    while True:
        keys = option_keys(screen, dialog.accept)
        if keys is None or time.monotonic() > deadline:
            return False
        if not keys:
            screen = _steady(tmux, session)
            if option_keys(screen, dialog.accept) == []:
                break
            continue
        tmux.press(session, keys[0])
        moved_by = time.monotonic() + 2.0
        while time.monotonic() < moved_by:
            time.sleep(0.05)
            now = tmux.capture(session)
            if now != screen:
                break
        screen = _steady(tmux, session)
    tmux.press(session, "Enter")
    log_event(town.root, "dialog_answered", actor="gt",
              payload={"session": session, "dialog": dialog.kind, "option": dialog.accept})
    return True


def settle(town: Town, session: str, runtime: Runtime, *, timeout: float | None = None,
           say: Callable[[str], None] | None = None) -> Reading:
    """Wait for a new agent's first working screen, answering the safe start-up dialogs.

    Returns `ready` or `busy` when it got going; the dialog a person must answer; `exited`
    when its program ended; or the last reading (`unknown`) when nothing settled in time."""
    deadline = time.monotonic() + (timeout if timeout is not None else runtime.settle_timeout)
    answered: dict[str, int] = {}
    reading = Reading("unknown")
    while True:
        try:
            reading, lines = read_agent(town, session, runtime)
        except GasTownError as exc:
            return Reading("exited", exc.problem)
        if reading.kind in ("ready", "busy", "exited"):
            return reading
        if reading.kind == "dialog" and reading.dialog is not None:
            kind = reading.dialog.kind
            if not reading.dialog.accept or answered.get(kind, 0) >= 3:
                return reading
            if answer_dialog(town, session, reading, lines):
                answered[kind] = answered.get(kind, 0) + 1
                if say:
                    say(f"answered the {reading.dialog.label}: {reading.dialog.accept}")
                # The dialog takes a moment to go; reading it again at once would answer twice.
                _wait_gone(town, session, runtime, kind, deadline)
                continue
            # Its options may not be drawn yet: look again until the deadline.
        if time.monotonic() > deadline:
            return reading
        time.sleep(POLL)


def _wait_gone(town: Town, session: str, runtime: Runtime, kind: str, deadline: float) -> None:
    end = min(deadline, time.monotonic() + 3.0)
    while time.monotonic() < end:
        try:
            reading, _ = read_agent(town, session, runtime)
        except GasTownError:
            return
        if reading.dialog is None or reading.dialog.kind != kind:
            return
        time.sleep(0.1)


def settle_new_agent(town: Town, session: str, runtime: Runtime, who: str,
                     say: Callable[[str], None] | None = None) -> str:
    """After starting `who`: get a real CLI past its start-up dialogs and see it start. A
    program that exits at once is an error, with its last words as the problem; otherwise
    the state its screen shows (ready, busy, `blocked: …`), '' for runtimes without dialogs."""
    tell = say or (lambda _msg: None)
    for key, value in root_env(runtime).items():
        tell(f"  {who}: running as root, so {key}={value} for {runtime.name}")
    if not runtime.screen.dialogs:
        return ""
    reading = settle(town, session, runtime, say=lambda msg: tell(f"  {who}: {msg}"))
    if reading.kind == "exited":
        raise GasTownError(f"{runtime.name} exited as soon as it started in {session}: "
                           f"{reading.evidence or 'no output'}",
                           fix=f"run `{runtime.executable}` by hand there to see why, then "
                               "try again")
    tell(f"  {who}: {reading.state}" + (f" ({reading.evidence})" if reading.blocked else ""))
    return reading.state
