"""The sim agent's prompt in a real tmux pane: a nudge (text, Escape, Enter) arrives as the
text alone; Escape is a key, never echoed as `^[`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gastown_tui.tmux.server import TownTmux
from tests.waiting import wait_for


@pytest.fixture
def sim_pane(tmux_socket: str, clean_env: dict[str, str], tmp_path: Path):
    tmux = TownTmux(tmux_socket)
    env = {k: v for k, v in clean_env.items() if k in ("PATH", "HOME", "USER", "LANG")}
    tmux.new_session("sim-prompt", tmp_path, [sys.executable, "-m", "gastown_tui.demo.sim"],
                     env=env, width=120, height=20)
    wait_for(lambda: any(line.startswith("❯") for line in tmux.capture("sim-prompt")),
             timeout=30, what="the sim's prompt")
    return tmux


def _screen_with(tmux: TownTmux, text: str) -> str:
    def screen() -> str | None:
        shown = "\n".join(tmux.capture("sim-prompt"))
        # the line is handled and the next prompt drawn
        return shown if text in shown and shown.rstrip().endswith("❯") else None

    return wait_for(screen, timeout=15, what=f"{text!r} in the sim's pane")


def test_a_nudge_with_escape_arrives_as_its_text_alone(sim_pane: TownTmux):
    delivery = sim_pane.send_literal_text("sim-prompt", "hello from the overseer",
                                          settle=0.2, escape=True, verify_timeout=15.0)
    assert delivery.delivered and delivery.verified, delivery.detail
    screen = _screen_with(sim_pane, "[sim] received: hello from the overseer")
    assert "^[" not in screen, screen
    # the typed line shows the text once, as typed, and a fresh prompt follows
    assert "❯ hello from the overseer" in screen.splitlines(), screen
    assert screen.rstrip().splitlines()[-1].startswith("❯"), screen


def test_keys_typed_by_hand_edit_the_line(sim_pane: TownTmux):
    # Backspace erases, an arrow key (an escape sequence) does nothing, Enter submits.
    sim_pane.run("send-keys", "-t", "sim-prompt", "-l", "--", "statux")
    sim_pane.run("send-keys", "-t", "sim-prompt", "BSpace", "Left", "Escape")
    sim_pane.run("send-keys", "-t", "sim-prompt", "-l", "--", "s")
    sim_pane.run("send-keys", "-t", "sim-prompt", "Enter")
    screen = _screen_with(sim_pane, "[sim] received:")
    assert "[sim] received: status" in screen, screen
    assert "^[" not in screen and "[D" not in screen, screen


def test_keys_arriving_in_one_read_are_each_handled(monkeypatch: pytest.MonkeyPatch):
    """What a busy machine delivers at once: an arrow key's sequence is dropped whole, and a
    lone Escape never swallows the key after it (a nudge's Escape then Enter must submit)."""
    import io
    import os

    from gastown_tui.demo.sim import KeyReader

    master, slave = os.openpty()
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # the reader echoes the keys
    with os.fdopen(slave, "rb", buffering=0) as stream:
        reader = KeyReader(stream)
        try:
            os.write(master, b"statux\x7f\x1b[D\x1bs\x1b\rnext\x1bOA\r")
            lines, ended = reader.read()
        finally:
            reader.restore()
            os.close(master)
    assert lines == ["status", "next"] and not ended
