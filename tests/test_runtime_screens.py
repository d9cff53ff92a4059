"""Reading an agent CLI's screen (runtimes/screen.py) on screens recorded from the real
Claude Code 2.1.332 under the scripted model (tests/fixtures/panes/claude-*.ans)."""

from __future__ import annotations

from gastown_tui.runtimes.screen import (
    CLAUDE_SCREEN,
    CODEX_SCREEN,
    GEMINI_SCREEN,
    OPENCODE_SCREEN,
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


# ------------------------------------------------------------ Codex, Gemini CLI, OpenCode
# Screens recorded from Codex 0.171.0, Gemini CLI 0.61.0 and OpenCode 1.18.33 under the
# scripted model (tests/fixtures/panes/<cli>-*.ans).

def test_codex_busy_above_its_composer_and_its_trust_cursor_is_no_prompt():
    busy = read_screen(CODEX_SCREEN, recorded("codex-busy"))
    assert busy.kind == "busy" and "Working (2s" in busy.evidence
    # the composer's placeholder is on screen while busy: it must not read as ready
    assert read_screen(CODEX_SCREEN, recorded("codex-working")).kind == "ready"
    # a long typed text grows the composer: the busy line is still found above it
    grown = [*recorded("codex-busy")[:-4], *["  more typed text"] * 14,
             *recorded("codex-busy")[-4:]]
    assert read_screen(CODEX_SCREEN, grown).kind == "busy"
    trust = read_screen(CODEX_SCREEN, recorded("codex-trust"))
    assert trust.kind == "dialog" and trust.dialog.kind == "trust"
    assert option_keys(recorded("codex-trust"), "Trust and continue") == []  # Enter answers


def test_gemini_ready_busy_and_its_boxed_trust_dialog():
    assert read_screen(GEMINI_SCREEN, recorded("gemini-working")).kind == "ready"
    busy = read_screen(GEMINI_SCREEN, recorded("gemini-busy"))
    assert busy.kind == "busy" and "esc to cancel" in busy.evidence
    trust = read_screen(GEMINI_SCREEN, recorded("gemini-trust"))
    assert trust.state == "blocked: trust dialog"
    # the option names the folder, inside a │ box: the cursor is on it already
    assert option_keys(recorded("gemini-trust"), "Trust folder (") == []
    moved = [clean(line).replace("● 1. Trust folder", "  1. Trust folder")
             .replace("  3. Don't trust", "● 3. Don't trust") for line in recorded("gemini-trust")]
    assert option_keys(moved, "Trust folder (") == ["Up", "Up"]


def test_opencode_ready_and_busy_from_its_footer():
    assert read_screen(OPENCODE_SCREEN, recorded("opencode-working")).kind == "ready"
    busy = read_screen(OPENCODE_SCREEN, recorded("opencode-busy"))
    assert busy.kind == "busy" and "esc interrupt" in busy.evidence


def test_work_lines_skip_each_clis_input_box_and_footer():
    cases = {"codex-working": (CODEX_SCREEN, "Worked for 6s", ("Ask Codex", "for shortcuts")),
             "gemini-working": (GEMINI_SCREEN, "visual experience.",
                                ("Type your message", "YOLO Ctrl+Y", "workspace (/directory)")),
             "opencode-working": (OPENCODE_SCREEN, "Build · Scripted · 12.5s",
                                  ("ctrl+p commands", "╹▀▀", "Build · Scripted Scripted"))}
    for name, (spec, last, chrome) in cases.items():
        work = [clean(line) for line in work_lines(spec, recorded(name))]
        shown = [line for line in work if line.strip()]
        assert last in shown[-1], (name, shown[-3:])
        assert not any(mark in line for line in work for mark in chrome), name
