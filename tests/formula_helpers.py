"""Shared helpers for the formula tests: a minimal town on disk and formula files in it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from gastown_tui.formulas.resolved import ResolvedFormula


def minimal_town(root: Path) -> Path:
    """Just enough of a town for formula lookup: mayor/town.json and the formula folders."""
    (root / "mayor").mkdir(parents=True)
    (root / "mayor" / "town.json").write_text(json.dumps(
        {"type": "town", "version": 2, "name": "t", "owner": "o",
         "created_at": "2026-01-01T00:00:00Z"}))
    (root / "formulas").mkdir()
    (root / "gastown" / "formulas").mkdir(parents=True)
    return root


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.formula.toml"
    path.write_text(textwrap.dedent(text))
    return path


def order(resolved: ResolvedFormula) -> list[tuple[str, tuple[str, ...]]]:
    return [(step.id, step.needs) for step in resolved.steps]
