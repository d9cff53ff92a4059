"""Real rigs for the refinery tests: a bare upstream, polecat branches made with pygit2 in the
rig's `.repo.git`, and MR beads made with `create_mr`, as `gt done` leaves them."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import FileMode

from gastown_tui.ops.mr import MergeRequest, create_mr
from gastown_tui.town.layout import RigInfo, Town
from gastown_tui.town.store import BeadStore
from tests.gitrun import git
from tests.waiting import wait_for  # noqa: F401  (re-exported to the tests)

CHECK_PY = """import pathlib, sys
text = pathlib.Path("app.py").read_text()
if "BUG" in text:
    print("FAILED: app.py still has a BUG")
    sys.exit(1)
print("all good")
"""


def make_bare_upstream(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """A bare repository (so pushes are accepted) whose main holds one commit."""
    bare = tmp_path / "upstream.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "hello\n", "app.py": "print('hi')\n",
                                 "check.py": CHECK_PY}).items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_text(text)
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "first")
    git(seed, "push", "-q", str(bare), "main")
    return bare




@dataclass
class RigEnv:
    town: Town
    rig: RigInfo
    store: BeadStore
    upstream: Path

    def repo(self) -> pygit2.Repository:
        return pygit2.Repository(str(self.rig.bare_repo))

    def commit(self, branch: str, files: dict[str, str | None], *, base: str = "main",
               message: str = "work", reset: bool = False) -> str:
        """Commit files (None deletes) on branch, creating it from base; reset restarts the
        branch from base's current tip (a rebase done by the worker)."""
        repo = self.repo()
        ref = repo.references.get(f"refs/heads/{branch}")
        parent = (repo.references[f"refs/heads/{base}"].target if ref is None or reset
                  else ref.target)
        index = pygit2.Index()
        index.read_tree(repo[parent].peel(pygit2.Commit).tree)
        for path, text in files.items():
            if text is None:
                index.remove(path)
            else:
                index.add(pygit2.IndexEntry(path, repo.create_blob(text.encode()),
                                            FileMode.BLOB))
        tree = index.write_tree(repo)
        sig = pygit2.Signature("Toast", "toast@example.com")
        oid = repo.create_commit(None, sig, sig, message, tree, [parent])
        repo.references.create(f"refs/heads/{branch}", oid, force=True)
        return str(oid)

    def submit(self, title: str, files: dict[str, str | None], *, priority: int = 2,
               worker: str = "toast", commits: int = 1) -> tuple[str, MergeRequest]:
        """A source bead, a polecat branch with its work, and the MR `gt done` would create."""
        source = self.store.create(title, prefix=self.rig.prefix, priority=priority)["id"]
        branch = f"polecat/{worker}/{source}@{int(time.time() * 1000):x}"
        sha = ""
        for n in range(commits):
            sha = self.commit(branch, files if n == commits - 1 else
                              {f"work/{source}-{n}.txt": f"{n}\n"}, message=f"{title} ({n})")
        mr, _ = create_mr(self.store, self.rig, branch=branch, target="main", source_issue=source,
                          worker=worker, commit_sha=sha,
                          agent_bead=f"{self.rig.prefix}-{self.rig.name}-polecat-{worker}",
                          priority=priority)
        return source, mr

    def resubmit(self, mr: MergeRequest, files: dict[str, str | None], *,
                 reset: bool = False) -> MergeRequest:
        sha = self.commit(mr.branch, files, reset=reset, message="fix")
        new, _ = create_mr(self.store, self.rig, branch=mr.branch, target=mr.target,
                           source_issue=mr.source_issue, worker=mr.worker, commit_sha=sha,
                           agent_bead=mr.agent_bead, priority=mr.priority)
        return new

    def main_sha(self) -> str:
        return str(self.repo().references["refs/heads/main"].target)

    def upstream_main_sha(self) -> str:
        return git(self.upstream, "rev-parse", "main").strip()

    def main_file(self, path: str) -> str | None:
        repo = self.repo()
        tree = repo[repo.references["refs/heads/main"].target].peel(pygit2.Commit).tree
        try:
            return repo[tree[path].id].data.decode()
        except KeyError:
            return None

    def mr(self, mr_id: str) -> MergeRequest:
        return MergeRequest.from_bead(self.store.get(mr_id))

    def set_gates(self, **settings: Any) -> None:
        path = self.rig.path / "settings" / "config.json"
        cfg = json.loads(path.read_text())
        cfg["merge_queue"].update(settings)
        path.write_text(json.dumps(cfg, indent=2))

    def events(self, kind: str) -> list[dict[str, Any]]:
        lines = (self.town.root / ".events.jsonl").read_text().splitlines()
        return [e for e in map(json.loads, lines) if e["type"] == kind]


def make_rig_env(town_root: Path, tmp_path: Path) -> RigEnv:
    from gastown_tui.ops.rig import rig_add

    upstream = make_bare_upstream(tmp_path)
    town = Town(town_root)
    rig_add(town, "gastown", str(upstream))
    store = BeadStore(town.db_path, actor="gastown/polecats/toast")
    return RigEnv(town=town, rig=town.rig("gastown"), store=store, upstream=upstream)


def py(code: str) -> str:
    """A gate command running this interpreter (the venv's), as one shlex-able string."""
    import shlex

    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"
