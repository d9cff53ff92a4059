"""`gt account` and `gt quota` without a model: the accounts file in upstream's shape, which
account a session gets, limits that expire, and the transcript's say on a limit.
(The real Claude Code on two accounts: tests/test_real_claude_quota.py.)"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import Cli
from tests.transcript_lines import Transcript


def test_accounts_in_upstreams_file_with_a_default_and_an_override(cli: Cli, tmp_path: Path):
    assert "No accounts configured" in cli.gt("account", "list").stdout
    assert cli.json("gt", "account", "list") == []
    work = cli.json("gt", "account", "add", "work", "--email", "w@example.com",
                    "--config-dir", str(tmp_path / "acct-work"))
    assert work == {"handle": "work", "email": "w@example.com",
                    "config_dir": str(tmp_path / "acct-work"), "is_default": True}
    assert (tmp_path / "acct-work").is_dir()
    cli.gt("account", "add", "play", "--desc", "weekends")  # ~/.claude-accounts/play
    assert (Path(cli.env["HOME"]) / ".claude-accounts" / "play").is_dir()
    on_disk = json.loads((cli.cwd / "mayor" / "accounts.json").read_text())
    assert on_disk["default"] == "work" and on_disk["version"] == 1
    assert on_disk["accounts"]["play"]["description"] == "weekends"
    assert cli.json("gt", "account", "status")["handle"] == "work"
    cli.gt("account", "default", "play")
    assert cli.json("gt", "account", "status") == {
        **cli.json("gt", "account", "list")[0], "source": "default"}
    override = cli.json("gt", "account", "status", env={"GT_ACCOUNT": "work"})
    assert override["handle"] == "work" and override["source"] == "GT_ACCOUNT"
    bad = cli.gt("account", "status", env={"GT_ACCOUNT": "nope"}, ok=False)
    assert bad.returncode == 1 and "GT_ACCOUNT 'nope' is not an account here" in bad.stderr
    switched = cli.json("gt", "account", "switch", "work")
    assert switched["default"] == "work"
    for args, problem in ((("account", "add", "work"), "already exists"),
                          (("account", "add", "../x"), "invalid account handle"),
                          (("account", "default", "ghost"), "account 'ghost' not found")):
        failed = cli.gt(*args, ok=False)
        assert failed.returncode == 1 and problem in failed.stderr
        assert "Traceback" not in failed.stderr and failed.stderr.count("\n") == 1


def test_sling_refuses_an_unknown_account_before_making_anything(sim_town: Cli):
    bead = sim_town.json("bd", "create", "Anything")["id"]
    failed = sim_town.gt("sling", bead, "gastown", "--account", "ghost", ok=False)
    assert failed.returncode == 1 and "account 'ghost' not found" in failed.stderr
    assert not (sim_town.cwd / "polecats").exists() or not any(
        (sim_town.cwd / "polecats").iterdir())
    assert sim_town.json("bd", "show", bead)[0]["status"] == "open"


def test_limits_expire_at_their_reset_and_clear_by_hand(cli: Cli, tmp_path: Path):
    from gastown_tui.ops import quota
    from gastown_tui.town.layout import Town

    town = Town(cli.cwd)
    for handle in ("a", "b", "c"):
        cli.gt("account", "add", handle, "--config-dir", str(tmp_path / handle))
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    quota.mark_limited(town, "a", past)  # reset five minutes ago
    # A clock time hours ahead (today or tomorrow), as the agent's screen would say it: a
    # fixed "11:59pm" was already past when the test ran in the last minute of the day.
    later = (datetime.now() + timedelta(hours=3)).strftime("%I:%M%p").lstrip("0").lower()
    quota.mark_limited(town, "b", later)
    status = {q["handle"]: q for q in cli.json("gt", "quota", "status")}
    assert status["a"]["status"] == "available"  # expired, cleared on read
    assert status["b"]["status"] == "limited" and status["b"]["resets_at"] == later
    assert status["c"]["status"] == "available"
    text = cli.gt("quota", "status").stdout
    assert f"limited (resets {later})" in text and "2 available, 1 limited" in text
    assert "✓ b → available" in cli.gt("quota", "clear").stdout
    assert all(q["status"] == "available" for q in cli.json("gt", "quota", "status"))
    at = quota.resets_epoch("10:44am", since=datetime(2026, 1, 5, 9, 0).timestamp())
    assert datetime.fromtimestamp(at) == datetime(2026, 1, 5, 10, 44)
    rolled = quota.resets_epoch("8am", since=datetime(2026, 1, 5, 9, 0).timestamp())
    assert datetime.fromtimestamp(rolled) == datetime(2026, 1, 6, 8, 0)


def test_rotation_needs_two_accounts_and_says_so(cli: Cli, tmp_path: Path):
    cli.gt("account", "add", "only", "--config-dir", str(tmp_path / "only"))
    failed = cli.gt("quota", "rotate", ok=False)
    assert failed.returncode == 1 and "need at least 2 accounts" in failed.stderr
    cli.gt("account", "add", "other", "--config-dir", str(tmp_path / "other"))
    assert "No rate-limited sessions" in cli.gt("quota", "rotate").stdout
    assert cli.json("gt", "quota", "rotate", "--dry-run")["assignments"] == {}
    assert cli.json("gt", "quota", "scan") == []


def test_a_transcript_ending_on_a_rate_limit_error_says_limited_until_an_answer(tmp_path):
    from gastown_tui.ops.quota import transcript_limit

    config, cwd = tmp_path / "config", tmp_path / "work"
    t = Transcript(config, cwd)
    now = datetime.now(UTC)
    t.write(t.answer(now, "m1", (10, 1, 0, 0)), t.api_error(now))
    error = transcript_limit(str(config), cwd)
    assert error is not None and error.kind == "rate_limit" and "429" in error.text
    time.sleep(0.01)
    t.write(t.answer(now, "m2", (10, 1, 0, 0)))  # the limit reset and it answered again
    assert transcript_limit(str(config), cwd) is None
    other = Transcript(config, cwd)
    other.write(other.api_error(now, kind="overloaded", status=529, text="API Error: 529"))
    assert transcript_limit(str(config), cwd) is None  # overloaded is not a limit
