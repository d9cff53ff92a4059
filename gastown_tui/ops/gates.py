"""Gates (`bd gate`, upstream beads' cmd/bd/gate.go): async waits a molecule step parks on.

A gate is a bead of type `gate` that `blocks` the step (or hooked bead) waiting on it, with
bd's fields `await_type` (human, timer, gh:run, gh:pr, bead, mail), `await_id`, `timeout`
(nanoseconds, as Go writes a time.Duration) and `waiters`. While it is open the step it blocks
is not ready; when it opens (a human resolves it, its timer runs out, its CI run succeeds, the
bead it waits on closes) the gate closes and whoever waits on it is woken: its waiters and the
agents whose hooked beads it blocked get a nudge (mail when they have no session), and the
steps it held become ready for the Deacon to dispatch.

Differences from upstream, on purpose: one store holds every rig, so `bead` gates are checked
(upstream beads says cross-rig gates cannot be since routing was removed); and opening a gate
wakes its waiters at once (upstream leaves that to the Deacon's patrol formula).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gastown_tui.town.durations import format_duration, from_nanos, parse_duration, to_nanos
from gastown_tui.town.errors import GasTownError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.fields import parse_fields, set_fields
from gastown_tui.town.layout import Town
from gastown_tui.town.names import bead_prefix, parse_address
from gastown_tui.town.store import BeadStore

# The same as formulas.model.AWAITABLE_GATES (not imported: gt hook must not load pydantic)
GATE_TYPES = ("human", "timer", "gh:run", "gh:pr", "bead", "mail")
CHECK_FILTERS = ("", "all", "gh", "gh:run", "gh:pr", "timer", "bead")
GH_TIMEOUT = 30.0


@dataclass
class CheckResult:
    gate: dict[str, Any]
    resolved: bool = False
    escalated: bool = False
    reason: str = ""
    error: str = ""
    woken: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.gate["id"], "await_type": self.gate.get("await_type", ""),
                "resolved": self.resolved, "escalated": self.escalated, "reason": self.reason,
                "error": self.error, "woken": self.woken}


def _gate(store: BeadStore, gate_id: str) -> dict[str, Any]:
    bead = store.get(gate_id)
    if bead.get("issue_type") != "gate":
        raise ValidationError(f"{gate_id} is not a gate issue (type={bead.get('issue_type')})",
                              fix="see 'bd gate list' for gate ids")
    return bead


def title_for(gate_type: str, await_id: str) -> str:
    return f"Gate: {gate_type} {await_id}" if await_id else f"Gate: {gate_type}"


def create(town: Town, store: BeadStore, blocks: str, *, gate_type: str = "human",
           reason: str = "", await_id: str = "", timeout: str = "",
           waiters: list[str] | tuple[str, ...] = (), step: str = "",
           molecule: str = "") -> dict[str, Any]:
    """A gate blocking `blocks` (bd gate create), in one transaction with its dependency.
    `step`/`molecule` name the formula step it parks (for steps inlined from a formula)."""
    if gate_type not in GATE_TYPES:
        raise ValidationError(f"unknown gate type {gate_type!r}",
                              fix=f"use one of: {', '.join(GATE_TYPES)}")
    target = store.get(blocks)
    extra: dict[str, Any] = {"await_type": gate_type}
    if await_id:
        extra["await_id"] = await_id
    if timeout:
        extra["timeout"] = to_nanos(parse_duration(timeout, what="--timeout"))
    elif gate_type == "timer":
        raise ValidationError("a timer gate needs --timeout", fix="e.g. --timeout=30m")
    if gate_type in ("gh:run", "gh:pr", "bead") and not await_id:
        raise ValidationError(f"a {gate_type} gate needs --await-id",
                              fix="the run id (or workflow name), PR number or bead id it waits on")
    if waiters:
        extra["waiters"] = sorted(dict.fromkeys(w for w in waiters if w))
    lines = [f"Async gate for step {step}" if step else f"Ad-hoc gate blocking {target['id']}"]
    if reason:
        lines += ["", f"Reason: {reason}"]
    fields = {k: v for k, v in {"molecule": molecule, "step": step}.items() if v}
    description = set_fields("\n".join(lines), fields) if fields else "\n".join(lines)
    gate = store.create(title_for(gate_type, await_id), prefix=bead_prefix(target["id"]),
                        issue_type="gate", description=description, fields=extra,
                        deps=[("blocks-reverse", target["id"])])
    log_event(town.root, "gate_created", actor=store.actor,
              payload={"gate": gate["id"], "type": gate_type, "blocks": target["id"],
                       "step": step})
    return gate


def list_gates(store: BeadStore, *, include_closed: bool = False, limit: int = 50,
               gate_type: str = "") -> list[dict[str, Any]]:
    gates = store.list_issues(issue_types=["gate"], include_all=include_closed,
                              statuses=None if include_closed else
                              ["open", "in_progress", "blocked", "hooked", "deferred"],
                              limit=limit, sort="created", counts=False)
    return [g for g in gates if _matches(g, gate_type)]


def _matches(gate: dict[str, Any], type_filter: str) -> bool:
    kind = gate.get("await_type", "")
    if type_filter in ("", "all"):
        return True
    if type_filter == "gh":
        return kind.startswith("gh:")
    return kind == type_filter


def blocked_by(store: BeadStore, gate_id: str) -> list[str]:
    """The beads this gate holds (those with a blocks dependency on it)."""
    return [d["issue_id"] for d in store.dependent_records(gate_id) if d["type"] == "blocks"]


def gates_on(store: BeadStore, bead_id: str, *, open_only: bool = True) -> list[dict[str, Any]]:
    """The gates blocking a bead (a hooked bead parked on a step, or a step bead)."""
    out = []
    for dep in store.dependency_records(bead_id):
        if dep["type"] != "blocks":
            continue
        try:
            target = store.get(dep["depends_on_id"])
        except GasTownError:
            continue
        if target.get("issue_type") == "gate" and (
                not open_only or target["status"] not in ("closed", "tombstone")):
            out.append(target)
    return out


def step_gate(store: BeadStore, bead_id: str, step: str) -> dict[str, Any] | None:
    """The gate (open or not) created for formula step `step` of the bead's molecule."""
    for gate in gates_on(store, bead_id, open_only=False):
        if parse_fields(gate.get("description", "")).get("step") == step:
            return gate
    return None


def add_waiter(town: Town, store: BeadStore, gate_id: str, waiter: str) -> tuple[dict, bool]:
    """(gate, added): register an address to wake when the gate opens."""
    gate = _gate(store, gate_id)
    waiter = waiter.strip()
    if not waiter:
        raise ValidationError("the waiter is empty", fix="pass an address such as gastown/polecats/toast")
    if waiter in (gate.get("waiters") or []):
        return gate, False
    updated = store.update(gate_id, changes={"waiters": [*(gate.get("waiters") or []), waiter]})
    log_event(town.root, "gate_waiter", actor=store.actor,
              payload={"gate": gate_id, "waiter": waiter})
    return updated, True


def remaining(gate: dict[str, Any], now: datetime | None = None) -> float | None:
    """Seconds until a timer gate opens (negative once it has expired); None otherwise."""
    timeout = from_nanos(gate.get("timeout"))
    if gate.get("await_type") != "timer" or timeout <= 0:
        return None
    created = datetime.fromisoformat(str(gate["created_at"]).replace("Z", "+00:00"))
    now = now or datetime.now(UTC)
    return (created.timestamp() + timeout) - now.timestamp()


def describe(gate: dict[str, Any], now: datetime | None = None) -> str:
    """One line a person (or an agent) reads: what the gate waits for."""
    kind = gate.get("await_type", "") or "gate"
    what = f"{kind} {gate['await_id']}" if gate.get("await_id") else kind
    if gate["status"] == "closed":
        return f"{what}: opened ({gate.get('close_reason') or 'closed'})"
    left = remaining(gate, now)
    if left is not None:
        return f"{what}: opens in {format_duration(left)}" if left > 0 else f"{what}: expired"
    if kind == "human":
        return f"{what}: waits for a person (bd gate resolve {gate['id']})"
    return f"{what}: waiting"


# ---------------------------------------------------------------------------- evaluation
def _check_timer(gate: dict[str, Any], now: datetime) -> tuple[bool, bool, str, str]:
    left = remaining(gate, now)
    if left is None:
        return False, False, "timer gate without timeout configured", "no timeout set"
    if left < 0:
        return True, False, f"timer expired {format_duration(-left)} ago", ""
    return False, False, f"expires in {format_duration(left)}", ""


def _check_bead(store: BeadStore, gate: dict[str, Any]) -> tuple[bool, bool, str, str]:
    await_id = gate.get("await_id", "")
    bead_id = await_id.rsplit(":", 1)[-1]  # <rig>:<bead-id> as upstream writes it
    try:
        bead = store.get(bead_id)
    except GasTownError:
        return False, True, f"bead {bead_id} not found", ""
    if bead["status"] in ("closed", "tombstone"):
        return True, False, f"bead {bead_id} closed", ""
    return False, False, f"bead {bead_id} is {bead['status']}", ""


def _gh(args: list[str], cwd: Path) -> tuple[dict[str, Any] | list[Any] | None, str]:
    """Run the GitHub CLI (argument list, never a shell); (parsed JSON, error)."""
    exe = shutil.which("gh")
    if exe is None:
        return None, "gh CLI not installed (https://cli.github.com)"
    try:
        proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=GH_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"gh {args[0]} {args[1]} failed: {exc}"
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    try:
        return json.loads(proc.stdout), ""
    except ValueError:
        return None, "gh printed something that is not JSON"


def _gh_cwd(town: Town, gate: dict[str, Any]) -> Path:
    """gh finds the repository from the working directory's git remote: the rig's clone."""
    rig = town.rig_for_prefix(bead_prefix(gate["id"]))
    if rig is not None and rig.refinery_worktree.is_dir():
        return rig.refinery_worktree
    return town.root


def _check_gh_run(town: Town, store: BeadStore, gate: dict[str, Any], *, persist: bool
                  ) -> tuple[bool, bool, str, str]:
    run_id = gate.get("await_id", "")
    if not run_id:
        return False, False, "no run ID specified - set await_id or use workflow name hint", ""
    cwd = _gh_cwd(town, gate)
    if not run_id.isdigit():  # a workflow name: its most recent run (upstream's discovery)
        runs, err = _gh(["run", "list", "--workflow", run_id, "--json",
                         "databaseId,name,status,conclusion,createdAt,workflowName",
                         "--limit", "5"], cwd)
        if err or not isinstance(runs, list):
            return False, False, f"workflow hint '{run_id}': {err or 'no runs'}", ""
        if not runs:
            return False, False, f"workflow hint '{run_id}': no runs found", ""
        run_id = str(runs[0].get("databaseId", ""))
        if persist and run_id:
            store.update(gate["id"], changes={"await_id": run_id})
    status, err = _gh(["run", "view", run_id, "--json", "status,conclusion,name"], cwd)
    if err:
        if "not found" in err:
            return False, True, "workflow run not found", ""
        return False, False, "", err
    if not isinstance(status, dict):
        return False, False, "", "gh run view printed no object"
    name, state, conclusion = status.get("name", ""), status.get("status", ""), \
        status.get("conclusion", "")
    if state == "completed":
        if conclusion in ("success", "skipped"):
            verb = "succeeded" if conclusion == "success" else "was skipped"
            return True, False, f"workflow '{name}' {verb}", ""
        if conclusion in ("cancelled", "canceled"):
            return False, True, f"workflow '{name}' was canceled", ""
        if conclusion == "failure":
            return False, True, f"workflow '{name}' failed", ""
        return False, True, f"workflow '{name}' concluded with {conclusion}", ""
    if state in ("in_progress", "queued", "pending", "waiting"):
        return False, False, f"workflow '{name}' is {state}", ""
    return False, False, f"workflow '{name}' status: {state}", ""


def _check_gh_pr(town: Town, gate: dict[str, Any]) -> tuple[bool, bool, str, str]:
    number = gate.get("await_id", "")
    if not number:
        return False, False, "no PR number specified", ""
    status, err = _gh(["pr", "view", number, "--json", "state,title"], _gh_cwd(town, gate))
    if err:
        if "not found" in err or "Could not resolve" in err:
            return False, True, "pull request not found", ""
        return False, False, "", err
    if not isinstance(status, dict):
        return False, False, "", "gh pr view printed no object"
    title, state = status.get("title", ""), status.get("state", "")
    if state == "MERGED":
        return True, False, f"PR '{title}' was merged", ""
    if state == "CLOSED":
        return False, True, f"PR '{title}' was closed without merging", ""
    pending = f"PR '{title}' is still open" if state == "OPEN" else f"PR '{title}' state: {state}"
    return False, False, pending, ""


def check(town: Town, store: BeadStore, *, type_filter: str = "", dry_run: bool = False,
          escalate: bool = False, limit: int = 100, now: datetime | None = None
          ) -> list[CheckResult]:
    """bd gate check: evaluate the open gates, open those whose condition holds, and (with
    `escalate`) escalate failed CI runs and closed PRs. Human and mail gates wait for people."""
    if type_filter not in CHECK_FILTERS:
        raise ValidationError(f"unknown gate type filter {type_filter!r}",
                              fix="use gh, gh:run, gh:pr, timer, bead or all")
    now = now or datetime.now(UTC)
    results = []
    for gate in list_gates(store, limit=limit, gate_type=type_filter):
        kind = gate.get("await_type", "")
        res = CheckResult(gate)
        if kind.startswith("gh:run"):
            res.resolved, res.escalated, res.reason, res.error = _check_gh_run(
                town, store, gate, persist=not dry_run)
        elif kind.startswith("gh:pr"):
            res.resolved, res.escalated, res.reason, res.error = _check_gh_pr(town, gate)
        elif kind == "timer":
            res.resolved, res.escalated, res.reason, res.error = _check_timer(gate, now)
        elif kind == "bead":
            res.resolved, res.escalated, res.reason, res.error = _check_bead(store, gate)
        else:
            continue
        if res.resolved and not dry_run and not res.error:
            res.woken = open_gate(town, store, gate["id"], res.reason)
        elif res.escalated and escalate and not dry_run:
            _escalate(town, store, gate, res.reason)
        results.append(res)
    return results


def _escalate(town: Town, store: BeadStore, gate: dict[str, Any], reason: str) -> None:
    from gastown_tui.ops.escalate import escalate

    fields = parse_fields(gate.get("description", ""))
    if fields.get("escalated"):
        return  # once per gate: a failed run does not un-fail
    escalate(town, store, f"Gate escalation: {gate['id']}", severity="high",
             reason=f"Gate {gate['id']} needs attention. Type: {gate.get('await_type')}. "
                    f"Reason: {reason}", source="gate", related=gate["id"],
             escalated_by=store.actor or "deacon")
    store.update(gate["id"], description_fields={"escalated": reason})


# ---------------------------------------------------------------------------- opening
def open_gate(town: Town, store: BeadStore, gate_id: str, reason: str = "") -> list[str]:
    """Close the gate and wake whoever waits on it; returns the addresses woken."""
    gate = _gate(store, gate_id)
    if gate["status"] != "closed":
        store.set_status(gate_id, "closed", reason=reason or "resolved", force=True)
    log_event(town.root, "gate_opened", actor=store.actor,
              payload={"gate": gate_id, "type": gate.get("await_type", ""), "reason": reason,
                       "blocks": blocked_by(store, gate_id)})
    return wake(town, store, gate_id)


def wake(town: Town, store: BeadStore, gate_id: str) -> list[str]:
    """Tell a closed gate's waiters, and the agents whose hooked beads it held, that it opened
    (once: the gate remembers it in its `woken` field)."""
    gate = _gate(store, gate_id)
    if gate["status"] != "closed" or parse_fields(gate.get("description", "")).get("woken"):
        return []
    targets: list[tuple[str, str]] = [(w, "") for w in gate.get("waiters") or []]
    for bead_id in blocked_by(store, gate_id):
        try:
            bead = store.get(bead_id)
        except GasTownError:
            continue
        holder = bead.get("assignee") or ""
        if holder and bead["status"] in ("hooked", "in_progress"):
            targets.append((holder, bead_id))
    woken: list[str] = []
    seen: set[str] = set()
    for address, bead_id in targets:
        key = _agent_key(address)
        if key in seen:
            continue
        seen.add(key)
        step = parse_fields(gate.get("description", "")).get("step", "")
        message = (f"GATE_OPEN {gate_id}: {gate.get('close_reason') or 'resolved'}. "
                   + (f"Step {step} may go on" if step else "Your work may go on")
                   + (f" ({bead_id}): gt prime shows it." if bead_id else "."))
        if _notify(town, store, address, message, gate_id):
            woken.append(address)
    store.update(gate_id, description_fields={"woken": ",".join(woken) or "nobody"})
    return woken


def _agent_key(address: str) -> str:
    try:
        return str(parse_address(address))
    except GasTownError:
        return address


def _notify(town: Town, store: BeadStore, address: str, message: str, gate_id: str) -> bool:
    """Nudge an agent with a live session; mail anyone else (mail survives session death)."""
    from gastown_tui.ops import mail as mail_ops
    from gastown_tui.ops.nudge import nudge

    try:
        nudge(town, address, message, mode="wait-idle", timeout=3.0,
              sender=store.actor or "deacon")
        return True
    except GasTownError:
        pass
    try:
        mail_ops.send(town, store, address, f"GATE_OPEN {gate_id}", message,
                      sender=store.actor if "/" in (store.actor or "") else "deacon/")
        return True
    except GasTownError:
        return False


def sweep_closed(town: Town, store: BeadStore, *, limit: int = 200) -> list[tuple[str, list[str]]]:
    """Gates closed by hand (`bd close <gate>`) whose waiters nobody told yet."""
    out = []
    for gate in store.list_issues(issue_types=["gate"], statuses=["closed"], limit=limit,
                                  sort="updated", counts=False):
        if not parse_fields(gate.get("description", "")).get("woken"):
            out.append((gate["id"], wake(town, store, gate["id"])))
    return out


# ---------------------------------------------------------------------------- gated molecules
def molecule_of(store: BeadStore, bead_id: str) -> str:
    """The molecule a step belongs to: its parent chain's root (poured/wisp molecules), or the
    formula run convoy named in its `molecule:` field."""
    seen = {bead_id}
    current = bead_id
    while True:
        parent = next((d["depends_on_id"] for d in store.dependency_records(current)
                       if d["type"] == "parent-child"), None)
        if parent is None or parent in seen:
            break
        seen.add(parent)
        current = parent
    if current != bead_id:
        return current
    try:
        return parse_fields(store.get(bead_id).get("description", "")).get("molecule", "")
    except GasTownError:
        return ""


def gate_ready_molecules(store: BeadStore) -> list[dict[str, Any]]:
    """bd ready --gated: molecules where a gate closed, the step it held is ready now, and
    nobody has the molecule hooked (discovery-based resume, as upstream's patrol uses)."""
    closed = store.list_issues(issue_types=["gate"], statuses=["closed"], limit=0,
                               sort="updated", counts=False)
    if not closed:
        return []
    ready = {b["id"]: b for b in store.ready(limit=0, include_ephemeral=True)}
    hooked = {b["id"] for b in store.list_issues(statuses=["hooked"], limit=0,
                                                 include_infra=True, counts=False)}
    molecules: dict[str, dict[str, Any]] = {}
    for gate in closed:
        for step_id in blocked_by(store, gate["id"]):
            step = ready.get(step_id)
            if step is None:
                continue
            mol = molecule_of(store, step_id)
            if not mol or mol in hooked or mol in molecules:
                continue
            try:
                title = store.get(mol)["title"]
            except GasTownError:
                continue
            molecules[mol] = {"molecule_id": mol, "molecule_title": title,
                              "closed_gate": gate, "ready_step": step}
    return [molecules[k] for k in sorted(molecules)]
