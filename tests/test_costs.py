"""`gt costs`: the usage ledger read from Claude Code's transcripts, each message counted once
(on both store backends, however many processes refresh it), attributed to agent, bead,
convoy, rig and day, and priced as the town's settings say; and the control room's figures.

The real Claude Code under the scripted model writes the transcripts in
tests/test_real_claude_costs.py; here the lines are written by hand (same format) so every
edge is exact: a message split over several lines, a line half-written, an API error, a
conversation outside the town, yesterday's work."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import BIN, Cli
from tests.transcript_lines import Transcript

PRICES = {"claude-opus-5-5": {"input": 2.0, "output": 10.0, "cache_read": 0.2,
                              "cache_creation": 2.5}}


def usd(inp: int, out: int, cc: int = 0, cr: int = 0) -> float:
    return (inp * 2.0 + out * 10.0 + cc * 2.5 + cr * 0.2) / 1e6


def set_prices(root: Path, prices: dict) -> None:
    settings = root / "settings" / "config.json"
    data = json.loads(settings.read_text())
    data["costs"] = {"prices": prices}
    settings.write_text(json.dumps(data))


@pytest.fixture
def priced(backend_town: Path, upstream: Path, clean_env: dict[str, str], tmp_path: Path):
    """A town (SQLite or PostgreSQL store) with rig gastown, prices set, and Claude's config
    dir at a temp folder (CLAUDE_CONFIG_DIR, as an agent's account would have it)."""
    from gastown_tui.ops.rig import rig_add
    from gastown_tui.town.layout import Town

    rig_add(Town(backend_town), "gastown", str(upstream))
    set_prices(backend_town, PRICES)
    config = tmp_path / "claude-config"
    env = {**clean_env, "CLAUDE_CONFIG_DIR": str(config)}
    return Cli(backend_town, env), config


def test_each_message_counts_once_and_lands_on_its_agent_bead_convoy_and_rig(priced):
    cli, config = priced
    root = cli.cwd.resolve()
    bead = cli.json("bd", "create", "Add rate limiting", cwd=root / "gastown")["id"]
    other = cli.json("bd", "create", "Fix the docs", cwd=root / "gastown")["id"]
    convoy = cli.json("gt", "convoy", "create", "Launch", bead, other)["id"]
    now = datetime.now(UTC)
    furiosa = Transcript(config, root / "gastown" / "polecats" / "furiosa" / "gastown",
                         branch=f"polecat/furiosa/{bead}@mx8qk7hc")
    # one message written as two lines (a text block, then a tool call) with the same id:
    # counted once, with the larger output count the second line carries
    furiosa.write(furiosa.user(now),
                  furiosa.answer(now, "msg_1", (1000, 5, 0, 0)),
                  furiosa.answer(now, "msg_1", (1000, 200, 0, 0)),
                  furiosa.answer(now, "msg_2", (300, 50, 4000, 20000)),
                  furiosa.api_error(now))  # Claude gave up on a 429: no tokens
    nux = Transcript(config, root / "gastown" / "polecats" / "nux" / "gastown",
                     branch=f"polecat/nux/{other}@mx8qk7hd")
    nux.write(nux.answer(now, "msg_3", (700, 70, 0, 0)))
    mayor = Transcript(config, root / "mayor")
    mayor.write(mayor.answer(now - timedelta(days=2), "msg_4", (5000, 500, 0, 0)),
                mayor.answer(now, "msg_5", (100, 10, 0, 0)))
    # a directory whose name Claude spells like the town's, but outside it: not ours
    outside = Transcript(config, Path(str(root) + "-elsewhere"))
    outside.write(outside.answer(now, "msg_6", (9999, 999, 0, 0)))
    # the last line is still being written: not counted until it is whole
    half = json.dumps(nux.answer(now, "msg_7", (11, 1, 0, 0)), separators=(",", ":"))
    nux.write(partial=half[:40])

    today = cli.json("gt", "costs", "--today", "--by-role", "--by-rig", "--by-agent",
                     "--by-bead", "--by-convoy")
    assert today["tokens"] == {"input_tokens": 1000 + 300 + 700 + 100,
                               "output_tokens": 200 + 50 + 70 + 10,
                               "cache_creation_input_tokens": 4000,
                               "cache_read_input_tokens": 20000}
    assert today["messages"] == 4 and today["period"] == "today"
    assert today["total_usd"] == pytest.approx(usd(2100, 330, 4000, 20000))
    assert today["by_agent"] == pytest.approx({
        "gastown/polecats/furiosa": usd(1300, 250, 4000, 20000),
        "gastown/polecats/nux": usd(700, 70), "mayor": usd(100, 10)})
    assert today["by_bead"] == pytest.approx({bead: usd(1300, 250, 4000, 20000),
                                              other: usd(700, 70)})
    assert today["by_convoy"] == pytest.approx({convoy: usd(2000, 320, 4000, 20000)})
    assert today["by_rig"] == pytest.approx({"gastown": usd(2000, 320, 4000, 20000)})
    assert today["by_role"] == pytest.approx({"polecat": usd(2000, 320, 4000, 20000),
                                              "mayor": usd(100, 10)})
    assert today["by_bead_tokens"][bead]["cache_read_input_tokens"] == 20000

    # the half line is finished; and again and again: each message still counts once
    nux.write(partial=half[40:] + "\n")
    for _ in range(3):
        cli.gt("costs", "record")
    week = cli.json("gt", "costs", "--week", "--by-day", "--by-agent")
    assert week["tokens"]["input_tokens"] == 2100 + 11 + 5000
    assert week["by_agent"]["mayor"] == pytest.approx(usd(5100, 510))
    two_days_ago = (now - timedelta(days=2)).astimezone().strftime("%Y-%m-%d")
    assert week["by_day"][two_days_ago] == pytest.approx(usd(5000, 500))
    text = cli.gt("costs", "--today", "--by-bead").stdout
    assert "Cost Summary (today)" in text and bead in text and "$" in text


def test_concurrent_refreshes_count_each_message_exactly_once(priced):
    cli, config = priced
    root = cli.cwd.resolve()
    now = datetime.now(UTC)
    files = []
    for n in range(6):
        t = Transcript(config, root / "gastown" / "polecats" / f"p{n}" / "gastown")
        t.write(*(t.answer(now, f"m{n}-{i}", (100, 10, 0, 0)) for i in range(200)))
        files.append(t)
    procs = [subprocess.Popen([str(BIN / "gt"), "costs", "record"], cwd=root, env=cli.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(5)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    total = cli.json("gt", "costs", "--today")
    assert total["messages"] == 1200
    assert total["tokens"]["input_tokens"] == 120_000
    assert total["tokens"]["output_tokens"] == 12_000


def test_prices_default_by_model_family_and_a_bad_price_is_one_line(priced):
    cli, config = priced
    root = cli.cwd.resolve()
    set_prices(root, {})
    now = datetime.now(UTC)
    t = Transcript(config, root / "mayor", model="claude-sonnet-4-6")
    t.write(t.answer(now, "m1", (1_000_000, 100_000, 0, 0)))
    out = cli.json("gt", "costs", "--today", "--by-model")
    assert out["total_usd"] == pytest.approx(3.0 + 1.5)  # sonnet family: $3 in, $15 out
    assert out["prices"]["claude-sonnet-4-6"]["matched"] == "claude-sonnet"
    set_prices(root, {"claude-sonnet": {"input": "lots"}})
    bad = cli.gt("costs", "--today", ok=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "costs.prices" in bad.stderr


def test_digest_makes_one_cost_report_bead_per_day(priced):
    cli, config = priced
    root = cli.cwd.resolve()
    yesterday = datetime.now(UTC).astimezone().replace(hour=12) - timedelta(days=1)
    t = Transcript(config, root / "gastown" / "refinery" / "rig")
    t.write(t.answer(yesterday, "m1", (1000, 100, 0, 0)))
    dry = cli.json("gt", "costs", "digest", "--yesterday", "--dry-run")
    assert dry["total_usd"] == pytest.approx(usd(1000, 100)) and "id" not in dry
    made = cli.json("gt", "costs", "digest", "--yesterday")
    again = cli.json("gt", "costs", "digest", "--yesterday")
    assert again["id"] == made["id"] and again.get("existing")
    bead = cli.json("bd", "show", made["id"])[0]
    assert bead["title"] == f"Cost Report {yesterday.strftime('%Y-%m-%d')}"
    assert json.loads(bead["description"])["by_role"] == pytest.approx(
        {"refinery": usd(1000, 100)})
    bad = cli.gt("costs", "digest", ok=False)
    assert "--yesterday or --date" in bad.stderr and "Traceback" not in bad.stderr


def test_the_control_room_shows_spend_on_tiles_convoys_and_the_header(tmp_path: Path,
                                                                      tmux_socket: str,
                                                                      monkeypatch):
    from gastown_tui.model.town_model import TownModel
    from gastown_tui.model.watch_filter import ChangeSet
    from gastown_tui.widgets.convoy_board import convoy_lines
    from gastown_tui.widgets.header import header_text
    from gastown_tui.widgets.polecat_wall import tile_head
    from tests.fixtures.towns import build_demo_town

    config = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    monkeypatch.setenv("GT_TMUX_SOCKET", tmux_socket)
    demo = build_demo_town(tmp_path, socket=tmux_socket)
    set_prices(demo.root, PRICES)
    model = TownModel(demo.root)
    first = model.load()
    furiosa = first.agent("gastown/polecats/furiosa")
    assert furiosa is not None and furiosa.hooked_bead
    convoy = next(c for c in first.convoys if any(t.id == furiosa.hooked_bead
                                                  for t in c.tracked))
    now = datetime.now(UTC)
    t = Transcript(config, demo.root.resolve() / "gastown" / "polecats" / "furiosa" / "gastown",
                   branch=f"polecat/furiosa/{furiosa.hooked_bead}@mx8qk7hc")
    t.write(t.answer(now, "m1", (100_000, 20_000, 0, 0)))
    snap = model.apply(ChangeSet(costs=True))
    assert snap is not None and snap.costs.known
    spent = usd(100_000, 20_000)
    assert snap.costs.today == pytest.approx(spent)
    assert snap.agent("gastown/polecats/furiosa").spend == pytest.approx(spent)
    assert snap.convoy(convoy.id).spend == pytest.approx(spent)
    gastown = next(r for r in snap.costs.rigs if r.rig == "gastown")
    assert gastown.hourly[now.astimezone().hour] == pytest.approx(spent)
    header = header_text(snap, None).plain
    bars = "▁" * min(now.astimezone().hour, 7) + "█"  # the last eight hours, now the tallest
    assert f"$0.40 today gastown {bars} ·" in header
    tile = tile_head(snap.agent("gastown/polecats/furiosa"), now, 120)[0].plain
    assert "$0.40" in tile
    assert "$0.40" in convoy_lines(snap.convoy(convoy.id), 120)[0].plain
    assert model.apply(ChangeSet(costs=True)) is None  # nothing new: no new snapshot
    model.close()
