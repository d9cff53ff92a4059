"""Upstream's top-level gt commands this town does not build: each answers in one line with
what to run here instead (never "no such command"), and exits 1 because it did nothing.
Upstream's prompts and habits name these, so an agent or a person typing one learns the way
on the spot. Kept as plain data: `gt` looks a name up here only when no real command has it."""

from __future__ import annotations

import click

# name -> what this town does instead (one line, no trailing period needed)
ANSWERS: dict[str, str] = {
    "account": "Claude Code accounts are not managed here; each runtime uses the account it is "
               "logged in with (gt doctor checks the agents' CLIs)",
    "activity": "events are the town's log: gt feed (and the control room's Events pane)",
    "agent-log": "there is no OTLP export; an agent's pane is read with gt peek <address>",
    "agents": "gt status lists every agent session (gt status --json for scripts)",
    "assign": "create the bead (bd create) and hook it to the crew member with "
              "gt sling <bead> <rig> --crew <name>",
    "audit": "work history by actor: bd list --all --assignee <actor> and gt feed",
    "bead": "bead utilities are bd's: bd show, bd update, bd dep, bd delete",
    "broadcast": "nudge each worker with gt nudge <address> \"<message>\" (gt status lists them)",
    "callbacks": "agents report through gt done, mail and bead updates; there are no callbacks",
    "cat": "bd show <bead> prints a bead's content",
    "changelog": "completed work: bd list --status closed (--json for scripts), gt feed",
    "checkpoint": "work survives crashes on the hook and in the bead store; gt handoff saves a "
                  "note for the next session",
    "cleanup": "gt doctor --fix clears stale locks and records; gt polecat nuke ends a polecat",
    "close": "bd close <bead>...",
    "commit": "commit with git in the worktree; the polecat's identity is its branch and bead",
    "compact": "gt krc prune removes closed wisps and old events past their TTL",
    "config": "town settings live in <town>/settings/config.json; KRC in gt krc config",
    "costs": "costs are not tracked here (runtimes bill their own accounts)",
    "cycle": "switch sessions with tmux itself, or attach with gt crew at / gt mayor attach",
    "daemon": "there is no daemon: gt up starts the Deacon, witnesses and refineries",
    "dashboard": "the control room is the dashboard: run gastown-tui in the town",
    "directive": "role guides are the runtimes' own (gt prime prints yours)",
    "disable": "nothing is installed system-wide; gt down stops the town",
    "dnd": "notifications are not configured here; mail waits in gt mail inbox",
    "enable": "nothing is installed system-wide; gt up starts the town",
    "estop": "gt down stops every agent session at once (gt shutdown also ends polecats)",
    "git-init": "gt install makes the town; gt rig add <name> <git-url> adds a repository",
    "health": "gt doctor (checks and fixes) and gt status",
    "heartbeat": "gt deacon heartbeat (the Deacon's loop beats it each patrol)",
    "hooks": "this town sets up an agent's hooks when it starts the agent; the guards are "
             "gt tap guard",
    "info": "gt --version, and README.md for what this town builds",
    "init": "no Dolt workspace to initialize: gt install makes the town and its store",
    "issue": "there is no status line issue; gt hook shows what you are on",
    "maintain": "no Dolt to maintain: gt krc prune and gt doctor --fix keep the store trim",
    "metrics": "command usage is not recorded; gt krc stats counts the store and events",
    "mountain": "stage and launch an epic: gt convoy stage <epic> then gt convoy launch <convoy>",
    "namepool": "polecat names come from the rig's built-in pool (gt polecat list shows them)",
    "notify": "notifications are not configured here; mail waits in gt mail inbox",
    "nudge-poller": "every runtime is nudged directly in its tmux pane (gt nudge)",
    "orphans": "lost polecat work: gt polecat list and gt convoy stranded",
    "proxy-subcmds": "there is no proxy server here",
    "prune-branches": "gt polecat nuke removes a polecat's worktree and branch",
    "quota": "account quotas are not rotated here",
    "ready": "bd ready lists work ready to start (--json for scripts)",
    "release": "queue messages are mail here: gt mail read / gt mail inbox",
    "repair": "gt doctor --fix (stale locks, orphan records, store checks)",
    "restart": "gt crew restart <name> for crew; gt up restarts what is down",
    "resume": "gt up starts the Deacon again",
    "role": "gt prime shows your role; GT_ROLE or the directory names it",
    "scheduler": "the Deacon dispatches: staged convoys (gt convoy launch) and plugins (gt plugin)",
    "seance": "earlier sessions leave handoff mail: gt mail inbox, and gt memories",
    "shell": "no shell integration to install; gt finds the town from the directory or GT_ROOT",
    "show": "bd show <bead>",
    "signal": "runtime hook handlers are gt tap guard here",
    "stale": "open escalations are in the control room's Needs-you; raise again with "
             "gt escalate",
    "status-line": "there is no tmux status line; gt status and the control room show it",
    "synthesis": "a convoy lands when its beads close (gt convoy status); no synthesis step",
    "thanks": "see README.md for where this project comes from",
    "thaw": "gt up starts the town again after gt down",
    "theme": "tmux themes are not managed here",
    "town": "town-level verbs are top-level here: gt up, gt down, gt status, gt doctor",
    "trail": "recent agent activity: gt feed",
    "uninstall": "nothing is installed system-wide: gt down, then remove the town directory",
    "upgrade": "upgrade the package (pip install -U gastown-tui); gt doctor checks the town",
    "version": "gt --version",
    "vitals": "gt status and gt doctor",
    "whoami": "gt prime names who you are here (GT_ROLE, or the directory you are in)",
    "wl": "the Wasteland (a Dolt federation) is not built; work is shared through this "
          "town's own store (PostgreSQL lets several hosts share it: gt install --store)",
}


def answer_command(name: str) -> click.Command | None:
    text = ANSWERS.get(name)
    if text is None:
        return None

    @click.command(name=name, hidden=True, add_help_option=False,
                   context_settings={"ignore_unknown_options": True,
                                     "allow_extra_args": True})
    def command() -> None:
        click.echo(f"gt {name}: not built here; {text}", err=True)
        raise SystemExit(1)

    command.help = f"Not built here: {text}."
    return command
