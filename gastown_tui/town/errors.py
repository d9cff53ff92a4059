"""Errors a user can act on: each carries a one-line message naming the problem and the fix."""

from __future__ import annotations


class GasTownError(Exception):
    """Base of every error the CLI and the control room show to a user as one line."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.problem = message
        self.fix = fix
        super().__init__(f"{message} ({fix})" if fix else message)


class NoTownError(GasTownError):
    code = "no_town"


class TownExistsError(GasTownError):
    code = "town_exists"


class InvalidNameError(GasTownError):
    code = "invalid_name"


class UnknownRigError(GasTownError):
    code = "unknown_rig"


class RigExistsError(GasTownError):
    code = "rig_exists"


class BeadNotFoundError(GasTownError):
    code = "not_found"


class ClosedBeadError(GasTownError):
    code = "closed"


class DependencyCycleError(GasTownError):
    code = "cycle"


class StoreLockedError(GasTownError):
    code = "locked"


class StoreCorruptError(GasTownError):
    code = "corrupt"


class StoreUnavailableError(GasTownError):
    """The bead store's server does not answer (PostgreSQL down, unreachable, timed out)."""

    code = "store_down"


class ValidationError(GasTownError):
    code = "invalid"


class ConflictError(GasTownError):
    """The request contradicts the current state (already hooked, claimed elsewhere...)."""

    code = "conflict"


class GitError(GasTownError):
    code = "git"


class TmuxError(GasTownError):
    code = "tmux"


class DiskFullError(GasTownError):
    """No space (or quota) left where the town writes: not damage, and nothing half-written."""

    code = "disk_full"


class UnsafePathError(GasTownError):
    """A write would have followed a symbolic link out of the town, a rig or a worktree."""

    code = "unsafe_path"


class FileSystemError(GasTownError):
    code = "os_error"


_NO_SPACE = (28, 122)  # ENOSPC, EDQUOT


def from_os_error(exc: OSError, doing: str = "") -> GasTownError:
    """One line for an OSError a user can act on (a full disk, a name too long, no permission),
    naming what was being done and the file, never a traceback."""
    import errno

    where = f" {exc.filename}" if exc.filename else ""
    what = f"{doing}: " if doing else ""
    if exc.errno in _NO_SPACE:
        return DiskFullError(f"{what}the disk is full (no space left for{where or ' the town'})",
                             fix="free some space and retry; what failed was not saved")
    if exc.errno == errno.ENAMETOOLONG:
        shown = str(exc.filename or "")
        shown = shown if len(shown) <= 80 else shown[:60] + f"…({len(shown)} characters)"
        return FileSystemError(f"{what}a name or path is too long: {shown}",
                               fix="use a shorter name or path")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return FileSystemError(f"{what}permission denied on{where}",
                               fix="check the owner and mode of that file or directory")
    if exc.errno == errno.EROFS:
        return FileSystemError(f"{what}the file system holding{where} is read-only",
                               fix="remount it read-write or move the town")
    return FileSystemError(f"{what}{exc.strerror or exc}{where and ' (' + where.strip() + ')'}",
                           fix="check the file system and retry")
