"""Context-threshold cycling: an agent whose conversation has filled a configured share of
its model's context is told to hand off; if it does not, it is cycled: a handoff note with its
state is written for it and its session restarts in place, hook kept (upstream #3906; its
PreCompact hook only re-primes, and prose asking an agent to hand off is often ignored).

`settings/config.json` `"cycle": {"context_threshold": 0.8, "context_window": 200000,
"grace": "10m"}`: the share that triggers it (0 or absent: off), the window the share is of,
and how long a told agent has to hand off by itself. The size of a conversation is what the
model read for its last answer (input, cache reads and writes) plus what it wrote, from the
agent's Claude transcript (runtimes/transcripts.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_tui.runtimes import transcripts as tx
from gastown_tui.town.errors import ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import read_json
from gastown_tui.town.layout import Town
from gastown_tui.town.names import Address

TELL = ("Your context is {pct}% full ({tokens} of {window} tokens; the town cycles at "
        "{limit}%). Hand off now so a fresh session carries on: commit what you have, then "
        "`gt handoff -s \"<where you are>\" -m \"<what comes next>\"`. Your hook stays.")


@dataclass(frozen=True)
class CycleConfig:
    threshold: float = 0.0  # share of the window; 0: off
    window: int = 200_000
    grace: float = 600.0

    @property
    def on(self) -> bool:
        return self.threshold > 0


def cycle_config(town: Town) -> CycleConfig:
    from gastown_tui.ops.scheduler import _seconds

    settings = read_json(town.settings_json, {}) or {}
    cfg = settings.get("cycle") if isinstance(settings, dict) else None
    if not isinstance(cfg, dict):
        return CycleConfig()
    try:
        threshold = float(cfg.get("context_threshold") or 0)
        window = int(cfg.get("context_window") or 200_000)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"settings cycle.context_threshold/context_window: {exc}",
                              fix="use a share such as 0.8 and a token count such as "
                                  "200000") from exc
    if threshold > 1:
        threshold /= 100  # "80" meant 80%
    return CycleConfig(threshold, max(1, window), _seconds(str(cfg.get("grace") or "10m")))


@dataclass(frozen=True)
class ContextUse:
    tokens: int
    window: int
    conversation: str
    at: str  # the last answer's time

    @property
    def share(self) -> float:
        return self.tokens / self.window


def context_of(town: Town, session: str, cwd: Path, window: int) -> ContextUse | None:
    """How full the session's current conversation is (None: no Claude transcript yet)."""
    from gastown_tui.ops.quota import latest_transcript, session_config_dir

    _, config_dir = session_config_dir(town, session)
    path = latest_transcript(config_dir, Path(os.path.realpath(cwd)))
    if path is None:
        return None
    last = tx.tail_state(path).tail
    if last is None:
        return None
    return ContextUse(last.context_tokens + last.output_tokens, window, last.conversation,
                      last.ts)


def tell(town: Town, addr: Address, use: ContextUse, cfg: CycleConfig, sender: str) -> str:
    from gastown_tui.ops.nudge import nudge

    text = TELL.format(pct=round(use.share * 100), tokens=use.tokens, window=use.window,
                       limit=round(cfg.threshold * 100))
    res = nudge(town, str(addr), text, mode="wait-idle", timeout=3, sender=sender)
    log_event(town.root, "context_told", actor=sender,
              payload={"agent": str(addr), "tokens": use.tokens, "share": round(use.share, 3),
                       "status": res.status})
    return res.status


def cycle(town: Town, store, addr: Address, *, why: str, actor: str) -> dict[str, Any]:
    """Cycle the agent now: a handoff note with its collected state, then a fresh session in
    the same pane on the same account, its start-up dialogs answered."""
    from gastown_tui.ops.agent_screen import runtime_of, settle_new_agent
    from gastown_tui.ops.handoff import handoff
    from gastown_tui.ops.sessions import restart_agent, session_name, tmux_for

    session = session_name(town, addr)
    if not tmux_for(town).has_session(session):
        raise ValidationError(f"{addr} is not running (no session {session})",
                              fix="nothing to cycle; gt polecat list shows who runs")
    plan = handoff(town, store, cwd=town.root, target=str(addr), subject="context cycle",
                   message=f"Cycled by {actor}: {why}. Carry on from your hook.",
                   collect=True)
    if not plan.restart:
        raise ValidationError(f"{addr} was not cycled: {plan.reason}", fix="nothing to do")
    restart_agent(town, addr, Path(plan.cwd), topic_suffix="cycled")
    runtime = runtime_of(town, plan.session, addr.rig)
    if runtime is not None:
        settle_new_agent(town, plan.session, runtime, str(addr))
    log_event(town.root, "context_cycled", actor=actor,
              payload={"agent": str(addr), "why": why, "note": plan.mail})
    return {"agent": str(addr), "session": plan.session, "note": plan.mail, "why": why}


def statuses(town: Town, store) -> list[dict[str, Any]]:
    """Each running Claude agent's context use against the threshold (`gt cycle status`)."""
    from gastown_tui.ops.agent_screen import runtime_of
    from gastown_tui.ops.handoff import agent_cwd
    from gastown_tui.ops.polecats import live_sessions
    from gastown_tui.ops.quota import address_of

    cfg = cycle_config(town)
    out = []
    for session, alive in sorted(live_sessions(town).items()):
        addr = address_of(town, session)
        if addr is None or not alive:
            continue
        runtime = runtime_of(town, session, addr.rig)
        if runtime is None or runtime.hooks_provider != "claude":
            continue
        use = context_of(town, session, agent_cwd(town, addr), cfg.window)
        item: dict[str, Any] = {"agent": str(addr), "session": session,
                                "threshold": cfg.threshold, "window": cfg.window}
        if use is not None:
            item.update({"tokens": use.tokens, "share": round(use.share, 4),
                         "conversation": use.conversation, "at": use.at,
                         "over": cfg.on and use.share >= cfg.threshold})
        out.append(item)
    return out
