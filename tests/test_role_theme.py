"""gt role (upstream's RoleInfo from GT_ROLE or the directory) and gt theme (the control
room's theme, saved in the town's settings and read by the control room at its start)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli
from tests.waiting import wait_for_async


def test_role_from_the_directory_and_from_gt_role(cli: Cli, rig_town: Path) -> None:
    neutral = cli.json("gt", "role")
    assert neutral["role"] == "unknown" and neutral["source"] == "cwd"
    witness = cli.json("gt", "role", "show", cwd=rig_town / "gastown" / "witness")
    assert witness == {"role": "witness", "source": "cwd",
                       "home": str(rig_town / "gastown" / "witness"), "rig": "gastown",
                       "town_root": str(rig_town),
                       "work_dir": str(rig_town / "gastown" / "witness")}
    refinery = cli.gt("role", cwd=rig_town / "gastown" / "refinery" / "rig").stdout
    assert refinery.splitlines()[:2] == ["refinery", "Source: cwd"]
    assert f"Home: {rig_town / 'gastown' / 'refinery' / 'rig'}" in refinery
    # GT_ROLE wins, and a directory that says otherwise is a mismatch
    env = {"GT_ROLE": "gastown/polecats/nux"}
    mixed = cli.json("gt", "role", cwd=rig_town / "gastown" / "witness", env=env)
    assert (mixed["role"], mixed["source"], mixed["polecat"], mixed["cwd_role"],
            mixed["mismatch"]) == ("polecat", "env", "nux", "witness", True)
    assert mixed["home"] == str(rig_town / "gastown" / "polecats" / "nux")
    shown = cli.gt("role", cwd=rig_town / "gastown" / "witness", env=env).stdout
    assert "ROLE MISMATCH" in shown and "cwd suggests: witness" in shown
    # detect ignores GT_ROLE
    assert cli.json("gt", "role", "detect", cwd=rig_town / "gastown" / "witness",
                    env=env)["role"] == "witness"


def test_role_home_env_list_and_refusals(cli: Cli, rig_town: Path) -> None:
    assert cli.gt("role", "home", "mayor").stdout.strip() == str(rig_town / "mayor")
    assert cli.gt("role", "home", "polecat", "--rig", "gastown", "--polecat", "nux"
                  ).stdout.strip() == str(rig_town / "gastown" / "polecats" / "nux")
    bad = cli.gt("role", "home", "polecat", "--polecat", "nux", ok=False)
    assert bad.returncode != 0 and "--polecat needs --rig" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    sneaky = cli.gt("role", "home", "witness", "--rig", "../etc", ok=False)
    assert sneaky.returncode != 0 and "Traceback" not in sneaky.stderr
    unknown = cli.gt("role", "home", ok=False)  # the town root stands for no role
    assert unknown.returncode != 0 and "cannot determine the home" in unknown.stderr
    exports = cli.gt("role", "env", cwd=rig_town / "gastown" / "witness").stdout.splitlines()
    assert "export GT_ROLE=gastown/witness" in exports and "export GT_RIG=gastown" in exports
    assert f"export GT_ROLE_HOME={rig_town / 'gastown' / 'witness'}" in exports
    names = [r["name"] for r in cli.json("gt", "role", "list")]
    assert names == ["mayor", "deacon", "witness", "refinery", "polecat", "crew"]


def test_theme_is_saved_and_refused_when_unknown(cli: Cli, town: Path) -> None:
    assert cli.json("gt", "theme") == {"theme": "textual-dark", "source": "default"}
    assert cli.json("gt", "theme", "nord") == {"theme": "nord", "source": "settings"}
    settings = json.loads((town / "settings" / "config.json").read_text())
    assert settings["control_room"]["theme"] == "nord"
    assert "Theme: nord" in cli.gt("theme").stdout
    listed = cli.json("gt", "theme", "--list")
    assert {"nord", "dracula", "textual-light"} <= {t["name"] for t in listed}
    assert [t["name"] for t in listed if t["current"]] == ["nord"]
    bad = cli.gt("theme", "no-such-theme", ok=False)
    assert bad.returncode != 0 and "unknown theme: no-such-theme" in bad.stderr
    assert "gt theme --list" in bad.stderr
    assert cli.json("gt", "theme")["theme"] == "nord"  # the refusal changed nothing
    cli.gt("theme", "default")
    assert cli.json("gt", "theme") == {"theme": "textual-dark", "source": "default"}


async def test_control_room_starts_in_the_saved_theme_and_saves_a_new_pick(cli: Cli,
                                                                            town: Path) -> None:
    from gastown_tui.app import make_app

    cli.gt("theme", "dracula")
    app = make_app(town, live=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "dracula"
        app.theme = "gruvbox"  # what the palette's theme picker does

        def saved() -> bool:
            data = json.loads((town / "settings" / "config.json").read_text())
            return data["control_room"]["theme"] == "gruvbox"

        await wait_for_async(saved, pilot.pause, timeout=10, what="the new theme saved")
    assert cli.json("gt", "theme")["theme"] == "gruvbox"
    restarted = make_app(town, live=False)
    async with restarted.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert restarted.theme == "gruvbox"


async def test_a_theme_picked_in_the_palette_is_the_theme_of_the_next_start(cli: Cli,
                                                                             town: Path) -> None:
    """As a user does it: `:` opens the palette, "theme" finds Textual's theme picker, the
    picked theme shows at once and the next start comes back in it."""
    from gastown_tui.app import make_app

    app = make_app(town, live=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        assert app.theme != "nord"
        await pilot.press("colon")
        await pilot.press(*"theme")
        await wait_for_async(lambda: "Change the current theme" in _palette_text(app),
                             pilot.pause, timeout=10, what="the Theme command in the palette")
        await pilot.press("enter")
        await pilot.press(*"nord")
        await wait_for_async(lambda: "nord" in _palette_text(app), pilot.pause, timeout=10,
                             what="nord in the theme picker")
        await pilot.press("enter")
        await wait_for_async(lambda: app.theme == "nord", pilot.pause, timeout=10,
                             what="the picked theme on screen")
        # quick successive picks: the last one is what is saved, whatever order the saves end
        for name in ("gruvbox", "dracula", "monokai", "nord"):
            app.theme = name
        await wait_for_async(lambda: not [w for w in app.workers if w.group == "save-theme"
                                          and not w.is_finished], pilot.pause, timeout=10,
                             what="the saves to finish")
    assert cli.json("gt", "theme") == {"theme": "nord", "source": "settings"}
    restarted = make_app(town, live=False)
    async with restarted.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        assert restarted.theme == "nord"


def _palette_text(app) -> str:
    from textual.command import CommandPalette

    screen = app.screen
    if not isinstance(screen, CommandPalette):
        return ""
    return " ".join(str(option.prompt) for option in
                    screen.query_one("CommandList").options)
