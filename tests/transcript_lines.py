"""Claude Code transcript lines as version 2.1.332 writes them (read from its real files under
the scripted model: tests/test_real_claude_costs.py), for tests that need exact control."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gastown_tui.runtimes.transcripts import project_dir_name


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass
class Transcript:
    """One conversation's JSONL file under `config_dir`/projects/<cwd as Claude names it>/."""

    config_dir: Path
    cwd: Path
    branch: str = "main"
    conversation: str = field(default_factory=lambda: str(uuid.uuid4()))
    model: str = "claude-opus-5-5"

    @property
    def path(self) -> Path:
        return self.config_dir / "projects" / project_dir_name(self.cwd) / \
            f"{self.conversation}.jsonl"

    def _base(self, at: datetime, kind: str) -> dict:
        return {"parentUuid": str(uuid.uuid4()), "isSidechain": False, "type": kind,
                "uuid": str(uuid.uuid4()), "timestamp": stamp(at), "userType": "external",
                "entrypoint": "cli", "cwd": str(self.cwd), "sessionId": self.conversation,
                "version": "2.1.332", "gitBranch": self.branch}

    def write(self, *records: dict, partial: str = "") -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            fh.write(partial)

    def user(self, at: datetime, text: str = "go on") -> dict:
        return {**self._base(at, "user"), "message": {"role": "user", "content": text}}

    def answer(self, at: datetime, msg_id: str, tokens: tuple[int, int, int, int] = (0, 0, 0, 0),
               text: str = "ok") -> dict:
        """An assistant line: tokens = (input, output, cache creation, cache read)."""
        usage = {"input_tokens": tokens[0], "cache_creation_input_tokens": tokens[2],
                 "cache_read_input_tokens": tokens[3], "output_tokens": tokens[1],
                 "output_tokens_details": {"thinking_tokens": 0},
                 "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                 "service_tier": "standard"}
        return {**self._base(at, "assistant"), "requestId": f"req_{msg_id}",
                "message": {"id": msg_id, "type": "message", "role": "assistant",
                            "model": self.model, "content": [{"type": "text", "text": text}],
                            "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}}

    def api_error(self, at: datetime, kind: str = "rate_limit", status: int = 429,
                  text: str = "API Error: Request rejected (429) · rate limited") -> dict:
        zero = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0}
        return {**self._base(at, "assistant"),
                "message": {"id": str(uuid.uuid4()), "model": "<synthetic>", "role": "assistant",
                            "type": "message", "usage": zero, "stop_reason": "stop_sequence",
                            "content": [{"type": "text", "text": text}]},
                "apiErrorIsTransient": False, "error": kind, "isApiErrorMessage": True,
                "apiErrorStatus": status, "apiErrorType": "rate_limit_error"}
