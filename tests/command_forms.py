"""Running the command forms a role prompt teaches against a real town.

A *form* is one `gt ...` or `bd ...` line as a prompt writes it, with placeholders for the
things a real agent would fill in ({bead}, {rig}, <id> ...). `Runner` makes what each form
needs (a fresh bead, a message, an MR), runs it as the role the prompt is for, and says
whether this town rejected it: an unknown command or flag, or a usage error.
"""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import BIN

REJECTIONS = ("No such command", "No such option", "Got unexpected extra argument",
              "Invalid value for", "Missing argument", "Missing option",
              "Option '", "requires an argument")
ROLE_ORDER = ("polecat", "polecat-CLAUDE", "mayor", "witness", "refinery", "deacon", "crew",
              "dog", "boot")
# Forms that change the town for good run last, in this order (by their first words).
LAST = ("gt handoff", "gt session stop", "gt crew stop", "gt rig stop", "gt rig park",
        "gt rig dock", "gt done", "gt warrant execute", "gt polecat nuke",
        "gt polecat remove", "gt mayor stop",
        "bd rename-prefix")
UPSTREAM_ONLY = ("gt dolt", "gt reaper", "gt boot", "gt dog")


def extract_forms(text: str) -> list[str]:
    """Every `gt`/`bd` invocation in a markdown text's code spans and fenced blocks."""
    chunks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    chunks += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    found: list[str] = []
    for chunk in chunks:
        for line in chunk.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line.strip())  # a shell comment after the form
            for match in re.finditer(r"(?:^|&&|\||;|\$\(|\s)((?:gt|bd) [^#&|;)]*)", line):
                form = match.group(1).strip().rstrip("\\").strip()
                if form not in found:
                    found.append(form)
    return found


def order_forms(forms: Iterable[str]) -> list[str]:
    forms = list(forms)
    late = {f: next((i for i, p in enumerate(LAST) if f.startswith(p)), -1) for f in forms}
    return [f for f in forms if late[f] < 0] + sorted((f for f in forms if late[f] >= 0),
                                                     key=lambda f: late[f])


@dataclass
class Outcome:
    form: str
    argv: list[str]
    role: str
    code: int
    out: str
    err: str

    @property
    def rejection(self) -> str:
        text = self.err + self.out
        if self.code == 2 or any(marker in text for marker in REJECTIONS):
            return (self.err.strip() or self.out.strip()).splitlines()[-1:][0] \
                if (self.err.strip() or self.out.strip()) else f"exit {self.code}"
        return ""


@dataclass
class TownFixture:
    root: Path
    env: dict[str, str]
    rig: str
    prefix: str
    polecat: str
    worktree: Path
    branch: str
    made: dict[str, int] = field(default_factory=dict)


class Runner:
    def __init__(self, town: TownFixture) -> None:
        self.town = town

    # -- what a form needs ---------------------------------------------------------------
    def _store(self, actor: str = "overseer"):
        from gastown_tui.ops.context import open_store
        from gastown_tui.town.layout import Town

        return open_store(Town(self.town.root), actor)

    def new_bead(self, prefix: str | None = None) -> str:
        store = self._store()
        try:
            return store.create("a bead for a taught command", prefix=prefix or self.town.prefix,
                                description="made by the command-form test")["id"]
        finally:
            store.close_connection()

    def new_mail(self, to: str) -> str:
        from gastown_tui.ops import mail
        from gastown_tui.town.layout import Town

        store = self._store()
        try:
            molecule = store.create("a molecule", prefix=self.town.prefix)["id"]
            return mail.send(Town(self.town.root), store, to, "work for you",
                             f"attached_molecule: {molecule}\nPlease take this.",
                             sender="mayor/")["id"]
        finally:
            store.close_connection()

    def new_mr(self) -> str:
        from gastown_tui.ops.mr import create_mr
        from gastown_tui.town.layout import Town

        store = self._store()
        try:
            rig = Town(self.town.root).rig(self.town.rig)
            source = self.new_bead()
            mr, _ = create_mr(store, rig, branch=self.town.branch, target=rig.default_branch,
                              source_issue=source, worker=self.town.polecat,
                              commit_sha=secrets.token_hex(20), agent_bead="", priority=2)
            return mr.id
        finally:
            store.close_connection()

    def new_convoy(self) -> str:
        from gastown_tui.ops import convoy
        from gastown_tui.town.layout import Town

        store = self._store()
        try:
            return convoy.create(Town(self.town.root), store, "taught convoy",
                                 [self.new_bead()])["id"]
        finally:
            store.close_connection()

    def new_gate(self) -> str:
        from gastown_tui.ops import gates
        from gastown_tui.town.layout import Town

        store = self._store()
        try:
            return gates.create(Town(self.town.root), store, self.new_bead(),
                                reason="made by the command-form test")["id"]
        finally:
            store.close_connection()

    def new_molecule(self) -> str:
        from gastown_tui.ops.mol_spawn import spawn
        from gastown_tui.town.layout import Town

        store = self._store()
        try:
            return spawn(Town(self.town.root), store, "shiny", prefix=self.town.prefix,
                         values={"feature": "taught"}, ephemeral=True,
                         rig=self.town.rig).new_epic_id
        finally:
            store.close_connection()

    # -- who runs it ---------------------------------------------------------------------
    def role_env(self, role: str) -> tuple[dict[str, str], Path]:
        t = self.town
        if role.startswith("polecat"):
            who = f"{t.rig}/polecats/{t.polecat}"
            return {"GT_ROLE": who, "BD_ACTOR": who, "GT_RIG": t.rig, "GT_POLECAT": t.polecat,
                    "GT_SESSION": f"{t.prefix}-{t.polecat}", "GT_BRANCH": t.branch}, t.worktree
        if role == "mayor":
            return {"GT_ROLE": "mayor", "BD_ACTOR": "mayor", "GT_SESSION": "hq-mayor"}, \
                t.root / "mayor"
        if role in ("witness", "refinery"):
            cwd = t.root / t.rig / ("refinery/rig" if role == "refinery" else "witness")
            return {"GT_ROLE": f"{t.rig}/{role}", "BD_ACTOR": f"{t.rig}/{role}",
                    "GT_RIG": t.rig, "GT_SESSION": f"{t.prefix}-{role}"}, cwd
        if role == "crew":
            clone = t.root / t.rig / "crew" / "peer"
            return {"GT_ROLE": f"{t.rig}/crew/peer", "BD_ACTOR": f"{t.rig}/crew/peer",
                    "GT_RIG": t.rig, "GT_CREW": "peer"}, clone if clone.is_dir() else \
                t.root / t.rig
        if role == "dog":
            return {"GT_ROLE": "dog", "BD_ACTOR": "deacon/dogs/alpha", "GT_DOG_NAME": "alpha",
                    "GT_SESSION": "hq-dog-alpha"}, t.root / "deacon" / "dogs" / "alpha"
        return {"GT_ROLE": "deacon", "BD_ACTOR": "deacon", "GT_SESSION": "hq-deacon"}, \
            t.root / "deacon"

    def mail_identity(self, role: str) -> str:
        t = self.town
        if role.startswith("polecat"):
            return f"{t.rig}/{t.polecat}"
        if role in ("witness", "refinery"):
            return f"{t.rig}/{role}"
        if role == "crew":
            return f"{t.rig}/peer"
        return "mayor/" if role == "mayor" else "deacon/"

    # -- running -------------------------------------------------------------------------
    def fill(self, form: str, role: str) -> tuple[list[str], str | None]:
        t = self.town
        stdin = None
        if "<<'BODY'" in form:
            form, stdin = form.split("<<'BODY'")[0].strip(), "a body from stdin\n"
        values = {"rig": t.rig, "polecat": t.polecat, "formula": "mol-polecat-work",
                  "agent": "mayor/", "hqbead": "", "bead": "", "mail": "", "mr": "",
                  "convoy": "", "gate": "", "molecule": ""}
        while "{bead}" in form:  # each occurrence its own bead (bd dep add {bead} {bead})
            form = form.replace("{bead}", self.new_bead(), 1)
        if "{hqbead}" in form:
            values["hqbead"] = self.new_bead("hq")
        if "{mail}" in form:
            values["mail"] = self.new_mail(self.mail_identity(role))
        if "{mr}" in form:
            values["mr"] = self.new_mr()
        if "{convoy}" in form:
            values["convoy"] = self.new_convoy()
        if "{gate}" in form:
            values["gate"] = self.new_gate()
        if "{molecule}" in form:
            values["molecule"] = self.new_molecule()
        text = form
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        argv = shlex.split(text)
        unquoted = re.sub(r'"[^"]*"|\'[^\']*\'', "", text)  # quoted text may say <anything>
        leftover = re.findall(r"<[^>\s]+>", unquoted)
        assert not leftover, f"{form!r}: placeholder {leftover} has no value in the test"
        return argv, stdin

    def run(self, form: str, role: str) -> Outcome:
        argv, stdin = self.fill(form, role)
        env_extra, cwd = self.role_env(role)
        ping = None
        if "await-signal" in form:  # something must happen in the town for it to return
            ping = threading.Timer(0.5, self._ping)
            ping.start()
        try:
            proc = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd,
                                  env={**self.town.env, **env_extra}, capture_output=True,
                                  text=True, input=stdin if stdin is not None else "",
                                  timeout=90)
        finally:
            if ping is not None:
                ping.cancel()
        return Outcome(form, argv, role, proc.returncode, proc.stdout, proc.stderr)

    def _ping(self) -> None:
        from gastown_tui.town.events import log_event

        log_event(self.town.root, "test_ping", actor="test")


def role_for(roles: str) -> str:
    named = roles.split(",")
    return next((r for r in ROLE_ORDER if r in named), named[0])
