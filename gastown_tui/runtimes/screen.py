"""Reading an agent CLI's screen: ready, busy, or held by a dialog; and which of its lines are
the agent's work rather than the CLI's own chrome (input box, footer, status hints).

Pure functions over captured pane lines (no tmux, no I/O), so the control room, `gt`, the
Witness and the tests share one reading. Each runtime's markers are taken from its real
screens (docs: /work/shared/design/real-runtimes.md; tests/test_real_claude.py shows them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

NBSP = "\u00a0"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
RULE = re.compile(r"^\s*[─━]{20,}\s*$")
CURSOR = ("❯", "›", ">", "●")  # the marks CLIs put before a menu's selected option
LIMIT_UNTIL = re.compile(r"(?:resets?(?: at)?|\()\s*(\d{1,2}(?::\d\d)?\s*[ap]m)\b", re.I)


@dataclass(frozen=True)
class Dialog:
    """A screen that holds the agent until someone answers it."""

    kind: str  # trust | bypass | api-key | login | onboarding | offline | rate-limit
    label: str  # how a person reads it in a state: "trust dialog"
    markers: tuple[str, ...]  # any one of them on screen shows it
    accept: str = ""  # the option that answers it safely; "" means a person must
    blocks: bool = True  # False: the agent is held but will go on by itself (retrying)
    tail: int = 0  # look only at the screen's last lines (0: all): conversation text above
    # may quote the same words


@dataclass(frozen=True)
class ScreenSpec:
    """How one runtime's TUI looks. A mark is text to find in a line, or `re:` and a regular
    expression searched in the line's plain text."""

    ready: tuple[str, ...] = ()  # its idle input line, whole (nothing typed after the prompt)
    busy: tuple[str, ...] = ()  # marks of a line on screen while it works
    dialogs: tuple[Dialog, ...] = ()
    chrome: str = "none"  # how to find its input box: claude | codex | gemini | opencode | none
    busy_tail: int = 12  # how many last lines may hold the busy line: Codex draws it above a
    # composer that grows with what is typed into it
    escape_first: bool = True  # Escape (closing a completion menu) before the Enter that
    # submits typed text: Claude Code's way; Gemini CLI's Escape cancels, so never there
    paste: bool = False  # text goes in as a bracketed paste: Gemini CLI drops typed `?`


@dataclass(frozen=True)
class Reading:
    kind: str  # ready | busy | dialog | unknown
    evidence: str = ""  # the screen line that shows it
    dialog: Dialog | None = None
    until: str = ""  # rate limits: when it resets, as the screen says it

    @property
    def blocked(self) -> bool:
        """A person (or a safe answer) is needed before the agent can go on."""
        return self.kind == "dialog" and self.dialog is not None and self.dialog.blocks

    @property
    def state(self) -> str:
        """The state a person reads: `blocked: trust dialog`, `rate-limited until 2pm`."""
        if self.kind != "dialog" or self.dialog is None:
            return self.kind
        if self.dialog.kind == "rate-limit":
            return f"rate-limited until {self.until}" if self.until else "rate-limited"
        return f"blocked: {self.dialog.label}"


def clean(line: str) -> str:
    """The line as text: colours and other escape sequences gone, no-break spaces plain."""
    if "\x1b" in line:
        line = ANSI.sub("", line)
    return line.replace(NBSP, " ").rstrip()


def _strip_blank_tail(lines: Sequence[str]) -> list[str]:
    out = [clean(line) for line in lines]
    while out and not out[-1].strip():
        out.pop()
    return out


def read_screen(spec: ScreenSpec, lines: Sequence[str]) -> Reading:
    """What the screen shows: a dialog first (it hides the rest), then busy, then ready."""
    screen = _strip_blank_tail(lines)
    text = "\n".join(screen)
    for dialog in spec.dialogs:
        region = "\n".join(screen[-dialog.tail:]) if dialog.tail else text
        for marker in dialog.markers:
            if marker in region:
                evidence = next((ln.strip() for ln in reversed(screen) if marker in ln), marker)
                until = ""
                if dialog.kind == "rate-limit":
                    found = LIMIT_UNTIL.search(evidence)
                    until = found.group(1).replace(" ", "") if found else ""
                return Reading("dialog", evidence[:160], dialog, until)
    for line in screen[-spec.busy_tail:]:
        for marker in spec.busy:
            if _marked(line, marker):
                return Reading("busy", line.strip()[:160])
    box = input_line(spec, screen)
    if box is not None:
        return Reading("ready", box.strip()[:160])
    return Reading("unknown", next((ln.strip() for ln in reversed(screen) if ln.strip()), ""))


def input_line(spec: ScreenSpec, screen: Sequence[str]) -> str | None:
    """The idle input line (its prompt and nothing typed after it), if the screen shows one."""
    for line in reversed(screen[-12:]):
        stripped = clean(line).strip()
        for prefix in spec.ready:
            if prefix.startswith("re:"):
                if _marked(stripped, prefix):
                    return line
                continue
            mark = prefix.replace(NBSP, " ").strip()
            if mark and stripped == mark:
                return line
    return None


def _marked(line: str, mark: str) -> bool:
    if mark.startswith("re:"):
        return re.search(mark[3:], line) is not None
    return mark in line


def work_lines(spec: ScreenSpec, lines: Sequence[str]) -> list[str]:
    """The screen without the CLI's chrome at the bottom: what the agent last did and said.
    The lines come back as given (colours kept); only the cut is decided on their text."""
    plain = _strip_blank_tail(lines)
    end = _chrome_start(spec.chrome, plain)
    # Right-aligned hints sit just above the box (effort level, tmux tips): chrome too.
    while end < len(plain) and end and (not plain[end - 1].strip()
                                        or plain[end - 1].startswith(" " * 12)):
        end -= 1
    return list(lines[:end])


def _chrome_start(chrome: str, plain: list[str]) -> int:
    """Where the CLI's input box and footer begin (len(plain) when there is none)."""
    end = len(plain)
    bottom = range(len(plain) - 1, max(-1, len(plain) - 16), -1)  # its last 15 lines
    if chrome == "claude":  # the box between two rules, the footer below
        rules = [i for i, line in enumerate(plain) if RULE.match(line)]
        if len(rules) >= 2 and len(plain) - rules[-2] <= 12:
            return rules[-2]
    elif chrome == "codex":  # the composer (› …) is the last prompt line, its footer below
        return next((i for i in bottom if plain[i].startswith("› ")), end)
    elif chrome == "gemini":  # a rule, then the mode, the prompt and the workspace footer;
        # above the rule its hint row (`? for shortcuts`, where hook runs are announced too)
        rule = next((i for i in bottom if RULE.match(plain[i])), end)
        while rule < end and rule and "? for shortcuts" in plain[rule - 1]:
            rule -= 1
        return rule
    elif chrome == "opencode":  # a box of ┃ lines closed by ╹▀▀▀, a footer below
        close = next((i for i in bottom if plain[i].lstrip().startswith("╹")), None)
        if close is not None:
            start = close
            while start and plain[start - 1].lstrip().startswith("┃"):
                start -= 1
            return start
    return end


def option_keys(lines: Sequence[str], option: str) -> list[str] | None:
    """Arrow keys that move a menu's cursor onto `option` (then Enter answers it), or None
    when the screen shows no cursor or no such option."""
    # Gemini CLI draws its dialogs in a │ box: the borders are not part of the options.
    screen = [clean(line).strip().strip("│").strip() for line in lines]
    options: list[int] = []
    cursor = target = -1
    for index, stripped in enumerate(screen):
        marked = stripped[:1] in CURSOR and len(stripped) > 1
        label = stripped[1:].strip() if marked else stripped
        label = re.sub(r"^\d+\.\s*", "", label)
        if marked:
            cursor = index
        named = label == option or (option.endswith(" (") and label.startswith(option))
        if named:
            target = index
        if marked or named:
            options.append(index)
    if cursor < 0 or target < 0:
        return None
    rows = [i for i in range(min(cursor, target), max(cursor, target) + 1)
            if screen[i].strip()]
    steps = len(rows) - 1
    return (["Down"] if target > cursor else ["Up"]) * steps


# Claude Code 2.1 (`@anthropic-ai/claude-code`): the dialogs it shows before or instead of
# work. Trust and the bypass-permissions warning are the ones upstream Gas Town accepts.
CLAUDE_SCREEN = ScreenSpec(
    ready=("❯" + NBSP, "❯ "),
    busy=("esc to interrupt",),
    dialogs=(
        Dialog("trust", "trust dialog", ("Quick safety check", "Yes, I trust this folder"),
               accept="Yes, I trust this folder"),
        Dialog("bypass", "bypass-permissions warning", ("Bypass Permissions mode",),
               accept="Yes, I accept"),
        Dialog("api-key", "API key approval (answer it: gt attach)",
               ("Detected a custom API key",)),
        Dialog("login", "not logged in (run claude /login, or set ANTHROPIC_API_KEY)",
               ("Select login method", "Please run /login", "Invalid API key",
                "OAuth token has expired"), tail=14),
        Dialog("offline", "cannot reach the model service",
               ("Unable to connect to Anthropic services", "Unable to connect to API")),
        Dialog("onboarding", "first-run setup (run claude once by hand)",
               ("Choose the text style", "Welcome to Claude Code v")),
        Dialog("rate-limit", "rate limit", ("limit reached", "hit your limit",
                                            "rate limited ·", "Rate limit reached",
                                            "Request rejected (429)"),
               tail=10),
    ),
    chrome="claude",
)

# Codex CLI 0.171 (`@openai/codex`): the composer shows its placeholder whether idle or
# busy; busy is the `• Working (12s • esc to interrupt)` line above it (a long typed text
# grows the composer, so it may sit well above the last lines). Its folder-trust dialog's
# cursor (`› 1. Trust and continue`) is no ready prompt: ready lines are matched whole.
CODEX_SCREEN = ScreenSpec(
    ready=("› Ask Codex to do anything", "› Ask a follow-up question"),
    busy=("re:esc to interrupt\\)",),
    busy_tail=30,
    dialogs=(
        Dialog("trust", "trust dialog", ("Trust this folder?",), accept="Trust and continue"),
        Dialog("hooks", "hook review (answer it: gt attach)",
               ("hooks are new or changed", "Review hooks")),
        Dialog("login", "not logged in (codex login, or a provider key in config.toml)",
               ("Sign in with ChatGPT", "Provide your own API key"), tail=14),
        Dialog("rate-limit", "rate limit", ("You've hit your usage limit",
                                            "usage limit reached"), tail=10),
    ),
    escape_first=False,
    chrome="codex",
)

# Gemini CLI 0.61 (`@google/gemini-cli`): ` *   Type your message or @path/to/file` in YOLO
# mode (`>` otherwise), `⠧ Thinking... (esc to cancel, 21s)` while it works. Its dialogs are
# drawn in a │ box; the trust dialog's first option names the folder.
GEMINI_SCREEN = ScreenSpec(
    ready=("*   Type your message or @path/to/file", ">   Type your message or @path/to/file"),
    busy=("esc to cancel",),
    dialogs=(
        Dialog("trust", "trust dialog", ("Do you trust the files in this folder?",),
               accept="Trust folder ("),
        Dialog("approval", "tool approval (YOLO is off: is the folder trusted?)",
               ("Allow execution of",)),
        Dialog("login", "not logged in (set GEMINI_API_KEY, or /auth)",
               ("How would you like to authenticate", "Waiting for auth"), tail=20),
        Dialog("rate-limit", "rate limit", ("Usage limit reached", "Quota exceeded",
                                            "quota exceeded"), tail=10),
    ),
    paste=True,
    escape_first=False,
    chrome="gemini",
)

# OpenCode 1.18 (`opencode-ai`): a ┃ box closed by ╹▀▀▀ at the bottom; its footer shows the
# directory and `ctrl+p commands` when idle, `⬝⬝⬝⬝■  esc interrupt` while it works.
OPENCODE_SCREEN = ScreenSpec(
    ready=("re:ctrl\\+p commands",),
    busy=("esc interrupt",),
    escape_first=False,
    chrome="opencode",
)

PLAIN_SCREEN = ScreenSpec(ready=("❯ ",), busy=("esc to interrupt",))


def screen_state(reading: Reading | None) -> tuple[str, str] | None:
    """(state, evidence) when the agent's screen holds it: a dialog or a rate limit."""
    if reading is None or reading.kind != "dialog" or reading.dialog is None:
        return None
    if reading.dialog.kind == "rate-limit":
        until = f"until {reading.until}: " if reading.until else ""
        return "rate-limited", f"{until}{reading.evidence}"
    return "blocked", f"{reading.dialog.label}: {reading.evidence}"
