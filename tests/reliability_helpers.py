"""Pieces the fault tests share: soak sizes, killable writer processes, tree snapshots.

Run as a script, this module is the store writer the crash test kills:
`python reliability_helpers.py writer <db> <tag> <seed> <shared bead id>...` prints `ready`, then
one line per write *after* its transaction committed: `<op> <bead> <token>`."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.waiting import wait_for  # noqa: F401  (re-exported to the tests)

HERE = Path(__file__).resolve()
SOAK = os.environ.get("GT_SOAK", "") not in ("", "0")


def soak(normal: int, long: int) -> int:
    """`normal` in the everyday suite, `long` under GT_SOAK=1 (`make soak`)."""
    return long if SOAK else normal


def fault_seed() -> int:
    """GT_FAULT_SEED replays a failing run; otherwise a fresh seed, printed in every message."""
    value = os.environ.get("GT_FAULT_SEED")
    return int(value) if value else random.SystemRandom().randrange(1 << 30)




# --------------------------------------------------------------------------- killable writers
class Killable:
    """A child process whose stdout is read raw (no buffering to lose), killed with SIGKILL."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, bufsize=0, env=env, cwd=cwd)
        self.out = b""

    def _pump(self, timeout: float) -> bool:
        """Read what is there within timeout; False at end of file."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return True
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        self.out += chunk
        return bool(chunk)

    def wait_output(self, marker: bytes, timeout: float = 30.0) -> bool:
        """True once marker was printed; False if the process ended without printing it."""
        deadline = time.monotonic() + timeout
        while marker not in self.out:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"no {marker!r} within {timeout}s; output: {self.out[-500:]!r}"
                                     f"\nstderr: {self.stderr()}")
            if not self._pump(0.05):
                return marker in self.out
        return True

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)

    def finish(self) -> bytes:
        """Kill (if still running) and read everything it printed."""
        self.kill()
        while self._pump(1.0):
            pass
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return self.out

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        try:
            return self.proc.stderr.read().decode("utf-8", "replace")[-2000:] \
                if self.proc.poll() is not None else "(running)"
        except ValueError:
            return ""


def writer_argv(db: Path | str, tag: str, seed: int, shared: list[str]) -> list[str]:
    return [sys.executable, str(HERE), "writer", str(db), tag, str(seed), *shared]


def _writer(db: str, tag: str, seed: int, shared: list[str]) -> None:
    from gastown_tui.town.store import BeadStore

    rng = random.Random(seed)
    store = BeadStore(db, actor=tag)  # a SQLite path or a postgresql:// URL
    own: list[str] = []
    out = sys.stdout.buffer

    def ack(op: str, bead: str, token: str) -> None:
        out.write(f"{op} {bead} {token}\n".encode())
        out.flush()

    ack("ready", "-", "-")
    n = 0
    while True:
        n += 1
        token = f"{tag}-{n}"
        bead = rng.choice(own + shared if own else shared)
        op = rng.choice(("create", "note", "label", "comment", "field", "field", "big"))
        if op == "create":
            bead = store.create(token, prefix="gt", description=f"made by {tag}")["id"]
            own.append(bead)
        elif op == "note":
            store.update(bead, append_notes=token)
        elif op == "label":
            store.add_label(bead, token)
        elif op == "comment":
            store.add_comment(bead, token)
        elif op == "field":
            store.update(bead, description_fields={tag: token})
        else:
            # big rows grow the WAL, so kills also land in SQLite's automatic checkpoints
            store.update(bead, changes={"design": token + " " + "x" * 20000})
        ack(op, bead, token)


# --------------------------------------------------------------------------- mixed workers
MIXED_OPS = ("create", "update", "hook", "close", "dep", "mail", "label", "comment")


def mixed_worker(town_root: str, worker: int, ops: int, shared: list[str], hookable: list[str],
                 seed: int, results_dir: str) -> None:
    """`ops` random operations on the shared beads (and beads it made), through the store and
    the ops functions, each recorded with its outcome in results_dir/w<worker>.json."""
    import json

    from gastown_tui.ops import hook as hook_ops
    from gastown_tui.ops import mail as mail_ops
    from gastown_tui.town.errors import GasTownError
    from gastown_tui.town.layout import Town
    from gastown_tui.town.store import BeadStore

    town = Town(Path(town_root))
    me = f"gastown/polecats/p{worker}"
    store = BeadStore(town.store_location, actor=me)
    rng = random.Random(seed)
    own: list[str] = []
    done: list[dict[str, Any]] = []
    start_file = Path(results_dir, "start")
    Path(results_dir, f"ready-{worker}").touch()
    while not start_file.exists():  # every worker starts at once, so the races really happen
        time.sleep(0.005)
    for n in range(ops):
        token = f"w{worker}-{n}"
        op = rng.choice(MIXED_OPS)
        rec: dict[str, Any] = {"op": op, "token": token}
        try:
            if op == "create":
                rec["bead"] = store.create(token, prefix="gt")["id"]
                own.append(rec["bead"])
            elif op == "update":
                rec["bead"] = rng.choice(shared + own)
                store.update(rec["bead"], append_notes=token,
                             description_fields={f"w{worker}": token})
            elif op == "hook":
                rec["bead"] = rng.choice(hookable)
                hook_ops.attach(town, store, rec["bead"], me)
            elif op == "close":
                # only beads it made: the shared ones stay open for the hooks to fight over
                if not own:
                    own.append(store.create(token, prefix="gt")["id"])
                    rec["made"] = own[-1]
                rec["bead"] = rng.choice(own)
                store.set_status(rec["bead"], "closed", reason=token, force=True)
            elif op == "dep":
                a, b = rng.sample(shared + own, 2)
                rec["bead"], rec["target"] = a, b
                rec["status"] = store.add_dependency(a, b, "blocks")["status"]
            elif op == "mail":
                to = f"gastown/p{rng.randrange(30)}"
                rec["to"] = to
                rec["bead"] = mail_ops.send(town, store, to, token, f"body of {token}",
                                            sender=f"gastown/p{worker}")["id"]
            elif op == "label":
                rec["bead"] = rng.choice(shared + own)
                store.add_label(rec["bead"], token)
            elif op == "comment":
                rec["bead"] = rng.choice(shared + own)
                store.add_comment(rec["bead"], token)
            rec["ok"] = True
        except GasTownError as exc:  # a refusal is an outcome too (hooked elsewhere, a cycle)
            rec["ok"] = False
            rec["error"] = exc.code
            rec["message"] = exc.problem
        done.append(rec)
    store.close_connection()
    Path(results_dir, f"w{worker}.json").write_text(json.dumps(done))


if __name__ == "__main__":
    if sys.argv[1] == "writer":
        _writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
