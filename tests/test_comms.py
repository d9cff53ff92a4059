"""Telling many at once: gt broadcast (Do Not Disturb respected), gt dnd / gt notify, mail
queues with claim and release (one claimer per message, however many race), channels with
subscribers and retention. Sim polecats on a private tmux server."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import BIN, Cli
from tests.waiting import wait_for

HANG = "```sim\nhang: true\n```"


def peek(cli: Cli, agent: str) -> str:
    return cli.gt("peek", agent, "-n", "60").stdout


def two_polecats(cli: Cli) -> list[str]:
    beads = [cli.json("bd", "create", f"Wait {n}", "-d", HANG)["id"] for n in range(2)]
    agents = [s["agent"] for s in cli.json("gt", "sling", *beads, "gastown")]
    for agent in agents:
        wait_for(lambda a=agent: "hanging" in peek(cli, a), what=f"{agent} at work")
    return agents


def test_broadcast_reaches_workers_and_skips_do_not_disturb(sim_town: Cli):
    cli = sim_town
    loud, quiet = two_polecats(cli)
    assert cli.json("gt", "dnd", "on", "--agent", quiet) == {"agent": quiet, "level": "muted",
                                                            "dnd": True}
    assert "Notification level: muted" in cli.gt("dnd", "status", "--agent", quiet).stdout
    dry = cli.json("gt", "broadcast", "standup in 5", "--dry-run")
    assert sorted(dry["targets"]) == sorted([loud, quiet]) and dry["delivered"] == []
    sent = cli.json("gt", "broadcast", "standup in 5")
    assert sent["delivered"] == [loud] and sent["skipped"] == [quiet] and not sent["failed"]
    wait_for(lambda: "standup in 5" in peek(cli, loud), what="the broadcast in the pane")
    assert "standup in 5" not in peek(cli, quiet)
    skipped = cli.json("gt", "nudge", quiet, "hello?")
    assert skipped["status"] == "skipped" and "DND" in skipped["detail"]
    forced = cli.json("gt", "nudge", quiet, "urgent thing", "--force")
    assert forced["status"] == "delivered"
    wait_for(lambda: "urgent thing" in peek(cli, quiet), what="the forced nudge")
    assert "DND disabled" in cli.gt("dnd", "--agent", quiet).stdout  # toggles back
    assert cli.json("gt", "notify", "--agent", quiet)["level"] == "normal"
    assert cli.json("gt", "notify", "verbose", "--agent", loud)["level"] == "verbose"
    assert "standup" in cli.gt("broadcast", "standup", "--rig", "gastown", "--all",
                               "--dry-run").stdout
    bad = cli.gt("broadcast", "x", "--rig", "nowhere", ok=False)
    assert bad.returncode == 1 and "unknown rig 'nowhere'" in bad.stderr
    assert "Traceback" not in bad.stderr
    wrong = cli.gt("notify", "loudest", ok=False)
    assert wrong.returncode == 2 and "loudest" in wrong.stderr


def test_a_queue_gives_each_message_to_one_claimer(cli: Cli):
    cli.json("gt", "mail", "queue", "create", "reviews", "--claimers", "gastown/polecats/*")
    for n in range(3):
        cli.gt("mail", "send", "queue:reviews", "-s", f"Review PR {n}", "-m", f"diff {n}")
    shown = cli.json("gt", "mail", "queue", "show", "reviews")
    assert shown["available_count"] == 3 and shown["claim_pattern"] == "gastown/polecats/*"
    assert [m["subject"] for m in shown["messages"]] == [f"Review PR {n}" for n in range(3)]
    outsider = cli.gt("mail", "claim", "reviews", env={"GT_ROLE": "mayor"}, ok=False)
    assert "not eligible to claim from queue reviews" in outsider.stderr
    # four polecats race for three messages: each message goes to exactly one of them
    procs = [subprocess.Popen([str(BIN / "gt"), "mail", "claim", "reviews", "--json"],
                              cwd=cli.cwd, env={**cli.env, "GT_ROLE": f"gastown/polecats/p{n}"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    claimed = [r["claimed"]["id"] for r in results if r["claimed"]]
    assert len(claimed) == 3 and len(set(claimed)) == 3
    after = cli.json("gt", "mail", "queue", "show", "reviews")
    assert after["available_count"] == 0 and after["processing_count"] == 3
    owner = next(m for m in after["messages"] if m["id"] == claimed[0])["claimed_by"]
    other = "gastown/polecats/zz"
    refused = cli.gt("mail", "release", claimed[0], env={"GT_ROLE": other}, ok=False)
    assert f"claimed by {owner}, not {other}" in refused.stderr
    cli.gt("mail", "release", claimed[0], env={"GT_ROLE": owner})
    assert cli.json("gt", "mail", "queue", "show", "reviews")["available_count"] == 1
    again = cli.json("gt", "mail", "claim", env={"GT_ROLE": "gastown/polecats/late"})
    assert again["queue"] == "reviews" and again["claimed"]["id"] == claimed[0]
    assert cli.json("gt", "mail", "queue", "list")[0]["name"] == "reviews"
    unknown = cli.gt("mail", "send", "queue:nope", "-s", "x", ok=False)
    assert "unknown queue: nope" in unknown.stderr and "Traceback" not in unknown.stderr


def test_a_channel_keeps_its_messages_and_copies_them_to_subscribers(cli: Cli, rig_town):
    cli.json("gt", "mail", "channel", "create", "alerts", "--retain-count", "2")
    nowhere = cli.gt("mail", "channel", "subscribe", "alerts", "--address", "ghost/polecats/x",
                     ok=False)
    assert "unknown rig 'ghost'" in nowhere.stderr  # its copies would wait forever, unread
    cli.gt("mail", "channel", "subscribe", "alerts", "--address", "mayor/")
    cli.gt("mail", "channel", "subscribe", "alerts", "--address", "gastown/polecats/nux")
    assert cli.json("gt", "mail", "channel", "subscribers", "alerts") == ["mayor/",
                                                                         "gastown/nux"]
    for n in range(3):
        cli.gt("mail", "send", "channel:alerts", "-s", f"Build {n} red", "-m", "see CI",
               env={"GT_ROLE": "gastown/witness"})
    kept = cli.json("gt", "mail", "channel", "alerts")
    assert [m["subject"] for m in kept["messages"]] == ["Build 1 red", "Build 2 red"]
    mayor = cli.json("gt", "mail", "inbox", "mayor/")
    assert [m["subject"] for m in mayor] == [f"[channel:alerts] Build {n} red" for n in range(3)]
    cli.gt("mail", "channel", "unsubscribe", "alerts", "--address", "mayor/")
    cli.gt("mail", "send", "channel:alerts", "-s", "Build 3 green")
    assert len(cli.json("gt", "mail", "inbox", "mayor/")) == 3
    assert len(cli.json("gt", "mail", "inbox", "gastown/nux")) == 4
    listed = cli.json("gt", "mail", "channel", "list")
    assert listed[0]["name"] == "alerts" and listed[0]["message_count"] == 2
    cli.gt("mail", "channel", "delete", "alerts")
    gone = cli.gt("mail", "channel", "show", "alerts", ok=False)
    assert "channel alerts was deleted" in gone.stderr
