"""Dogs (upstream gastown's internal/dog, cmd/dog.go): the Deacon's helpers. A dog lives in a
kennel `<town>/deacon/dogs/<name>/` with `.dog.json` {name, state idle|working, work,
work_started_at, last_active, worktrees, created_at, updated_at}; when given work it runs in a
tmux session `hq-dog-<name>` (the dog runtime: `role_agents.dog`, else the town default),
told what to do by its start-up prompt (a plugin's instructions, or "run run.sh"), and ends
with `gt dog done`. The Deacon dispatches due plugins to idle dogs each patrol and reaps the
sessions of dogs that finished."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.ops.plugins import Plugin
from gastown_tui.ops.sessions import agent_env, tmux_for, write_heartbeat
from gastown_tui.town.errors import ConflictError, GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import format_fields
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town
from gastown_tui.town.locks import hold_lock
from gastown_tui.town.names import Address, validate_agent_name
from gastown_tui.town.safe_write import ensure_dir
from gastown_tui.town.store import BeadStore

RESERVED = {"boot"}  # Boot's kennel is not a dog
NAMES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
POOL_MAX = 4


def kennel(town: Town) -> Path:
    return town.root / "deacon" / "dogs"


def dog_dir(town: Town, name: str) -> Path:
    validate_agent_name(name, kind="dog")
    if name in RESERVED:
        raise ValidationError(f"dog name {name!r} is reserved (Boot's kennel)",
                              fix="pick another name")
    return kennel(town) / name


def session_of(name: str) -> str:
    return f"hq-dog-{name}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _state_file(town: Town, name: str) -> Path:
    return dog_dir(town, name) / ".dog.json"


def load(town: Town, name: str) -> dict[str, Any]:
    state = read_json(_state_file(town, name), None)
    if not isinstance(state, dict):
        raise GasTownError(f"no dog {name} in the kennel",
                           fix=f"see gt dog list; add one with gt dog add {name}")
    return state


def _save(town: Town, state: dict[str, Any]) -> None:
    state["updated_at"] = _now()
    write_json(_state_file(town, state["name"]), state)


def names(town: Town) -> list[str]:
    base = kennel(town)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if p.is_dir() and p.name not in RESERVED and (p / ".dog.json").is_file())


def add(town: Town, store: BeadStore, name: str) -> dict[str, Any]:
    path = dog_dir(town, name)
    with hold_lock(town.runtime_dir / "locks" / "kennel.lock"):
        if (path / ".dog.json").exists():
            raise ConflictError(f"dog {name} already exists", fix="pick another name")
        ensure_dir(path)
        now = _now()
        state = {"name": name, "state": "idle", "last_active": now, "work": "",
                 "work_started_at": "", "worktrees": {}, "created_at": now, "updated_at": now}
        write_json(path / ".dog.json", state)
    bead_id = f"hq-dog-{name}"
    if not store.exists(bead_id):
        title = f"Dog {name} - the Deacon's helper."
        store.create(title, prefix="hq", bead_id=bead_id, issue_type="agent",
                     assignee=f"deacon/dogs/{name}", labels=["gt:agent"],
                     description=format_fields(title, {"role_type": "dog", "rig": None,
                                                       "agent_state": "idle"}))
    log_event(town.root, "dog_add", actor=store.actor, payload={"dog": name})
    return state


def listing(town: Town) -> list[dict[str, Any]]:
    tmux = tmux_for(town)
    out = []
    for name in names(town):
        state = load(town, name)
        out.append({"name": name, "state": state.get("state", "idle"),
                    **({"work": state["work"]} if state.get("work") else {}),
                    **({"work_started_at": state["work_started_at"]}
                       if state.get("work_started_at") else {}),
                    "last_active": state.get("last_active", ""),
                    **({"worktrees": state["worktrees"]} if state.get("worktrees") else {}),
                    "session_running": tmux.has_session(session_of(name))})
    return out


def pack_status(town: Town) -> dict[str, Any]:
    dogs = listing(town)
    idle = sum(1 for d in dogs if d["state"] == "idle")
    return {"total": len(dogs), "idle": idle, "working": len(dogs) - idle,
            "kennel_dir": str(kennel(town))}


def _start_session(town: Town, name: str, work: str, prompt: str, agent: str | None) -> str:
    from gastown_tui.runtimes.presets import resolve_alias, runtime_named

    session = session_of(name)
    tmux = tmux_for(town)
    if tmux.has_session(session):
        tmux.kill_session(session)  # a dead pane or an old run: a fresh one for new work
    alias = resolve_alias(town, "dog", None, agent)
    runtime = runtime_named(town, alias)
    env = agent_env(town, Address("deacon"), session=session, alias=alias, runtime=runtime)
    env.update({"GT_ROLE": "dog", "BD_ACTOR": f"deacon/dogs/{name}", "GT_DOG_NAME": name,
                "GIT_AUTHOR_NAME": name, "GIT_COMMITTER_NAME": name})
    stamp = datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M")
    beacon = f"[GAS TOWN] dog {name} <- deacon • {stamp} • {work}\n\n{prompt}"
    tmux.new_session(session, dog_dir(town, name), runtime.argv(beacon), env)
    write_heartbeat(town, session, "started", agent=f"deacon/dogs/{name}", runtime=alias)
    return session


def dispatch(town: Town, store: BeadStore, plugin: Plugin, *, dog: str = "",
             create: bool = False, agent: str | None = None, dry_run: bool = False
             ) -> dict[str, Any]:
    """Give a plugin to a dog (an idle one, or `dog`); --create makes one when none is idle.
    Upstream's dogDispatchResult."""
    out: dict[str, Any] = {"plugin": plugin.name, "plugin_path": plugin.path,
                           **({"plugin_rig": plugin.rig_name} if plugin.rig_name else {}),
                           "dog": "", "work": f"plugin:{plugin.name}", "session_started": False,
                           "work_confirmed": False, "warnings": []}
    with hold_lock(town.runtime_dir / "locks" / "kennel.lock"):
        chosen = dog
        if chosen:
            state = load(town, chosen)
            if state.get("state") == "working":
                raise ConflictError(f"dog {chosen} is working on {state.get('work')}",
                                    fix="wait for gt dog done, or pick another dog")
        else:
            chosen = next((d for d in names(town) if load(town, d).get("state") == "idle"), "")
        if not chosen:
            if not create:
                raise ConflictError("no idle dog in the kennel",
                                    fix="gt dog add <name>, or pass --create")
            taken = set(names(town))
            chosen = next((n for n in NAMES if n not in taken), f"dog{len(taken) + 1}")
            out["dog_created"] = True
    out["dog"] = chosen
    if dry_run:
        return {**out, "dry_run": True}
    if out.get("dog_created"):
        add(town, store, chosen)
    state = load(town, chosen)
    state.update(state="working", work=out["work"], work_started_at=_now(),
                 last_active=_now())
    _save(town, state)
    try:
        _start_session(town, chosen, out["work"], plugin.mail_body(), agent)
        out["session_started"] = True
        out["work_confirmed"] = load(town, chosen).get("work") == out["work"]
    except GasTownError as exc:
        state.update(state="idle", work="", work_started_at="")
        _save(town, state)
        raise GasTownError(f"dog {chosen} could not start: {exc.problem}",
                           fix=exc.fix or "check the dog runtime (role_agents.dog)") from exc
    log_event(town.root, "dog_dispatch", actor=store.actor,
              payload={"dog": chosen, "plugin": plugin.name})
    return out


def done(town: Town, name: str) -> dict[str, Any]:
    """The dog finished: idle again, its work cleared (its session is reaped by the Deacon)."""
    state = load(town, name)
    previous = state.get("work", "")
    state.update(state="idle", work="", work_started_at="", last_active=_now())
    _save(town, state)
    log_event(town.root, "dog_done", actor=f"deacon/dogs/{name}",
              payload={"dog": name, "work": previous})
    return {"dog": name, "previous_work": previous, "state": "idle"}


def clear(town: Town, name: str, *, force: bool = False) -> dict[str, Any]:
    """Reset a stuck dog to idle (its session must be gone, unless --force ends it)."""
    tmux = tmux_for(town)
    if tmux.has_session(session_of(name)):
        if not force:
            raise ConflictError(f"dog {name} still has a session {session_of(name)}",
                                fix="pass --force to end it too")
        tmux.kill_session(session_of(name))
    return done(town, name)


def remove(town: Town, store: BeadStore, name: str, *, force: bool = False) -> dict[str, Any]:
    state = load(town, name)
    if state.get("state") == "working" and not force:
        raise ConflictError(f"dog {name} is working on {state.get('work')}",
                            fix="wait for it, or pass --force")
    tmux_for(town).kill_session(session_of(name))
    shutil.rmtree(dog_dir(town, name))
    log_event(town.root, "dog_remove", actor=store.actor, payload={"dog": name})
    return {"dog": name, "removed": True}


def health(town: Town, *, max_inactivity: float = 600.0) -> list[dict[str, Any]]:
    """Upstream's DogHealthResult: working dogs whose session died (zombie work), working dogs
    quiet too long (hung), idle dogs with a session left (orphan)."""
    tmux = tmux_for(town)
    now = datetime.now(UTC)
    out = []
    for item in listing(town):
        problem = ""
        if item["state"] == "working" and not item["session_running"]:
            problem = "zombie: working but no session"
        elif item["state"] == "working" and item.get("work_started_at"):
            started = datetime.fromisoformat(item["work_started_at"].replace("Z", "+00:00"))
            if (now - started).total_seconds() > max_inactivity:
                problem = f"hung: working for over {int(max_inactivity)}s"
        elif item["state"] == "idle" and item["session_running"]:
            problem = "orphan: idle with a session"
        out.append({"name": item["name"], "state": item["state"], "healthy": not problem,
                    **({"problem": problem} if problem else {}),
                    "session": session_of(item["name"]) if tmux else ""})
    return out


def maintain(town: Town) -> list[str]:
    """The Deacon's dog-pool maintenance: end the sessions of idle dogs (done) and clear
    working dogs whose session died (their work is lost; the plugin runs again when due)."""
    tmux = tmux_for(town)
    acted = []
    for item in listing(town):
        session = session_of(item["name"])
        if item["state"] == "idle" and item["session_running"]:
            tmux.kill_session(session)
            acted.append(f"reaped {session}")
        elif item["state"] == "working" and not item["session_running"]:
            done(town, item["name"])
            acted.append(f"cleared {item['name']} (session gone)")
    return acted


def run_due_plugins(town: Town, store: BeadStore) -> list[dict[str, Any]]:
    """The Deacon's plugin-run step: each plugin whose gate is open goes to an idle dog (one
    is made when none is, up to POOL_MAX); a plugin a dog is already running waits."""
    from gastown_tui.ops.plugins import due

    busy = {d.get("work", "") for d in listing(town) if d["state"] == "working"}
    out = []
    for plugin, why in due(town, store):
        if f"plugin:{plugin.name}" in busy:
            continue
        try:
            result = dispatch(town, store, plugin, create=len(names(town)) < POOL_MAX)
        except GasTownError as exc:
            out.append({"plugin": plugin.name, "error": exc.problem})
            continue
        busy.add(result["work"])
        out.append({**result, "why": why})
    return out
