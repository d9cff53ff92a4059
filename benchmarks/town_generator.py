"""A large synthetic town for the benchmarks (issue 8): 3 rigs, 30 polecats with live sessions
printing output, 10,000 beads with dependencies, 200 merge requests, 20 convoys, 50,000 events.

Everything lies on disk exactly as the product writes it. The per-item verbs run where they are
cheap enough (`rig_add`, `sling`, `create_mr` with `gt done`'s source-bead update, convoy
`create`/`check`); the two bulk parts use the product's own bulk paths: the beads go in through
one bd JSONL import, the event history is appended as `event_line()` lines in one write.

Polecats are made by the real `sling` (namepool name, worktree, agent bead, hook, session via
`start_agent` with the agent environment and heartbeat). Their runtime is a town agent alias
(`settings/config.json` "agents"), one of:

- `sim` (default): the built-in sim runtime, fed one line a second on its stdin by a shell loop.
  The sim has no verb for periodic output (its script verbs write files or sleep, and a script
  long enough to print for minutes would bloat the hooked bead), but it echoes every line it
  reads (`[sim] received: ...` and its prompt), so each session is a live sim agent that primed
  itself, found its hook, checks its mail and drains its nudges, and prints about a line a
  second without ever finishing its bead.
- `loop`: a plain shell print loop (the beacon, then a line a second), no Python per session.

    .venv/bin/python benchmarks/town_generator.py DIR [--keep-sessions] [--agent sim|loop]

builds DIR/town (upstreams in DIR/src), prints the counts and the time it took, and kills the
town's tmux server unless --keep-sessions (then `gastown-tui DIR/town` opens it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RIG_NAMES = (("gastown", "gt"), ("beads", "bd"), ("wyvern", "wy"))
# One line a second, like an agent narrating its work; the module number cycles over 97 so a
# pane's screen never repeats while it is on screen.
FEED = ('i=0; while :; do i=$((i+1)); case $((i % 4)) in 0) a="reading";; 1) a="editing";; '
        '2) a="running tests for";; *) a="searching";; esac; '
        'echo "step $i: $a src/module_$((i % 97)).py"; sleep 1; done')
# $1: the python running the sim, $2: the beacon (start_agent appends it to the argv).
SIM_ARGS = ["-c", FEED + ' | exec "$1" -m gastown_tui.demo.sim "$2"', "sh", sys.executable]
LOOP_ARGS = ["-c", 'printf "%s\\n" "$1" | head -n 1; ' + FEED, "sh"]
AGENTS = {
    # provider sim: the sim's ready prompt and process names; the command is the feeder.
    "sim": {"provider": "sim", "command": "sh", "args": SIM_ARGS},
    "loop": {"provider": "sim", "command": "sh", "args": LOOP_ARGS},
}
ALIAS = "bench-{agent}"

VERBS = ("Fix", "Add", "Refactor", "Speed up", "Document", "Test", "Remove", "Rename",
         "Harden", "Split", "Cache", "Validate", "Migrate", "Log", "Retry")
THINGS = ("reconnect storm", "merge queue scoring", "pane capture", "bead import", "sling guard",
          "convoy landing", "nudge queue", "witness patrol", "heartbeat file", "worktree prune",
          "event log rotation", "JSONL export", "ready query", "refinery gates", "mail inbox",
          "namepool overflow", "status bar", "theme loader", "key bindings", "session restart")
PLACES = ("in the websocket client", "for large towns", "under load", "on startup",
          "in the control room", "in bd import", "for cross-rig convoys", "in the refinery",
          "when tmux restarts", "on slow disks", "in gt done", "for crew clones")
LABELS = ("area:ui", "area:store", "area:cli", "area:refinery", "area:docs", "perf",
          "flaky-test", "good-first-issue", "needs-design", "tech-debt")
TYPES = ("task",) * 11 + ("bug",) * 5 + ("feature",) * 3 + ("chore",)
PRIORITIES = (0,) + (1,) * 4 + (2,) * 9 + (3,) * 4 + (4,) * 2


@dataclass
class LargeTown:
    """What build_large_town made: where, the counts, and the live sessions."""

    root: Path
    socket: str
    rigs: list[str]
    prefixes: list[str]
    polecats: list[str]  # addresses
    sessions: list[str]
    first_hooked: str  # the bead on the first polecat's hook
    first_session: str
    beads: int  # work beads generated (epics, tasks, bugs, ...)
    deps: dict[str, int] = field(default_factory=dict)  # by type, over the whole store
    mrs: int = 0
    convoys: int = 0
    events: int = 0  # lines in .events.jsonl
    store_issues: int = 0  # every row of the store (work beads, agents, MRs, convoys, mail)
    ready: int = 0
    blocked: int = 0
    agent: str = "sim"
    timings: dict[str, float] = field(default_factory=dict)

    def counts_line(self) -> str:
        deps = sum(self.deps.values())
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.deps.items(), key=lambda kv: -kv[1]))
        return (f"town: {len(self.rigs)} rigs, {len(self.polecats)} polecats ({self.agent}), "
                f"{self.beads} beads ({self.ready} ready, {self.blocked} blocked), "
                f"{deps} deps ({kinds}), {self.mrs} MRs, {self.convoys} convoys, "
                f"{self.events} events")


# ------------------------------------------------------------------------------ beads
def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Ids:
    """bd-style ids (`<prefix>-<base36 hash>`, 5 characters at this size), deterministic."""

    def __init__(self, rng: random.Random) -> None:
        from gastown_tui.town.store.ids import adaptive_length

        self.rng = rng
        self.seen: set[str] = set()
        self.length = adaptive_length

    def new(self, prefix: str, expected: int) -> str:
        from gastown_tui.town.store.ids import base36

        length = self.length(expected)
        while True:
            bead_id = f"{prefix}-{base36(self.rng.getrandbits(40)).rjust(length, '0')[-length:]}"
            if bead_id not in self.seen:
                self.seen.add(bead_id)
                return bead_id


def _title(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)} {rng.choice(THINGS)} {rng.choice(PLACES)}"


def _description(rng: random.Random, title: str) -> str:
    # No `word: value` lines: Gas Town reads those as fields.
    return (f"{title}. Seen in the field by the overseer; the change should stay small and come "
            f"with a test. See module_{rng.randrange(97)} and its callers before editing, "
            f"and keep the public behaviour the same.")


@dataclass
class _RigPlan:
    name: str
    prefix: str
    records: list[dict] = field(default_factory=list)
    hook: list[str] = field(default_factory=list)  # beads the live polecats get
    mr_sources: list[tuple[str, str]] = field(default_factory=list)  # (bead, worker)
    closed: list[str] = field(default_factory=list)
    open_ids: list[str] = field(default_factory=list)
    epics: list[str] = field(default_factory=list)


def _plan_beads(rng: random.Random, rigs: list[tuple[str, str]], total: int, now: datetime,
                live: dict[str, int], mrs: dict[str, int], workers: dict[str, list[str]],
                former: dict[str, list[str]]) -> list[_RigPlan]:
    """bd JSONL records for `total` work beads over the rigs: epics with children (some of
    them in blocks chains), standalone beads with blocks edges onto earlier ones, related and
    discovered-from edges, closed history; plus the beads reserved for the live polecats'
    hooks and for the MRs' sources (open, unblocked)."""
    ids = _Ids(rng)
    plans = [_RigPlan(name, prefix) for name, prefix in rigs]
    share = [total // len(rigs) + (1 if i < total % len(rigs) else 0) for i in range(len(rigs))]
    span = timedelta(days=14).total_seconds()
    everything: list[str] = []
    for plan, count in zip(plans, share, strict=True):
        reserved = live[plan.name] + mrs[plan.name]
        made = 0
        standalone: list[str] = []

        def record(bead_id: str, *, issue_type: str, status: str, deps: list[tuple[str, str]],
                   title: str | None = None, plan: _RigPlan = plan, count: int = count,
                   made_at: int = 0) -> dict:
            title = title or _title(rng)
            created = now - timedelta(seconds=span * (1 - made_at / max(count, 1))
                                      + rng.uniform(0, 3600))
            updated = created + timedelta(seconds=rng.uniform(60, 86400))
            updated = min(updated, now - timedelta(minutes=5))
            rec = {"id": bead_id, "title": title, "description": _description(rng, title),
                   "status": status, "priority": rng.choice(PRIORITIES), "issue_type": issue_type,
                   "created_at": _stamp(created), "created_by": "mayor",
                   "updated_at": _stamp(updated)}
            if status == "closed":
                rec["closed_at"] = _stamp(updated)
                rec["close_reason"] = "Merged"
                rec["assignee"] = f"{plan.name}/polecats/{rng.choice(former[plan.name])}"
            if rng.random() < 0.4:
                rec["labels"] = [rng.choice(LABELS)]
            rec["dependencies"] = [{"issue_id": bead_id, "depends_on_id": target, "type": kind,
                                    "created_at": _stamp(created), "created_by": "mayor"}
                                   for kind, target in deps]
            plan.records.append(rec)
            (plan.closed if status == "closed" else plan.open_ids).append(bead_id)
            everything.append(bead_id)
            return rec

        # The reserved beads first: open, no blockers, no children — work anyone may take.
        for n in range(reserved):
            bead_id = ids.new(plan.prefix, count)
            rec = record(bead_id, issue_type=rng.choice(("task", "bug", "feature")),
                         status="open", deps=[], made_at=count - reserved + n)
            if n < live[plan.name]:
                plan.hook.append(bead_id)
                # The sim works a ```sim script: one note written, and no `gt done`, ever.
                rec["description"] += (f"\n\n```sim\nwrite: notes/{bead_id}.md | working on "
                                       f"{bead_id}\\n\ndone: false\n```")
            else:
                # Hooked by the polecat that worked it; `gt done` then moves it on.
                worker = workers[plan.name][n - live[plan.name]]
                rec["status"] = "hooked"
                rec["assignee"] = f"{plan.name}/polecats/{worker}"
                plan.mr_sources.append((bead_id, worker))
            made += 1
        while made < count:
            left = count - made
            closed_share = 0.8 * (1 - made / count) + 0.2  # old work is mostly done
            if rng.random() < 0.08 and left >= 6:
                epic = ids.new(plan.prefix, count)
                children = min(left - 1, rng.randint(4, 14))
                statuses = ["closed" if rng.random() < closed_share else "open"
                            for _ in range(children)]
                record(epic, issue_type="epic", title=f"Epic: {_title(rng)}",
                       status="closed" if all(s == "closed" for s in statuses) else "open",
                       deps=[], made_at=made)
                plan.epics.append(epic)
                chained = rng.random() < 0.5
                for c, status in enumerate(statuses, start=1):
                    deps = [("parent-child", epic)]
                    if chained and c > 1:
                        deps.append(("blocks", f"{epic}.{c - 1}"))
                    record(f"{epic}.{c}", issue_type=rng.choice(TYPES), status=status, deps=deps,
                           made_at=made + c)
                made += 1 + children
                continue
            bead_id = ids.new(plan.prefix, count)
            status = "closed" if rng.random() < closed_share else (
                "deferred" if rng.random() < 0.03 else "open")
            deps = []
            if standalone and rng.random() < 0.25:
                deps.append(("blocks", rng.choice(standalone[-200:])))
            if everything and rng.random() < 0.04:
                deps.append(("related", rng.choice(everything)))
            if everything and rng.random() < 0.03:
                deps.append(("discovered-from", rng.choice(everything)))
            record(bead_id, issue_type=rng.choice(TYPES), status=status, deps=deps, made_at=made)
            standalone.append(bead_id)
            made += 1
    # A few cross-rig edges, as upstream's external deps would be in one store.
    for _ in range(total // 500):
        a, b = rng.sample(plans, 2)
        rec = rng.choice(a.records)
        if rec["id"] in a.hook or any(rec["id"] == s for s, _ in a.mr_sources):
            continue
        target = rng.choice(b.closed or b.open_ids)
        rec["dependencies"].append({"issue_id": rec["id"], "depends_on_id": target,
                                    "type": "blocks", "created_at": rec["created_at"],
                                    "created_by": "mayor"})
    return plans


# ------------------------------------------------------------------------------ git
def _mr_commit(repo, main_commit, path: str, text: str, author: str, message: str) -> str:
    """A commit on top of main adding `path` (one level deep): a branch an MR can merge."""
    import pygit2

    folder, _, name = path.rpartition("/")
    blob = repo.create_blob(text.encode())
    root = main_commit.tree
    if folder:
        sub = repo.TreeBuilder(root[folder].peel(pygit2.Tree)) if folder in root \
            else repo.TreeBuilder()
        sub.insert(name, blob, pygit2.enums.FileMode.BLOB)
        top = repo.TreeBuilder(root)
        top.insert(folder, sub.write(), pygit2.enums.FileMode.TREE)
    else:
        top = repo.TreeBuilder(root)
        top.insert(name, blob, pygit2.enums.FileMode.BLOB)
    sig = pygit2.Signature(author, f"{author}@gastown.local")
    return str(repo.create_commit(None, sig, sig, message, top.write(), [main_commit.id]))


# ------------------------------------------------------------------------------ events
def _history(rng: random.Random, plans: list[_RigPlan], count: int, start: datetime,
             end: datetime, former: dict[str, list[str]],
             known: list[tuple[datetime, str, str, dict]]) -> list[bytes]:
    """`count` event lines of the town's past, oldest first, in `log_event`'s exact format:
    the `known` ones (when, type, actor, payload), each closed bead's life (sling, done,
    merge_started, merged; or a manual close, or a conflict first), convoys, mail,
    escalations, and the witness and nudge chatter between."""
    from gastown_tui.ops.worktrees import branch_name
    from gastown_tui.town.events import event_line
    from gastown_tui.town.store.ids import base36

    span = (end - start).total_seconds()
    out: list[tuple[float, dict]] = []

    def add(at: float, kind: str, actor: str, payload: dict) -> None:
        out.append((at, {"type": kind, "actor": actor, "payload": payload}))

    for when, kind, actor, payload in known[:count]:
        add((when - start).total_seconds(), kind, actor, payload)
    finished = [(plan, bead) for plan in plans for bead in plan.closed]
    rng.shuffle(finished)
    for plan, bead in finished:
        if len(out) >= count * 0.7:
            break
        refinery = f"{plan.name}/refinery"
        at = rng.uniform(0, span * 0.98)
        worker = rng.choice(former[plan.name])
        addr = f"{plan.name}/polecats/{worker}"
        mr = f"{plan.prefix}-wisp-{base36(rng.getrandbits(32))}"
        branch = branch_name(worker, bead)
        add(at, "sling", "mayor", {"bead": bead, "target": addr, "rig": plan.name,
                                   "formula": "mol-polecat-work"})
        if rng.random() < 0.12:
            add(at + rng.uniform(300, 7200), "bead_closed", "mayor",
                {"bead": bead, "reason": "Not needed"})
            continue
        at += rng.uniform(600, 5400)
        add(at, "done", addr, {"bead": bead, "mr": mr, "branch": branch, "exit": "COMPLETED"})
        at += rng.uniform(5, 600)
        add(at, "merge_started", refinery, {"rig": plan.name, "mr": mr, "branch": branch,
                                            "issue": bead, "target": "main"})
        if rng.random() < 0.06:
            add(at + 2, "merge_failed", refinery, {"rig": plan.name, "mr": mr,
                                                   "branch": branch, "issue": bead,
                                                   "type": "conflict"})
            at += rng.uniform(300, 1800)
            add(at, "merge_started", refinery, {"rig": plan.name, "mr": mr, "branch": branch,
                                                "issue": bead, "target": "main"})
        add(at + rng.uniform(1, 40), "merged", refinery, {
            "rig": plan.name, "mr": mr, "branch": branch, "issue": bead, "target": "main",
            "merge_commit": f"{rng.getrandbits(160):040x}", "branch_status": "deleted",
            "push_error": ""})
    everyone = [(p, w) for p in plans for w in former[p.name]]
    while len(out) < count:
        at = rng.uniform(0, span)
        plan, worker = rng.choice(everyone)
        addr = f"{plan.name}/polecats/{worker}"
        bead = rng.choice(plan.open_ids or plan.closed)
        roll = rng.random()
        if roll < 0.35:
            add(at, "nudge", rng.choice(("mayor", f"{plan.name}/witness")),
                {"target": addr, "mode": rng.choice(("queue", "wait-idle")),
                 "status": rng.choice(("queued", "delivered"))})
        elif roll < 0.6:
            add(at, "polecat_checked", f"{plan.name}/witness", {
                "polecat": addr, "state": "stalled", "action": "nudged (GUPP, delivered, 1/3)",
                "evidence": f"hooked {bead}; no commit, bead update or output for 15m"})
        elif roll < 0.7:
            add(at, "polecat_nudged", f"{plan.name}/witness",
                {"polecat": addr, "bead": bead, "status": "delivered"})
        elif roll < 0.8:
            add(at, "mail", addr, {"to": "mayor/", "subject": f"HELP: {bead} is unclear",
                                   "id": f"hq-{base36(rng.getrandbits(24))}"})
        elif roll < 0.88:
            add(at, "hook", "mayor", {"bead": bead, "agent": addr})
        elif roll < 0.94:
            add(at, "session_restarted", "deacon", {"session": f"{plan.prefix}-{worker}"})
        elif roll < 0.97:
            add(at, "polecat_restarted", f"{plan.name}/witness", {"polecat": addr, "bead": bead})
        elif roll < 0.99:
            add(at, "convoy_created", "mayor", {"convoy": f"hq-cv-{base36(rng.getrandbits(25))}",
                                                "tracked": [bead]})
        else:
            add(at, "escalation", addr, {"id": f"hq-{base36(rng.getrandbits(24))}",
                                         "severity": rng.choice(("low", "medium", "high")),
                                         "related": bead})
    out.sort(key=lambda e: e[0])
    lines = []
    for at, ev in out[:count]:
        lines.append(event_line({"ts": _stamp(start + timedelta(seconds=at)), "source": "gt",
                                 "type": ev["type"], "actor": ev["actor"],
                                 "payload": ev["payload"], "visibility": "feed"}))
    return lines


def _append_lines(path: Path, lines: list[bytes]) -> None:
    """One append under the log's flock, as log_event writes (it opens O_APPEND, locks)."""
    from gastown_tui.town.events import _open_locked, _write_all

    fd = _open_locked(path)
    try:
        _write_all(fd, b"".join(lines))
    finally:
        os.close(fd)


def _line_count(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


# ------------------------------------------------------------------------------ sessions
def wait_live(socket: str, sessions: list[str], timeout: float = 90.0) -> float:
    """Until every session's pane shows a feed line (`step N:`); returns the seconds waited."""
    started = time.perf_counter()
    waiting = set(sessions)
    while waiting and time.perf_counter() - started < timeout:
        for session in sorted(waiting):
            screen = subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t",
                                     f"={session}:"], capture_output=True, text=True).stdout
            if "step " in screen:
                waiting.discard(session)
        if waiting:
            time.sleep(0.5)
    if waiting:
        raise TimeoutError(f"{len(waiting)} sessions printed nothing within {timeout:.0f} s: "
                           f"{', '.join(sorted(waiting)[:5])}")
    return time.perf_counter() - started


def kill_server(socket: str) -> None:
    """The product's full stop: every pane's processes, the server, its socket file."""
    from gastown_tui.tmux.server import TownTmux

    TownTmux(socket).kill_server(grace=1.0)


# ------------------------------------------------------------------------------ the town
def build_large_town(base: Path, socket: str, *, rigs: int = 3, polecats: int = 30,
                     beads: int = 10_000, mrs: int = 200, convoys: int = 20,
                     events: int = 50_000, agent: str = "sim", seed: int = 8,
                     wait: bool = True) -> LargeTown:
    """Build the town at base/town (upstreams under base/src) with its polecats' sessions on
    the tmux server `socket`. With `wait`, return once every session prints. On failure the
    server is killed; on success the caller owns it (kill_server(socket))."""
    if agent not in AGENTS:
        raise ValueError(f"agent must be one of {', '.join(AGENTS)}")
    if rigs < 1 or polecats < 1:
        raise ValueError("a town needs at least one rig and one polecat")
    previous = os.environ.get("GT_TMUX_SOCKET")
    os.environ["GT_TMUX_SOCKET"] = socket  # start_agent and the agents' env use it
    try:
        return _build(Path(base), socket, rigs, polecats, beads, mrs, convoys, events, agent,
                      seed, wait)
    except BaseException:
        kill_server(socket)
        raise
    finally:
        if previous is None:
            os.environ.pop("GT_TMUX_SOCKET", None)
        else:
            os.environ["GT_TMUX_SOCKET"] = previous


def _build(base: Path, socket: str, n_rigs: int, n_polecats: int, n_beads: int, n_mrs: int,
           n_convoys: int, n_events: int, agent: str, seed: int, wait: bool) -> LargeTown:
    import pygit2
    import time_machine

    from gastown_tui.ops import convoy as convoy_ops
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.install import install
    from gastown_tui.ops.mr import create_mr
    from gastown_tui.ops.namepool import MAX_THEMED, theme_for
    from gastown_tui.ops.rig import rig_add
    from gastown_tui.ops.sling import sling
    from gastown_tui.ops.worktrees import branch_name
    from gastown_tui.town.jsonfile import read_json, write_json
    from gastown_tui.town.layout import Town
    from gastown_tui.town.names import RESERVED_AGENT_NAMES, Address
    from gastown_tui.town.store.jsonl import import_jsonl
    from tests.fixtures.towns import make_upstream

    rng = random.Random(seed)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now_ = time.perf_counter()
        timings[name] = now_ - t
        t = now_

    now = datetime.now(UTC)
    history_start = now - timedelta(days=15)
    rig_specs = [RIG_NAMES[i] if i < len(RIG_NAMES) else (f"rig{i + 1}", f"r{i + 1}")
                 for i in range(n_rigs)]
    root = base / "town"
    # The town and its rigs were set up two weeks ago: their history comes before today's
    # build, so the log reads oldest to newest.
    with time_machine.travel(history_start, tick=True):
        install(root, name="bench")
        town = Town(root)
        settings = read_json(town.settings_json, {})
        settings.setdefault("agents", {})[ALIAS.format(agent=agent)] = AGENTS[agent]
        write_json(town.settings_json, settings)
        for name, prefix in rig_specs:
            files = {"README.md": f"# {name}\n", "src/__init__.py": "",
                     **{f"src/module_{i}.py": f"VALUE_{i} = {i}\n" for i in range(8)}}
            upstream = make_upstream(base / "src" / name, files)
            rig_add(town, name, str(upstream), prefix=prefix)
    lap("install + rigs")

    # Who works where: the live polecats take the rig's first free themed names (sling
    # allocates them in that order); the MRs come from polecats that finished earlier.
    live = {name: n_polecats // n_rigs + (1 if i < n_polecats % n_rigs else 0)
            for i, (name, _) in enumerate(rig_specs)}
    mr_share = {name: n_mrs // n_rigs + (1 if i < n_mrs % n_rigs else 0)
                for i, (name, _) in enumerate(rig_specs)}
    workers: dict[str, list[str]] = {}
    former: dict[str, list[str]] = {}
    for name, _ in rig_specs:
        _, names = theme_for(town.rig(name))
        themed = [n for n in names[:MAX_THEMED] if n not in RESERVED_AGENT_NAMES]
        rest = themed[live[name]:] + [str(MAX_THEMED + 1 + i) for i in range(mr_share[name])]
        workers[name] = rest[:mr_share[name]]
        former[name] = themed
    plans = _plan_beads(rng, rig_specs, n_beads, now, live, mr_share, workers, former)
    lap("plan beads")

    store = open_store(town, "mayor")
    try:
        lines = [json.dumps(rec, separators=(",", ":")) for plan in plans for rec in plan.records]
        report = import_jsonl(store, "bench", lines=lines)
        if report.errors or report.skipped_dependencies:
            raise RuntimeError(f"import: {report.errors[:3]} {report.skipped_dependencies[:3]}")
        lap("import beads")

        # Merge requests as `gt done` leaves them: a branch one commit ahead of main, the MR
        # bead (create_mr), and the source bead in progress with its merge_request field;
        # submitted over the last six hours, so the queue has ages.
        submitted = []  # the `done` events gt done would have logged
        submissions = sorted(((rng.uniform(300, 6 * 3600), plan, bead_id, worker)
                              for plan in plans for bead_id, worker in plan.mr_sources),
                             key=lambda s: -s[0])
        repos = {plan.name: pygit2.Repository(str(town.rig(plan.name).bare_repo))
                 for plan in plans}
        for ago, plan, bead_id, worker in submissions:
            rig = town.rig(plan.name)
            repo = repos[plan.name]
            main = repo.references[f"refs/heads/{rig.default_branch}"].peel(pygit2.Commit)
            with time_machine.travel(now - timedelta(seconds=ago), tick=False):
                branch = branch_name(worker, bead_id)
                sha = _mr_commit(repo, main, f"src/{bead_id}.py", f"# {bead_id}\nDONE = True\n",
                                 worker, f"{bead_id}: the change")
                repo.references.create(f"refs/heads/{branch}", sha)
                bead = store.get(bead_id)
                mr, _ = create_mr(store, rig, branch=branch, target=rig.default_branch,
                                  source_issue=bead_id, worker=worker, commit_sha=sha,
                                  agent_bead=Address("polecat", plan.name, worker)
                                  .agent_bead_id(plan.prefix),
                                  priority=int(bead.get("priority", 2)))
                store.update(bead_id, changes={"status": "in_progress"},
                             description_fields={"merge_request": mr.id})
            submitted.append((now - timedelta(seconds=ago), "done",
                              f"{plan.name}/polecats/{worker}",
                              {"bead": bead_id, "mr": mr.id, "branch": branch,
                               "exit": "COMPLETED"}))
        mr_count = len(submissions)
        lap("merge requests")

        # The history next (the verbs below log today's events after it), sized so the log
        # ends with exactly n_events lines: sling logs one per polecat, convoy create one per
        # convoy, and a landed convoy two more (convoy_landed, the mail to its owner).
        landed = max(1, n_convoys // 7) if n_convoys >= 3 else 0
        to_come = n_polecats + n_convoys + 2 * landed
        history = _history(rng, plans, max(0, n_events - _line_count(town.events_path) - to_come),
                           history_start + timedelta(hours=1), now - timedelta(minutes=1),
                           former, submitted)
        _append_lines(town.events_path, history)
        lap("event history")

        # Convoys: open ones over epics' children, MR sources and ready work across rigs, and a
        # few over finished work that land through the real check (closed, owner mailed).
        convoy_ids = []
        for n in range(n_convoys):
            if n < landed:
                plan = plans[n % len(plans)]
                tracked = rng.sample(plan.closed, min(len(plan.closed), rng.randint(3, 12)))
                title = f"Shipped: {_title(rng)}"
            else:
                tracked = []
                for plan in rng.sample(plans, rng.randint(1, len(plans))):
                    epic = rng.choice(plan.epics) if plan.epics else None
                    if epic:
                        tracked += [r["id"] for r in plan.records
                                    if r["id"].startswith(f"{epic}.")][:10]
                    tracked += [s for s, _ in rng.sample(plan.mr_sources,
                                                         min(3, len(plan.mr_sources)))]
                    tracked += rng.sample(plan.closed, min(len(plan.closed), rng.randint(2, 8)))
                    tracked += rng.sample(plan.open_ids, min(len(plan.open_ids), 4))
                tracked = list(dict.fromkeys(tracked))
                title = f"Release 0.{n}: {_title(rng)}"
            convoy = convoy_ops.create(town, store, title, tracked, owner="mayor/")
            convoy_ids.append(convoy["id"])
            if n < landed:
                convoy_ops.check(town, store, convoy["id"])
        lap("convoys")

        # The live polecats: the real sling (name, worktree, agent bead, hook, session).
        sessions, addresses = [], []
        for plan in plans:
            for bead_id in plan.hook:
                result = sling(town, store, [bead_id], plan.name, no_convoy=True,
                               agent=ALIAS.format(agent=agent))[0]
                sessions.append(result.session)
                addresses.append(result.agent)
        lap("sling polecats")

        # Should the verbs have logged fewer lines than planned, top the log up to n_events
        # with today's queued nudges.
        have = _line_count(town.events_path)
        if have < n_events:
            from gastown_tui.town.events import event_line

            stamp = _stamp(datetime.now(UTC))
            _append_lines(town.events_path, [event_line({
                "ts": stamp, "source": "gt", "type": "nudge", "actor": "mayor",
                "payload": {"target": addresses[i % len(addresses)], "mode": "queue",
                            "status": "queued"},
                "visibility": "feed"}) for i in range(n_events - have)])
        deps = {row[0]: int(row[1]) for row in store.conn.read(
            "SELECT type, count(*) FROM dependencies GROUP BY type")}
        issues = int(store.conn.read("SELECT count(*) FROM issues")[0][0])
        ready = len(store.ready(limit=0))
        blocked = len(store.blocked_ids())
    finally:
        store.close_connection()
    large = LargeTown(root=root, socket=socket, rigs=[n for n, _ in rig_specs],
                      prefixes=[p for _, p in rig_specs], polecats=addresses, sessions=sessions,
                      first_hooked=plans[0].hook[0], first_session=sessions[0],
                      beads=len(report.created), deps=deps, mrs=mr_count,
                      convoys=len(convoy_ids), events=_line_count(town.events_path),
                      store_issues=issues, ready=ready, blocked=blocked, agent=agent,
                      timings=timings)
    if wait:
        timings["sessions live"] = wait_live(socket, sessions)
    return large


def add_town_arguments(parser: argparse.ArgumentParser) -> None:
    """The town's size, for this script and the benchmarks that build the town."""
    parser.add_argument("--rigs", type=int, default=3)
    parser.add_argument("--polecats", type=int, default=30)
    parser.add_argument("--beads", type=int, default=10_000)
    parser.add_argument("--mrs", type=int, default=200)
    parser.add_argument("--convoys", type=int, default=20)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--agent", choices=sorted(AGENTS), default="sim",
                        help="the polecats' runtime: the sim fed a line a second, or a print loop")


def main() -> int:
    from gastown_tui.tmux.socket import socket_name

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="an empty or new directory; the town is DIR/town")
    add_town_arguments(parser)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep-sessions", action="store_true",
                        help="leave the town's tmux server running (default: kill it)")
    options = parser.parse_args()
    base = options.dir.expanduser().resolve()
    base.mkdir(parents=True, exist_ok=True)
    if any(base.iterdir()):
        parser.error(f"{base} is not empty")
    socket = socket_name(base / "town")
    keep = False
    try:
        started = time.perf_counter()
        town = build_large_town(base, socket, rigs=options.rigs, polecats=options.polecats,
                                beads=options.beads, mrs=options.mrs, convoys=options.convoys,
                                events=options.events, agent=options.agent, seed=options.seed,
                                wait=True)
        took = time.perf_counter() - started
        keep = options.keep_sessions
        print(town.counts_line())
        print(f"store: {town.store_issues} rows; root {town.root}; tmux -L {town.socket}")
        print("built in " + f"{took:.1f} s (" + ", ".join(
            f"{k} {v:.1f} s" for k, v in town.timings.items()) + ")")
        if keep:
            print(f"sessions kept: gastown-tui {town.root}   "
                  f"(stop them with: tmux -L {town.socket} kill-server)")
    finally:
        if not keep:
            kill_server(socket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
