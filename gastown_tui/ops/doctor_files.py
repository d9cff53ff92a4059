"""`gt doctor`'s checks of the town's own files and of every worktree's link to its repository.

Every JSON file the town keeps must hold an object of the right shape, or every command that
reads it fails. Repairs are the ones that lose nothing: the town marker, rigs.json and a rig's
config.json are rebuilt from what the rest of the town says (the rig directories, rigs.json,
the bare repositories), memories.json is set aside, and the broken file is always kept next to
the new one (`<name>.corrupt-<time>`). Settings files are yours: a bad one is named with what is
wrong, never guessed at. A worktree whose `.git` link is broken is pointed back at its entry in
the rig's bare repository when that entry is there (what `git worktree repair` does)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gastown_tui.ops.doctor_findings import DoctorContext, Finding
from gastown_tui.ops.settings_shape import (
    escalation_problem,
    objects_problem,
    rig_config_problem,
    settings_problem,
)
from gastown_tui.town import safe_write
from gastown_tui.town.errors import GasTownError
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import RigInfo, Town, now_rfc3339
from gastown_tui.town.names import derive_prefix, validate_agent_name, validate_rig_name


def _set_aside(path: Path) -> Path:
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    shutil.move(str(path), str(target))
    return target


def _problem(path: Path, check: Callable[[dict[str, Any]], str] | None = None) -> str:
    """'' when `path` is missing or a well-shaped object, else what is wrong (one line)."""
    try:
        data = read_json(path, None)
    except GasTownError as exc:
        return exc.problem
    if data is None or check is None:
        return ""
    return check(data)


# ---------------------------------------------------------------------------- config files
def check_config(ctx: DoctorContext, f: Finding) -> None:
    town = ctx.town
    _town_marker(ctx, f)
    rigs_ok = _rigs_json(ctx, f)
    for path, check in ((town.settings_json, settings_problem),
                        (town.root / "settings" / "escalation.json", escalation_problem)):
        _settings_file(f, town, path, check)
    _control_room(f, town)
    memories = town.mayor_dir / "memories.json"
    problem = _problem(memories, lambda d: objects_problem(d) or (
        "" if isinstance(d.get("memories", []), list) else "'memories' must be a list"))
    if problem:
        _repair(ctx, f, memories, problem, None, "set it aside ('gt memories' starts empty)")
    if not rigs_ok:
        return
    for rig in _rig_dirs(town):
        cfg = rig.path / "config.json"
        problem = _problem(cfg, rig_config_problem)
        if problem:
            _repair(ctx, f, cfg, problem, lambda rig=rig: _rig_config_from_town(town, rig),
                    "rebuilt it from rigs.json and the rig's bare repository")
        _settings_file(f, town, rig.path / "settings" / "config.json", settings_problem)


def _rel(town: Town, path: Path) -> str:
    try:
        return str(path.relative_to(town.root))
    except ValueError:
        return str(path)


def _settings_file(f: Finding, town: Town, path: Path, check) -> None:
    problem = _problem(path, check)
    if problem:
        f.errors.append(f"{_rel(town, path)}: {problem} (the file is yours: fix it by hand; "
                        "doctor does not guess settings)")


def _control_room(f: Finding, town: Town) -> None:
    path = town.root / "settings" / "control-room.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        f.errors.append(f"{_rel(town, path)}: unreadable ({exc}); fix it by hand")
        return
    import tomlkit

    try:
        tomlkit.parse(text)
    except Exception as exc:  # tomlkit raises its own ParseError family
        f.errors.append(f"{_rel(town, path)}: not valid TOML ({str(exc)[:80]}); fix it by hand")


def _repair(ctx: DoctorContext, f: Finding, path: Path, problem: str,
            rebuild: Callable[[], dict[str, Any]] | None, how: str) -> None:
    where = _rel(ctx.town, path)
    if not ctx.fix:
        f.errors.append(f"{where}: {problem} ('gt doctor --fix' {how})")
        return
    try:
        data = rebuild() if rebuild is not None else None
        kept = _set_aside(path)
        if data is not None:
            write_json(path, data, within=ctx.town.root)
    except (GasTownError, OSError) as exc:
        f.errors.append(f"{where}: {problem}; the repair failed: {exc}")
        return
    f.fixed.append(f"{where}: {problem}; {how} (the old file is kept as {kept.name})")


def _town_marker(ctx: DoctorContext, f: Finding) -> None:
    town = ctx.town

    def shape(data: dict[str, Any]) -> str:
        return "" if data.get("type", "town") == "town" else f"type is {data.get('type')!r}"

    problem = _problem(town.town_json, shape)
    if problem:
        _repair(ctx, f, town.town_json, problem, lambda: {
            "type": "town", "version": 2, "name": town.root.name, "owner": "",
            "public_name": town.root.name, "created_at": now_rfc3339()},
            f"rebuilt it, named after the directory ({town.root.name})")


def _rigs_json(ctx: DoctorContext, f: Finding) -> bool:
    town = ctx.town
    try:
        town.rigs_config()  # the same checks every command makes
        return True
    except GasTownError as exc:
        problem = exc.problem.replace(str(town.rigs_json), "").lstrip(": ") or exc.problem
    _repair(ctx, f, town.rigs_json, problem, lambda: _rigs_from_dirs(town),
            "rebuilt it from the rig directories")
    try:
        town.rigs_config()
        return True
    except GasTownError:
        return False


def _origin_url(bare: Path) -> str:
    import pygit2

    try:
        return str(pygit2.Repository(str(bare)).remotes["origin"].url or "")
    except (pygit2.GitError, KeyError, ValueError):
        return ""


def _rigs_from_dirs(town: Town) -> dict[str, Any]:
    rigs: dict[str, Any] = {}
    for path in sorted(town.root.iterdir()):
        if not (path / ".repo.git").is_dir() or not (path / "config.json").is_file():
            continue
        try:
            name = validate_rig_name(path.name)
            cfg = read_json(path / "config.json", {}) or {}
        except GasTownError:
            cfg, name = {}, path.name
        prefix = (cfg.get("beads") or {}).get("prefix") if isinstance(cfg.get("beads"), dict) \
            else None
        rigs[name] = {"git_url": str(cfg.get("git_url") or _origin_url(path / ".repo.git")),
                      "push_url": "", "upstream_url": "", "local_repo": "",
                      "added_at": str(cfg.get("created_at") or now_rfc3339()),
                      "beads": {"repo": "", "prefix": prefix or derive_prefix(name)}}
    return {"version": 1, "rigs": rigs}


def _rig_dirs(town: Town) -> list[RigInfo]:
    """Each registered rig, even one whose config.json cannot be read (from rigs.json alone)."""
    out = []
    for name, entry in sorted(town.rigs_config()["rigs"].items()):
        prefix = (entry.get("beads") or {}).get("prefix") if isinstance(entry.get("beads"),
                                                                        dict) else None
        out.append(RigInfo(name, str(prefix or derive_prefix(name)),
                           str(entry.get("git_url") or ""), "main", town.root / name))
    return out


def _rig_config_from_town(town: Town, rig: RigInfo) -> dict[str, Any]:
    import pygit2

    branch = "main"
    try:
        repo = pygit2.Repository(str(rig.bare_repo))
        if not repo.head_is_unborn:
            branch = repo.head.shorthand
    except pygit2.GitError:
        pass
    entry = town.rigs_config()["rigs"].get(rig.name) or {}
    return {"type": "rig", "version": 1, "name": rig.name,
            "git_url": rig.git_url or _origin_url(rig.bare_repo), "push_url": "",
            "upstream_url": "", "local_repo": "", "default_branch": branch,
            "created_at": str(entry.get("added_at") or now_rfc3339()),
            "beads": {"prefix": rig.prefix}}


# ---------------------------------------------------------------------------- worktree links
def check_worktree_links(ctx: DoctorContext, f: Finding) -> None:
    """Each worktree's `.git` file names its entry in the rig's bare repository, and that
    entry names the worktree back; a broken link makes every git call there fail."""
    try:
        rigs = _rig_dirs(ctx.town)
    except GasTownError:
        return  # the config check says why
    for rig in rigs:
        if not rig.bare_repo.is_dir():
            f.errors.append(f"rig {rig.name}: its bare repository {rig.bare_repo} is missing")
            continue
        trees = [("refinery", rig.refinery_worktree)]
        if rig.polecats_dir.is_dir():
            for entry in sorted(rig.polecats_dir.iterdir()):
                try:
                    name = validate_agent_name(entry.name)
                except GasTownError:
                    continue
                trees.append((name, rig.polecat_worktree(name)))
        for name, path in trees:
            if path.is_dir() and (path / ".git").exists() or (path / ".git").is_symlink():
                _check_link(ctx, f, rig, name, path)


def _link_problem(rig: RigInfo, name: str, path: Path) -> str:
    import pygit2

    dotgit = path / ".git"
    if dotgit.is_symlink() or not dotgit.is_file():
        return f"{dotgit} is not a worktree link file"
    try:
        text = dotgit.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        return f"{dotgit} cannot be read ({exc})"
    if not text.startswith("gitdir:"):
        return f"{dotgit} does not say where its repository is"
    admin = Path(text[len("gitdir:"):].strip())
    if not admin.is_absolute():
        admin = (path / admin).resolve()
    if not admin.is_dir():
        return f"{dotgit} points to {admin}, which does not exist"
    try:
        pygit2.Repository(str(path))
    except pygit2.GitError as exc:
        return f"{path} does not open as a git worktree ({exc})"
    return ""


def _check_link(ctx: DoctorContext, f: Finding, rig: RigInfo, name: str, path: Path) -> None:
    problem = _link_problem(rig, name, path)
    if not problem:
        return
    admin = rig.bare_repo / "worktrees" / name
    what = f"rig {rig.name}: worktree {name}: {problem}"
    if not admin.is_dir():
        f.errors.append(f"{what}; the bare repository has no entry {name} to point it back to "
                        f"(nuke the polecat, or 'gt doctor --fix' after its entry is pruned)")
        return
    if not ctx.fix:
        f.errors.append(f"{what} ('gt doctor --fix' points it back at {admin})")
        return
    try:
        if (path / ".git").is_symlink():
            (path / ".git").unlink()
        safe_write.write_text(path / ".git", f"gitdir: {admin}\n", within=rig.path)
        safe_write.write_text(admin / "gitdir", f"{path / '.git'}\n", within=rig.path)
    except (GasTownError, OSError) as exc:
        f.errors.append(f"{what}; the repair failed: {exc}")
        return
    left = _link_problem(rig, name, path)
    if left:
        f.errors.append(f"{what}; pointed it back at {admin}, still broken: {left}")
    else:
        f.fixed.append(f"{what}; pointed it back at {admin}")
