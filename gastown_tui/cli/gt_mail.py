"""`gt mail send/inbox/read/archive`."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

PRIORITIES = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@click.group(invoke_without_command=True)
@click.pass_context
def mail(ctx: click.Context) -> None:
    """Mail between agents and people (kept as beads; open is unread)."""
    if ctx.invoked_subcommand is None:
        echo(ctx.get_help())


@mail.command(name="send")
@click.argument("to", required=False)
@click.option("-s", "--subject", required=True)
@click.option("-m", "--message", "--body", "body", default="")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the body from stdin.")
@click.option("--self", "to_self", is_flag=True, help="A note to yourself.")
@click.option("--human", is_flag=True, help="To the overseer (the human).")
@click.option("--priority", type=click.IntRange(0, 4), default=None)
@click.option("--urgent", is_flag=True)
@click.option("--type", "msg_type", default="notification", show_default=True)
@click.option("--cc", multiple=True)
@click.option("--reply-to", default=None)
@click.option("--from", "sender", default=None, help="Sender address (default: you).")
@json_option
@pass_cli
def send(cli: CliContext, to, subject, body, from_stdin, to_self, human, priority, urgent,
         msg_type, cc, reply_to, sender, as_json) -> None:
    """Send mail to an address (mayor/, <rig>/witness, <rig>/<polecat>, overseer ...)."""
    from gastown_tui.ops import mail as ops

    chosen = [x for x in (to, "--self" if to_self else None, "--human" if human else None) if x]
    if len(chosen) != 1:
        raise click.UsageError("name one recipient: an ADDRESS, --self or --human")
    store = cli.store()
    if to_self:
        to = ops.identity(None, store)
    elif human:
        to = "overseer"
    if from_stdin:
        if body:
            raise click.UsageError("use --stdin or -m, not both")
        body = sys.stdin.read()
    prio = 0 if urgent else (priority if priority is not None else 2)
    from gastown_tui.ops import mail_routes

    if mail_routes.routed(to):  # a queue or a channel (cli/gt_comms.py)
        msg = mail_routes.send_routed(cli.town(), store, to, subject, body, sender=sender,
                                      priority=prio)
    else:
        msg = ops.send(cli.town(), store, to, subject, body, sender=sender, priority=prio,
                       msg_type=msg_type, cc=list(cc), reply_to=reply_to)
    if as_json:
        echo_json(msg)
    else:
        echo(f"✉ Sent {msg['id']} to {msg['to']}: {subject}")


@mail.command(name="check")
@click.option("--inject", is_flag=True,
              help="For runtime hooks: print new mail and queued nudges as a <system-reminder> "
                   "block (each message once), never fail.")
@click.option("--identity", default=None, help="Whose mail (default: you).")
@click.option("--hook-event", default="", metavar="EVENT",
              help="With --inject, for a runtime that shows a hook's plain output on screen "
                   "(Gemini CLI's BeforeAgent): print it as the JSON its model reads, with "
                   "the prime a compression asked for first.")
@json_option
@pass_cli
def check(cli: CliContext, inject, identity, hook_event, as_json) -> None:
    """Is there new mail? Exit 0 when there is, 1 when there is none (--inject: always 0)."""
    import os

    from gastown_tui.ops import mail as ops
    from gastown_tui.town.errors import GasTownError

    try:
        store = cli.store()
        who = ops.identity(identity, store)
        if inject:
            fresh = ops.undelivered(store, who)
            text = ops.format_injection(fresh)
            session = os.environ.get("GT_SESSION", "")
            if session:
                from gastown_tui.ops.nudge import drain, format_for_injection

                queued = drain(cli.town(), session)
                if queued:
                    text += format_for_injection(queued) + "\n"
            if hook_event:
                from gastown_tui.ops.prime import hook_json, prime, take_reprime

                if take_reprime(cli.town(), session):
                    primed = prime(cli.town(), store, hook_only=True,
                                   session={"session_id": session, "source": "compact"})
                    text = primed["text"] + "\n" + text
                echo(hook_json(hook_event, text))
            else:
                echo(text, nl=False)
            ops.acknowledge(store, [m["id"] for m in fresh])
            return
        unread = ops.inbox(store, who, include_read=False)
    except GasTownError as exc:
        if inject:  # a hook must never break the agent's prompt
            echo(f"gt mail check: {exc}", err=True)
            return
        raise
    if as_json:
        echo_json({"address": who, "unread": len(unread), "has_new": bool(unread)})
    elif unread:
        echo(f"📬 {len(unread)} unread message(s)")
    else:
        echo("No new mail")
    if not unread:
        raise SystemExit(1)


@mail.command(name="hook")
@click.argument("ref")
@json_option
@pass_cli
def hook_mail(cli: CliContext, ref, as_json) -> None:
    """Hang a message on your hook: its text becomes your assignment (GUPP)."""
    from gastown_tui.ops import hook as hook_ops
    from gastown_tui.ops import mail as ops

    store = cli.store()
    msg_id = ops.resolve(store, ops.identity(None, store), ref)
    store.add_label(msg_id, "gt:hooked-mail")
    bead = hook_ops.attach(cli.town(), store, msg_id)
    ops.mark_read(store, bead["assignee"], [msg_id])
    if as_json:
        echo_json({"hooked": msg_id, "agent": bead["assignee"]})
    else:
        echo(f"🪝 Hooked message {msg_id} ({bead['title']}) to {bead['assignee']}")


def _bulk(name: str, doc: str, done_text: str, act) -> None:
    """`gt mail <name> REFS...`: `act(ops.mail, cli, store, who, refs)` over messages named by
    id or number (ops.mail is imported when the command runs, not when gt starts)."""

    @mail.command(name=name, help=doc)
    @click.argument("refs", nargs=-1, required=True)
    @click.option("--identity", default=None, help="Whose inbox a number refers to.")
    @pass_cli
    def command(cli: CliContext, refs, identity) -> None:
        from gastown_tui.ops import mail as ops

        store = cli.store()
        done = act(ops, cli, store, ops.identity(identity, store), list(refs))
        echo(f"✓ {done_text}: {', '.join(done)}")


_bulk("mark-read", "Mark messages read without opening them.", "Marked read",
      lambda ops, cli, store, who, refs: ops.mark_read(store, who, refs))
_bulk("mark-unread", "Mark messages unread again.", "Marked unread",
      lambda ops, cli, store, who, refs: ops.mark_unread(store, who, refs))
_bulk("delete", "Delete messages: archived with the label `deleted` (nothing is erased).",
      "Deleted (archived)",
      lambda ops, cli, store, who, refs: ops.delete(cli.town(), store, who, refs))


@mail.command(name="inbox")
@click.argument("address", required=False)
@click.option("-u", "--unread", is_flag=True, help="Only unread messages.")
@click.option("-a", "--all", "include_archived", is_flag=True, help="Archived messages too.")
@json_option
@pass_cli
def inbox(cli: CliContext, address, unread, include_archived, as_json) -> None:
    """Messages for ADDRESS (default: you, from GT_ROLE)."""
    from gastown_tui.ops import mail as ops

    store = cli.store()
    who = ops.identity(address, store)
    messages = ops.inbox(store, who, include_read=not unread, include_archived=include_archived)
    if as_json:
        echo_json(messages)
        return
    if not messages:
        echo(f"📭 No messages for {who}.")
    for index, msg in enumerate(messages, start=1):
        mark = " " if msg["read"] else "●"
        echo(f"{index:>3} {mark} {msg['id']}  {msg['from']:<20} {msg['subject']}")


@mail.command(name="read")
@click.argument("ref")
@click.option("--identity", default=None, help="Whose inbox an index refers to.")
@json_option
@pass_cli
def read(cli: CliContext, ref, identity, as_json) -> None:
    """Read a message by id or inbox number (marks it read)."""
    from gastown_tui.ops import mail as ops

    store = cli.store()
    msg = ops.read(store, ops.identity(identity, store), ref)
    if as_json:
        echo_json(msg)
        return
    echo(f"From: {msg['from']}\nTo: {msg['to']}\nDate: {msg['timestamp']}\n"
               f"Subject: {msg['subject']}\n\n{msg['body']}")


@mail.command(name="archive")
@click.argument("refs", nargs=-1, required=True)
@click.option("--identity", default=None)
@json_option
@pass_cli
def archive(cli: CliContext, refs, identity, as_json) -> None:
    """Archive messages (by id or inbox number)."""
    from gastown_tui.ops import mail as ops

    store = cli.store()
    done = ops.archive(cli.town(), store, ops.identity(identity, store), list(refs))
    if as_json:
        echo_json({"archived": done})
    else:
        echo(f"✓ Archived {', '.join(done)}")


def _attach_routes() -> None:
    from gastown_tui.cli.gt_comms import attach

    attach(mail)


_attach_routes()  # gt mail queue|claim|release|channel (cli/gt_comms.py)
