"""Build the demo town: a real upstream repository, a rig, beads, a convoy, running agents.

Nothing here is special to the demo once the town exists: it is made with the same ops as any
town (install, rig add, bd create, convoy create, gt up, gt sling) and runs on the sim runtime."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gastown_tui.demo.project import DEMO_BEADS, PROJECT_FILES
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town

RIG = "inventory"
CONVOY_TITLE = "Demo: inventory v2"


@dataclass
class DemoTown:
    root: Path
    upstream: Path
    convoy: str = ""
    beads: list[tuple[str, str, str]] = field(default_factory=list)  # (id, title, kind)

    @property
    def town(self) -> Town:
        return Town(self.root)


def test_command() -> str:
    return f"{shlex.quote(sys.executable)} -m unittest discover -s tests -t . -q"


def make_upstream(path: Path) -> str:
    """A bare repository holding the project on main (made with pygit2, no git binary)."""
    import pygit2

    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    tree = _tree(repo, PROJECT_FILES)
    sig = pygit2.Signature("gastown demo", "demo@gastown.local")
    oid = repo.create_commit("refs/heads/main", sig, sig, "inventory: first version", tree, [])
    return str(oid)


def _tree(repo, files: dict[str, str]):
    """Nested trees from a {path: text} mapping."""
    import pygit2

    folders: dict[str, dict[str, str]] = {}
    here: dict[str, str] = {}
    for path, text in files.items():
        head, _, rest = path.partition("/")
        if rest:
            folders.setdefault(head, {})[rest] = text
        else:
            here[head] = text
    builder = repo.TreeBuilder()
    for name, text in sorted(here.items()):
        builder.insert(name, repo.create_blob(text.encode()), pygit2.enums.FileMode.BLOB)
    for name, sub in sorted(folders.items()):
        builder.insert(name, _tree(repo, sub), pygit2.enums.FileMode.TREE)
    return builder.write()


def build(root: Path, *, say: Callable[[str], None] = print, gupp: str = "20s",
          store: str = "sqlite") -> DemoTown:
    from gastown_tui.ops import convoy as convoy_ops
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.install import install
    from gastown_tui.ops.rig import rig_add

    root = Path(root)
    upstream = root.parent / f"{root.name}-upstream.git"
    result = install(root, name="demo", owner="overseer", store=store)
    say(f"town: {root}")
    if store != "sqlite":
        say(f"bead store: {result.store}")
    make_upstream(upstream)
    town = Town(root)
    rig = rig_add(town, RIG, str(upstream)).rig
    say(f"rig {RIG}: {upstream} (tests: python -m unittest)")
    settings = read_json(town.settings_json, {}) or {}
    settings["default_agent"] = "sim"
    write_json(town.settings_json, settings)
    rig_settings_path = rig.path / "settings" / "config.json"
    rig_settings = read_json(rig_settings_path, {}) or {}
    rig_settings.setdefault("merge_queue", {})["test_command"] = test_command()
    rig_settings["merge_queue"]["gate_timeout"] = "2m"
    # Stalled at 8 s of silence, nudged at 20 s: the hung polecat shows `stalled` on the wall
    # (and in Needs-you) for several seconds before the Witness nudges it.
    rig_settings["witness"] = {"stall_timeout": "8s", "gupp_timeout": gupp,
                               "patrol_interval": "3s", "idle_timeout": "10m"}
    write_json(rig_settings_path, rig_settings)
    demo = DemoTown(root=root, upstream=upstream)
    store = open_store(town, "mayor")
    try:
        for title, description, kind in DEMO_BEADS:
            bead = store.create(title, prefix=rig.prefix, description=description, priority=2)
            demo.beads.append((bead["id"], title, kind))
        demo.convoy = convoy_ops.create(town, store, CONVOY_TITLE, [b[0] for b in demo.beads],
                                        owner="overseer")["id"]
    finally:
        store.close_connection()
    say(f"convoy {demo.convoy}: {len(demo.beads)} beads")
    return demo


def start(demo: DemoTown, *, say: Callable[[str], None] = print) -> None:
    """gt up, then sling every bead to the rig (one sim polecat each)."""
    from gastown_tui.ops.context import open_store
    from gastown_tui.ops.sling import sling
    from gastown_tui.ops.up import up

    store = open_store(demo.town, "mayor")
    try:
        # Sling before `gt up`: the Deacon feeds convoys, and would race us for these beads.
        # Progress lines come from the event log, like everything else the town does.
        sling(demo.town, store, [b[0] for b in demo.beads], RIG)
    finally:
        store.close_connection()
    for step in up(demo.town):
        say(f"  {step.address}: {step.action}")


def main_passes_tests(demo: DemoTown, workdir: Path) -> tuple[bool, str]:
    """Check out the upstream's main fresh and run the project's tests there."""
    import subprocess

    import pygit2

    checkout = workdir / "main-checkout"
    pygit2.clone_repository(str(demo.upstream), str(checkout), checkout_branch="main")
    proc = subprocess.run(shlex.split(test_command()), cwd=checkout, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip().splitlines()[-1:][0] \
        if (proc.stdout + proc.stderr).strip() else ""


def snapshot_files(demo: DemoTown) -> list[str]:
    import pygit2

    repo = pygit2.Repository(str(demo.upstream))
    tree = repo.references["refs/heads/main"].peel(pygit2.Commit).tree
    out: list[str] = []

    def walk(t, prefix: str) -> None:
        for entry in t:
            if entry.type_str == "tree":
                walk(repo[entry.id], f"{prefix}{entry.name}/")
            else:
                out.append(prefix + entry.name)
    walk(tree, "")
    return sorted(out)


def events_since(root: Path, offset: int) -> tuple[int, list[dict]]:
    path = root / ".events.jsonl"
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return offset, []
    if not data and path.stat().st_size < offset:
        return 0, []  # the log was rewritten shorter (gt doctor --fix): start again
    end = data.rfind(b"\n") + 1
    out = []
    for line in data[:end].splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return offset + end, out
