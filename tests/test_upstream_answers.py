"""Upstream's top-level gt commands this town does not build answer in one line with the way
instead (exit 1: nothing was done), never "No such command"; a real typo still gets click's
usage error."""

from __future__ import annotations

from click.testing import CliRunner

from gastown_tui.cli.gt import gt
from gastown_tui.cli.gt_answers import ANSWERS
from tests.conftest import Cli


def test_every_unbuilt_upstream_command_answers_in_one_line():
    runner = CliRunner()
    for name, text in ANSWERS.items():
        result = runner.invoke(gt, [name, "some-arg", "--json"])
        assert result.exit_code == 1, name
        lines = result.output.strip().splitlines()
        assert lines == [f"gt {name}: not built here; {text}"], name
        assert name not in gt.list_commands(None)  # hidden from gt --help's list


def test_the_answers_point_at_commands_that_exist():
    runner = CliRunner()
    for pointer in (["deacon", "heartbeat"], ["convoy", "stage"], ["krc", "prune"],
                    ["crew", "restart"], ["doctor"], ["feed"], ["polecat", "nuke"]):
        assert runner.invoke(gt, [*pointer, "--help"]).exit_code == 0, pointer


def test_through_the_real_cli(cli: Cli):
    wl = cli.gt("wl", "browse", ok=False)
    assert wl.returncode == 1 and "Wasteland" in wl.stderr and "Traceback" not in wl.stderr
    typo = cli.gt("sesance", ok=False)
    assert typo.returncode == 2 and "No such command" in typo.stderr
