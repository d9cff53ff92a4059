"""Where the shipped formula library lives, and the error for a formula that is nowhere."""

from __future__ import annotations

from pathlib import Path

from gastown_tui.town.errors import GasTownError


class UnknownFormulaError(GasTownError):
    code = "not_found"


def shipped_dir() -> Path:
    """The folder of formulas that come with gastown-tui.

    An installed wheel carries them as package data (`gastown_tui/_formulas`, force-included
    from the top-level `formulas/`); a checkout or an editable install reads the top-level
    folder itself. The package-data folder is checked first because a site-packages
    directory may well hold an unrelated `formulas/` next to our package.
    """
    package = Path(__file__).resolve().parents[1]
    installed = package / "_formulas"
    if installed.is_dir():
        return installed
    return package.parent / "formulas"
