"""Claude Code's own session transcripts: token usage per assistant message, and API errors.

Claude Code writes one JSONL file per conversation under
`<config dir>/projects/<its working directory, every non-alphanumeric character as '-'>/`
(the config dir is `$CLAUDE_CONFIG_DIR`, else `~/.claude`). Each answer of the model is an
`assistant` line whose `message.usage` holds the tokens the API reported; one message with
several content blocks may be written as several lines carrying the same message id, so a
message is counted once. When its retries run out on an API error Claude writes a synthetic
assistant line with `isApiErrorMessage`, `error` (e.g. `rate_limit`) and `apiErrorStatus`.

Reading is incremental: a Reader keeps each file's offset, so following thirty agents reads
only what they appended since the last look. No tmux, no town: the ops layer attributes the
usage to agents, beads and rigs."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")
# A cheap test before json.loads: only assistant lines carry usage or an API error.
_ASSISTANT = b'"type":"assistant"'
_MAX_DIR_NAME = 200  # Claude shortens longer project directory names (and adds a hash)


def project_dir_name(cwd: str | os.PathLike[str]) -> str:
    """The directory Claude Code keeps a working directory's transcripts in."""
    return _NON_ALNUM.sub("-", str(cwd))


def default_config_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    explicit = env.get("CLAUDE_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return Path(env.get("HOME") or Path.home()) / ".claude"


def project_dirs(config_dir: Path, under: str | os.PathLike[str]) -> list[Path]:
    """The project directories of `config_dir` for working directories at or below `under`
    (a name is lossy, so the caller checks each line's own `cwd`)."""
    root = config_dir / "projects"
    stem = project_dir_name(Path(under))
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    out = []
    for entry in entries:
        name = entry.name
        if (name == stem or name.startswith(stem + "-")
                or (len(stem) > _MAX_DIR_NAME and name.startswith(stem[:_MAX_DIR_NAME]))):
            if entry.is_dir(follow_symlinks=False):
                out.append(Path(entry.path))
    return sorted(out)


@dataclass(frozen=True, slots=True)
class Usage:
    """One assistant message's tokens, as the API reported them."""

    ts: str  # RFC3339, UTC
    conversation: str  # Claude's session id
    cwd: str
    branch: str
    model: str
    message_id: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @property
    def context_tokens(self) -> int:
        """The size of the conversation the model read for this answer."""
        return self.input_tokens + self.cache_creation_input_tokens + \
            self.cache_read_input_tokens


@dataclass(frozen=True, slots=True)
class ApiError:
    """The error Claude gave up on (its retries spent): a rate limit, an overload…"""

    ts: str
    conversation: str
    cwd: str
    kind: str  # Claude's `error` field: rate_limit, overloaded, …
    status: int
    text: str


@dataclass(slots=True)
class FileState:
    offset: int = 0
    size: int = 0
    last_id: str = ""  # the last message id counted (its duplicates follow it at once)
    last: Usage | None = None  # the last message counted, its tokens as counted
    error: ApiError | None = None  # the last API error, cleared by a later answer
    tail: Usage | None = None  # the last real answer: the context the next one starts from


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def parse_line(raw: bytes) -> Usage | ApiError | None:
    """The usage or API error an assistant line carries; None for any other line."""
    if _ASSISTANT not in raw and b'"type": "assistant"' not in raw:
        return None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("type") != "assistant":
        return None
    message = record.get("message")
    if not isinstance(message, dict):
        return None
    ts = str(record.get("timestamp") or "")
    conversation = str(record.get("sessionId") or record.get("session_id") or "")
    cwd = str(record.get("cwd") or "")
    if record.get("isApiErrorMessage"):
        text = ""
        for block in message.get("content") or ():
            if isinstance(block, dict) and block.get("type") == "text":
                text = str(block.get("text") or "")
                break
        status = record.get("apiErrorStatus")
        return ApiError(ts, conversation, cwd, str(record.get("error") or ""),
                        status if isinstance(status, int) else 0, text[:300])
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    return Usage(ts=ts, conversation=conversation, cwd=cwd,
                 branch=str(record.get("gitBranch") or ""),
                 model=str(message.get("model") or ""),
                 message_id=str(message.get("id") or record.get("requestId") or ""),
                 input_tokens=_int(usage.get("input_tokens")),
                 output_tokens=_int(usage.get("output_tokens")),
                 cache_creation_input_tokens=_int(usage.get("cache_creation_input_tokens")),
                 cache_read_input_tokens=_int(usage.get("cache_read_input_tokens")))


def _delta(new: Usage, old: Usage) -> Usage | None:
    """A repeated message line: the tokens it adds beyond what was counted (Claude repeats
    the usage on each block's line; a later one may carry the final output count)."""
    fields = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
              "cache_read_input_tokens")
    more = {f: max(0, getattr(new, f) - getattr(old, f)) for f in fields}
    if not any(more.values()):
        return None
    # '+' marks the extra of a message already counted (it is no new message)
    return Usage(new.ts, new.conversation, new.cwd, new.branch, new.model,
                 "+" + new.message_id, **more)


def _merge(a: Usage, b: Usage) -> Usage:
    return Usage(b.ts, b.conversation, b.cwd, b.branch, b.model, b.message_id,
                 max(a.input_tokens, b.input_tokens), max(a.output_tokens, b.output_tokens),
                 max(a.cache_creation_input_tokens, b.cache_creation_input_tokens),
                 max(a.cache_read_input_tokens, b.cache_read_input_tokens))


def read_new(path: Path, state: FileState) -> list[Usage]:
    """The messages appended to `path` since `state` (which moves past them): each message
    once, the last partial line left for next time. A file that shrank is read anew."""
    try:
        size = path.stat().st_size
    except OSError:
        return []
    if size < state.offset:  # replaced or truncated: read it again from the start
        state.offset, state.last_id, state.last, state.error, state.tail = 0, "", None, None, None
    if size == state.offset:
        return []
    try:
        with open(path, "rb") as fh:
            fh.seek(state.offset)
            data = fh.read(size - state.offset)
    except OSError:
        return []
    end = data.rfind(b"\n")
    if end < 0:
        return []  # a line still being written: next time
    state.offset += end + 1
    state.size = size
    out: list[Usage] = []
    for raw in data[:end].split(b"\n"):
        found = parse_line(raw) if raw.strip() else None
        if found is None:
            continue
        if isinstance(found, ApiError):
            state.error = found
            continue
        state.error = None
        if found.message_id and found.message_id == state.last_id and state.last:
            extra = _delta(found, state.last)
            state.last = state.tail = _merge(state.last, found)
            if extra is not None:
                out.append(extra)
            continue
        state.last_id, state.last, state.tail = found.message_id, found, found
        out.append(found)
    return out


def state_to_json(state: FileState) -> str:
    def plain(value: Usage | ApiError | None) -> dict[str, Any] | None:
        return None if value is None else {f: getattr(value, f) for f in value.__slots__}

    return json.dumps({"last_id": state.last_id, "last": plain(state.last),
                       "error": plain(state.error), "tail": plain(state.tail)})


def state_from_json(offset: int, text: str) -> FileState:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}

    def make(kind: type, value: Any) -> Any:
        if not isinstance(value, dict):
            return None
        try:
            return kind(**value)
        except TypeError:
            return None

    return FileState(offset=offset, last_id=str(data.get("last_id") or ""),
                     last=make(Usage, data.get("last")), error=make(ApiError, data.get("error")),
                     tail=make(Usage, data.get("tail")))


def tail_state(path: Path, window: int = 256 * 1024) -> FileState:
    """The end of a transcript as a state: its last API error (if no answer came after it) and
    its last answer. Reads only the last `window` bytes: for a live screen, not for sums."""
    state = FileState()
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            start = max(0, size - window)
            fh.seek(start)
            data = fh.read()
    except OSError:
        return state
    if start:
        data = data[data.find(b"\n") + 1:]
    read_new_bytes(data, state)
    return state


def read_new_bytes(data: bytes, state: FileState) -> None:
    for raw in data.split(b"\n"):
        found = parse_line(raw) if raw.strip() else None
        if isinstance(found, ApiError):
            state.error = found
        elif found is not None:
            state.error = None
            state.tail = found


def transcripts(dirs: Iterable[Path]) -> Iterator[Path]:
    """Every conversation file in the given project directories (sub-agents' included)."""
    for directory in dirs:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".jsonl") and entry.is_file(follow_symlinks=False):
                yield Path(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                # Claude keeps sub-agent conversations in <session>/subagents/*.jsonl
                yield from sorted(Path(entry.path).rglob("*.jsonl"))
