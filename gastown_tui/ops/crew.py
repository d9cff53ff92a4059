"""Crew (upstream gastown's internal/crew, cmd/crew*.go): persistent workspaces for people (or
an agent a person steers) beside a rig's polecats.

A crew member has a full clone of the rig's repository at `<rig>/crew/<name>` (objects shared
with the rig's `.repo.git`), on the default branch or its own `crew/<name>`; an agent bead
`<prefix>-<rig>-crew-<name>`; and, when started, a tmux session `<prefix>-crew-<name>` running
the crew runtime. Crew work is hooked like anyone's (`gt sling <bead> <rig> --crew <name>`)
and ends the way a person ends it: push (or `gt mq submit`) and `bd close`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from gastown_tui.ops import hook as hook_ops
from gastown_tui.ops import mail as mail_ops
from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.ops.sessions import start_agent, tmux_for
from gastown_tui.town.errors import ConflictError, GasTownError, GitError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import RigInfo, Town, now_rfc3339
from gastown_tui.town.locks import try_lock
from gastown_tui.town.names import Address, validate_agent_name
from gastown_tui.town.safe_write import append_bytes, ensure_dir
from gastown_tui.town.store import BeadStore

STATE_FILE = "state.json"


def crew_path(rig: RigInfo, name: str) -> Path:
    return rig.path / "crew" / validate_agent_name(name, kind="crew")


def address(rig: RigInfo, name: str) -> Address:
    return Address("crew", rig.name, name)


def session_of(rig: RigInfo, name: str) -> str:
    return address(rig, name).session_name(rig.prefix)


def names(rig: RigInfo) -> list[str]:
    base = rig.path / "crew"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / ".git").exists())


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise GitError(f"git {args[0]} failed in {cwd}: "
                       f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}",
                       fix="check the rig's repository (gt rig list) and try again")
    return proc


def _lock(rig: RigInfo, name: str):
    return try_lock(rig.path / ".runtime" / "locks" / f"crew-{name}.flock",
                    busy=f"crew {name} of {rig.name} is being changed by another command",
                    fix="wait for it to finish")


def add(town: Town, store: BeadStore, rig: RigInfo, name: str, *, branch: bool = False
        ) -> dict[str, Any]:
    """A full clone of the rig (objects borrowed from .repo.git), its state and agent bead."""
    path = crew_path(rig, name)
    with _lock(rig, name):
        if path.exists():
            raise ConflictError(f"crew {name} already exists in {rig.name}",
                                fix=f"gt crew at {name} --rig {rig.name}, or pick another name")
        ensure_dir(path.parent)
        try:
            _git(path.parent, "clone", "--quiet", "--reference", str(rig.bare_repo),
                 "--branch", rig.default_branch, rig.git_url, path.name)
            work_branch = rig.default_branch
            if branch:
                work_branch = f"crew/{name}"
                _git(path, "checkout", "--quiet", "-b", work_branch)
            _git(path, "config", "user.name", name)
            _git(path, "config", "user.email", f"{name}@gastown.local")
            # our files never show as changes
            append_bytes(path / ".git" / "info" / "exclude",
                         f"\n# gastown crew\n/{STATE_FILE}\n/.claude/\n/.runtime/\n".encode())
            now = now_rfc3339()
            state = {"name": name, "rig": rig.name, "clone_path": str(path),
                     "branch": work_branch, "created_at": now, "updated_at": now}
            write_json(path / STATE_FILE, state)
            ensure_agent_bead(store, address(rig, name), rig.prefix)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
    log_event(town.root, "crew_add", actor=store.actor,
              payload={"rig": rig.name, "name": name, "branch": work_branch})
    return state


def _git_state(path: Path) -> tuple[str, list[str], list[str]]:
    """(branch, modified, untracked) of a clone."""
    branch = _git(path, "rev-parse", "--abbrev-ref", "HEAD", check=False).stdout.strip()
    modified, untracked = [], []
    for line in _git(path, "status", "--porcelain", check=False).stdout.splitlines():
        (untracked if line.startswith("??") else modified).append(line[3:])
    return branch, modified, untracked


def _unpushed(path: Path) -> int:
    out = _git(path, "rev-list", "--count", "@{upstream}..HEAD", check=False)
    if out.returncode != 0:  # a branch with no upstream: count what origin does not have
        out = _git(path, "rev-list", "--count", "HEAD", "--not", "--remotes", check=False)
    try:
        return int(out.stdout.strip() or 0)
    except ValueError:
        return 0


def listing(town: Town, rigs: list[RigInfo]) -> list[dict[str, Any]]:
    """gt crew list: upstream's CrewListItem per crew member."""
    tmux = tmux_for(town)
    out = []
    for rig in rigs:
        for name in names(rig):
            path = crew_path(rig, name)
            branch, modified, untracked = _git_state(path)
            out.append({"name": name, "rig": rig.name, "branch": branch, "path": str(path),
                        "has_session": tmux.has_session(session_of(rig, name)),
                        "git_clean": not modified and not untracked})
    return out


def status(town: Town, store: BeadStore, rig: RigInfo, name: str) -> dict[str, Any]:
    """gt crew status: upstream's CrewStatus, with the bead on its hook."""
    path = crew_path(rig, name)
    if not path.is_dir():
        raise GasTownError(f"no crew {name} in {rig.name}",
                           fix=f"see gt crew list {rig.name}; add one with gt crew add {name}")
    branch, modified, untracked = _git_state(path)
    addr = address(rig, name)
    session = session_of(rig, name)
    running = tmux_for(town).has_session(session)
    mail = mail_ops.inbox(store, addr.mail_identity)
    hooked = hook_ops.hooked_for(store, str(addr))
    return {"name": name, "rig": rig.name, "path": str(path), "branch": branch,
            "has_session": running, **({"session_id": session} if running else {}),
            "git_clean": not modified and not untracked,
            **({"git_modified": modified} if modified else {}),
            **({"git_untracked": untracked} if untracked else {}),
            "mail_total": len(mail), "mail_unread": sum(1 for m in mail if not m["read"]),
            "unpushed": _unpushed(path), "hook": hooked["id"] if hooked else "",
            "created_at": (read_json(path / STATE_FILE, {}) or {}).get("created_at", "")}


def start(town: Town, rig: RigInfo, name: str, *, agent: str | None = None) -> dict[str, Any]:
    path = crew_path(rig, name)
    if not path.is_dir():
        raise GasTownError(f"no crew {name} in {rig.name}",
                           fix=f"create it first: gt crew add {name} --rig {rig.name}")
    session = session_of(rig, name)
    if tmux_for(town).has_session(session):
        return {"name": name, "rig": rig.name, "session": session, "action": "running"}
    session, alias = start_agent(town, address(rig, name), path, agent=agent)
    log_event(town.root, "session_start", actor="overseer",
              payload={"session": session, "agent": str(address(rig, name)), "runtime": alias})
    return {"name": name, "rig": rig.name, "session": session, "action": "started",
            "runtime": alias}


def stop(town: Town, rig: RigInfo, name: str, *, dry_run: bool = False) -> dict[str, Any]:
    session = session_of(rig, name)
    tmux = tmux_for(town)
    if not tmux.has_session(session):
        return {"name": name, "rig": rig.name, "session": session, "action": "absent"}
    if not dry_run:
        tmux.kill_session(session)
        log_event(town.root, "session_end", actor="overseer", payload={"session": session})
    return {"name": name, "rig": rig.name, "session": session,
            "action": "would stop" if dry_run else "stopped"}


def remove(town: Town, store: BeadStore, rig: RigInfo, name: str, *, force: bool = False,
           purge: bool = False) -> dict[str, Any]:
    """Remove a crew workspace; refuses uncommitted or unpushed work unless --force. --purge
    also puts its hooked work back in the ready pool and archives its mail."""
    path = crew_path(rig, name)
    if not path.is_dir():
        raise GasTownError(f"no crew {name} in {rig.name}", fix=f"see gt crew list {rig.name}")
    with _lock(rig, name):
        _, modified, untracked = _git_state(path)
        unpushed = _unpushed(path)
        if (modified or untracked or unpushed) and not force:
            what = [f"{len(modified) + len(untracked)} changed file(s)"] if \
                (modified or untracked) else []
            if unpushed:
                what.append(f"{unpushed} unpushed commit(s)")
            raise ValidationError(f"crew {name} has {' and '.join(what)}",
                                  fix="commit and push them, or pass --force to lose them")
        stop(town, rig, name)
        shutil.rmtree(path)
    addr = address(rig, name)
    released: list[str] = []
    archived: list[str] = []
    if purge:
        hooked = hook_ops.hooked_for(store, str(addr))
        while hooked is not None:
            hook_ops.detach(town, store, hooked["id"])
            released.append(hooked["id"])
            hooked = hook_ops.hooked_for(store, str(addr))
        mail = [m["id"] for m in mail_ops.inbox(store, addr.mail_identity)]
        if mail:
            archived = mail_ops.archive(town, store, addr.mail_identity, mail)
        try:
            store.update(addr.agent_bead_id(rig.prefix),
                         description_fields={"agent_state": "nuked", "hook_bead": None})
        except GasTownError:
            pass
    log_event(town.root, "crew_remove", actor=store.actor,
              payload={"rig": rig.name, "name": name, "purged": purge})
    return {"name": name, "rig": rig.name, "removed": True, "released": released,
            "archived_mail": len(archived)}
