"""The bead store's write-ahead log: checkpoint it, and read its frames the way SQLite does.

SQLite's promise in WAL mode is exactly this: a commit is durable once its frames are in the
`-wal` file, and on the next open SQLite replays the frames up to the last commit whose frame
checksums all hold. A frame that fails its checksum ends the log right there, silently: every
commit after it is gone, and `PRAGMA integrity_check` cannot notice (the database it sees is
consistent; it is merely older). So we keep the WAL short (checkpoint TRUNCATE at `gt down`,
`gt shutdown` and from the Deacon) and `gt doctor` reads the frames itself: the file format is
public (https://www.sqlite.org/fileformat.html#the_write_ahead_log).

Layout: a 32-byte header (magic 0x377f0682/3, version, page size, checkpoint sequence, salt-1,
salt-2, checksum-1, checksum-2), then frames of a 24-byte header (page number, database size
after commit or 0, salt-1, salt-2, checksum-1, checksum-2) and one page. Checksums run over
32-bit words in the byte order the magic names, cumulatively from the header on."""

from __future__ import annotations

import os
import sqlite3
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

WAL_HEADER = 32
FRAME_HEADER = 24
MAGIC_LE, MAGIC_BE = 0x377F0682, 0x377F0683


def wal_path(db_path: Path) -> Path:
    return Path(str(db_path) + "-wal")


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    words = struct.unpack((">" if big_endian else "<") + f"{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


@dataclass
class WalReport:
    """What the WAL holds and what SQLite will make of it."""

    path: str
    size: int = 0
    modified: str = ""  # the WAL's mtime, RFC 3339 (its last write)
    page_size: int = 0
    frames: int = 0  # whole frames of this WAL generation (its salts)
    valid_frames: int = 0  # frames up to the last commit that replays
    commits: int = 0  # commits that replay
    first_bad_frame: int = 0  # 1-based; 0 when every frame of the generation holds
    lost_commits: int = 0  # commit frames after the first bad frame: committed, yet not replayed
    lost_frames: int = 0
    header_problem: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        """Committed work SQLite will not replay (a torn, never-committed tail is no damage)."""
        return bool(self.lost_commits or self.header_problem)

    def describe(self) -> str:
        if self.header_problem:
            return (f"{Path(self.path).name}: {self.header_problem}: none of its {self.size} "
                    f"bytes (written up to {self.modified}) will be replayed")
        if not self.frames:
            return f"{Path(self.path).name}: empty"
        base = (f"{Path(self.path).name}: {self.frames} frame(s), {self.commits} commit(s) "
                "replay")
        if not self.first_bad_frame:
            return base
        lost = (f"; frame {self.first_bad_frame} fails its checksum, so the "
                f"{self.lost_commits} commit(s) in the {self.lost_frames} frame(s) from there "
                f"are lost (written before {self.modified}, after the last checkpoint)")
        return base + (lost if self.lost_commits else
                       f"; frame {self.first_bad_frame} on is an unfinished write (no commit "
                       "in it; nothing committed is lost)")


def _commit_frames(data: bytes) -> int:
    """Commit frames in a WAL whose header cannot be trusted (page size guessed from it, else
    the default 4096): what SQLite will ignore along with the rest."""
    try:
        page_size = struct.unpack(">I", data[8:12])[0]
    except struct.error:
        return 0
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        page_size = 4096
    frame_size = FRAME_HEADER + page_size
    return sum(1 for start in range(WAL_HEADER, len(data) - frame_size + 1, frame_size)
               if struct.unpack(">I", data[start + 4:start + 8])[0])


def inspect_wal(db_path: Path) -> WalReport:
    """Read the WAL next to `db_path` frame by frame, as SQLite's recovery would."""
    path = wal_path(db_path)
    report = WalReport(str(path))
    try:
        data = path.read_bytes()
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return report
    report.size = len(data)
    report.modified = datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not data:
        return report
    if len(data) < WAL_HEADER:
        report.header_problem = f"its header is cut short ({len(data)} bytes)"
        return report
    report.lost_commits = _commit_frames(data)  # until the header proves good
    magic, version, page_size, _seq, salt1, salt2, ck1, ck2 = struct.unpack(">8I",
                                                                           data[:WAL_HEADER])
    if magic not in (MAGIC_LE, MAGIC_BE):
        report.header_problem = f"its header has a bad magic number ({magic:#x})"
        return report
    big = magic == MAGIC_BE
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        report.header_problem = f"its header names an impossible page size ({page_size})"
        return report
    report.page_size = page_size
    s0, s1 = _checksum(data[:24], 0, 0, big)
    if (s0, s1) != (ck1, ck2):
        report.header_problem = "its header fails its checksum"
        return report
    report.lost_commits = 0
    if version != 3007000:
        report.notes.append(f"unknown WAL format version {version}")
    frame_size = FRAME_HEADER + page_size
    count = (len(data) - WAL_HEADER) // frame_size
    headers = [struct.unpack(">6I", data[WAL_HEADER + i * frame_size:
                                         WAL_HEADER + i * frame_size + FRAME_HEADER])
               for i in range(count)]
    # This generation's frames run from the first to the last one carrying the header's salts;
    # beyond it lie an older generation's leftovers (the log ends there by design). A frame
    # inside that run with other salts is damage, like a failed checksum.
    current = [i for i, h in enumerate(headers) if (h[2], h[3]) == (salt1, salt2)]
    report.frames = current[-1] + 1 if current else 0
    for index in range(report.frames):
        _page, commit_size, fsalt1, fsalt2, fck1, fck2 = headers[index]
        number = index + 1
        if not report.first_bad_frame:
            start = WAL_HEADER + index * frame_size
            s0, s1 = _checksum(data[start:start + 8], s0, s1, big)
            s0, s1 = _checksum(data[start + FRAME_HEADER:start + frame_size], s0, s1, big)
            if (fsalt1, fsalt2) == (salt1, salt2) and (s0, s1) == (fck1, fck2):
                if commit_size:
                    report.commits += 1
                    report.valid_frames = number
                continue
            report.first_bad_frame = number
        report.lost_frames += 1
        if commit_size:
            report.lost_commits += 1
    if report.first_bad_frame == 0 and report.valid_frames < report.frames:
        report.notes.append(f"{report.frames - report.valid_frames} frame(s) after the last "
                            "commit: a write in progress or cut short (nothing committed)")
    return report


def checkpoint(db_path: Path, *, busy_timeout_ms: int = 5000) -> tuple[bool, int]:
    """Copy every committed frame into the database and truncate the WAL to zero bytes
    (TRUNCATE): what is at rest is then in the main file alone, where a flipped byte is found
    by integrity_check instead of silently ending the log. Returns (done, frames checkpointed);
    not done when a reader or writer held on past the timeout (try again later)."""
    if not Path(db_path).exists():
        return False, 0
    db = sqlite3.connect(str(db_path), timeout=busy_timeout_ms / 1000, isolation_level=None)
    try:
        db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        busy, _log, done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0, max(0, int(done))
    finally:
        db.close()


def wal_bytes(db_path: Path) -> int:
    try:
        return os.stat(wal_path(db_path)).st_size
    except FileNotFoundError:
        return 0
