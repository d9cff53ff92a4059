"""The tests' one way to run git: a fixed identity (and, for fixture towns whose ids must not
change between builds, fixed dates)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

FIXED_DATE = "2026-03-01T00:00:00Z"


def git(cwd: Path, *args: str, fixed_dates: bool = False,
        identity: tuple[str, str] = ("Test", "t@example.com")) -> str:
    name, email = identity
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    if fixed_dates:
        env |= {"GIT_AUTHOR_DATE": FIXED_DATE, "GIT_COMMITTER_DATE": FIXED_DATE}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout
