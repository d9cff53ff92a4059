"""Upstream's top-level gt and bd commands this town does not build answer in one line with
the way instead (exit 1: nothing was done), never "No such command"; a real typo still gets
click's usage error. bd statuses and bd types list what the store accepts."""

from __future__ import annotations

from click.testing import CliRunner

from gastown_tui.cli.bd import bd
from gastown_tui.cli.gt import gt
from gastown_tui.cli.upstream_answers import BD_ANSWERS, GT_ANSWERS
from tests.conftest import Cli


def test_every_unbuilt_upstream_command_answers_in_one_line():
    runner = CliRunner()
    for prog, group, answers in (("gt", gt, GT_ANSWERS), ("bd", bd, BD_ANSWERS)):
        for name, text in answers.items():
            result = runner.invoke(group, [name, "some-arg", "--json"])
            assert result.exit_code == 1, name
            lines = result.output.strip().splitlines()
            assert lines == [f"{prog} {name}: not built here; {text}"], name
            assert name not in group.list_commands(None)  # hidden from --help's list


def test_the_answers_point_at_commands_that_exist(cli: Cli):
    runner = CliRunner()
    for pointer in (["deacon", "heartbeat"], ["convoy", "stage"], ["krc", "prune"],
                    ["crew", "restart"], ["doctor"], ["feed"], ["polecat", "nuke"]):
        assert runner.invoke(gt, [*pointer, "--help"]).exit_code == 0, pointer
    for pointer in (["comments", "add"], ["label", "add"], ["dep", "tree"], ["search"],
                    ["backup", "restore"], ["mol", "progress"], ["epic", "close-eligible"]):
        cli.bd(*pointer, "--help")  # the real entry point: bd's verbs need its context


def test_through_the_real_cli(cli: Cli):
    wl = cli.gt("wl", "browse", ok=False)
    assert wl.returncode == 1 and "Wasteland" in wl.stderr and "Traceback" not in wl.stderr
    typo = cli.gt("sesance", ok=False)
    assert typo.returncode == 2 and "No such command" in typo.stderr


def test_bd_statuses_and_types_list_what_the_store_accepts(cli: Cli):
    statuses = cli.json("bd", "statuses")
    names = [s["name"] for s in statuses["built_in_statuses"]]
    assert names[:5] == ["open", "in_progress", "blocked", "deferred", "closed"]
    assert {"name": "staged_ready", "category": "frozen"} in statuses["custom_statuses"]
    types = cli.json("bd", "types")
    assert types["core_types"][0] == {"name": "task", "description": "General work item (default)"}
    assert "gate" in types["custom_types"] and "molecule" in types["custom_types"]
    for name in types["custom_types"]:  # every type listed is one bd create takes
        made = cli.json("bd", "create", f"A {name}", "-t", name)
        assert made["issue_type"] == name
    bd_note = cli.bd("note", "gt-1", "text", ok=False)
    assert bd_note.returncode == 1 and "--append-notes" in bd_note.stderr
