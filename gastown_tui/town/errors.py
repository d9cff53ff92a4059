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
