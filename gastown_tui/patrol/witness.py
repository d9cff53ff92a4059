"""The Witness (`gt witness run <rig>`): a deterministic patrol over a rig's polecats.

Each patrol derives every polecat's state, judges "stuck" by progress (commits, bead updates,
pane output) rather than by time alone, nudges GUPP violations, restarts dead sessions that
still have hooked work, escalates after repeated failures and reaps idle sessions. Every
verdict records its evidence in `<rig>/.runtime/witness/state.json` for the control room."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from gastown_tui.ops import minimal
from gastown_tui.ops.loop_mail import handle_inbox, handle_nudges
from gastown_tui.ops.polecats import UNREACHABLE, PolecatInfo, polecats
from gastown_tui.ops.sessions import restart_remote, start_agent, tmux_for, write_heartbeat
from gastown_tui.patrol.verdicts import Memory, Verdict, WitnessState, output_hash, parse_duration
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.names import Address
from gastown_tui.town.store import BeadStore

GUPP_NUDGE = ("GUPP: work is on your hook ({bead}) and nothing has moved for {age}. "
              "Run `gt prime --hook` and continue; if you are blocked, mail your witness.")


@dataclass(frozen=True)
class WitnessConfig:
    gupp_timeout: float = 1800.0
    idle_timeout: float = 900.0
    max_nudges: int = 3
    max_restarts: int = 3
    interval: float = 30.0
    # Silent this long, a working polecat is shown stalled (upstream's feed: stalled at
    # 15 min, GUPP at 30); the nudge comes at gupp_timeout.
    stall_timeout: float = 900.0

    @classmethod
    def for_rig(cls, rig: RigInfo) -> WitnessConfig:
        cfg = (read_json(rig.path / "settings" / "config.json", {}) or {}).get("witness") or {}
        gupp = parse_duration(cfg.get("gupp_timeout", "30m"), 1800.0)
        return cls(gupp_timeout=gupp,
                   stall_timeout=parse_duration(cfg.get("stall_timeout", gupp / 2), gupp / 2),
                   idle_timeout=parse_duration(cfg.get("idle_timeout", "15m"), 900.0),
                   max_nudges=int(cfg.get("max_nudges", 3)),
                   max_restarts=int(cfg.get("max_restarts", 3)),
                   interval=parse_duration(cfg.get("patrol_interval", "30s"), 30.0))


def state_path(rig: RigInfo) -> Path:
    return rig.path / ".runtime" / "witness" / "state.json"


def _age(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 60:
        return f"{seconds / 60:.0f}m"
    return f"{seconds:.0f}s"


class Witness:
    def __init__(self, town: Town, store: BeadStore, rig: RigInfo,
                 config: WitnessConfig | None = None) -> None:
        self.town, self.store, self.rig = town, store, rig
        self.config = config or WitnessConfig.for_rig(rig)
        self.address = f"{rig.name}/witness"
        self.minimal = False  # minimal mode (set each patrol): sessionless polecats are fine

    def _observe(self, info: PolecatInfo, mem: Memory, now: float) -> list[str]:
        """What moved since the last patrol: the evidence of progress."""
        from gastown_tui.ops.worktrees import inspect

        moved = []
        if info.host:
            head = mem.head  # its commits are on its host: output and bead updates tell
        else:
            head = inspect(self.rig, Path(info.worktree)).head if info.worktree_exists else ""
        if head != mem.head:
            moved.append("commit")
            mem.head = head
        if info.session_running:
            try:
                out = output_hash(tmux_for(self.town, info.host or None)
                                  .capture(info.session_name))
            except GasTownError:
                out = mem.output
            if out != mem.output:
                moved.append("output")
                mem.output = out
        updated = ""
        if info.issue:
            try:
                updated = self.store.get(info.issue).get("updated_at", "")
            except GasTownError:
                updated = ""
        if updated != mem.bead_updated:
            moved.append("bead update")
            mem.bead_updated = updated
        if moved:
            mem.progress_at = now
        return moved

    def patrol(self, state: WitnessState, now: float | None = None) -> list[Verdict]:
        now = time.time() if now is None else now
        self.minimal = minimal.active(self.town)
        infos = polecats(self.town, self.store, self.rig, screens=True)
        verdicts = []
        for info in infos:
            fresh = info.name not in state.memory
            mem = state.memory.setdefault(info.name, Memory(progress_at=now))
            moved = self._observe(info, mem, now)
            if fresh:
                moved = []  # the first look sets the baseline; it is not progress
            verdict = self._judge(info, mem, moved, now)
            state.verdicts[info.name] = verdict
            verdicts.append(verdict)
        self.deliver_queued(infos)
        for gone in set(state.memory) - {i.name for i in infos}:
            state.memory.pop(gone, None)
            state.verdicts.pop(gone, None)
        self.read_mail(infos)
        state.save(state_path(self.rig))
        write_heartbeat(self.town, f"{self.rig.prefix}-witness", "patrolling",
                        agent=self.address, runtime="gt", polecats=str(len(infos)))
        return verdicts

    def deliver_queued(self, infos: list[PolecatInfo]) -> None:
        """Queued nudges typed into each polecat idle at its prompt: a runtime without a
        prompt hook never drains its queue itself (ops.nudge.deliver_queued)."""
        from gastown_tui.ops.agent_screen import runtime_of
        from gastown_tui.ops.nudge import deliver_queued

        for info in infos:
            if not info.session_running or info.state in ("blocked", "rate-limited", "zombie"):
                continue
            runtime = runtime_of(self.town, info.session_name, self.rig.name)
            result = deliver_queued(self.town, info.session_name, runtime, sender=self.address)
            if result is not None:
                print(f"witness: {info.address}: {result.status} {result.detail}", flush=True)

    def read_mail(self, infos: list[PolecatInfo]) -> None:
        """Its queued nudges and its inbox: HELP mail becomes an escalation with evidence."""
        by_mail = {f"{i.rig}/{i.name}": i for i in infos}

        def evidence(sender: str) -> tuple[str, str]:
            info = by_mail.get(sender)
            if info is None:
                return "", ""
            lines = [f"Witness sees {info.address}: {info.state} ({info.evidence})",
                     f"Hook: {info.issue or '-'} {info.issue_title}",
                     f"Branch: {info.branch or '-'}  worktree: {info.worktree}"]
            if info.session_running:
                try:
                    tail = tmux_for(self.town, info.host or None).capture(
                        info.session_name)[-15:]
                    lines += ["Last lines of its pane:", *("  " + ln for ln in tail)]
                except GasTownError:
                    pass
            return "\n".join(lines), info.issue

        handle_nudges(self.town, f"{self.rig.prefix}-witness", self.address, say=print)
        report = handle_inbox(self.town, self.store, self.address, evidence=evidence)
        for item in report.escalated:
            print(f"witness: HELP mail escalated as {item}", flush=True)

    def _judge(self, info: PolecatInfo, mem: Memory, moved: list[str], now: float) -> Verdict:
        silent = now - mem.progress_at
        v = Verdict(info.name, info.state, info.evidence, since=mem.progress_at,
                    issue=info.issue)
        if info.host:
            self._note_host(info, mem, now)
        if info.state == UNREACHABLE:
            # Nothing can be seen there, so nothing is judged: not stalled, not a zombie, no
            # restart and no nuke; its silence is not counted against it. Followed again
            # when the host answers.
            mem.progress_at = now
            v.evidence = f"{info.evidence}; kept as it is until host {info.host} answers"
        elif info.state == "zombie":
            tmux_for(self.town).kill_session(info.session_name)
            v.action = "killed zombie session"
        elif info.state == "rate-limited":
            # Nudging a limited agent only burns what is left; it goes on when the limit resets,
            # or on a free account when the town rotates (ops/quota.py).
            mem.progress_at = now
            v.evidence = f"{info.evidence}; waiting, not nudged"
            v.action = self._limited(info)
        elif info.state == "blocked":
            mem.progress_at = now
            v.action = self._unblock(info, mem)
        elif info.state == "working" and info.parked_on:
            # Parked on a gate on purpose: silence is expected until the gate opens.
            mem.idle_since = 0.0
            mem.nudges = 0
            mem.progress_at = now
            v.evidence = info.evidence
        elif info.state == "working" and (cycled := self._context(info, mem, now)):
            v.action = cycled
        elif info.state == "working":
            mem.idle_since = 0.0
            if moved:
                mem.nudges = 0
                mem.stalled_at = 0.0
                v.evidence = f"hooked {info.issue}; progress: {', '.join(moved)}"
            elif silent >= self.config.gupp_timeout:
                v.state = "stalled"
                v.evidence = (f"hooked {info.issue}; no commit, bead update or output for "
                              f"{_age(silent)}")
                v.action = self._gupp(info, mem, silent)
                mem.stalled_at = 0.0  # nudged: its silence counts again from now
            elif silent >= self.config.stall_timeout:
                # Shown stalled (the control room reads this verdict) before the nudge, so a
                # person sees it and may act first; the event tells it once per stall.
                v.state = "stalled"
                v.evidence = (f"hooked {info.issue}; no commit, bead update or output for "
                              f"{_age(silent)}; GUPP nudge at {_age(self.config.gupp_timeout)}")
                if not mem.stalled_at:
                    mem.stalled_at = now
                    v.action = "found stalled"
            else:
                v.evidence = f"hooked {info.issue}; quiet for {_age(silent)}"
        elif info.state == "stalled" and not info.session_running and self.minimal:
            v.evidence = f"{info.evidence}; minimal mode: a person starts it by hand"
        elif info.state == "stalled":
            v.action = self._revive(info, mem)
        elif info.session_running and info.state in ("idle", "done"):
            mem.idle_since = mem.idle_since or now
            if now - mem.idle_since >= self.config.idle_timeout:
                tmux_for(self.town, info.host or None).kill_session(info.session_name)
                v.action = f"reaped idle session after {_age(now - mem.idle_since)}"
                mem.idle_since = 0.0
        if v.action:
            log_event(self.town.root, "polecat_checked", actor=self.address,
                      payload={"polecat": info.address, "state": v.state, "action": v.action,
                               "evidence": v.evidence})
        return v

    def _context(self, info: PolecatInfo, mem: Memory, now: float) -> str:
        """A context past the town's threshold: tell the agent to hand off; cycle it when it
        has not within the grace period. '' when there is nothing to do."""
        from gastown_tui.ops import context_cycle as cc

        cfg = cc.cycle_config(self.town)
        if not cfg.on or info.runtime != "claude" or info.host:
            return ""  # (a polecat on another host: its transcript is on that machine)
        use = cc.context_of(self.town, info.session_name, Path(info.worktree), cfg.window)
        if use is None or use.share < cfg.threshold:
            return ""
        addr = Address("polecat", self.rig.name, info.name)
        if mem.cycle_conversation != use.conversation:
            mem.cycle_conversation, mem.cycle_told_at = use.conversation, now
            try:
                status = cc.tell(self.town, addr, use, cfg, self.address)
            except GasTownError as exc:
                return f"context {use.share:.0%}: telling it failed: {exc.problem}"
            return f"context {use.share:.0%} full: told to hand off ({status})"
        if now - mem.cycle_told_at < cfg.grace:
            return ""  # told; its grace to hand off by itself runs (GUPP goes on as usual)
        try:
            cc.cycle(self.town, self.store, addr, actor=self.address,
                     why=f"context {use.share:.0%} full ({use.tokens} tokens) and no handoff "
                         f"within {_age(cfg.grace)}")
        except GasTownError as exc:
            return f"context cycle failed: {exc.problem}"
        mem.progress_at = now
        return f"cycled: context {use.share:.0%} full, no handoff; hook kept, note left"

    def _limited(self, info: PolecatInfo) -> str:
        import re

        from gastown_tui.ops.quota import on_limited

        found = re.match(r"until (.+?): ", info.evidence)
        until = found.group(1) if found else ""
        try:
            return on_limited(self.town, self.store, info.session_name, info.evidence, until)
        except GasTownError as exc:
            return f"quota: {exc.problem}"

    def _note_host(self, info: PolecatInfo, mem: Memory, now: float) -> None:
        """An event when a polecat's host stops answering, and one when it is back."""
        if info.state == UNREACHABLE and not mem.away_since:
            mem.away_since = now
            log_event(self.town.root, "host_unreachable", actor=self.address,
                      payload={"host": info.host, "polecat": info.address,
                               "evidence": info.evidence})
        elif info.state != UNREACHABLE and mem.away_since:
            log_event(self.town.root, "host_returned", actor=self.address,
                      payload={"host": info.host, "polecat": info.address,
                               "away": _age(now - mem.away_since), "now": info.state})
            mem.away_since = 0.0

    def _unblock(self, info: PolecatInfo, mem: Memory) -> str:
        """A dialog holds the agent: answer it if it is one upstream answers (trust, the
        bypass warning), else tell a person once. Keys never go into any other dialog."""
        from gastown_tui.ops.agent_screen import runtime_of, settle

        runtime = runtime_of(self.town, info.session_name, self.rig.name)
        if runtime is not None:
            reading = settle(self.town, info.session_name, runtime, timeout=10)
            if not reading.blocked:
                log_event(self.town.root, "polecat_unblocked", actor=self.address,
                          payload={"polecat": info.address, "now": reading.state})
                return f"answered its dialog; now {reading.state}"
        return self._escalate(info, mem, f"needs a person: {info.evidence}")

    def _gupp(self, info: PolecatInfo, mem: Memory, silent: float) -> str:
        if mem.nudges >= self.config.max_nudges:
            return self._escalate(info, mem, f"stuck: {mem.nudges} nudges, still no progress "
                                             f"for {_age(silent)}")
        from gastown_tui.ops.nudge import nudge

        try:
            res = nudge(self.town, info.address, GUPP_NUDGE.format(bead=info.issue,
                                                                   age=_age(silent)),
                        mode="wait-idle", timeout=3, sender=self.address)
        except GasTownError as exc:
            return f"nudge failed: {exc.problem}"
        mem.nudges += 1
        mem.progress_at = time.time()  # give the nudge a full GUPP period to work
        log_event(self.town.root, "polecat_nudged", actor=self.address,
                  payload={"polecat": info.address, "bead": info.issue, "status": res.status})
        return f"nudged (GUPP, {res.status}, {mem.nudges}/{self.config.max_nudges})"

    def _revive(self, info: PolecatInfo, mem: Memory) -> str:
        if not info.worktree_exists:
            return "no worktree to restart in"
        if mem.restarts >= self.config.max_restarts:
            return self._escalate(info, mem, f"session died {mem.restarts} times with work "
                                             "on its hook")
        addr = Address("polecat", self.rig.name, info.name)
        try:
            if info.host:  # its host's gt starts it again there, in its worktree
                restart_remote(self.town, addr, info.host, topic=info.issue,
                               branch=info.branch)
            else:
                tmux_for(self.town).kill_session(info.session_name)  # a dead pane left
                start_agent(self.town, addr, Path(info.worktree), branch=info.branch,
                            topic_suffix=info.issue)
        except GasTownError as exc:
            mem.restarts += 1
            return f"restart failed: {exc.problem}"
        mem.restarts += 1
        mem.progress_at = time.time()
        log_event(self.town.root, "polecat_restarted", actor=self.address,
                  payload={"polecat": info.address, "bead": info.issue,
                           **({"host": info.host} if info.host else {})})
        return f"restarted session ({mem.restarts}/{self.config.max_restarts})"

    def _escalate(self, info: PolecatInfo, mem: Memory, why: str) -> str:
        if mem.escalated:
            return "escalated earlier; waiting for the Mayor"
        from gastown_tui.ops.escalate import escalate

        res = escalate(self.town, self.store, f"{info.address} {why}", severity="high",
                       reason=why, source=f"witness:{self.rig.name}", related=info.issue,
                       escalated_by=self.address)
        mem.escalated = True
        return f"escalated {res.id}"


def run(town: Town, rig: RigInfo, *, once: bool = False, interval: float | None = None,
        stop=None) -> None:
    """The loop of `gt witness run`; one per rig (a second one exits at once)."""
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.patrol_digest import record_loop_cycle
    from gastown_tui.patrol.loops import GoneWatch, say_gone, single_instance, wait_out

    with single_instance(rig.path / ".runtime" / "witness" / "loop.lock", f"witness of {rig.name}",
                         town_root=town.root, session=f"{rig.prefix}-witness"):
        store = open_store(town, f"{rig.name}/witness")
        witness = Witness(town, store, rig)
        state = WitnessState.load(state_path(rig))
        every = interval if interval is not None else witness.config.interval
        gone = GoneWatch(town, rig.name)
        while True:
            if not gone.missing():  # a patrol writes state files: never into a vanished town
                verdicts = witness.patrol(state)
                record_loop_cycle(town, store, "witness",
                                  [f"{v.polecat}: {v.action}" for v in verdicts if v.action])
                _watch_deacon(town, store)
            if once:
                return
            stopped, why = wait_out(gone, every, stop)
            if why:
                say_gone(f"witness of {rig.name}", why)
                return
            if stopped:
                return


def _watch_deacon(town: Town, store: BeadStore) -> None:
    """Boot's job, from here: the Deacon watches everyone, and the witnesses watch it (not in
    minimal mode, where a person runs the Deacon)."""
    from gastown_tui.ops.boot import watch_deacon

    if minimal.active(town):
        return

    try:
        status = watch_deacon(town, store)
    except GasTownError as exc:
        print(f"witness: boot triage failed: {exc.problem}", flush=True)
        return
    if status is not None:
        print(f"witness: boot triage of the Deacon: {status['last_action']}", flush=True)
