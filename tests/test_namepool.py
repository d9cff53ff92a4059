"""gt namepool: the theme a rig's polecats are named from, custom names, and releasing the
names a dead sling left claimed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gastown_tui.ops.namepool import THEMES, allocate
from gastown_tui.town.layout import Town
from tests.conftest import Cli


def test_set_theme_then_the_next_polecat_is_named_from_it(cli: Cli, rig_town: Path) -> None:
    rig_dir = rig_town / "gastown"
    before = cli.json("gt", "namepool", cwd=rig_dir)
    assert before["rig"] == "gastown" and not before["configured"] and before["polecats"] == 0
    cli.gt("namepool", "set", "minerals", cwd=rig_dir)
    status = cli.json("gt", "namepool", "--rig", "gastown")
    assert status["theme"] == "minerals" and status["configured"]
    rig = Town(rig_town).rig("gastown")
    assert allocate(rig) == "obsidian" and allocate(rig) == "quartz"
    shown = cli.gt("namepool", cwd=rig_dir).stdout
    assert "Theme: minerals (built-in)" in shown and "In use: obsidian, quartz" in shown
    bad = cli.gt("namepool", "set", "klingon", cwd=rig_dir, ok=False)
    assert bad.returncode != 0 and "unknown theme: klingon" in bad.stderr
    assert cli.json("gt", "namepool", cwd=rig_dir)["theme"] == "minerals"


def test_add_custom_names_and_refuse_bad_ones(cli: Cli, rig_town: Path) -> None:
    rig_dir = rig_town / "gastown"
    assert "Added 'ember'" in cli.gt("namepool", "add", "Ember", cwd=rig_dir).stdout
    assert "already in pool" in cli.gt("namepool", "add", "ember", cwd=rig_dir).stdout
    rig = Town(rig_town).rig("gastown")
    assert allocate(rig) == "ember"
    assert allocate(rig) == "51"  # upstream: custom names replace the theme, then numbers
    for hostile in ("../x", "witness", "a b"):
        bad = cli.gt("namepool", "add", hostile, cwd=rig_dir, ok=False)
        assert bad.returncode != 0 and "Traceback" not in bad.stderr, hostile
    assert cli.json("gt", "namepool", cwd=rig_dir)["custom_names"] == ["ember"]
    nowhere = cli.gt("namepool", ok=False)  # the town root is no rig
    assert nowhere.returncode != 0 and "which rig" in nowhere.stderr


def test_reset_releases_only_stale_empty_claims(cli: Cli, rig_town: Path) -> None:
    polecats = rig_town / "gastown" / "polecats"
    (polecats / "ghost").mkdir(parents=True)
    old = time.time() - 3600
    os.utime(polecats / "ghost", (old, old))
    (polecats / "fresh").mkdir()  # a sling claiming it right now
    (polecats / "busy").mkdir()
    (polecats / "busy" / "work.txt").write_text("unsaved")
    os.utime(polecats / "busy", (old, old))
    out = cli.gt("namepool", "reset", cwd=rig_town / "gastown").stdout
    assert "Released: ghost" in out
    assert not (polecats / "ghost").exists()
    assert (polecats / "fresh").is_dir() and (polecats / "busy" / "work.txt").exists()
    again = cli.gt("namepool", "reset", cwd=rig_town / "gastown").stdout
    assert "No stale claims" in again


def test_themes_listing(cli: Cli, town: Path) -> None:
    themes = cli.json("gt", "namepool", "themes")
    assert [t["name"] for t in themes] == sorted(THEMES)
    one = cli.json("gt", "namepool", "themes", "wasteland")
    assert one["count"] == 50 and one["names"][0] == "rust"
    assert "mad-max (50 names)" in cli.gt("namepool", "--list").stdout
    bad = cli.gt("namepool", "themes", "nope", ok=False)
    assert bad.returncode != 0 and "unknown theme: nope" in bad.stderr
