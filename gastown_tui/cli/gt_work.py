"""`gt feed`, `gt unsling`, `gt remember|memories|forget`, `gt deacon heartbeat|cleanup-orphans`."""

from __future__ import annotations

import time

import click

from gastown_tui.cli.common import CliContext, echo
from gastown_tui.cli.gt import echo_json, json_option, pass_cli


def _since(text: str | None) -> float | None:
    from gastown_tui.patrol.verdicts import parse_duration

    if not text:
        return None
    seconds = parse_duration(text, -1.0)
    if seconds < 0:
        raise click.BadParameter(f"{text!r} is not a duration (e.g. 10m, 2h)",
                                 param_hint="'--since'")
    return time.time() - seconds


@click.command()
@click.option("--since", default=None, help="Only events newer than this (10m, 2h, 30s).")
@click.option("-n", "--limit", type=int, default=50, show_default=True, help="At most this many.")
@click.option("--type", "types", multiple=True, help="Only these event types.")
@click.option("--plain", is_flag=True, help="No icons (for scripts and agents).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events.")
@click.option("--rig", default=None, help="Only this rig's events (or problems).")
@click.option("-p", "--problems", is_flag=True,
              help="What needs someone now instead of the log: stuck, blocked, rate-limited "
                   "or dead agents, stopped loops, unacknowledged escalations.")
@click.option("-w", "--window", is_flag=True,
              help="Open the followed feed in a new tmux window named 'feed' (inside tmux).")
@json_option
@pass_cli
def feed(cli: CliContext, since, limit, types, plain, follow, rig, problems, window,
         as_json) -> None:
    """What happened in the town: the event log (.events.jsonl), newest last."""
    from datetime import datetime

    from gastown_tui.town.events import read_events

    town = cli.town()
    if rig:
        town.rig(rig)  # an unknown rig: one line naming the rigs there are
    if window:
        _feed_window(rig, plain, problems)
        return
    if problems:
        from gastown_tui.cli.gt_problems import print_problems
        from gastown_tui.ops.problems import problems as find

        found = find(town, cli.store(), rig)
        if as_json:
            echo_json(found)
        else:
            print_problems(found, rig=rig)
        return
    cutoff = _since(since)

    def of_rig(event: dict) -> bool:
        payload = event.get("payload") or {}
        named = [str(event.get("actor") or ""), str(payload.get("agent") or ""),
                 str(payload.get("worker") or "")]
        return payload.get("rig") == rig or any(n.startswith(rig + "/") for n in named)

    def wanted(event: dict) -> bool:
        if types and event.get("type") not in types:
            return False
        if rig and not of_rig(event):
            return False
        if cutoff is not None:
            try:
                ts = datetime.fromisoformat(str(event.get("ts", "")).replace("Z", "+00:00"))
            except ValueError:
                return False
            return ts.timestamp() >= cutoff
        return True

    def line(event: dict) -> str:
        payload = event.get("payload") or {}
        what = " ".join(f"{k}={v}" for k, v in payload.items() if v not in ("", None, [], {}))
        mark = "" if plain else "• "
        return f"{mark}{event.get('ts', '')[:19]} {event.get('actor', '') or '-'} " \
               f"{event.get('type', '')} {what}".rstrip()

    events = [e for e in read_events(town.root, limit=max(limit * 20, 1000)) if wanted(e)]
    events = events[-limit:] if limit else events
    if as_json:
        echo_json(events)
        return
    if not events and not follow:
        echo("No events" + (f" in the last {since}." if since else "."))
    for event in events:
        echo(line(event))
    if follow:
        path = town.events_path
        offset = path.stat().st_size if path.exists() else 0
        try:
            while True:
                time.sleep(0.5)
                size = path.stat().st_size if path.exists() else 0
                if size > offset:
                    import json

                    with path.open("rb") as fh:
                        fh.seek(offset)
                        chunk = fh.read()
                    offset = size
                    for raw in chunk.splitlines():
                        try:
                            event = json.loads(raw)
                        except ValueError:
                            continue
                        if wanted(event):
                            echo(line(event))
        except KeyboardInterrupt:
            return


def _feed_window(rig: str | None, plain: bool, problems: bool) -> None:
    """`gt feed --window`: the followed feed in a tmux window of the tmux you are in."""
    import os
    import shutil
    import subprocess

    from gastown_tui.ops.up import gt_argv

    if not os.environ.get("TMUX") or not shutil.which("tmux"):
        raise click.ClickException("--window opens a tmux window: run it inside tmux "
                                   "(or drop --window)")
    if problems:
        raise click.UsageError("--window follows the event log; run --problems on its own")
    argv = gt_argv("feed", "--follow", *(["--rig", rig] if rig else []),
                   *(["--plain"] if plain else []))
    proc = subprocess.run(["tmux", "new-window", "-n", "feed", "--", *argv],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise click.ClickException(f"tmux new-window failed: {proc.stderr.strip()[:200]}")
    echo("✓ Feed opened in tmux window 'feed'")


@click.command()
@click.argument("bead", required=False)
@click.option("-f", "--force", is_flag=True, help="Even when the bead is another agent's.")
@json_option
@pass_cli
def unsling(cli: CliContext, bead, force, as_json) -> None:
    """Take work off a hook (default: yours) and put it back to open for someone else. A
    polecat that finished runs gt done instead; this is for work that should go elsewhere."""
    from gastown_tui.ops import hook as ops

    store = cli.store()
    if bead is None:
        me = ops.self_address()
        hooked = ops.hooked_for(store, me)
        if hooked is None:
            raise click.ClickException(f"{me}: nothing on your hook to unsling")
        bead = hooked["id"]
    elif not force:
        holder = store.get(bead).get("assignee") or ""
        try:
            me = ops.self_address()
        except Exception:
            me = ""
        if me and holder and holder != me:
            raise click.ClickException(f"{bead} is on {holder}'s hook, not yours "
                                       "(pass --force to take it off anyway)")
    out = ops.detach(cli.town(), store, bead)
    if as_json:
        echo_json(out)
    else:
        echo(f"✓ Unslung {out['id']}: back to open")


@click.command()
@click.argument("text", nargs=-1, required=True)
@click.option("--key", default=None, help="A key to find, replace or forget it by.")
@click.option("--type", "kind", default="general", show_default=True,
              help="feedback, project, user, reference or general.")
@json_option
@pass_cli
def remember(cli: CliContext, text, key, kind, as_json) -> None:
    """Keep something for every agent of the town (the Mayor's gt prime shows it)."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.memories import remember as do_remember

    entry = do_remember(cli.town(), " ".join(text), key=key, kind=kind, actor=default_actor())
    if as_json:
        echo_json(entry)
    else:
        echo(f"✓ Remembered [{entry['type']}] {entry['key']}")


@click.command()
@click.argument("term", required=False)
@json_option
@pass_cli
def memories(cli: CliContext, term, as_json) -> None:
    """List the town's memories, or those matching TERM."""
    from gastown_tui.ops.memories import list_memories

    items = list_memories(cli.town(), term)
    if as_json:
        echo_json(items)
        return
    if not items:
        echo("No memories" + (f" matching {term!r}." if term else " yet (gt remember)."))
    for m in items:
        echo(f"[{m['type']}] {m['key']}: {m['text']}")


@click.command()
@click.argument("key")
@pass_cli
def forget(cli: CliContext, key) -> None:
    """Remove a memory by its key."""
    from gastown_tui.ops.context import default_actor
    from gastown_tui.ops.memories import forget as do_forget

    do_forget(cli.town(), key, actor=default_actor())
    echo(f"✓ Forgot {key}")
