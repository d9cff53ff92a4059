"""Refinery figures: one MR merged end to end without gates, as the branch grows in commits and
in files, and a queue of 20 MRs drained by the loop.

Each single-MR case first moves main by one commit, so the branch is really replayed (not
fast-forwarded); "merge" is process_mr end to end (claim, fetch origin, replay, move main,
refresh the refinery worktree, push to a bare upstream, close MR and source bead, delete the
branch); "replay" is the in-memory rebase alone.

Run: .venv/bin/python benchmarks/bench_refinery.py   (prints a table; touches only a temp dir)"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

REPEAT = 3


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def make_town(tmp: Path):
    from gastown_tui.ops.install import install
    from gastown_tui.ops.rig import rig_add
    from gastown_tui.town.layout import Town
    from gastown_tui.town.store import BeadStore

    bare = tmp / "upstream.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "README.md").write_text("bench\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "first")
    git(seed, "push", "-q", str(bare), "main")
    install(tmp / "town", name="bench")
    town = Town(tmp / "town")
    rig_add(town, "gastown", str(bare))
    return town, town.rig("gastown"), BeadStore(town.db_path, actor="gastown/polecats/toast")


def commit(repo: pygit2.Repository, branch: str, files: dict[str, str], base: str = "main") -> str:
    ref = repo.references.get(f"refs/heads/{branch}")
    parent = ref.target if ref is not None else repo.references[f"refs/heads/{base}"].target
    index = pygit2.Index()
    index.read_tree(repo[parent].peel(pygit2.Commit).tree)
    for path, text in files.items():
        index.add(pygit2.IndexEntry(path, repo.create_blob(text.encode()), FileMode.BLOB))
    sig = pygit2.Signature("Toast", "toast@example.com")
    oid = repo.create_commit(None, sig, sig, "work", index.write_tree(repo), [parent])
    repo.references.create(f"refs/heads/{branch}", oid, force=True)
    return str(oid)


_serial = 0


def queue_mr(town, rig, store, commits: int, files: int):
    """A branch of `commits` commits that together add `files` files, and its MR bead."""
    global _serial
    from gastown_tui.ops.mr import create_mr

    _serial += 1
    repo = pygit2.Repository(str(rig.bare_repo))
    source = store.create(f"bench {_serial}", prefix=rig.prefix)["id"]
    branch = f"polecat/toast/{source}@{_serial}"
    per_commit = max(1, files // commits)
    written = 0
    sha = ""
    for c in range(commits):
        count = per_commit if c < commits - 1 else max(1, files - written)
        batch = {f"b{_serial}/c{c}/f{i}.txt": f"{_serial} {c} {i}\n" for i in range(count)}
        written += count
        sha = commit(repo, branch, batch)
    mr, _ = create_mr(store, rig, branch=branch, target="main", source_issue=source,
                      worker="toast", commit_sha=sha, agent_bead="", priority=2)
    return mr


def move_main(rig) -> None:
    repo = pygit2.Repository(str(rig.bare_repo))
    commit(repo, "main", {f"main/{time.time_ns()}.txt": "x\n"})


def one_case(town, rig, store, commits: int, files: int) -> tuple[float, float]:
    from gastown_tui.refinery import merge
    from gastown_tui.refinery.process import process_mr

    merge_ms, replay_ms = [], []
    for _ in range(REPEAT):
        move_main(rig)
        mr = queue_mr(town, rig, store, commits, files)
        repo = merge.open_repo(rig)
        t = time.perf_counter()
        merge.replay(repo, merge.branch_head(repo, mr.branch), merge.target_tip(repo, "main"),
                     merge.committer(rig))
        replay_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        result = process_mr(town, rig, mr.id, store=store)
        merge_ms.append((time.perf_counter() - t) * 1000)
        assert result.outcome == "merged", result
    return statistics.median(merge_ms), statistics.median(replay_ms)


def main() -> None:
    from gastown_tui.refinery.loop import run

    tmp = Path(tempfile.mkdtemp(prefix="gt-bench-refinery-"))
    try:
        town, rig, store = make_town(tmp)
        rows = []
        for commits, files in ((1, 1), (10, 10), (100, 100), (1, 100), (1, 1000)):
            merge_ms, replay_ms = one_case(town, rig, store, commits, files)
            rows.append((f"{commits} commit(s), {files} file(s)", merge_ms, replay_ms))

        mrs = [queue_mr(town, rig, store, 1, 1) for _ in range(20)]
        move_main(rig)
        t = time.perf_counter()
        summary = run(town, rig, once=True)
        total = (time.perf_counter() - t) * 1000
        assert sorted(summary.merged) == sorted(m.id for m in mrs), summary.results

        print(f"{'case (no gates, main moved first)':<36} {'merge ms':>10} {'replay ms':>10}")
        for name, merge_ms, replay_ms in rows:
            print(f"{name:<36} {merge_ms:>10.1f} {replay_ms:>10.1f}")
        print(f"{'20 queued MRs, loop --once':<36} {total:>10.1f} {'':>10}"
              f"  ({total / 20:.1f} ms per MR)")
        store.close_connection()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
