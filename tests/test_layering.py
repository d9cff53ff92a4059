"""Layering and start-up: model layers never import Textual; bd/gt stay light."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

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


# Every way Python hands a string to /bin/sh. (`gastown_tui.tmux.server._command_string` is the
# one command line we build, for tmux's own `sh -c`, with every argument shlex-quoted.)
SHELL_CALLS = re.compile(r"shell\s*=\s*True|\bos\.system\s*\(|\bos\.popen\s*\(|"
                         r"\bsubprocess\.(getoutput|getstatusoutput)\s*\(|\bpty\.spawn\s*\(|"
                         r"\bos\.exec\w*\s*\(\s*[\"'](/bin/)?(ba)?sh\b|"
                         r"\bfrom\s+os\s+import\s+[^\n]*\b(system|popen)\b")


def test_no_shell_strings_in_product_code():
    """Walks the files (tracked or not yet), so a new module is checked before it is committed."""
    root = Path(__file__).resolve().parent.parent / "gastown_tui"
    found = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if SHELL_CALLS.search(line):
                found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    assert found == []


def test_the_shell_pattern_catches_what_it_should():
    for line in ("subprocess.run(cmd, shell = True)", "os.system('ls')", "os.popen(cmd)",
                 "subprocess.getoutput(cmd)", "os.execvp('/bin/sh', ['sh', '-c', x])",
                 "from os import popen", "pty.spawn(cmd)"):
        assert SHELL_CALLS.search(line), line
    for line in ("subprocess.run(argv, shell=False)", "os.execvp(argv[0], argv)",
                 "system_prompt = 1"):
        assert not SHELL_CALLS.search(line), line
