"""`gt broadcast`, `gt dnd`, `gt notify`, and mail's queues and channels
(`gt mail queue|claim|release|channel`)."""

from __future__ import annotations

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


def _me(cli: CliContext, agent: str | None):
    """The agent a dnd/notify command is about: --agent, else you (GT_ROLE, your cwd)."""
    from gastown_tui.ops.prime import identity
    from gastown_tui.town.names import parse_address

    return parse_address(agent) if agent else identity(cli.town(), cli.cwd)


def _caller() -> str:
    from gastown_tui.ops.context import default_actor

    return default_actor()


@click.command()
@click.argument("message")
@click.option("--rig", default=None, help="Only the workers of this rig.")
@click.option("--all", "everyone", is_flag=True,
              help="Every agent (Mayor, Witness, Refinery…), not only workers.")
@click.option("--dry-run", is_flag=True, help="Show who would get it.")
@json_option
@pass_cli
def broadcast(cli: CliContext, message, rig, everyone, dry_run, as_json) -> None:
    """Nudge every running worker (polecats and crew) with MESSAGE; agents in Do Not Disturb
    are skipped."""
    from gastown_tui.ops.broadcast import broadcast as do_broadcast

    report = do_broadcast(cli.town(), message, rig=rig, everyone=everyone, dry_run=dry_run)
    if as_json:
        echo_json(report.as_json())
        return
    if not report.targets:
        echo("No workers running to broadcast to." + (f"\n  (filtered by rig: {rig})"
                                                            if rig else ""))
        return
    if dry_run:
        echo(f"Would broadcast to {len(report.targets)} agent(s):\n")
        for agent in report.targets:
            echo(f"  {agent}")
        echo(f"\nMessage: {str(message)}")
        return
    echo(f"Broadcasting to {len(report.targets)} agent(s)...\n")
    for agent in report.delivered:
        echo(f"  ✓ {agent}")
    for agent in report.queued:
        echo(f"  ⏳ {agent} (queued for its next prompt)")
    for agent in report.skipped:
        echo(f"  ○ {agent} (DND: muted)")
    for item in report.failed:
        echo(f"  ✗ {item['agent']}: {str(item['error'])}")
    ok = len(report.delivered) + len(report.queued)
    summary = f"Broadcast complete: {ok} succeeded, {len(report.failed)} failed"
    if report.skipped:
        summary += f", {len(report.skipped)} skipped (DND)"
    echo(f"\n{'⚠' if report.failed else '✓'} {summary}")
    if report.failed:
        raise click.exceptions.Exit(1)


@click.command()
@click.argument("action", required=False, type=click.Choice(["on", "off", "status"]))
@click.option("--agent", default=None, help="Another agent's address (default: you).")
@json_option
@pass_cli
def dnd(cli: CliContext, action, agent, as_json) -> None:
    """Do Not Disturb: on mutes nudges and broadcasts to you (--force still reaches you),
    off resumes them, no argument toggles."""
    from gastown_tui.ops.notify import level, set_level

    town, store = cli.town(), cli.store()
    addr = _me(cli, agent)
    now = level(town, store, addr)
    if action == "status":
        new = now
    elif action is None:
        new = set_level(town, store, addr, "normal" if now == "muted" else "muted")
    else:
        new = set_level(town, store, addr, "muted" if action == "on" else "normal")
    if as_json:
        echo_json({"agent": str(addr), "level": new, "dnd": new == "muted"})
        return
    if action == "status":
        echo(f"{'🔕' if new == 'muted' else '🔔'} Notification level: {new}")
    elif new == "muted":
        echo("✓ DND enabled - notifications muted\n  Run gt dnd off to resume "
                   "notifications")
    else:
        echo("✓ DND disabled - notifications resumed")


@click.command()
@click.argument("new_level", required=False,
                type=click.Choice(["verbose", "normal", "muted"]))
@click.option("--agent", default=None, help="Another agent's address (default: you).")
@json_option
@pass_cli
def notify(cli: CliContext, new_level, agent, as_json) -> None:
    """Show or set your notification level: verbose, normal or muted."""
    from gastown_tui.ops.notify import DESCRIBE, level, set_level

    town, store = cli.town(), cli.store()
    addr = _me(cli, agent)
    value = set_level(town, store, addr, new_level) if new_level else level(town, store, addr)
    if as_json:
        echo_json({"agent": str(addr), "level": value})
        return
    echo(f"✓ Notification level set to {value}" if new_level
               else f"🔔 Notification level: {value}")
    echo(f"  {DESCRIBE[value]}")


# ---------------------------------------------------------------------------- mail queues
@click.group(name="queue")
def mail_queue() -> None:
    """Work queues: one message, claimed by one worker (send with gt mail send queue:<name>).

    \b
    gt mail queue create work --claimers 'gastown/polecats/*'
    gt mail send queue:work -s "Review PR 12" -m "..."
    gt mail claim work        (a matching agent takes the oldest unclaimed message)
    gt mail release <id>      (back to the queue)
    """


@mail_queue.command(name="create")
@click.argument("name")
@click.option("--claimers", required=True, help="Who may claim: '*', 'gastown/polecats/*', …")
@json_option
@pass_cli
def queue_create(cli: CliContext, name, claimers, as_json) -> None:
    """Create a queue."""
    from gastown_tui.ops.mail_routes import create_queue

    info = create_queue(cli.town(), cli.store(), name, claimers, _caller())
    if as_json:
        echo_json(info)
    else:
        echo(f"✓ Created queue {name} ({info['id']}), claimers: {str(claimers)}")


@mail_queue.command(name="show")
@click.argument("name")
@json_option
@pass_cli
def queue_show(cli: CliContext, name, as_json) -> None:
    """Show a queue and its messages."""
    from gastown_tui.ops.mail_routes import queue

    info = queue(cli.store(), name)
    if as_json:
        echo_json(info)
        return
    echo(f"Queue {name} ({info['status']}), claimers: {str(info['claim_pattern'])}")
    echo(f"  {info['available_count']} available, {info['processing_count']} claimed")
    for m in info["messages"]:
        who = f"  claimed by {m['claimed_by']}" if m["claimed_by"] else ""
        echo(f"  {m['id']}  {str(m['subject'])}  from {str(m['from'])}{who}")


@mail_queue.command(name="list")
@json_option
@pass_cli
def queue_list(cli: CliContext, as_json) -> None:
    """List the queues."""
    from gastown_tui.ops.mail_routes import queues

    found = queues(cli.store())
    if as_json:
        echo_json(found)
        return
    if not found:
        echo("No queues. Create one: gt mail queue create <name> --claimers '*'")
    for q in found:
        echo(f"  {q['name']:<20} {q['available_count']} available, "
                   f"{q['processing_count']} claimed  (claimers: {str(q['claim_pattern'])})")


@mail_queue.command(name="delete")
@click.argument("name")
@pass_cli
def queue_delete(cli: CliContext, name) -> None:
    """Delete a queue (its messages stay, unclaimable)."""
    from gastown_tui.ops.mail_routes import delete_queue

    delete_queue(cli.town(), cli.store(), name, _caller())
    echo(f"✓ Deleted queue {name}")


@click.command(name="claim")
@click.argument("queue_name", required=False)
@json_option
@pass_cli
def mail_claim(cli: CliContext, queue_name, as_json) -> None:
    """Claim the oldest unclaimed message of a queue (or of any queue you may claim from)."""
    from gastown_tui.ops.mail_routes import claim

    caller = _caller()
    name, msg = claim(cli.town(), cli.store(), caller, queue_name)
    if as_json:
        echo_json({"queue": name, "claimed": msg, "caller": caller})
        return
    if msg is None:
        echo(f"○ No messages to claim in queue {name}" if name else
                   f"○ No queues available for claiming (caller: {caller})")
        return
    echo(f"✓ Claimed message from queue {name}\n  ID: {msg['id']}\n  Subject: "
               f"{str(msg['subject'])}\n  From: {str(msg['from'])}")
    if msg["body"]:
        echo(f"  Preview: {str(msg['body'].splitlines()[0][:80])}")


@click.command(name="release")
@click.argument("message_id")
@pass_cli
def mail_release(cli: CliContext, message_id) -> None:
    """Release a message you claimed back to its queue."""
    from gastown_tui.ops.mail_routes import release

    name = release(cli.town(), cli.store(), _caller(), message_id)
    echo(f"✓ Released {message_id} back to queue {name}")


# ---------------------------------------------------------------------------- channels
class _ChannelGroup(click.Group):
    """`gt mail channel NAME` shows that channel, `gt mail channel` lists them (upstream)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        elif not args or args[0] == "--json":
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(name="channel", cls=_ChannelGroup)
def mail_channel() -> None:
    """Channels: messages kept on the channel and copied to its subscribers (send with
    gt mail send channel:<name>). With a NAME: its messages; alone: the list."""


@mail_channel.command(name="list")
@json_option
@pass_cli
def channel_list(cli: CliContext, as_json) -> None:
    """List the channels."""
    from gastown_tui.ops.mail_routes import channels

    found = channels(cli.store())
    if as_json:
        echo_json(found)
        return
    if not found:
        echo("No channels. Create one: gt mail channel create <name>")
    for c in found:
        echo(f"  {c['name']:<20} {c['message_count']} messages, "
                   f"{len(c['subscribers'])} subscribers")


@mail_channel.command(name="show")
@click.argument("name")
@json_option
@pass_cli
def channel_show(cli: CliContext, name, as_json) -> None:
    """A channel's messages."""
    from gastown_tui.ops.mail_routes import channel

    info = channel(cli.store(), name)
    if as_json:
        echo_json(info)
        return
    echo(f"Channel {name}: {len(info['messages'])} messages, subscribers: "
               f"{', '.join(info['subscribers']) or 'none'}")
    for m in info["messages"]:
        echo(f"  {m['timestamp']}  {str(m['from'])}: {str(m['subject'])}")


@mail_channel.command(name="create")
@click.argument("name")
@click.option("--retain-count", type=int, default=0, help="Keep the last N messages (0: all).")
@click.option("--retain-hours", type=int, default=0, help="Keep messages N hours (0: ever).")
@json_option
@pass_cli
def channel_create(cli: CliContext, name, retain_count, retain_hours, as_json) -> None:
    """Create a channel."""
    from gastown_tui.ops.mail_routes import create_channel

    info = create_channel(cli.town(), cli.store(), name, _caller(), retain_count=retain_count,
                          retain_hours=retain_hours)
    if as_json:
        echo_json(info)
    else:
        echo(f"✓ Created channel {name} ({info['id']})")


@mail_channel.command(name="delete")
@click.argument("name")
@pass_cli
def channel_delete(cli: CliContext, name) -> None:
    """Delete a channel."""
    from gastown_tui.ops.mail_routes import delete_channel

    delete_channel(cli.town(), cli.store(), name, _caller())
    echo(f"✓ Deleted channel {name}")


def _subscription(on: bool):
    @click.argument("name")
    @click.option("--address", default=None, help="Who (default: you).")
    @pass_cli
    def command(cli: CliContext, name, address) -> None:
        from gastown_tui.ops.mail_routes import subscribe

        who = address or _caller()
        subscribe(cli.town(), cli.store(), name, who, on=on)
        echo(f"✓ {'Subscribed' if on else 'Unsubscribed'} {who} "
                   f"{'to' if on else 'from'} channel {name}")

    return command


mail_channel.command(name="subscribe", help="Subscribe to a channel.")(_subscription(True))
mail_channel.command(name="unsubscribe",
                     help="Unsubscribe from a channel.")(_subscription(False))


@mail_channel.command(name="subscribers")
@click.argument("name")
@json_option
@pass_cli
def channel_subscribers(cli: CliContext, name, as_json) -> None:
    """List a channel's subscribers."""
    from gastown_tui.ops.mail_routes import channel

    subs = channel(cli.store(), name, messages=False)["subscribers"]
    if as_json:
        echo_json(subs)
    else:
        echo("\n".join(subs) if subs else f"No subscribers to {name}")


def attach(mail: click.Group) -> None:
    """Add the queue and channel commands to `gt mail`."""
    for command in (mail_queue, mail_claim, mail_release, mail_channel):
        mail.add_command(command)
