"""Small JSON files written atomically (temp file, fsync, rename) so a reader never sees half,
never through a symbolic link (town/safe_write.py); read back as objects or a one-line error."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from gastown_tui.town.errors import StoreCorruptError

TYPE_CHECKING = False  # not typing's: importing typing costs every gt/bd call ~2 ms
if TYPE_CHECKING:
    from typing import Any

FIX_FILE = "run 'gt doctor' (it names the file and repairs what it safely can); nothing was changed"


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON object in `path`, `default` when there is no file. Every file the town keeps
    holds one object: anything else (not UTF-8, not JSON, a list) is a one-line error naming
    the file, never a crash further on."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return default
    except IsADirectoryError as exc:
        raise StoreCorruptError(f"{path} is a directory, not a JSON file", fix=FIX_FILE) from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise StoreCorruptError(f"{path} is not UTF-8 text (byte {exc.start})",
                                fix=FIX_FILE) from exc
    except json.JSONDecodeError as exc:
        raise StoreCorruptError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})",
                                fix=FIX_FILE) from exc
    except (ValueError, RecursionError) as exc:
        raise StoreCorruptError(f"{path} is not valid JSON ({str(exc)[:60]})",
                                fix=FIX_FILE) from exc
    if not isinstance(data, dict):
        raise StoreCorruptError(f"{path} holds a JSON {type(data).__name__}, not an object",
                                fix=FIX_FILE)
    return data


def object_field(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    """data[key] as an object ({} when absent or null); anything else names the file."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StoreCorruptError(f"{path}: {key!r} holds a {type(value).__name__}, not an object",
                                fix=FIX_FILE)
    return value


def current_umask() -> int:
    """The process umask, read without changing it (os.umask can only set, and setting it even
    for a moment races with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode_for(path: Path) -> int:
    """An existing file keeps its mode; a new one gets what open() would give it (0666 less the
    umask) rather than mkstemp's 0600."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def write_json(path: Path, data: Any, *, within: Path | None = None) -> None:
    """Atomically, never through a link below `within` (default: the town `path` lies in)."""
    from gastown_tui.town.safe_write import write_text

    write_text(Path(path), json.dumps(data, indent=2, ensure_ascii=False) + "\n", within=within)
