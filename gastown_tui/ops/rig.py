"""`gt rig add/list/remove`: a rig is a git project with a bare clone and the refinery worktree."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_tui.ops.agents import ensure_agent_bead
from gastown_tui.ops.context import open_store
from gastown_tui.town import safe_write
from gastown_tui.town.errors import ConflictError, GitError, RigExistsError, ValidationError
from gastown_tui.town.events import log_event
from gastown_tui.town.jsonfile import write_json
from gastown_tui.town.layout import RigInfo, Town, now_rfc3339
from gastown_tui.town.names import Address, derive_prefix, validate_prefix, validate_rig_name
from gastown_tui.town.progress import Progress

RIG_GITIGNORE = """.repo.git/
.beads/
.claude/
.runtime/
crew/
polecats/
refinery/
settings/
witness/
config.json
"""


@dataclass(frozen=True)
class RigAddResult:
    rig: RigInfo
    default_branch: str
    head: str
    warnings: tuple[str, ...] = ()


def push_warning(url: str, branch: str, bare: Path) -> str:
    """Why the Refinery's pushes to `url` will be refused, if they will: a local non-bare
    repository with `branch` checked out refuses pushes to it (git's receive.denyCurrentBranch),
    and every merge would stay in the rig's bare repository, seen only in the event log."""
    if "://" in url or url.startswith("git@"):
        return ""
    import pygit2

    try:
        repo = pygit2.Repository(url)
    except pygit2.GitError:
        return ""
    if repo.is_bare or repo.head_is_unborn or repo.head_is_detached:
        return ""
    if repo.head.shorthand != branch:
        return ""
    try:
        deny = str(repo.config["receive.denyCurrentBranch"]).lower()
    except KeyError:
        deny = "refuse"
    if deny in ("ignore", "warn", "updateinstead", "false"):
        return ""
    return (f"merges cannot be pushed back to {url}: it is a non-bare repository with {branch} "
            f"checked out, and git refuses pushes to that branch; they will stay in {bare}. "
            f"Use a bare repository as the source (git clone --bare {url} {url}.git), or let "
            f"it take them: git -C {url} config receive.denyCurrentBranch updateInstead")


def _default_rig_settings() -> dict[str, Any]:
    return {
        "type": "rig-settings", "version": 1, "agent": "",
        "merge_queue": {
            "enabled": True, "on_conflict": "assign_back", "run_tests": True,
            "setup_command": "", "typecheck_command": "", "lint_command": "",
            "build_command": "", "test_command": "", "gate_timeout": "10m",
            "delete_merged_branches": True,
        },
        "namepool": {"style": "", "names": [], "max_before_numbering": 50},
        "workflow": {"default_formula": "mol-polecat-work"},
    }


def _source_url(source: str) -> str:
    """A local path becomes absolute (clones made from anywhere must find it again)."""
    if "://" in source or source.startswith("git@"):
        return source
    path = Path(source).expanduser()
    if not path.exists():
        raise GitError(f"no git repository at {source}",
                       fix="pass a git URL or the path of an existing repository")
    return str(path.resolve())


def _clone_callbacks(progress: Progress | None):
    """pygit2 callbacks that report a clone's progress the way git does: "Receiving objects"
    and "Resolving deltas" from the transfer; a local path's clone reports through the
    sideband only ("Compressing objects: 45% (9/20)"), so those counted lines are shown too."""
    import pygit2

    if progress is None or not progress.shown:
        return None

    class _Callbacks(pygit2.RemoteCallbacks):
        def transfer_progress(self, stats) -> None:
            if stats.total_deltas and stats.received_objects >= stats.total_objects:
                progress.step("Resolving deltas", stats.indexed_deltas, stats.total_deltas)
            elif stats.total_objects:
                progress.step("Receiving objects", stats.received_objects, stats.total_objects)

        def sideband_progress(self, text: str) -> None:
            for part in re.split(r"[\r\n]+", text):
                match = _COUNTED.match(part.strip())
                if match:
                    progress.step(match["label"], int(match["done"]), int(match["total"]))

    return _Callbacks()


# "Compressing objects: 45% (9/20)" and the like, as a remote reports them.
_COUNTED = re.compile(r"(?P<label>[A-Za-z][A-Za-z ]{0,40}): +\d+% \((?P<done>\d+)/(?P<total>\d+)\)")


def rig_add(town: Town, name: str, source: str, *, prefix: str | None = None,
            branch: str | None = None, progress: Progress | None = None) -> RigAddResult:
    validate_rig_name(name)
    rigs_cfg = town.rigs_config()
    if name in rigs_cfg["rigs"]:
        raise RigExistsError(f"rig {name!r} already exists",
                             fix=f"remove it first with 'gt rig remove {name}' or pick another name")
    rig_path = town.root / name
    if rig_path.exists():
        raise RigExistsError(f"{rig_path} already exists and is not a registered rig",
                             fix="move it away or pick another rig name")
    prefix = validate_prefix(prefix) if prefix else validate_prefix(derive_prefix(name))
    taken = {rig.prefix: rig.name for rig in town.rigs()}
    if prefix in taken:
        raise ConflictError(f"bead prefix {prefix!r} is already used by rig {taken[prefix]!r}",
                            fix="pass --prefix with another short prefix")
    url = _source_url(source)

    import pygit2  # lazy: only rig add needs git here

    try:
        rig_path.mkdir(parents=True)
        try:
            repo = pygit2.clone_repository(url, str(rig_path / ".repo.git"), bare=True,
                                           callbacks=_clone_callbacks(progress))
            if progress is not None:
                progress.finish()
        except (pygit2.GitError, ValueError, KeyError) as exc:
            raise GitError(f"could not clone {source}: {exc}",
                           fix="check the URL or path and that it is a git repository") from exc
        default_branch = branch or _default_branch(repo)
        if not default_branch:
            raise GitError(f"{source} has no commits", fix="commit something to it first")
        ref = repo.references.get(f"refs/heads/{default_branch}")
        if ref is None:
            remote_ref = repo.references.get(f"refs/remotes/origin/{default_branch}")
            if remote_ref is None:
                raise GitError(f"branch {default_branch!r} does not exist in {source}",
                               fix="pass an existing --branch")
            ref = repo.references.create(f"refs/heads/{default_branch}", remote_ref.target)
        (rig_path / "refinery").mkdir()
        repo.add_worktree("refinery", str(rig_path / "refinery" / "rig"), ref)
        for sub in ("witness", "polecats", "crew", "settings", "formulas", ".runtime"):
            (rig_path / sub).mkdir(exist_ok=True)
        safe_write.write_text(rig_path / ".gitignore", RIG_GITIGNORE, within=town.root)
        now = now_rfc3339()
        write_json(rig_path / "config.json", {
            "type": "rig", "version": 1, "name": name, "git_url": url, "push_url": "",
            "upstream_url": "", "local_repo": "", "default_branch": default_branch,
            "created_at": now, "beads": {"prefix": prefix},
        })
        write_json(rig_path / "settings" / "config.json", _default_rig_settings())
        store = open_store(town, actor="mayor")
        try:
            ensure_agent_bead(store, Address("witness", name), prefix)
            ensure_agent_bead(store, Address("refinery", name), prefix)
        finally:
            store.close_connection()
        rigs_cfg = town.rigs_config()
        rigs_cfg["rigs"][name] = {"git_url": url, "push_url": "", "upstream_url": "",
                                  "local_repo": "", "added_at": now,
                                  "beads": {"repo": "", "prefix": prefix}}
        # Registered last, so a failure above never leaves a half rig in rigs.json.
        town.save_rigs_config(rigs_cfg)
    except BaseException:
        shutil.rmtree(rig_path, ignore_errors=True)
        raise
    head = str(ref.peel(pygit2.Commit).id)
    warning = push_warning(url, default_branch, rig_path / ".repo.git")
    log_event(town.root, "rig_add", actor="overseer",
              payload={"rig": name, "prefix": prefix, "git_url": url})
    return RigAddResult(rig=town.rig(name), default_branch=default_branch, head=head,
                        warnings=(warning,) if warning else ())


def _default_branch(repo) -> str:
    """The remote's HEAD; when that is unborn (a bare repo whose HEAD names a branch nobody
    pushed), main, then master, then the only branch there is."""
    if not repo.head_is_unborn:
        return repo.head.shorthand
    remote = [r.removeprefix("refs/remotes/origin/") for r in repo.references
              if r.startswith("refs/remotes/origin/") and not r.endswith("/HEAD")]
    for name in ("main", "master"):
        if name in remote:
            return name
    return remote[0] if len(remote) == 1 else ""


def rig_list(town: Town) -> list[dict[str, Any]]:
    out = []
    for rig in town.rigs():
        polecats = sorted(p.name for p in rig.polecats_dir.iterdir()
                          if p.is_dir() and not p.name.startswith(".")) \
            if rig.polecats_dir.is_dir() else []
        out.append({"name": rig.name, "prefix": rig.prefix, "git_url": rig.git_url,
                    "default_branch": rig.default_branch, "path": str(rig.path),
                    "polecats": polecats, "polecat_count": len(polecats)})
    return out


def rig_remove(town: Town, name: str, *, delete: bool = False, force: bool = False) -> dict[str, Any]:
    rig = town.rig(name)
    polecats = [p.name for p in rig.polecats_dir.iterdir() if p.is_dir()] \
        if rig.polecats_dir.is_dir() else []
    if polecats and not force:
        raise ValidationError(f"rig {name!r} still has polecats: {', '.join(sorted(polecats))}",
                              fix="nuke them first ('gt polecat nuke'), or pass --force")
    cfg = town.rigs_config()
    cfg["rigs"].pop(name, None)
    town.save_rigs_config(cfg)
    if delete:
        shutil.rmtree(rig.path, ignore_errors=True)
    log_event(town.root, "rig_remove", actor="overseer", payload={"rig": name, "deleted": delete})
    return {"name": name, "removed": True, "deleted": delete}
