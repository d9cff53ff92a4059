"""`gt mail send/inbox/read/archive`."""

from __future__ import annotations

import sys

import click

from gastown_tui.cli.common import CliContext
from gastown_tui.cli.gt import echo_json, json_option, pass_cli

PRIORITIES = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@click.group()
def mail() -> None:
    """Mail between agents and people (kept as beads; open is unread)."""


@mail.command(name="send")
@click.argument("to")
@click.option("-s", "--subject", required=True)
@click.option("-m", "--message", "--body", "body", default="")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the body from stdin.")
@click.option("--priority", type=click.IntRange(0, 4), default=None)
@click.option("--urgent", is_flag=True)
@click.option("--type", "msg_type", default="notification", show_default=True)
@click.option("--cc", multiple=True)
@click.option("--reply-to", default=None)
@click.option("--from", "sender", default=None, help="Sender address (default: you).")
@json_option
@pass_cli
def send(cli: CliContext, to, subject, body, from_stdin, priority, urgent, msg_type, cc, reply_to,
         sender, as_json) -> None:
    """Send mail to an address (mayor/, <rig>/witness, <rig>/<polecat>, overseer ...)."""
    from gastown_tui.ops import mail as ops

    if from_stdin:
        body = sys.stdin.read()
    prio = 0 if urgent else (priority if priority is not None else 2)
    msg = ops.send(cli.town(), cli.store(), to, subject, body, sender=sender, priority=prio,
                   msg_type=msg_type, cc=list(cc), reply_to=reply_to)
    if as_json:
        echo_json(msg)
    else:
        click.echo(f"✉ Sent {msg['id']} to {msg['to']}: {subject}")


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
        click.echo(f"📭 No messages for {who}.")
    for index, msg in enumerate(messages, start=1):
        mark = " " if msg["read"] else "●"
        click.echo(f"{index:>3} {mark} {msg['id']}  {msg['from']:<20} {msg['subject']}")


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
    click.echo(f"From: {msg['from']}\nTo: {msg['to']}\nDate: {msg['timestamp']}\n"
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
        click.echo(f"✓ Archived {', '.join(done)}")
