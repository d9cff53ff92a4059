"""Small JSON files written atomically (temp file, fsync, rename) so a reader never sees half."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gastown_tui.town.errors import StoreCorruptError


def read_json(path: Path, default: Any = None) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreCorruptError(
            f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})",
            fix="repair or restore the file; nothing was changed",
        ) from exc


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
