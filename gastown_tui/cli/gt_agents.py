"""`gt sling`, `gt nudge`, `gt peek`, `gt done`, `gt prime`: the verbs agents and people use."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


@click.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Take a bead hooked elsewhere, or deferred.")
@click.option("--formula", default=None, help="Workflow to attach (default: the rig's).")
@click.option("--agent", default=None, help="Runtime alias for a spawned polecat (e.g. sim).")
@click.option("--no-convoy", is_flag=True, help="Do not create a tracking convoy.")
@click.option("--crew", default=None, help="Hook it on this crew member of the rig: "
                                          "<rig> becomes <rig>/crew/<name>.")
@click.option("--account", default=None, help="The Claude account new polecats run on "
                                              "(gt account list; default: GT_ACCOUNT, then "
                                              "the default account).")
@click.option("--host", default=None, metavar="NAME",
              help="Run the new polecat on this host (gt host list; 'local' for this "
                   "machine). Default: the rig's or town's hosts setting, else here.")
@json_option
@pass_cli
def sling(cli: CliContext, args, force, formula, agent, no_convoy, crew, account, host,
          as_json) -> None:
    """Sling beads to a rig (a fresh polecat each) or to a running agent.

    \b
    gt sling gt-abc gastown              one polecat works gt-abc
    gt sling gt-abc gt-def gastown       one polecat each, one batch convoy
    gt sling gt-abc mayor                hook it on the Mayor and nudge
    gt sling gt-abc                      hook it on yourself (GT_ROLE)
    gt sling gt-abc gastown --host b     its polecat runs on host b (gt host add)
    """
    import os

    from gastown_tui.ops.sling import sling as do_sling

    beads, target = list(args[:-1]), args[-1]
    if crew:
        if len(args) == 1 or "/" in target:
            raise click.UsageError("--crew needs the rig as the target: "
                                   "gt sling <bead> <rig> --crew <name>")
        target = f"{target}/crew/{crew}"
    if len(args) == 1:
        me = os.environ.get("GT_ROLE", "")
        if not me:
            raise click.UsageError("usage: gt sling <bead>... <rig|agent> (with no target the "
                                   "bead is hooked on you, which needs GT_ROLE)")
        beads, target = list(args), me
    results = do_sling(cli.town(), cli.store(), beads, target, force=force,
                       formula=formula, agent=agent, no_convoy=no_convoy, account=account,
                       on_progress=None if as_json else (lambda m: echo(m, err=True)),
                       host=host)
    if as_json:
        echo_json([r.as_json() for r in results])
        return
    for r in results:
        if r.queued:
            echo(f"⏳ {r.bead} queued for {target} (context {r.queued}; it starts as a "
                       "slot frees: gt scheduler status)")
            continue
        how = (f"new polecat, session {r.session}" if r.spawned and r.session else
               "new polecat, no session" if r.spawned else
               f"hooked, {r.session} nudged" if r.session else "hooked")
        if r.host:
            how += f", on host {r.host}"
        convoy = f", convoy {r.convoy}" if r.convoy else ""
        echo(f"🎯 {r.bead} → {r.agent} ({how}{convoy})")
        if r.manual:
            echo(f"   minimal mode: start its agent by hand with `sh {r.manual}`, or "
                       f"work in {r.worktree} yourself (gt prime, commit, gt done)")


@click.command()
@click.argument("target", required=False)
@click.argument("message", nargs=-1)
@click.option("-m", "--message", "message_opt", default=None)
@click.option("--stdin", "from_stdin", is_flag=True)
@click.option("--mode", type=click.Choice(["wait-idle", "immediate", "queue"]),
              default="wait-idle", show_default=True)
@click.option("--priority", type=click.Choice(["normal", "urgent"]), default="normal")
@click.option("--drain", is_flag=True, help="Print and clear this session's queued nudges.")
@click.option("-f", "--force", is_flag=True, help="Send even if the target has DND on.")
@json_option
@pass_cli
def nudge(cli: CliContext, target, message, message_opt, from_stdin, mode, priority, drain,
          force, as_json) -> None:
    """Send text to a running agent: typed literally into its pane, or queued."""
    import os

    from gastown_tui.ops import nudge as ops

    town = cli.town()
    if drain:
        session = os.environ.get("GT_SESSION") or ""
        if not session:
            raise click.UsageError("--drain runs inside an agent session (GT_SESSION)")
        entries = ops.drain(town, session)
        if as_json:
            echo_json(entries)
        elif entries:
            echo(ops.format_for_injection(entries))
        return
    if not target:
        raise click.UsageError("usage: gt nudge <address> <message>")
    text = sys.stdin.read() if from_stdin else (message_opt or " ".join(message))
    result = ops.nudge(town, target, text, mode=mode, priority=priority, force=force)
    if as_json:
        echo_json(result.as_json())
    else:
        mark = {"delivered": "✓", "queued": "⏳", "failed": "✗", "skipped": "○"}[result.status]
        echo(f"{mark} {result.status}: {target} ({result.session}) {result.detail}")
    if result.status == "failed":
        raise click.exceptions.Exit(1)


@click.command()
@click.argument("target")
@click.argument("lines_arg", required=False, type=int)
@click.option("-n", "--lines", type=int, default=None, help="Scrollback lines (default 40).")
@click.option("--colours", "--colors", is_flag=True, help="Keep ANSI colours.")
@pass_cli
def peek(cli: CliContext, target, lines_arg, lines, colours) -> None:
    """Show the last lines of an agent's tmux pane."""
    from gastown_tui.ops.nudge import resolve_target
    from gastown_tui.ops.sessions import host_of_agent, session_address, tmux_for

    town = cli.town()
    addr, session = resolve_target(town, target)
    host = host_of_agent(town, addr)
    tmux = tmux_for(town, host)
    if not tmux.has_session(session):
        raise click.ClickException(f"{addr} is not running (no session "
                                   f"{session_address(host, session)})")
    count = lines or lines_arg or 40
    lines_out = tmux.capture(session, lines=count, colours=colours)
    while lines_out and not lines_out[-1].strip():
        lines_out.pop()  # the screen below the cursor is empty, not output
    for line in lines_out[-count:]:
        echo(line, keep_sgr=colours)


@click.command()
@click.option("--issue", default=None, help="The bead this work is for (default: from branch).")
@click.option("--status", "exit_status", default="COMPLETED", show_default=True,
              help="COMPLETED (an MR, or none when the bead was closed first), ESCALATED "
                   "(blocked: no MR, you wait for help) or DEFERRED (paused: no MR, the bead "
                   "stays on your hook).")
@click.option("--cleanup-status", default=None,
              help="Report your worktree's state: clean (report-only work: no MR needed), "
                   "uncommitted, unpushed, stash, unknown.")
@click.option("-p", "--priority", type=int, default=None, hidden=True,
              help="Accepted for upstream's scripts; the MR takes the bead's priority.")
@json_option
@pass_cli
def done(cli: CliContext, issue, exit_status, cleanup_status, priority, as_json) -> None:
    """(polecats) Finish your work: submit the branch to the merge queue, or end without
    one (--status ESCALATED|DEFERRED, or after closing the bead as no-changes)."""
    from gastown_tui.ops.done import done as do_done

    result = do_done(cli.town(), cli.store(), issue=issue, status=exit_status,
                     cleanup_status=cleanup_status)
    if as_json:
        echo_json(result.as_json())
        return
    if result.mr:
        verb = "Created" if result.created else "Already queued:"
        echo(f"✓ {verb} merge request {result.mr} for {result.source_issue} "
                   f"({result.commits} commits on {result.branch})\n"
                   "  The Refinery merges it and then closes the bead. You are now idle.")
    elif result.exit == "COMPLETED":
        echo(f"✓ {result.source_issue or 'work'} completed without a merge request "
                   f"({result.note}).\n  You are now idle.")
    elif result.exit == "ESCALATED":
        echo(f"→ Signaling ESCALATED: {result.source_issue or 'no bead'} is blocked and "
                   "waits for help; you are marked stuck. No merge request was filed.")
    else:
        echo(f"→ Signaling DEFERRED: {result.source_issue or 'no bead'} stays on your "
                   f"hook ({result.issue_status}) to be resumed. No merge request was filed.")


@click.command()
@click.option("--hook", "hook_only", is_flag=True,
              help="Runtime hook form (SessionStart/PreCompact): reads the runtime's session "
                   "JSON on stdin (session_id, source) and keeps the session id.")
@click.option("--hook-event", default="", metavar="EVENT",
              help="With --hook, for a runtime that shows a hook's plain output on screen "
                   "(Gemini CLI): print it as the JSON its model reads "
                   "(hookSpecificOutput.additionalContext). PreCompress only marks a manual "
                   "compression: the next prompt's `gt mail check --inject` primes again.")
@json_option
@pass_cli
def prime(cli: CliContext, hook_only, hook_event, as_json) -> None:
    """Print your role guide, your hook and its steps, your handoff notes and your mail."""
    import os

    from gastown_tui.ops.prime import hook_json, mark_reprime
    from gastown_tui.ops.prime import prime as do_prime

    session = _hook_session(cli) if hook_only or hook_event else None
    if hook_event == "PreCompress":
        if (session or {}).get("trigger") == "manual":
            mark_reprime(cli.town(), os.environ.get("GT_SESSION", ""))
        return
    out = do_prime(cli.town(), cli.store(), hook_only=hook_only or bool(hook_event),
                   session=session)
    if as_json:
        echo_json({k: v for k, v in out.items() if k != "text"})
    elif hook_event:
        click.echo(hook_json(hook_event, out["text"]))
    else:
        echo(out["text"], nl=False)


def _hook_session(cli: CliContext) -> dict[str, str]:
    """What the runtime's hook says about its session: GT_SESSION_ID / GT_HOOK_SOURCE, else
    the JSON Claude Code writes on stdin ({"session_id": ..., "source": "startup|resume|
    clear|compact"}). Kept in .runtime/sessions/<tmux session>.json for the next prime."""
    import json
    import os
    import select
    import sys

    from gastown_tui.town.jsonfile import write_json
    from gastown_tui.town.layout import now_rfc3339

    found = {"session_id": os.environ.get("GT_SESSION_ID", ""),
             "source": os.environ.get("GT_HOOK_SOURCE", "")}
    if not found["session_id"] and not sys.stdin.isatty():
        # a runtime writes its JSON and closes stdin at once; never wait on a silent pipe
        ready, _, _ = select.select([sys.stdin], [], [], 0.5)
        raw = sys.stdin.read(1 << 20) if ready else ""
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            data = {}
        if isinstance(data, dict):
            found["session_id"] = str(data.get("session_id") or "")
            found["source"] = found["source"] or str(data.get("source") or "")
            if data.get("trigger"):  # Gemini CLI's PreCompress: manual | auto
                found["trigger"] = str(data["trigger"])
            if data.get("transcript_path"):
                found["transcript_path"] = str(data["transcript_path"])
    session = os.environ.get("GT_SESSION", "")
    if found["session_id"] and session and session.replace("-", "").replace("_", "").isalnum():
        write_json(cli.town().runtime_dir / "sessions" / f"{session}.json",
                   {**found, "tmux_session": session, "at": now_rfc3339()})
    return found
