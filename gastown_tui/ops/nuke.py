"""`gt polecat nuke`: destroy polecats, refusing unless nothing would be lost (operations.md).

With --force everything a polecat would lose is first kept in the graveyard (graveyard.py), then
the session and its process tree stop, the worktree, its registration and the local branch go,
the name is released, the agent bead says `nuked` and the polecat's beads are unassigned. The
remote branch stays for the Refinery; nothing else in the town is touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from gastown_tui.ops import graveyard
from gastown_tui.ops.hook import HOOK_STATUSES
from gastown_tui.ops.mr import find_open_mr
from gastown_tui.ops.namepool import release
from gastown_tui.ops.sessions import ssh_for, tmux_for
from gastown_tui.ops.worktrees import remove_worktree
from gastown_tui.town.errors import (
    BeadNotFoundError,
    ConflictError,
    GasTownError,
    InvalidNameError,
    ValidationError,
)
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields
from gastown_tui.town.hostlist import host_of, placement
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.locks import try_lock
from gastown_tui.town.names import Address, parse_address, validate_agent_name
from gastown_tui.town.store import BeadStore

MAX_LISTED_FILES = 3


class UnknownPolecatError(GasTownError):
    code = "not_found"


class NukeRefusedError(ConflictError):
    """At least one target would lose something; `findings` maps each such target to why."""

    code = "unsafe"

    def __init__(self, findings: dict[str, list[str]]) -> None:
        self.findings = findings
        what = "; ".join(f"{target}: {', '.join(reasons)}" for target, reasons in findings.items())
        super().__init__(f"refusing to nuke {what}",
                         fix="pass --force to keep that work in the graveyard and nuke anyway; "
                             "'gt polecat graveyard restore' brings it back")


@dataclass(frozen=True)
class Target:
    rig: RigInfo
    name: str

    @property
    def addr(self) -> Address:
        return Address("polecat", self.rig.name, self.name)

    @property
    def session(self) -> str:
        return self.addr.session_name(self.rig.prefix)

    @property
    def agent_bead(self) -> str:
        return self.addr.agent_bead_id(self.rig.prefix)

    @property
    def host(self) -> str | None:
        """The host it runs on (None: the town's own machine)."""
        return host_of(self.rig, self.name)

    @property
    def worktree(self) -> str:
        where = placement(self.rig, self.name)
        if where is not None:
            return f"{where['host']}:{where.get('worktree') or '?'}"
        return str(self.rig.polecat_worktree(self.name))


@dataclass(frozen=True)
class NukeResult:
    target: str  # rig/polecats/name
    rig: str
    name: str
    dry_run: bool
    forced: bool
    refused: bool  # a dry run that --force would be needed for
    findings: tuple[str, ...]
    actions: tuple[str, ...]  # what was done, or for a dry run what would be
    session: str
    branch: str
    worktree: str
    graveyard: tuple[str, ...] = ()  # refs of the graves made
    unassigned: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def graveyard_ref(self) -> str:
        return self.graveyard[-1] if self.graveyard else ""

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "graveyard_ref": self.graveyard_ref}


def resolve_target(town: Town, text: str) -> Target:
    """`<rig>/<name>` or `<rig>/polecats/<name>`, validated before any path is built."""
    addr = parse_address(text)
    if addr.role != "polecat" or addr.rig is None or addr.name is None:
        raise InvalidNameError(f"{text!r} is not a polecat",
                               fix="name it as <rig>/<name> or <rig>/polecats/<name>")
    return Target(town.rig(addr.rig), validate_agent_name(addr.name))


def rig_polecats(town: Town, rig_name: str) -> list[str]:
    """Every polecat of a rig as a target, for `nuke <rig> --all`."""
    rig = town.rig(rig_name)
    if not rig.polecats_dir.is_dir():
        return []
    return [f"{rig.name}/polecats/{p.name}" for p in sorted(rig.polecats_dir.iterdir())
            if p.is_dir() and not p.name.startswith(".")]


def _agent_fields(store: BeadStore, target: Target) -> dict[str, str] | None:
    try:
        return parse_fields(store.get(target.agent_bead).get("description", ""))
    except BeadNotFoundError:
        return None


def _session_alive(town: Town, target: Target) -> bool:
    try:
        return tmux_for(town, target.host).has_session(target.session)
    except (GasTownError, OSError):
        return False  # no tmux, or no server: no session


def _exists(town: Town, store: BeadStore, target: Target) -> bool:
    rig = target.rig
    if (rig.polecats_dir / target.name).is_dir() or graveyard.registered(rig, target.name):
        return True
    fields = _agent_fields(store, target)
    if fields is not None and fields.get("agent_state") not in ("nuked", ""):
        return True
    return _session_alive(town, target)


def _assigned(store: BeadStore, target: Target) -> list[dict[str, Any]]:
    """The beads on the polecat's hook (hooked or in progress with its address)."""
    beads = store.list_issues(assignee=str(target.addr), statuses=list(HOOK_STATUSES), limit=0,
                              include_infra=True, sort="id", counts=False)
    return [b for b in beads if not {"gt:agent", "gt:message"} & set(b.get("labels", []))]


def _open_mrs(store: BeadStore, target: Target, branch: str) -> list[str]:
    found = []
    if branch:
        mr = find_open_mr(store, target.rig, branch)
        if mr is not None:
            found.append(mr.id)
    active = (_agent_fields(store, target) or {}).get("active_mr", "")
    if active and active not in found:
        try:
            if store.get(active)["status"] not in ("closed", "tombstone", "pinned"):
                found.append(active)
        except BeadNotFoundError:
            pass
    return found


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _findings(store: BeadStore, target: Target, state: graveyard.WorkState) -> list[str]:
    reasons = []
    if state.changed:
        shown = ", ".join(state.changed[:MAX_LISTED_FILES])
        more = ", …" if len(state.changed) > MAX_LISTED_FILES else ""
        reasons.append(f"{_plural(len(state.changed), 'uncommitted file')} ({shown}{more})")
    if state.unmerged:
        reasons.append(f"{_plural(state.unmerged, 'commit')} not merged to "
                       f"{target.rig.default_branch}")
    reasons += [f"open merge request {mr}" for mr in _open_mrs(store, target, state.branch)]
    reasons += [f"work on its hook: {b['id']}" for b in _assigned(store, target)]
    return reasons


def _scan(store: BeadStore, target: Target) -> graveyard.WorkState:
    hint = (_agent_fields(store, target) or {}).get("branch", "")
    host = target.host
    if host:
        return _scan_on_host(Town(target.rig.path.parent), target, host, hint)
    return graveyard.scan(target.rig, target.name, branch_hint=hint)


def _scan_on_host(town: Town, target: Target, host: str, hint: str) -> graveyard.WorkState:
    """What a nuke would lose on the polecat's host, compared with the town's default branch
    (pushed there first: what merged here since its sling is not "unmerged" there). A host
    that does not answer refuses the nuke: its work cannot be saved from here."""
    from gastown_tui.hosts import git as host_git
    from gastown_tui.hosts import rpc

    ssh = ssh_for(town, host)
    head = f"refs/heads/{target.rig.default_branch}"
    host_git.push(ssh, target.rig.bare_repo, target.rig.name, [f"+{head}:{head}"])
    found = rpc.call(ssh, "scan", {"rig": target.rig.name, "name": target.name,
                                   "branch_hint": hint})
    return graveyard.WorkState(bool(found.get("exists")), str(found.get("branch") or ""),
                               str(found.get("head") or ""), {},
                               tuple(found.get("changed") or ()), int(found.get("unmerged") or 0))


def check_safety(town: Town, store: BeadStore, rig: RigInfo | str, name: str) -> list[str]:
    """Why a nuke of rig/name must refuse; empty when nothing would be lost."""
    rig = town.rig(rig) if isinstance(rig, str) else rig
    target = Target(rig, validate_agent_name(name))
    if not _exists(town, store, target):
        return ["unknown polecat"]
    return _findings(store, target, _scan(store, target))


def nuke(town: Town, store: BeadStore, targets: list[str], *, force: bool = False,
         dry_run: bool = False) -> list[NukeResult]:
    """Nuke each target; every target is checked before the first one is touched."""
    if not targets:
        raise ValidationError("nothing to nuke", fix="name polecats as <rig>/<name>, or <rig> --all")
    resolved: list[Target] = []
    for text in targets:
        target = resolve_target(town, text)
        if target in resolved:
            continue
        if not _exists(town, store, target):
            raise UnknownPolecatError(f"no polecat {target.addr} in rig {target.rig.name}",
                                      fix=f"see 'gt polecat list {target.rig.name}'")
        resolved.append(target)
    checked = [(t, s, _findings(store, t, s)) for t in resolved for s in [_scan(store, t)]]
    if dry_run:
        return [_plan(t, s, f, force) for t, s, f in checked]
    refused = {str(t.addr): f for t, _, f in checked if f}
    if refused and not force:
        raise NukeRefusedError(refused)
    return [_nuke_one(town, store, t, s, f, force) for t, s, f in checked]


def _plan(target: Target, state: graveyard.WorkState, findings: list[str],
          force: bool) -> NukeResult:
    steps = []
    if state.would_lose:
        steps.append(f"save {_plural(len(state.changed), 'changed file')} and branch "
                     f"{state.branch or '(none)'} to {graveyard.GRAVE_PREFIX}{target.name}/…")
    on = f" on host {target.host}" if target.host else ""
    steps += [f"kill session {target.session} and its processes{on}",
              f"remove worktree {target.worktree}"]
    if state.branch and state.branch != target.rig.default_branch:
        steps.append(f"delete local branch {state.branch}")
    steps += [f"release the name {target.name}", f"mark {target.agent_bead} nuked",
              "unassign its hooked beads"]
    return NukeResult(target=str(target.addr), rig=target.rig.name, name=target.name,
                      dry_run=True, forced=force, refused=bool(findings) and not force,
                      findings=tuple(findings), actions=tuple(steps), session=target.session,
                      branch=state.branch, worktree=target.worktree)


@contextmanager
def _polecat_lock(town: Town, target: Target) -> Iterator[None]:
    """One nuke of a polecat at a time: two would each save and each remove."""
    with try_lock(town.runtime_dir / "locks" / "nuke" / f"{target.rig.name}-{target.name}.flock",
                  busy=f"{target.addr} is being nuked by another process",
                  fix="wait for it, then check 'gt polecat list'", town_root=town.root):
        yield


def _nuke_one(town: Town, store: BeadStore, target: Target, state: graveyard.WorkState,
              findings: list[str], force: bool) -> NukeResult:
    with _polecat_lock(town, target):
        return _destroy(town, store, target, state, findings, force)


def _destroy(town: Town, store: BeadStore, target: Target, state: graveyard.WorkState,
             findings: list[str], force: bool) -> NukeResult:
    rig, name = target.rig, target.name
    actions: list[str] = []
    warnings: list[str] = []
    hooked = [b["id"] for b in _assigned(store, target)]
    bead = hooked[0] if hooked else ""
    hint = (_agent_fields(store, target) or {}).get("branch", "")
    host = target.host
    worktree = target.worktree
    if host:
        refs, branch = _destroy_on_host(town, target, host, bead, hint, actions, worktree)
    else:
        refs, branch = _destroy_here(town, target, state, bead, hint, actions, warnings)
    release(rig, name)
    if (rig.polecats_dir / name).exists():
        warnings.append(f"{rig.polecats_dir / name} could not be fully removed")
    else:
        actions.append(f"released the name {name}")
    if store.exists(target.agent_bead):
        store.update(target.agent_bead, description_fields={
            "agent_state": "nuked", "hook_bead": None, "active_mr": None,
            "cleanup_status": None, "branch": None, "host": None})
        actions.append(f"marked {target.agent_bead} nuked")
    unassigned = []
    for item in _assigned(store, target):
        mr = parse_fields(item.get("description", "")).get("merge_request", "")
        if mr and _is_open(store, mr):
            # submitted work waits for the refinery; reopening it would get it done twice
            actions.append(f"left {item['id']} with its open merge request {mr}")
            continue
        try:
            store.update(item["id"], changes={"status": "open", "assignee": ""},
                         expect_status=(item["status"],))
            unassigned.append(item["id"])
        except ConflictError as exc:
            warnings.append(f"could not unassign {item['id']}: {exc}")
    if unassigned:
        actions.append(f"unassigned {', '.join(unassigned)}")
    log_event(town.root, "kill", actor=store.actor, payload={
        "agent": str(target.addr), "rig": rig.name, "name": name, "session": target.session,
        "branch": branch, "graveyard": refs[-1] if refs else "", "graves": list(refs),
        "forced": force, "unassigned": unassigned, "findings": findings,
        **({"host": host} if host else {})})
    return NukeResult(target=str(target.addr), rig=rig.name, name=name, dry_run=False,
                      forced=force, refused=False, findings=tuple(findings),
                      actions=tuple(actions), session=target.session, branch=branch,
                      worktree=worktree, graveyard=refs,
                      unassigned=tuple(unassigned), warnings=tuple(warnings))


def _destroy_on_host(town: Town, target: Target, host: str, bead: str, hint: str,
                     actions: list[str], worktree: str) -> tuple[tuple[str, ...], str]:
    """The host's gt saves, stops and removes the polecat there; its graves are fetched into
    the town's bare repository, where `gt polecat graveyard` lists and restores them."""
    from gastown_tui.hosts import git as host_git
    from gastown_tui.hosts import rpc

    rig, name = target.rig, target.name
    ssh = ssh_for(town, host)
    done = rpc.call(ssh, "nuke", {"rig": rig.name, "name": name, "bead": bead,
                                  "branch_hint": hint, "force": True}, timeout=120)
    refs = tuple(str(r) for r in done.get("graves") or ())
    if refs:
        host_git.fetch(ssh, rig.bare_repo, rig.name, [f"+{r}:{r}" for r in refs])
        for ref in refs:
            actions.append(f"saved {_plural(len(done.get('files') or ()), 'changed file')} "
                           f"to {ref} (from host {host})")
    if "killed session" in (done.get("actions") or ()):
        actions.append(f"killed session {target.session} on host {host}")
    branch = str(done.get("branch") or "")
    keep_branch = not branch or branch == rig.default_branch
    remove_worktree(rig, name, None if keep_branch else branch)  # the town's copy of it
    actions.append(f"removed worktree {worktree}")
    if not keep_branch:
        actions.append(f"deleted branch {branch} (on host {host} and here)")
    return refs, branch


def _destroy_here(town: Town, target: Target, state: graveyard.WorkState, bead: str,
                  hint: str, actions: list[str], warnings: list[str]
                  ) -> tuple[tuple[str, ...], str]:
    rig, name = target.rig, target.name
    graves: list[graveyard.GraveEntry] = []
    if state.would_lose:  # only reachable with --force: the refusal came first otherwise
        grave = graveyard.save(rig, name, bead=bead, reason="nuke --force", branch_hint=hint)
        if grave is not None:
            graves.append(grave)
            actions.append(f"saved {_plural(len(grave.files), 'changed file')} to {grave.ref}")
    try:
        if tmux_for(town).kill_session(target.session):
            actions.append(f"killed session {target.session}")
    except (GasTownError, OSError) as exc:
        warnings.append(f"could not stop session {target.session}: {exc}")
    # The agent may have written between the save and its death: what it left is kept too.
    final = graveyard.scan(rig, name, branch_hint=hint)
    if final.would_lose and not (graves and graveyard.same_state(rig, graves[-1], final)):
        grave = graveyard.save(rig, name, bead=bead, reason="changed while being nuked",
                               branch_hint=hint)
        if grave is not None:
            graves.append(grave)
            actions.append(f"saved {_plural(len(grave.files), 'changed file')} to {grave.ref}")
    branch = final.branch or state.branch
    keep_branch = not branch or branch == rig.default_branch
    remove_worktree(rig, name, None if keep_branch else branch)
    actions.append(f"removed worktree {rig.polecat_worktree(name)}")
    if not keep_branch:
        actions.append(f"deleted local branch {branch}")
    return tuple(g.ref for g in graves), branch


def _is_open(store: BeadStore, bead_id: str) -> bool:
    try:
        return store.get(bead_id)["status"] != "closed"
    except GasTownError:
        return False
