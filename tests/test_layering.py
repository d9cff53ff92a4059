"""Layering and start-up: model layers never import Textual; bd/gt stay light."""

from __future__ import annotations

import json
import subprocess
import sys

MODEL_PACKAGES = ["gastown_tui.town", "gastown_tui.town.store", "gastown_tui.ops.convoy",
                  "gastown_tui.ops.rig", "gastown_tui.ops.install", "gastown_tui.cli.bd",
                  "gastown_tui.cli.gt", "gastown_tui.tmux", "gastown_tui.formulas",
                  "gastown_tui.refinery.score", "gastown_tui.refinery.admin"]


def test_model_layers_never_import_textual():
    code = ("import importlib, sys\n"
            f"for name in {MODEL_PACKAGES!r}:\n"
            "    importlib.import_module(name)\n"
            "import json\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'pygit2', 'libtmux', 'pydantic'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy = json.loads(out.stdout)
    assert not any(m.startswith("textual") for m in heavy)
    assert not any(m.startswith(("pygit2", "libtmux")) for m in heavy), heavy


def test_bd_show_imports_no_heavy_library(cli):
    bead = cli.json("bd", "create", "x")["id"]
    code = ("import sys\nfrom gastown_tui.cli.bd import main\n"
            f"main(['show', {bead!r}, '--json'])\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'pygit2', 'libtmux', 'pydantic', 'tomlkit')]\n"
            "sys.stderr.write(repr(heavy))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cli.cwd, env=cli.env, check=True)
    assert proc.stderr == "[]"
    assert bead in proc.stdout


def test_no_shell_strings_in_product_code():
    out = subprocess.run(["git", "grep", "-n", "-E", r"shell\s*=\s*True|os\.system\(", "--",
                          "gastown_tui"], capture_output=True, text=True)
    assert out.stdout == ""
