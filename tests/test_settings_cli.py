"""gt config get|set|unset|show|default-agent, gt whoami, gt info, gt version: settings by
dot-notation key that the verbs then obey, refusals in one line."""

from __future__ import annotations

import json

from tests.conftest import Cli


def test_config_sets_what_the_scheduler_then_obeys(cli: Cli, rig_town):
    assert cli.json("gt", "config", "set", "scheduler.max_polecats", "3") == {
        "key": "scheduler.max_polecats", "value": 3}
    cli.gt("config", "set", "quota.auto_rotate", "true")
    cli.gt("config", "set", "cycle.context_threshold", "0.8")
    assert cli.json("gt", "config", "get", "scheduler") == {"key": "scheduler",
                                                           "value": {"max_polecats": 3}}
    stored = json.loads((cli.cwd / "settings" / "config.json").read_text())
    assert stored["quota"]["auto_rotate"] is True and stored["cycle"]["context_threshold"] == 0.8
    cli.gt("config", "set", "--rig", "gastown", "scheduler.max_polecats", "2")
    rig_settings = json.loads((cli.cwd / "gastown" / "settings" / "config.json").read_text())
    assert rig_settings["scheduler"] == {"max_polecats": 2}
    from gastown_tui.ops.scheduler import config
    from gastown_tui.town.layout import Town

    caps = config(Town(rig_town))
    assert caps.max_polecats == 3 and caps.rig_caps == {"gastown": 2}  # what sling obeys
    assert cli.json("gt", "scheduler", "status")["max_polecats"] == 3
    cli.gt("config", "unset", "scheduler.max_polecats")
    assert cli.json("gt", "config", "show")["scheduler"] == {}
    missing = cli.gt("config", "get", "scheduler.max_polecats", ok=False)
    assert missing.returncode == 1 and "scheduler.max_polecats is not set" in missing.stderr
    for argv, words in ((("config", "set", "agents", "[1]"), "would break"),
                        (("config", "set", "a..b", "1"), "invalid setting key"),
                        (("config", "set", "quota.auto_rotate.x", "1"), "holds a bool"),
                        (("config", "default-agent", "nosuch"), "nosuch")):
        bad = cli.gt(*argv, ok=False)
        assert bad.returncode != 0 and words in bad.stderr, (argv, bad.stderr)
        assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert cli.json("gt", "config", "show")["agents"] == {}  # the refused write left nothing
    cli.gt("config", "default-agent", "sim")
    assert cli.gt("config", "default-agent").stdout.strip() == "sim"
    assert cli.json("gt", "info")["default_agent"] == "sim"


def test_whoami_info_and_version(cli: Cli, rig_town):
    here = cli.json("gt", "whoami")  # the town root is the Mayor's (as gt prime reads it)
    assert here["identity"] == "mayor" and here["source"] == "cwd"
    me = cli.json("gt", "whoami", env={"GT_ROLE": "gastown/polecats/nux"})
    assert me == {**me, "identity": "gastown/polecats/nux", "role": "polecat", "rig": "gastown",
                  "source": "GT_ROLE"}
    info = cli.json("gt", "info")
    assert info["town"] == "testtown" and [r["name"] for r in info["rigs"]] == ["gastown"]
    assert info["store"]["backend"] in ("sqlite", "postgres")
    assert "gastown" in cli.gt("info").stdout
    from gastown_tui import __version__

    assert cli.json("gt", "version")["version"] == __version__
    assert __version__ in cli.gt("version").stdout
