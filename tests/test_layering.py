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


def heavy_after(cli, prog: str, args: list[str], env: dict[str, str] | None = None
                ) -> tuple[list[str], str]:
    """Run `prog args` (gt or bd) in a fresh interpreter: the heavy libraries it imported,
    and what it printed."""
    code = (f"import sys\nfrom gastown_tui.cli.{prog} import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'pygit2', 'libtmux', 'pydantic', 'tomlkit', 'psycopg', 'asyncio', "
            "'psutil')]\n"
            "import json\nsys.stderr.write(json.dumps(heavy))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cli.cwd, env={**cli.env, **(env or {})}, check=True)
    return json.loads(proc.stderr), proc.stdout


def test_bd_show_imports_no_heavy_library(backend_cli):
    """On either store: a PostgreSQL town talks to libpq directly (psycopg's import alone
    costs more than the whole of `bd show` on SQLite)."""
    cli = backend_cli
    bead = cli.json("bd", "create", "x")["id"]
    heavy, out = heavy_after(cli, "bd", ["show", bead, "--json"])
    assert heavy == []
    assert bead in out


def test_gt_hook_with_nothing_hooked_imports_no_heavy_library(backend_cli):
    """Agents run `gt hook` at every start and prompt: the formula machinery (pydantic,
    tomlkit) loads only when a formula is attached to what is hooked."""
    heavy, out = heavy_after(backend_cli, "gt", ["hook", "--json"],
                             {"GT_ROLE": "gastown/polecats/toast"})
    assert heavy == []
    assert json.loads(out)["has_work"] is False


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


def _layers() -> list[set[str]]:
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c["type"] == "layers")
    return [{name.strip() for name in layer.split("|")} for layer in contract["layers"]]


def _illegal(graph) -> list[str]:
    from grimp import Layer

    layers = [Layer(*sorted(names), independent=True) for names in _layers()]
    return sorted(f"{d.importer} -> {d.imported}"
                  for d in graph.find_illegal_dependencies_for_layers(layers=layers))


def test_every_import_points_down_the_layers():
    """cli | app | screens | widgets | model | refinery, patrol, demo | ops | formulas, tmux,
    runtimes | town (pyproject's [tool.importlinter]); imports inside functions count."""
    import grimp

    assert _illegal(grimp.build_graph("gastown_tui", cache_dir=None)) == []
    proc = subprocess.run([str(Path(sys.executable).parent / "lint-imports")],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "1 kept, 0 broken" in proc.stdout, proc.stdout


def test_an_upward_import_breaks_the_layers():
    """The contract is not vacuous: the store importing the control room would fail it, as
    would a model reader reaching up for a widget."""
    import grimp

    graph = grimp.build_graph("gastown_tui", cache_dir=None)
    graph.add_import(importer="gastown_tui.town.store.core", imported="gastown_tui.app.app")
    graph.add_import(importer="gastown_tui.model.sources",
                     imported="gastown_tui.widgets.polecat_wall")
    assert _illegal(graph) == ["gastown_tui.model -> gastown_tui.widgets",
                               "gastown_tui.town -> gastown_tui.app"]


def test_no_module_imports_itself_in_a_circle():
    """Cycles hidden in function-level imports (town -> ops -> town, sling <-> convoy, ...)
    are gone: the module graph has no strongly connected component bigger than one module."""
    import grimp

    graph = grimp.build_graph("gastown_tui", exclude_type_checking_imports=False, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert cycles == []


def test_model_and_town_import_the_layers_below_at_the_top():
    """No function-level import of ops, refinery or tmux in model/ or town/: the model's
    dependencies are visible where a reader looks for them."""
    root = Path(__file__).resolve().parent.parent / "gastown_tui"
    late = re.compile(r"^\s+(from|import) gastown_tui\.(ops|refinery|tmux)\b")
    found = [f"{path.relative_to(root.parent)}:{n}: {line.strip()}"
             for folder in ("model", "town") for path in sorted((root / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), start=1)
             if late.match(line)]
    assert found == []


def test_widgets_and_dialogs_never_call_up():
    """Widgets and dialogs tell their screen what happened by posting messages (or dismissing
    with an answer); they never call a screen's or the app's actions or verbs."""
    calling_up = re.compile(r"\.(screen|app)\.(action_\w+|run_action|run_verb|open_screen|"
                            r"push_screen|flash)\(")
    package = Path(__file__).resolve().parent.parent / "gastown_tui"
    offenders = []
    for layer in ("widgets", "dialogs"):
        for path in (package / layer).glob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if calling_up.search(line):
                    offenders.append(f"{layer}/{path.name}:{number}: {line.strip()}")
    assert offenders == []
