"""The Deacon (`gt deacon run`): keeps the town's sessions alive and its convoys moving.

Each patrol: the Mayor and every rig's witness and refinery sessions are running (restarted if
they died); gates whose condition holds open (timers, CI runs, beads) and whoever waits on them
is woken; convoys whose tracked beads are all closed land (their owner gets mail); beads that
became ready in a convoy are slung (a molecule's next steps), and so are the steps of molecules
a gate released; KRC prunes what outlived its TTL, and yesterday's patrol digests become one
Patrol Report. A patrol that did something leaves a digest of itself."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gastown_tui.ops import convoy as convoy_ops
from gastown_tui.ops import dogs, krc, minimal, patrol_digest, warrants
from gastown_tui.ops import gates as gates_ops
from gastown_tui.ops.convoy_feed import dispatch_gated, feed
from gastown_tui.ops.loop_mail import handle_inbox, handle_nudges
from gastown_tui.ops.patrol_digest import record_loop_cycle
from gastown_tui.ops.sessions import tmux_for, write_heartbeat
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.layout import Town
from gastown_tui.town.store import BeadStore


@dataclass
class DeaconReport:
    restarted: list[str] = field(default_factory=list)
    landed: list[str] = field(default_factory=list)
    fed: list[str] = field(default_factory=list)
    gates_opened: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)  # warrants carried out
    plugins: list[str] = field(default_factory=list)  # "plugin → dog" dispatched
    dogs: list[str] = field(default_factory=list)  # kennel upkeep done
    dispatched: list[str] = field(default_factory=list)
    pruned: int = 0  # KRC: events and closed wisps past their TTL
    digested: str = ""  # yesterday's Patrol Report, when this patrol wrote it
    problems: list[str] = field(default_factory=list)


def patrol(town: Town, store: BeadStore, *, keep_alive: bool = True) -> DeaconReport:
    from gastown_tui.ops.up import up

    report = DeaconReport()
    # Warrants first (upstream's Boot triage): an agent ended on purpose is not then
    # restarted by the keep-alive below, except a witness or refinery, which must run.
    for done in warrants.execute_pending(town, store):
        if done.get("error"):
            report.problems.append(f"warrant {done['target']}: {done['error']}")
        else:
            report.executed.append(done["target"])
    if keep_alive:
        try:
            for step in up(town):
                if step.action == "started" and step.session != "hq-deacon":
                    report.restarted.append(step.session)
        except GasTownError as exc:
            report.problems.append(f"keep-alive: {exc.problem}")
    try:
        results = gates_ops.check(town, store, escalate=True)
        report.gates_opened = [r.gate["id"] for r in results if r.resolved and not r.error]
        report.problems += [f"gate {r.gate['id']}: {r.error}" for r in results if r.error]
        report.gates_opened += [gid for gid, _ in gates_ops.sweep_closed(town, store)]
    except GasTownError as exc:
        report.problems.append(f"gates: {exc.problem}")
    try:
        report.landed = [c["id"] for c in convoy_ops.check(town, store)]
        report.fed = [f["bead"] for f in feed(town, store)]
    except GasTownError as exc:
        report.problems.append(f"convoys: {exc.problem}")
    try:  # queued beads start as slots free (the scheduler's caps and gate)
        from gastown_tui.ops import scheduler
        from gastown_tui.ops.sling import sling

        if scheduler.config(town).active or scheduler.contexts(store):
            report.dispatched = [d["bead"] for d in scheduler.dispatch(
                town, store, actor="deacon", start=sling).dispatched]
    except GasTownError as exc:
        report.problems.append(f"scheduler: {exc.problem}")
    try:  # a limited Mayor holds up the whole town (upstream #1668): rotate it when allowed
        from gastown_tui.ops.quota import on_limited, scan

        for seen in scan(town, only=["hq-mayor"]):
            if seen.rate_limited:
                done = on_limited(town, store, seen.session, seen.matched_line, seen.resets_at)
                if done:
                    log_event(town.root, "mayor_limited", actor="deacon",
                              payload={"action": done, "evidence": seen.matched_line})
    except GasTownError as exc:
        report.problems.append(f"quota: {exc.problem}")
    try:  # the usage ledger keeps what transcripts held after the runtimes delete them
        from gastown_tui.ops.costs import refresh

        refresh(town, store)
    except GasTownError as exc:
        report.problems.append(f"costs: {exc.problem}")
    try:
        report.dispatched += [d["step"] for d in dispatch_gated(town, store)
                             if d.get("agent")]
    except GasTownError as exc:
        report.problems.append(f"gated molecules: {exc.problem}")
    try:  # dog-pool maintenance, then plugin-run: due plugins go to idle dogs
        report.dogs = dogs.maintain(town)
        for sent in dogs.run_due_plugins(town, store):
            if sent.get("error"):
                report.problems.append(f"plugin {sent['plugin']}: {sent['error']}")
            else:
                report.plugins.append(f"{sent['plugin']} → {sent['dog']}")
    except GasTownError as exc:
        report.problems.append(f"plugins: {exc.problem}")
    _upkeep(town, store, report)
    handle_nudges(town, "hq-deacon", "deacon/", say=print)
    _deliver_to_mayor(town)
    mail = handle_inbox(town, store, "deacon/")
    report.problems += mail.problems
    for session in report.restarted:
        log_event(town.root, "session_restarted", actor="deacon", payload={"session": session})
    actions = [f"{label} {item}" for label, items in _lines(report) if label != "problem"
               for item in items]
    record_loop_cycle(town, store, "deacon", actions)
    write_heartbeat(town, "hq-deacon", "patrolling", agent="deacon", runtime="gt")
    return report


def _upkeep(town: Town, store: BeadStore, report: DeaconReport) -> None:
    """KRC's auto-prune (when its interval passed) and yesterday's daily patrol digest."""
    try:
        result, _ = krc.auto_prune(town, store)
        if result:
            report.pruned = result["events_pruned"] + result["beads_pruned"]
        made = patrol_digest.daily(town, store)
        if made and made.get("created"):
            report.digested = made["report"]
    except (GasTownError, OSError) as exc:
        report.problems.append(f"krc: {exc}")


def _lines(report: DeaconReport) -> list[tuple[str, list[str]]]:
    return [("executed warrant", report.executed),
            ("restarted", report.restarted), ("opened gate", report.gates_opened),
            ("landed convoy", report.landed), ("fed", report.fed),
            ("dispatched gated step", report.dispatched),
            ("plugin", report.plugins), ("kennel", report.dogs),
            ("pruned", [f"{report.pruned} record(s)"] if report.pruned else []),
            ("wrote patrol report", [report.digested] if report.digested else []),
            ("problem", report.problems)]


def say(report: DeaconReport) -> None:
    """What a patrol did, one line each, for the Deacon's pane."""
    for label, items in _lines(report):
        for item in items:
            print(f"deacon: {label} {item}", flush=True)


def _deliver_to_mayor(town: Town) -> None:
    """The Mayor's queued nudges, typed in when its screen reads ready (ops.nudge)."""
    from gastown_tui.ops.agent_screen import runtime_of
    from gastown_tui.ops.nudge import deliver_queued

    if deliver_queued(town, "hq-mayor", runtime_of(town, "hq-mayor"), sender="deacon"):
        print("deacon: delivered the Mayor's queued nudges", flush=True)


def run(town: Town, *, once: bool = False, interval: float = 30.0, keep_alive: bool = True,
        stop=None) -> None:
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.store_care import care_interval, rest_store
    from gastown_tui.patrol.loops import GoneWatch, say_gone, single_instance, wait_out

    with single_instance(town.runtime_dir / "deacon" / "loop.lock", "deacon",
                         town_root=town.root, session="hq-deacon"):
        store = open_store(town, "deacon")
        gone = GoneWatch(town)
        next_care = time.monotonic() + care_interval()
        while True:
            if not gone.missing():  # a patrol writes state files: never into a vanished town
                alive = keep_alive and not minimal.active(town) and tmux_for(town).is_running()
                say(patrol(town, store, keep_alive=alive))
                if time.monotonic() >= next_care:
                    # A backup and a short WAL, every few minutes: whatever a damaged WAL
                    # could lose is then minutes of work, and the backup still has it.
                    rest = rest_store(town, busy_timeout_ms=2000)
                    if rest is not None:  # (a PostgreSQL store keeps its own)
                        print(f"deacon: store {rest.line()}", flush=True)
                        for problem in rest.problems:
                            print(f"deacon: store {problem}", flush=True)
                    next_care = time.monotonic() + care_interval()
            if once:
                return
            stopped, why = wait_out(gone, interval, stop)
            if why:
                say_gone("deacon", why)
                stop_orphaned_town(town)
                return
            if stopped:
                return


def stop_orphaned_town(town: Town) -> None:
    """The town is gone, so nobody else will stop what it left running: its tmux server and
    every process carrying its GT_ROOT (this loop itself ends with the server)."""
    import signal

    from gastown_tui.ops.shutdown import stop_town

    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # outlive the server long enough to finish
    report = stop_town(town)
    for problem in report.problems:
        print(f"deacon: {problem}", flush=True)
