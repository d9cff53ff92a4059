"""Writing files inside a town, a rig or a worktree without ever following a symbolic link out.

A rig's repository is anyone's: it may commit `.gemini -> /home/you/.gemini` or
`AGENTS.md -> /etc/something`, and a worktree checks those links out as they are. Every file
we write below a town goes through here: the path must lie lexically inside its boundary, each
directory on the way is opened with O_NOFOLLOW relative to the one above it (no component may
be a link, and nothing can swap one in between a check and the write), and the final name is
opened (or renamed onto) without following a link either. A refusal is one line naming the link
and where it points. ENOSPC and friends become one-line errors too (town/errors.py).

The boundary is the town the path lies in (the nearest directory above holding
mayor/town.json) unless the caller names one (`within=`); outside any town only the final
component is checked.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gastown_tui.town.errors import GasTownError, UnsafePathError, from_os_error

TOWN_MARKER = ("mayor", "town.json")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def town_boundary(path: Path) -> Path:
    """The root of the town `path` lies in, else `path`'s own directory."""
    path = Path(os.path.abspath(path))
    for candidate in path.parents:
        if candidate.joinpath(*TOWN_MARKER).is_file():
            return candidate
    return path.parent


def _relative(root: Path, path: Path) -> tuple[str, ...]:
    root_abs = Path(os.path.abspath(root))
    path_abs = Path(os.path.normpath(os.path.abspath(path)))
    try:
        parts = path_abs.relative_to(root_abs).parts
    except ValueError:
        raise UnsafePathError(f"{path} is outside {root}",
                              fix="write inside the town, rig or worktree") from None
    if not parts:
        raise UnsafePathError(f"{path} is the boundary itself, not a file in it",
                              fix="name a file inside it")
    return parts


def _link_error(root: Path, parts: tuple[str, ...], index: int, dir_fd: int,
                target: tuple[str, ...]) -> UnsafePathError:
    shown = "/".join(parts[: index + 1])
    try:
        points = os.readlink(parts[index], dir_fd=dir_fd)
    except OSError:
        points = "?"
    return UnsafePathError(
        f"refusing to write {'/'.join(target)} in {root}: {shown} is a symbolic link "
        f"(to {points})",
        fix="remove the link (a repository may have committed it); nothing was written")


@contextmanager
def _directory(root: Path, parts: tuple[str, ...], *, create: bool,
               target: tuple[str, ...]) -> Iterator[int]:
    """An fd of root/parts, opened one component at a time without following links."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise from_os_error(exc, f"opening {root}") from exc
    try:
        for index, part in enumerate(parts):
            if part in ("", ".", ".."):
                raise UnsafePathError(f"{'/'.join(target)}: {part!r} is not a plain name",
                                      fix="name a path inside the town")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise from_os_error(exc, f"creating {'/'.join(parts[:index + 1])}") from exc
                child = _open_dir_or_refuse(root, parts, index, fd, target)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise from_os_error(exc, f"opening {'/'.join(parts[:index + 1])}") from exc
                child = _open_dir_or_refuse(root, parts, index, fd, target)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _open_dir_or_refuse(root: Path, parts: tuple[str, ...], index: int, fd: int,
                        target: tuple[str, ...]) -> int:
    try:
        return os.open(parts[index], _DIR_FLAGS, dir_fd=fd)
    except OSError as exc:
        try:
            st = os.lstat(parts[index], dir_fd=fd)
        except OSError:
            raise from_os_error(exc, f"opening {'/'.join(parts[:index + 1])}") from exc
        if stat.S_ISLNK(st.st_mode):
            raise _link_error(root, parts, index, fd, target) from None
        raise GasTownError(f"cannot write {'/'.join(target)}: {'/'.join(parts[:index + 1])} "
                           "is not a directory", fix="move that file away") from None


def _refuse_final_link(root: Path, parts: tuple[str, ...], dir_fd: int) -> int | None:
    """The mode of the existing final file (None when there is none); a link is refused."""
    try:
        st = os.lstat(parts[-1], dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise _link_error(root, parts, len(parts) - 1, dir_fd, parts)
    if stat.S_ISDIR(st.st_mode):
        raise GasTownError(f"cannot write {'/'.join(parts)} in {root}: it is a directory",
                           fix="move that directory away")
    return stat.S_IMODE(st.st_mode)


def _boundary(path: Path, within: Path | None) -> Path:
    return Path(within) if within is not None else town_boundary(Path(path))


def write_bytes(path: Path, data: bytes, *, within: Path | None = None,
                mode: int | None = None) -> None:
    """Atomically replace `path` with `data` (temp file, fsync, rename), never through a link.
    An existing file keeps its mode; a new one gets 0666 less the umask (or `mode`)."""
    root = _boundary(path, within)
    parts = _relative(root, Path(path))
    with _directory(root, parts[:-1], create=True, target=parts) as dir_fd:
        existing = _refuse_final_link(root, parts, dir_fd)
        tmp = f".{parts[-1][:100]}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | getattr(os, "O_CLOEXEC", 0), 0o666, dir_fd=dir_fd)
        except OSError as exc:
            raise from_os_error(exc, f"writing {'/'.join(parts)}") from exc
        try:
            try:
                wanted = existing if existing is not None else mode
                if wanted is not None:
                    os.fchmod(fd, wanted)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            # A link swapped in since the check is replaced by the rename, never followed.
            os.replace(tmp, parts[-1], src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError as exc:
            _unlink_quietly(tmp, dir_fd)
            raise from_os_error(exc, f"writing {'/'.join(parts)}") from exc
        except BaseException:
            _unlink_quietly(tmp, dir_fd)
            raise


def write_text(path: Path, text: str, *, within: Path | None = None,
               mode: int | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), within=within, mode=mode)


def append_bytes(path: Path, data: bytes, *, within: Path | None = None) -> None:
    """Append to `path` (created when missing), never through a link."""
    fd = open_file(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, within=within)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise from_os_error(exc, f"writing {path}") from exc
    finally:
        os.close(fd)


def open_file(path: Path, flags: int, *, within: Path | None = None, mode: int = 0o666) -> int:
    """os.open(path, flags | O_NOFOLLOW) after the directories on the way were checked (for
    lock files and logs a caller keeps open). The caller closes the fd."""
    root = _boundary(path, within)
    parts = _relative(root, Path(path))
    with _directory(root, parts[:-1], create=bool(flags & os.O_CREAT), target=parts) as dir_fd:
        try:
            return os.open(parts[-1], flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode,
                           dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _link_error(root, parts, len(parts) - 1, dir_fd, parts) from None
            raise from_os_error(exc, f"opening {'/'.join(parts)}") from exc


def ensure_dir(path: Path, *, within: Path | None = None) -> Path:
    """mkdir -p `path` below its boundary, refusing a link on the way (or as `path` itself)."""
    root = _boundary(path, within)
    if Path(os.path.abspath(path)) == Path(os.path.abspath(root)):
        return Path(path)
    parts = _relative(root, Path(path))
    with _directory(root, parts, create=True, target=parts):
        pass
    return Path(path)


def check_no_links(path: Path, *, within: Path | None = None) -> None:
    """Raise UnsafePathError when an existing component of `path` below its boundary is a link
    (what does not exist yet is fine): for writers we do not control, such as git."""
    root = _boundary(path, within)
    parts = _relative(root, Path(path))
    current = Path(os.path.abspath(root))
    for index, part in enumerate(parts):
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            points = os.readlink(current)
            raise UnsafePathError(
                f"refusing to write {'/'.join(parts)} in {root}: "
                f"{'/'.join(parts[:index + 1])} is a symbolic link (to {points})",
                fix="remove the link (a repository may have committed it); nothing was written")


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass
