"""A town on two machines, end to end: the town's own host and "host B" (sshd on 127.0.0.1),
sim polecats on both, beads in the town's PostgreSQL over TCP, the Refinery fetching the
remote branch over git+ssh. A convoy whose polecats run on both hosts lands; a host that
drops mid-work is `host unreachable` with evidence, is neither restarted nor nuked, and its
polecat is revived there when it answers again; the wall shows both hosts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, Cli
from tests.hosts_fixture import SshHost
from tests.waiting import wait_for

pytest_plugins = ("tests.hosts_fixture",)
pytestmark = pytest.mark.postgres


def root_of(cli: Cli) -> Path:
    return cli.cwd.parent


def set_rig_settings(cli: Cli, **values) -> None:
    path = cli.cwd / "settings" / "config.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(values)
    path.write_text(json.dumps(data))


def set_town_settings(cli: Cli, **values) -> None:
    path = root_of(cli) / "settings" / "config.json"
    data = json.loads(path.read_text())
    data.update(values)
    path.write_text(json.dumps(data))


def sim_bead(cli: Cli, title: str, *script: str) -> str:
    body = "```sim\n" + "\n".join(script) + "\n```"
    return cli.json("bd", "create", title, "-d", body)["id"]


def main_files(cli: Cli) -> set[str]:
    out = subprocess.run(["git", "-C", str(cli.cwd / ".repo.git"), "ls-tree", "--name-only",
                          "main"], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def polecat(cli: Cli, address: str) -> dict:
    return next(p for p in cli.json("gt", "polecat", "list") if p["address"] == address)


def events(cli: Cli, kind: str) -> list[dict]:
    path = root_of(cli) / ".events.jsonl"
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["type"] == kind]


def test_a_convoy_whose_polecats_run_on_two_hosts_lands(tcp_town: Cli, host_b: SshHost):
    cli = tcp_town
    cli.json("gt", "host", "add", *host_b.add_args(), "--capacity", "2")
    # Placement by capacity: this machine takes one polecat, host b the next.
    set_rig_settings(cli, hosts=["local", "b"])
    set_town_settings(cli, local_capacity=1)
    here = sim_bead(cli, "Work here", "write: here.txt | made on the town's host")
    there = sim_bead(cli, "Work there", "write: there.txt | made on host b")
    up = cli.json("gt", "up")
    assert {s["session"] for s in up if s["action"] == "started"} >= {"gt-refinery",
                                                                       "gt-witness"}
    slung = cli.json("gt", "sling", here, there, "gastown")
    by_bead = {r["bead"]: r for r in slung}
    assert by_bead[here]["host"] == "" and ":" not in by_bead[here]["session"]
    assert by_bead[there]["host"] == "b" and by_bead[there]["session"].startswith("b:")
    convoy = by_bead[here]["convoy"]
    assert convoy and by_bead[there]["convoy"] == convoy
    # the remote polecat's worktree, session and work are on host b
    remote = by_bead[there]
    assert remote["worktree"].startswith(str(host_b.town_path))
    assert remote["session"].split(":", 1)[1] in host_b.sessions()

    def landed() -> bool:
        return cli.json("bd", "show", convoy)[0]["status"] == "closed"

    wait_for(landed, 180, "the convoy to land")
    assert {"here.txt", "there.txt"} <= main_files(cli)
    mrs = [e for e in events(cli, "merged")]
    assert len(mrs) >= 2
    # the remote polecat's MR said where its branch was, and the refinery fetched it
    mr_beads = cli.json("bd", "list", "--all", "--type", "merge-request")
    remote_mr = next(b for b in mr_beads if there in b["title"])
    assert "host: b" in cli.json("bd", "show", remote_mr["id"])[0]["description"]
    cli.json("gt", "down")


def test_a_host_that_drops_mid_work_is_kept_and_revived(tcp_town: Cli, host_b: SshHost):
    cli = tcp_town
    cli.json("gt", "host", "add", *host_b.add_args())
    bead = sim_bead(cli, "Slow work", "sleep: 8", "write: slow.txt | done at last")
    slung = cli.json("gt", "sling", bead, "gastown", "--host", "b")[0]
    agent, session = slung["agent"], slung["session"].split(":", 1)[1]
    wait_for(lambda: "working on" in host_b.screen(session), 60,
             "the remote polecat to start working")

    host_b.stop(crash=True)  # sshd, its connections, and the host's tmux server all gone
    assert session not in host_b.sessions()
    patrol = cli.run("gt", "witness", "run", "gastown", "--once", ok=False)
    assert patrol.returncode == 0, patrol.stderr
    info = polecat(cli, agent)
    assert info["state"] == "host unreachable" and info["host"] == "b"
    assert "Connection refused" in info["evidence"]
    text = cli.gt("polecat", "list").stdout
    assert "host unreachable" in text and "Connection refused" in text
    # kept as it was: not a zombie, not restarted, not nuked; a nuke refuses in one line
    assert not info["zombie"] and info["issue"] == bead
    assert (cli.cwd / "polecats" / agent.rsplit("/", 1)[1] / ".host.json").is_file()
    assert not events(cli, "polecat_restarted")
    assert [e["payload"]["host"] for e in events(cli, "host_unreachable")] == ["b"]
    nuke = cli.run("gt", "polecat", "nuke", agent, "--force", ok=False)
    assert nuke.returncode == 1 and "host b unreachable" in nuke.stderr
    assert len(nuke.stderr.strip().splitlines()) == 1
    assert cli.json("bd", "show", bead)[0]["status"] == "hooked"

    host_b.start()  # back: same address, same key, an empty tmux server
    cli.run("gt", "witness", "run", "gastown", "--once", ok=False)
    restarted = events(cli, "polecat_restarted")
    assert restarted and restarted[-1]["payload"]["host"] == "b"
    assert events(cli, "host_returned")
    wait_for(lambda: session in host_b.sessions(), 30, "the polecat to run on b again")
    wait_for(lambda: cli.json("gt", "mq", "list", "gastown"), 90, "its merge request")
    cli.gt("refinery", "run", "gastown", "--once")
    assert cli.json("bd", "show", bead)[0]["status"] == "closed"
    assert "slow.txt" in main_files(cli)


def test_the_wall_shows_both_hosts(tcp_town: Cli, host_b: SshHost, tmp_path: Path):
    cli = tcp_town
    cli.json("gt", "host", "add", *host_b.add_args())
    here = sim_bead(cli, "Hang here", "hang: true")
    there = sim_bead(cli, "Hang there", "hang: true")
    local = cli.json("gt", "sling", here, "gastown")[0]
    remote = cli.json("gt", "sling", there, "gastown", "--host", "b")[0]
    wait_for(lambda: "hanging" in host_b.screen(remote["session"].split(":", 1)[1]), 60,
             "the remote polecat to hang")
    wait_for(lambda: "hanging" in cli.run("gt", "peek", local["agent"], ok=False).stdout, 60,
             "the local polecat to hang")
    out = tmp_path / "wall.txt"
    subprocess.run([str(BIN / "gastown-tui"), "snapshot", "--town", str(root_of(cli)),
                    "--size", "160x48", "--out", str(out)], env=cli.env, check=True,
                   capture_output=True, timeout=120)
    wall = out.read_text()
    local_name = local["agent"].rsplit("/", 1)[1]
    remote_name = remote["agent"].rsplit("/", 1)[1]
    local_tile = next(line for line in wall.splitlines() if local_name in line and here in line)
    remote_tile = next(line for line in wall.splitlines()
                       if remote_name in line and there in line)
    assert "@b" in remote_tile and "@" not in local_tile.split(here)[0]
    # each tile shows its own pane, the remote one read over host b's control client
    assert wall.count("[sim] hanging") >= 2
    assert "2/2 working" in wall


def attached_terminal_shows(cli: Cli, agent: str, text: str) -> None:
    """A person's terminal (a pane of a throwaway tmux server of the test's own) running
    `gt session attach AGENT` shows the agent's screen; the terminal is closed after."""
    import uuid

    from gastown_tui.tmux.server import TownTmux

    viewer = f"gttest-view-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["tmux", "-L", viewer, "new-session", "-d", "-x", "120", "-y", "40",
                        "-c", str(cli.cwd), "--", str(BIN / "gt"), "session", "attach", agent],
                       env=cli.env, check=True, timeout=30)

        def screen() -> str:
            return subprocess.run(["tmux", "-L", viewer, "capture-pane", "-p", "-t", "0"],
                                  capture_output=True, text=True, check=False).stdout

        wait_for(lambda: text in screen(), 30, f"the attached terminal to show {text!r}")
    finally:
        TownTmux(viewer).kill_server(grace=1.0)


def test_the_verbs_reach_a_polecat_on_another_host(tcp_town: Cli, host_b: SshHost):
    """peek, attach, nudge (typed and queued), session status and restart, handoff, down and up,
    and a nuke whose saved work comes back to the town's graveyard."""
    cli = tcp_town
    cli.json("gt", "host", "add", *host_b.add_args())
    bead = sim_bead(cli, "Wait on b", "hang: true")
    slung = cli.json("gt", "sling", bead, "gastown", "--host", "b")[0]
    agent, where = slung["agent"], slung["session"]
    session = where.split(":", 1)[1]
    peek = lambda: host_b.screen(session)  # noqa: E731
    wait_for(lambda: "hanging" in peek(), 60, "the polecat on b to hang")
    assert "[sim] hanging" in cli.gt("peek", agent, "-n", "50").stdout  # gt peek, over ssh
    attached_terminal_shows(cli, agent, "[sim] hanging")  # gt session attach, through ssh -t
    assert session in host_b.sessions()  # the viewer left; the polecat stays

    status = cli.json("gt", "session", "status", agent)
    assert status["running"] and status["host"] == "b" and status["session"] == session
    queued = cli.json("gt", "nudge", agent, "--mode", "queue", "a note in its queue")
    assert queued == {"status": "queued", "session": where,
                      "detail": "delivered at the agent's next prompt"}
    wait_for(lambda: "nudge from overseer: a note in its queue" in peek(), 30,
             "the queued nudge, drained on b")
    typed = cli.json("gt", "nudge", agent, "--mode", "immediate", "typed across")
    assert typed["status"] == "delivered" and typed["session"] == where
    wait_for(lambda: "[sim] received: [from overseer] typed across" in peek(), 30, "the nudge")

    primed = peek().count("[sim] primed")
    plan = cli.json("gt", "handoff", agent, "-m", "pick it up from here")
    assert plan["restart"] and plan["session"] == where and plan["cwd"].startswith("b:")
    wait_for(lambda: peek().count("[sim] primed") == 1 and "hanging" in peek(), 60,
             "a fresh session on b after the handoff")  # respawned: a new pane history
    assert primed >= 1
    restarted = cli.gt("session", "restart", agent).stdout
    assert f"↻ {where} restarted" in restarted
    wait_for(lambda: "hanging" in peek(), 60, "the restarted polecat to hang again")

    steps = cli.json("gt", "down")
    assert {"address": where, "session": where, "action": "stopped", "detail": ""} in steps
    assert session not in host_b.sessions()  # (and the town's PostgreSQL stopped last)
    up = cli.json("gt", "up")
    resumed = [s for s in up if s["session"] == where]
    assert resumed and resumed[0]["action"] == "started"
    wait_for(lambda: session in host_b.sessions() and "hanging" in peek(), 60, "resumed on b")

    kept = cli.run("gt", "host", "remove", "b", ok=False)  # it still runs a polecat there
    assert kept.returncode == 1 and "host b still runs gastown/" in kept.stderr
    assert cli.json("gt", "host", "list")[0]["name"] == "b"

    # work it has not saved, on its own machine: the nuke refuses, then keeps it in a grave
    worktree = Path(slung["worktree"])
    (worktree / "unsaved.txt").write_text("only on host b\n")
    refused = cli.run("gt", "polecat", "nuke", agent, ok=False)
    assert refused.returncode == 1 and "uncommitted file (unsaved.txt)" in refused.stderr
    nuked = cli.json("gt", "polecat", "nuke", agent, "--force")[0]
    assert nuked["graveyard_ref"] and any("from host b" in a for a in nuked["actions"])
    graves = cli.json("gt", "polecat", "graveyard", "list")
    assert graves[0]["ref"] == nuked["graveyard_ref"] and "unsaved.txt" in graves[0]["files"]
    assert session not in host_b.sessions() and not worktree.exists()
    assert not (cli.cwd / "polecats" / agent.rsplit("/", 1)[1]).exists()
    assert cli.json("bd", "show", bead)[0]["status"] == "open"
    cli.json("gt", "down")
