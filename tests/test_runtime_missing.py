"""A runtime whose command is not installed: sling refuses in one line before it creates
anything, and `gt doctor` says so (before: "new polecat", a pane dead with 127, all well)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.conftest import Cli


def test_sling_refuses_a_runtime_that_is_not_installed(rig_town: Path, tmux_socket: str,
                                                       clean_env: dict[str, str]):
    env = {**clean_env, "GT_TMUX_SOCKET": tmux_socket,
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])}
    cli = Cli(rig_town / "gastown", env)
    bead = cli.json("bd", "create", "Anything")["id"]
    proc = cli.gt("sling", bead, "gastown", ok=False)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, proc.stderr
    assert "'claude' is not installed or not on PATH" in lines[0]
    assert "npm install -g @anthropic-ai/claude-code" in lines[0] and "--agent sim" in lines[0]
    assert "Traceback" not in proc.stderr
    # nothing was made: no polecat, the bead as it was, no session
    assert not any((rig_town / "gastown" / "polecats").glob("*/"))
    assert cli.json("bd", "show", bead)[0]["status"] == "open"
    assert cli.json("gt", "polecat", "list") == []
    report = cli.json("gt", "doctor")
    runtimes = next(c for c in report["checks"] if c["name"] == "runtimes")
    assert runtimes["status"] == "warn"
    assert any("'claude' is not installed" in d for d in runtimes["details"])
