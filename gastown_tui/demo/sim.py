"""The sim runtime: a small deterministic agent that behaves like a CLI coding agent in tmux.

It shows a ready prompt, reads nudges typed into its pane, and drains its nudge queue. As a
polecat it primes itself, does the work its bead describes (a ```sim block can script it),
commits and runs `gt done`; on a FIX_NEEDED mail it fixes failing tests and resubmits. As the
Mayor it answers "sling <bead> to <rig>" and "status". Everything goes through the same ops
as the real `gt`, so the demo and the tests exercise the real paths."""

from __future__ import annotations

import os
import re
import select
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PROMPT = "❯ "
# unittest style, so both `python -m unittest` and pytest collect it.
FAILING_TEST = ("import unittest\n\n\nclass SimTest(unittest.TestCase):\n"
                "    def test_sim(self):\n        self.fail('sim: failing on purpose')\n")
_BLOCK = re.compile(r"```sim\s*\n(.*?)```", re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class Script:
    actions: list[tuple[str, str]] = field(default_factory=list)

    def flag(self, key: str) -> str | None:
        for k, v in self.actions:
            if k == key:
                return v
        return None


def parse_script(description: str) -> Script | None:
    """```sim blocks: one `action: value` per line; `path | content` where content is needed."""
    match = _BLOCK.search(description or "")
    if not match:
        return None
    script = Script()
    for line in match.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        script.actions.append((key.strip().lower(), value.strip()))
    return script


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _town_and_store():
    from gastown_tui.ops.context import open_store
    from gastown_tui.town.layout import Town

    town = Town.find(explicit=os.environ.get("GT_ROOT"))
    return town, open_store(town, os.environ.get("BD_ACTOR"))


def _safe_path(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if root.resolve() not in path.parents and path != root.resolve():
        raise ValueError(f"sim: path {rel!r} leaves the worktree")
    return path


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t")


class Polecat:
    def __init__(self) -> None:
        self.town, self.store = _town_and_store()
        self.worktree = Path.cwd()
        self.bead: dict | None = None
        self.script: Script | None = None
        self.resume_at = 0  # index of the action after a `hang` or a `gate`
        self.hanging = False
        self.parked_gate = ""  # the gate it waits on (a `gate:` action), until GATE_OPEN

    def start(self) -> None:
        from gastown_tui.ops.prime import prime

        primed = prime(self.town, self.store, cwd=self.worktree, hook_only=True)
        say(f"[sim] primed: {primed['address']}; hook: "
            f"{primed['hook']['id'] if primed['hook'] else '(empty)'}")
        if primed["hook"] is None:
            return
        self.bead = self.store.get(primed["hook"]["id"])
        if "merge_request:" in (self.bead.get("description") or ""):
            say("[sim] already submitted; waiting for the refinery")
            return
        self.work()

    def work(self) -> None:
        assert self.bead is not None
        bead = self.bead
        script = self.script = parse_script(bead.get("description", "")) or Script(
            [("write", f"{bead['id']}.txt | {bead['title']}\\n")])
        say(f"[sim] working on {bead['id']}: {bead['title']}")
        self.run_actions(script, 0)

    def run_actions(self, script: Script, start: int, *, writes_only: bool = False) -> None:
        assert self.bead is not None
        bead = self.bead
        for index, (key, value) in enumerate(script.actions[start:], start=start):
            if writes_only and key not in ("write", "conflict", "append"):
                continue
            if key in ("write", "conflict", "append"):
                rel, _, content = value.partition("|")
                path = _safe_path(self.worktree, rel.strip())
                path.parent.mkdir(parents=True, exist_ok=True)
                mode = "a" if key == "append" else "w"
                with path.open(mode, encoding="utf-8") as fh:
                    fh.write(_unescape(content.strip()) + ("" if content.endswith("\\n") else "\n"))
                say(f"[sim] {key} {rel.strip()}")
            elif key == "fail_tests":
                path = _safe_path(self.worktree, value or f"test_sim_{bead['id']}.py")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(FAILING_TEST)
                say(f"[sim] wrote a failing test {path.name}")
            elif key == "sleep":
                time.sleep(float(value or 1))
            elif key == "hang":
                self.hanging = True
                self.resume_at = index + 1
                say("[sim] hanging (no commit, no gt done) until a GUPP nudge")
                return
            elif key == "gate":
                self.park(value, index + 1)
                return
            elif key == "exit":
                say(f"[sim] exiting with {value}")
                sys.exit(int(value or 1))
        if writes_only or script.flag("done") == "false":
            return
        self.submit(script.flag("commit") or f"sim: {bead['title']}")

    def park(self, spec: str, resume_at: int) -> None:
        """`gate: timer 30s`, `gate: human`, `gate: gh:run <run-id>`, `gate: bead <id>`: park
        the work on a gate as an agent does by hand (bd gate create --blocks <my bead>
        --waiter <me>), and go on only when GATE_OPEN for it arrives."""
        from gastown_tui.ops import gates

        assert self.bead is not None
        kind, _, rest = spec.strip().partition(" ")
        existing = gates.gates_on(self.store, self.bead["id"])
        if existing:
            gate = existing[0]
        else:
            gate = gates.create(
                self.town, self.store, self.bead["id"], gate_type=kind,
                timeout=rest.strip() if kind == "timer" else "",
                await_id="" if kind in ("timer", "human") else rest.strip(),
                waiters=[os.environ.get("GT_ROLE", "")], reason="sim parks here")
        self.parked_gate = gate["id"]
        self.resume_at = resume_at
        say(f"[sim] parked on gate {gate['id']} ({gates.describe(gate)})")

    def on_message(self, text: str) -> None:
        """Nudges: a GUPP nudge wakes a hanging polecat; GATE_OPEN for its gate wakes a parked
        one; a conflict makes it redo its change on top of the new main and resubmit (its
        version of the conflicting lines wins)."""
        if self.parked_gate and f"GATE_OPEN {self.parked_gate}" in text and \
                self.script is not None:
            say(f"[sim] gate {self.parked_gate} opened: continuing")
            self.parked_gate = ""
            self.run_actions(self.script, self.resume_at)
        elif "GUPP" in text and self.hanging and self.script is not None:
            self.hanging = False
            say("[sim] nudged awake: continuing")
            self.run_actions(self.script, self.resume_at)
        elif "MERGE_FAILED" in text and "type=conflict" in text and self.script is not None:
            self.resolve_conflict()

    def resolve_conflict(self) -> None:
        import pygit2

        from gastown_tui.town.layout import Town

        assert self.bead is not None and self.script is not None
        repo = pygit2.Repository(str(self.worktree))
        rig = Town(self.town.root).rig(os.environ.get("GT_RIG", ""))
        main = repo.references[f"refs/heads/{rig.default_branch}"].target
        repo.reset(main, pygit2.enums.ResetMode.HARD)
        say(f"[sim] conflict: redoing my change on top of {rig.default_branch} {str(main)[:8]}")
        self.run_actions(self.script, 0, writes_only=True)
        self.submit(f"sim: {self.bead['title']} (rebased)")

    def submit(self, message: str) -> None:
        from gastown_tui.ops.done import done
        from gastown_tui.ops.worktrees import commit_all

        sha = commit_all(self.worktree, message, os.environ.get("GT_POLECAT", "sim"))
        if sha:
            say(f"[sim] committed {sha[:8]}")
        result = done(self.town, self.store, cwd=self.worktree)
        say(f"[sim] gt done: {result.mr} ({'created' if result.created else 'updated'})")

    def check_mail(self) -> None:
        """FIX_NEEDED from the refinery: make the failing test pass and resubmit."""
        from gastown_tui.ops import mail as mail_ops

        me = f"{os.environ.get('GT_RIG')}/{os.environ.get('GT_POLECAT')}"
        for msg in mail_ops.inbox(self.store, me, include_read=False):
            mail_ops.read(self.store, me, msg["id"])
            say(f"[sim] mail: {msg['subject']}")
            if msg["subject"].startswith("FIX_NEEDED") and self.bead is not None:
                for path in self.worktree.glob("**/test_sim_*.py"):
                    path.write_text(FAILING_TEST.replace("self.fail('sim: failing on purpose')",
                                                         "self.assertTrue(True)"))
                self.submit("sim: fix the failing test")


class Dog:
    """A dog given a plugin: run.sh is run as it is (the receipt is recorded for it);
    instructions alone are "read" and recorded; then `gt dog done`."""

    def __init__(self) -> None:
        self.town, self.store = _town_and_store()

    def start(self) -> None:
        from gastown_tui.ops import dogs, plugins
        from gastown_tui.town.errors import GasTownError

        name = os.environ.get("GT_DOG_NAME", "")
        work = dogs.load(self.town, name).get("work", "")
        say(f"[sim] dog {name}: {work or 'no work'}")
        if work.startswith("plugin:"):
            try:
                plugin = plugins.get(self.town, work.removeprefix("plugin:"))
                if plugin.has_run_script:
                    outcome = plugins.run_script(self.town, self.store, plugin,
                                                 by=f"deacon/dogs/{name}")
                    say(f"[sim] run.sh: {outcome.result} (exit {outcome.exit_code}), "
                        f"receipt {outcome.receipt}")
                else:
                    receipt = plugins.record_run(self.town, self.store, plugin, "success",
                                                 "sim dog: instructions read",
                                                 by=f"deacon/dogs/{name}")
                    say(f"[sim] instructions read, receipt {receipt}")
            except GasTownError as exc:
                say(f"[sim] plugin failed: {exc}")
        dogs.done(self.town, name)
        say(f"[sim] gt dog done ({name})")


class Mayor:
    def __init__(self) -> None:
        self.town, self.store = _town_and_store()

    def handle(self, text: str) -> None:
        from gastown_tui.ops.sling import sling
        from gastown_tui.ops.status import town_status
        from gastown_tui.town.errors import GasTownError

        words = text.split()
        try:
            if len(words) >= 4 and words[0] == "sling" and words[-2] == "to":
                results = sling(self.town, self.store, words[1:-2], words[-1])
                for r in results:
                    say(f"[mayor] slung {r.bead} to {r.agent}")
            elif words[:1] == ["status"]:
                data = town_status(self.town, self.store)
                for c in data["convoys"]:
                    say(f"[mayor] convoy {c['id']} {c['title']}: {c['completed']}/{c['total']}")
                say(f"[mayor] {data['beads']['ready']} beads ready")
            else:
                say(f"[mayor] noted: {text}")
        except GasTownError as exc:
            say(f"[mayor] cannot: {exc}")


def clean_input(raw: str) -> str:
    return _CONTROL.sub("", raw.replace("\x1b", "")).strip()


class KeyReader:
    """The prompt's keys, read as a CLI agent reads them: on a terminal the sim takes each key
    itself (no canonical mode, no tty echo), so Escape (which a nudge presses before Enter to
    close a completion menu) is a key that does nothing, not `^[` echoed after the text. It
    echoes the printable keys itself, erases on Backspace and hands over a line on Enter.
    Off a terminal (a pipe) lines are read as they are."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.fd = stream.fileno()
        self.tty = os.isatty(self.fd)
        self.buffer = ""
        self._escape = ""  # an escape sequence in progress: dropped whole
        self._saved = None
        import codecs

        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a key split in two
        if self.tty:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)  # keys one at a time, without the terminal's echo

    def restore(self) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def read(self) -> tuple[list[str], bool]:
        """(lines completed by what was ready, end of input)."""
        if not self.tty:
            line = self.stream.readline()
            return ([line] if line else []), line == ""
        data = os.read(self.fd, 4096)
        if not data:
            return [], True
        lines: list[str] = []
        for char in self._decoder.decode(data):
            if self._escape == "\x1b" and char not in "[O":
                # Escape on its own, the next key in the same read (a busy machine, or a
                # nudge's Escape and Enter): the Escape is dropped, the key still counts.
                self._escape = ""
            if self._escape:
                # ESC [ ... final byte, or ESC O x: one key the prompt has no use for.
                self._escape += char
                if len(self._escape) > 2 and "@" <= char <= "~":
                    self._escape = ""
                continue
            if char == "\x1b":
                self._escape = char
            elif char in "\r\n":
                sys.stdout.write("\n")
                lines.append(self.buffer)
                self.buffer = ""
            elif char in "\x7f\x08":
                if self.buffer:
                    self.buffer = self.buffer[:-1]
                    sys.stdout.write("\b \b")
            elif char == "\x03":
                raise KeyboardInterrupt
            elif char == "\x04" and not self.buffer:
                return lines, True
            elif char.isprintable():
                self.buffer += char
                sys.stdout.write(char)
        if self._escape == "\x1b":
            self._escape = ""  # Escape pressed on its own (a sequence arrives in one read)
        sys.stdout.flush()
        return lines, False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    role = os.environ.get("GT_ROLE", "")
    say(f"sim agent ({role or 'no role'}) ready")
    if args:
        say(args[0].splitlines()[0])
    agent: Polecat | Mayor | None = None
    if "/polecats/" in role:
        agent = Polecat()
        agent.start()
    elif role in ("mayor", "mayor/"):
        agent = Mayor()
    elif role == "dog":
        Dog().start()
    sys.stdout.write(PROMPT)
    sys.stdout.flush()
    keys = KeyReader(sys.stdin)
    try:
        return _serve(agent, keys)
    finally:
        keys.restore()


def _serve(agent, keys: KeyReader) -> int:
    from gastown_tui.ops.nudge import drain

    session = os.environ.get("GT_SESSION", "")
    last_mail = 0.0
    while True:
        ready, _, _ = select.select([keys.stream], [], [], 1.0)
        if ready:
            lines, ended = keys.read()
            for line in lines:
                text = clean_input(line)
                if text:
                    say(f"[sim] received: {text}")
                    if isinstance(agent, Mayor):
                        agent.handle(text.removeprefix("[from overseer]").strip())
                    elif isinstance(agent, Polecat):
                        agent.on_message(text)
                sys.stdout.write(PROMPT)
                sys.stdout.flush()
            if ended:
                return 0
        if session and agent is not None:
            entries = drain(agent.town, session)
            if entries:
                # A real runtime gets format_for_injection(); a one-liner keeps the pane legible.
                for entry in entries:
                    say(f"[sim] nudge from {entry.get('sender', '?')}: {entry.get('message', '')}")
                if isinstance(agent, Polecat):
                    for entry in entries:
                        agent.on_message(str(entry.get("message", "")))
                sys.stdout.write(PROMPT)
                sys.stdout.flush()
        if isinstance(agent, Polecat) and time.monotonic() - last_mail > 2 and not agent.hanging:
            last_mail = time.monotonic()
            agent.check_mail()


if __name__ == "__main__":
    sys.exit(main())
