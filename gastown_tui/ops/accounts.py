"""Claude Code accounts (`gt account`): several logins, each its own CLAUDE_CONFIG_DIR.

As upstream (internal/cmd/account.go, internal/config/loader.go): `mayor/accounts.json` holds
`{"version": 1, "accounts": {handle: {email, description, config_dir}}, "default": handle}`;
an agent's account is GT_ACCOUNT, else the --account given to sling, else the default, and
its session gets `CLAUDE_CONFIG_DIR` (and `GT_QUOTA_ACCOUNT`, upstream's name for the
account a session runs on). Where we differ: `switch` changes the default for new sessions
and leaves `~/.claude` alone (upstream moves it and leaves a symlink); running sessions move
with `gt quota rotate --from <handle>`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_tui.town.errors import InvalidNameError, ValidationError
from gastown_tui.town.jsonfile import read_json, write_json
from gastown_tui.town.layout import Town

_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
VERSION = 1


@dataclass(frozen=True)
class Account:
    handle: str
    email: str = ""
    description: str = ""
    config_dir: str = ""
    is_default: bool = False

    @property
    def path(self) -> Path:
        return Path(os.path.expanduser(self.config_dir))

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"handle": self.handle, "email": self.email}
        if self.description:
            out["description"] = self.description
        out.update({"config_dir": self.config_dir, "is_default": self.is_default})
        return out


def accounts_path(town: Town) -> Path:
    return town.mayor_dir / "accounts.json"


def validate_handle(handle: str) -> str:
    if not _HANDLE.match(handle or ""):
        raise InvalidNameError(f"invalid account handle {handle!r}: letters, digits, '.', '-' "
                               "and '_' only", fix="pick a simple handle such as 'work'")
    return handle


def _load(town: Town) -> dict[str, Any]:
    data = read_json(accounts_path(town), None) or {}
    if not isinstance(data, dict):
        data = {}
    accounts = data.get("accounts")
    data["accounts"] = accounts if isinstance(accounts, dict) else {}
    data.setdefault("default", "")
    data["version"] = VERSION
    return data


def accounts(town: Town) -> list[Account]:
    data = _load(town)
    out = []
    for handle in sorted(data["accounts"]):
        entry = data["accounts"][handle] or {}
        out.append(Account(handle, str(entry.get("email") or ""),
                           str(entry.get("description") or ""),
                           str(entry.get("config_dir") or ""), handle == data["default"]))
    return out


def account(town: Town, handle: str) -> Account:
    for found in accounts(town):
        if found.handle == handle:
            return found
    known = ", ".join(a.handle for a in accounts(town)) or "none yet"
    raise ValidationError(f"account {handle!r} not found (accounts: {known})",
                          fix="see 'gt account list', or add it with 'gt account add'")


def default_base_dir() -> Path:
    return Path.home() / ".claude-accounts"


def add(town: Town, handle: str, *, email: str = "", description: str = "",
        config_dir: str | None = None) -> Account:
    """Register an account; its config dir (default ~/.claude-accounts/<handle>) is made. The
    first account becomes the default."""
    validate_handle(handle)
    data = _load(town)
    if handle in data["accounts"]:
        raise ValidationError(f"account {handle!r} already exists",
                              fix="pick another handle, or see 'gt account list'")
    directory = Path(os.path.expanduser(config_dir)) if config_dir else default_base_dir() / handle
    directory = directory.absolute()
    directory.mkdir(parents=True, exist_ok=True)
    data["accounts"][handle] = {"email": email, "description": description,
                                "config_dir": str(directory)}
    if not data["default"]:
        data["default"] = handle
    write_json(accounts_path(town), data)
    return account(town, handle)


def set_default(town: Town, handle: str) -> Account:
    data = _load(town)
    account(town, handle)
    data["default"] = handle
    write_json(accounts_path(town), data)
    return account(town, handle)


def resolve(town: Town, flag: str | None = None,
            env: dict[str, str] | None = None) -> Account | None:
    """The account a new session runs on: GT_ACCOUNT, then `flag`, then the default; None when
    the town has no accounts (the session uses the user's own ~/.claude)."""
    env = os.environ if env is None else env
    listed = {a.handle: a for a in accounts(town)}
    if not listed:
        if flag:
            raise ValidationError(f"account {flag!r} not found (no accounts configured)",
                                  fix="add one first: gt account add <handle>")
        return None
    for source, handle in (("GT_ACCOUNT", env.get("GT_ACCOUNT")), ("--account", flag)):
        if handle:
            if handle not in listed:
                raise ValidationError(f"{source} {handle!r} is not an account here "
                                      f"(accounts: {', '.join(listed)})",
                                      fix="see 'gt account list'")
            return listed[handle]
    return next((a for a in listed.values() if a.is_default), None)


def config_dirs(town: Town) -> list[Path]:
    """Every Claude config dir the town's agents may write transcripts to: the user's own
    (CLAUDE_CONFIG_DIR, else ~/.claude) and each account's."""
    from gastown_tui.runtimes.transcripts import default_config_dir

    seen: list[Path] = []
    for path in (default_config_dir(), *(a.path for a in accounts(town))):
        if path not in seen:
            seen.append(path)
    return seen


def session_env(found: Account | None) -> dict[str, str]:
    """What a Claude session on `found` gets in its environment."""
    if found is None:
        return {}
    return {"CLAUDE_CONFIG_DIR": str(found.path), "GT_QUOTA_ACCOUNT": found.handle}


def handle_for_dir(town: Town, config_dir: str) -> str:
    """The account whose config dir this is ('' for the user's own or an unknown one)."""
    wanted = os.path.realpath(os.path.expanduser(config_dir)) if config_dir else ""
    for found in accounts(town):
        if wanted and os.path.realpath(found.path) == wanted:
            return found.handle
    return ""
