"""Upstream's top-level gt and bd commands this town does not build: each answers in one line
with what to run here instead (never "no such command"), and exits 1 because it did nothing.
Upstream's prompts and habits name these, so an agent or a person typing one learns the way
on the spot. Kept as plain data: gt and bd look a name up here only when no real command
has it."""

from __future__ import annotations

import click

# name -> what this town does instead (one line, no trailing period needed)
GT_ANSWERS: dict[str, str] = {
    "activity": "events are the town's log: gt feed (and the control room's Events pane)",
    "agent-log": "there is no OTLP export; an agent's pane is read with gt peek <address>",
    "assign": "create the bead (bd create) and hook it to the crew member with "
              "gt sling <bead> <rig> --crew <name>",
    "audit": "work history by actor: bd list --all --assignee <actor> and gt feed",
    "bead": "bead utilities are bd's: bd show, bd update, bd dep, bd delete",
    "callbacks": "agents report through gt done, mail and bead updates; there are no callbacks",
    "cat": "bd show <bead> prints a bead's content",
    "changelog": "completed work: bd list --status closed (--json for scripts), gt feed",
    "checkpoint": "work survives crashes on the hook and in the bead store; gt handoff saves a "
                  "note for the next session",
    "cleanup": "gt doctor --fix clears stale locks and records; gt polecat nuke ends a polecat",
    "close": "bd close <bead>...",
    "commit": "commit with git in the worktree; the polecat's identity is its branch and bead",
    "compact": "gt krc prune removes closed wisps and old events past their TTL",
    "daemon": "there is no daemon: gt up starts the Deacon, witnesses and refineries",
    "dashboard": "the control room is the dashboard: run gastown-tui in the town",
    "directive": "role guides are the runtimes' own (gt prime prints yours)",
    "disable": "nothing is installed system-wide (hooks are given per session with --settings); "
               "gt down stops the town",
    "enable": "nothing is installed system-wide; gt up starts the town",
    "estop": "gt down stops every agent session at once (gt shutdown also ends polecats)",
    "git-init": "gt install makes the town; gt rig add <name> <git-url> adds a repository",
    "heartbeat": "gt deacon heartbeat (the Deacon's loop beats it each patrol)",
    "init": "no Dolt workspace to initialize: gt install makes the town and its store",
    "issue": "there is no status line issue; gt hook shows what you are on",
    "maintain": "no Dolt to maintain: gt krc prune and gt doctor --fix keep the store trim",
    "metrics": "command usage is not recorded; gt krc stats counts the store and events",
    "mountain": "stage and launch an epic: gt convoy stage <epic> then gt convoy launch <convoy>",
    "nudge-poller": "every runtime is nudged directly in its tmux pane (gt nudge)",
    "orphans": "lost polecat work: gt polecat list and gt convoy stranded",
    "proxy-subcmds": "there is no proxy server here",
    "prune-branches": "gt polecat nuke removes a polecat's worktree and branch",
    "ready": "bd ready lists work ready to start (--json for scripts)",
    "release": "a claimed queue message goes back with gt mail release <id>",
    "repair": "gt doctor --fix (stale locks, orphan records, store checks)",
    "restart": "restart one part: gt rig restart <rig>, gt mayor restart, gt witness|refinery|"
               "deacon restart, gt crew restart <name>",
    "resume": "gt up starts the Deacon again",
    "seance": "earlier sessions leave handoff mail: gt mail inbox, and gt memories",
    "shell": "no shell integration to install; gt finds the town from the directory or GT_ROOT",
    "show": "bd show <bead>",
    "signal": "runtime hook handlers are gt tap guard here",
    "stale": "gt escalate stale re-escalates unacknowledged escalations; gt feed --problems "
             "lists what is stuck",
    "status-line": "there is no tmux status line; gt status and the control room show it",
    "synthesis": "a convoy lands when its beads close (gt convoy status); no synthesis step",
    "thanks": "see README.md for where this project comes from",
    "thaw": "gt up starts the town again after gt down",
    "town": "town-level verbs are top-level here: gt up, gt down, gt status, gt doctor",
    "trail": "recent agent activity: gt feed",
    "uninstall": "nothing is installed system-wide: gt down, then remove the town directory",
    "upgrade": "upgrade the package (pip install -U gastown-tui); gt doctor checks the town",
    "wl": "the Wasteland (a Dolt federation) is not built; work is shared through this "
          "town's own store (PostgreSQL lets several hosts share it: gt install --store)",
}

BD_ANSWERS: dict[str, str] = {
    "admin": "store maintenance is bd doctor --fix, bd backup and gt krc prune",
    "ado": "no Azure DevOps sync; beads live only in this town's store (bd export writes JSONL)",
    "assign": "bd update <id> --assignee <who>",
    "audit": "every change is already an event (gt feed; bd show --json has the history)",
    "batch": "each bd write is its own transaction; run the writes one after another",
    "bootstrap": "gt install makes the store (and joins a PostgreSQL one with --store URL)",
    "branch": "there is no Dolt branching; the store is SQLite or PostgreSQL",
    "codex-hook": "runtime hooks are gt tap guard here",
    "comment": "bd comments add <id> \"<text>\"",
    "compact": "gt krc prune removes closed wisps and old events past their TTL",
    "config": "town settings live in <town>/settings/config.json (gt krc config for TTLs)",
    "context": "bd where names the store and prefix in use here",
    "create-form": "bd create \"<title>\" -d \"<description>\" (bd edit <id> opens $EDITOR)",
    "db-proxy-child": "there is no database proxy here",
    "diff": "there is no Dolt history to diff; the event log is gt feed",
    "dolt": "no Dolt: the store is SQLite or PostgreSQL (gt store status, bd where)",
    "duplicate": "bd close <id> --reason \"duplicate of <other>\" and "
                 "bd dep add <id> <other> -t related",
    "duplicates": "duplicates are not searched for; bd search <words> finds likely ones",
    "federation": "no federation; several hosts share one PostgreSQL store (gt install --store)",
    "find-duplicates": "bd search <words> finds beads with the same words",
    "flatten": "there is no Dolt history to flatten",
    "forget": "gt forget <key>",
    "gc": "gt krc prune (closed wisps, old events); bd doctor --fix for orphans",
    "github": "no GitHub issue sync; CI results open gates (bd gate create --type gh:run)",
    "gitlab": "no GitLab sync; beads live only in this town's store",
    "graph": "bd dep tree <id> (--direction both, --format mermaid)",
    "history": "bd show <id> --json carries the bead's events; gt feed shows them all",
    "hooks": "no git hooks are installed; the store is not in git",
    "human": "bd --help; the control room (gastown-tui) is the human's view",
    "info": "bd where and bd status",
    "init": "gt install makes the town's store; gt rig add gives a rig its prefix",
    "init-safety": "gt install is idempotent and never destroys a store",
    "jira": "no Jira sync; beads live only in this town's store",
    "linear": "no Linear sync; beads live only in this town's store",
    "link": "bd dep add <id> <depends-on> -t related",
    "lint": "template sections are not checked; bd show <id> to read one",
    "mail": "gt mail",
    "memories": "gt memories",
    "merge-slot": "the Refinery merges one at a time (gt mq list shows the queue)",
    "migrate": "gt store migrate (SQLite to PostgreSQL and back)",
    "note": "bd update <id> --append-notes \"<text>\"",
    "notion": "no Notion sync; beads live only in this town's store",
    "onboard": "gt prime prints the guide for your role",
    "orphans": "bd doctor finds orphan records (--fix removes them)",
    "ping": "bd where (and bd doctor) reach the store",
    "preflight": "gt done runs the checks and submits to the merge queue",
    "priority": "bd update <id> --priority <0-4>",
    "promote": "bd update <id> --persistent",
    "prune": "gt krc prune (closed wisps and old events past their TTL)",
    "purge": "gt krc prune, or bd delete <id> --force",
    "query": "bd list with its filters (--status, --type, --assignee, --label) or bd search",
    "quickstart": "README.md and gt prime",
    "recall": "gt memories",
    "rename": "bead ids are not renamed; bd rename-prefix renames a rig's prefix",
    "repo": "one town, many rigs: gt rig add <name> <git-url>",
    "restore": "bd backup restore",
    "rules": "role guides are printed by gt prime",
    "set-state": "bd update <id> --status <status> (labels: bd label add)",
    "setup": "gt sling and gt up set up each runtime when they start it",
    "ship": "cross-project capabilities are not published; beads reference external:<rig>:<id>",
    "sql": "there is no raw SQL; bd list/show --json give every field",
    "stale": "bd mol progress <molecule> and bd epic close-eligible",
    "state": "bd show <id> (status and labels)",
    "supersede": "bd close <id> --reason \"superseded by <new>\" and "
                 "bd dep add <new> <id> -t related",
    "swarm": "gt convoy stage <epic> then gt convoy launch <convoy>",
    "tag": "bd label add <id> <label>",
    "todo": "bd create \"<title>\" -t task; bd ready lists what is next",
    "upgrade": "pip install -U gastown-tui; bd version",
    "vc": "there is no Dolt version control; bd backup keeps snapshots",
    "worktree": "gt crew add (a clone of the rig) or gt sling (a polecat's worktree)",
}


def answer_command(prog: str, name: str) -> click.Command | None:
    """The answering command for `prog` (gt or bd) `name`, or None when upstream has none."""
    text = (GT_ANSWERS if prog == "gt" else BD_ANSWERS).get(name)
    if text is None:
        return None

    @click.command(name=name, hidden=True, add_help_option=False,
                   context_settings={"ignore_unknown_options": True,
                                     "allow_extra_args": True})
    def command() -> None:
        click.echo(f"{prog} {name}: not built here; {text}", err=True)
        raise SystemExit(1)

    command.help = f"Not built here: {text}."
    return command
