"""Reading an agent CLI's screen (runtimes/screen.py) on screens recorded from the real
Claude Code 2.1.332 under the scripted model (tests/fixtures/panes/claude-*.ans)."""

from __future__ import annotations

from gastown_tui.runtimes.screen import (
    CLAUDE_SCREEN,
    clean,
    option_keys,
    read_screen,
    work_lines,
)
from tests.fixtures.towns import read_screen as recorded


def test_the_trust_dialog_reads_as_one_and_its_safe_answer_is_one_key_down():
    screen = recorded("claude-trust")
    reading = read_screen(CLAUDE_SCREEN, screen)
    assert reading.kind == "dialog" and reading.dialog.kind == "trust"
    assert reading.state == "blocked: trust dialog" and reading.blocked
    # "No, exit" is where the cursor starts: Enter alone would end the agent
    assert option_keys(screen, "Yes, I trust this folder") == ["Down"]
    moved = [line.replace("❯ No, exit", "  No, exit").replace("  Yes, I trust", "❯ Yes, I trust")
             for line in screen]
    assert option_keys(moved, "Yes, I trust this folder") == []
    assert option_keys(screen, "Yes, I accept") is None


def test_idle_busy_and_limited_screens():
    assert read_screen(CLAUDE_SCREEN, recorded("claude-working")).kind == "ready"
    busy = read_screen(CLAUDE_SCREEN, recorded("claude-busy"))
    assert busy.kind == "busy" and "esc to interrupt" in busy.evidence
    limited = read_screen(CLAUDE_SCREEN, recorded("claude-limited"))
    assert limited.state == "rate-limited until 9:11am"
    assert "5-hour limit reached" in limited.evidence


def test_work_lines_skip_claudes_input_box_footer_and_hints():
    work = [clean(line) for line in work_lines(CLAUDE_SCREEN, recorded("claude-working"))]
    shown = [line for line in work if line.strip()][-3:]
    assert shown[0] == "  Ran 1 shell command"
    assert shown[1].startswith("● All 12 tests pass.")
    assert shown[2].startswith("✻ ")
    assert not any("bypass permissions" in line or line.strip() == "❯" or "/effort" in line
                   for line in work)
    # colours stay on the lines kept: the tile draws them
    assert any("\x1b[" in line for line in work_lines(CLAUDE_SCREEN,
                                                       recorded("claude-working")))


def test_a_quoted_limit_in_the_conversation_is_not_a_limit():
    screen = ["● The docs say: 'Rate limit reached' means wait.", *[""] * 12,
              *recorded("claude-working")[-6:]]
    assert read_screen(CLAUDE_SCREEN, screen).kind == "ready"
