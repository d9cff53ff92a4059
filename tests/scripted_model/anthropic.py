"""Anthropic's Messages API as Claude Code calls it: POST /v1/messages, streamed as SSE,
its shell tool `Bash` with input {"command", "description"}."""

from __future__ import annotations

import itertools
import json
from typing import Any

from tests.scripted_model.script import Request, Turn

_ids = itertools.count(1)


def _text_of(content: Any) -> tuple[str, list[str]]:
    """(text, tool results) of a message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    results: list[str] = []
    for block in content or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_result":
            inner, _ = _text_of(block.get("content"))
            results.append(inner)
            texts.append(inner)
        elif kind == "tool_use":
            texts.append(json.dumps(block.get("input", {})))
    return "\n".join(texts), results


class AnthropicDialect:
    shell_tool = "Bash"

    def parse(self, method: str, path: str, headers: dict[str, str], body: Any) -> Request:
        request = Request(method, path, headers, body)
        if method != "POST" or not isinstance(body, dict) or "/messages" not in path:
            return request
        system = body.get("system") or ""
        request.system = system if isinstance(system, str) else _text_of(system)[0]
        for message in body.get("messages") or []:
            text, results = _text_of(message.get("content"))
            request.messages.append((message.get("role", ""), text))
            request.tool_results += results
        tools = {t.get("name") for t in body.get("tools") or []}
        request.main = self.shell_tool in tools and not path.endswith("count_tokens")
        lowered = {k.lower(): v for k, v in headers.items()}
        request.conversation = lowered.get("x-claude-code-session-id", "")
        return request

    def respond(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method != "POST":
            return 200, [], b""
        if request.path.split("?")[0].endswith("count_tokens"):
            return self._json(200, {"input_tokens": max(1, len(request.text) // 4)})
        turn = request.answer or Turn(text="OK")
        if turn.status != 200:
            return self._json(turn.status, {"type": "error", "error": {
                "type": "rate_limit_error" if turn.status == 429 else "api_error",
                "message": turn.error}}, list(turn.headers))
        blocks: list[dict[str, Any]] = []
        if turn.text:
            blocks.append({"type": "text", "text": turn.text})
        if turn.shell is not None:
            blocks.append({"type": "tool_use", "id": f"toolu_{next(_ids):06d}",
                           "name": self.shell_tool,
                           "input": {"command": turn.shell, "description": "scripted step"}})
        if not blocks:
            blocks.append({"type": "text", "text": "OK"})
        stop = "tool_use" if turn.shell is not None else "end_turn"
        message = {"id": f"msg_{next(_ids):06d}", "type": "message", "role": "assistant",
                   "model": body.get("model", "scripted"), "content": blocks,
                   "stop_reason": stop, "stop_sequence": None,
                   "usage": {"input_tokens": turn.usage[0], "output_tokens": turn.usage[1]}}
        if not body.get("stream"):
            return self._json(200, message)
        return 200, [("Content-Type", "text/event-stream")], self._sse(message)

    @staticmethod
    def _json(status: int, data: Any, headers: list[tuple[str, str]] | None = None
              ) -> tuple[int, list[tuple[str, str]], bytes]:
        return status, [("Content-Type", "application/json"), *(headers or [])], \
            json.dumps(data).encode()

    @staticmethod
    def _sse(message: dict[str, Any]) -> bytes:
        events: list[tuple[str, dict[str, Any]]] = [("message_start", {
            "type": "message_start",
            "message": {**message, "content": [], "stop_reason": None,
                        "usage": {**message["usage"], "output_tokens": 0}}})]
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                events += [
                    ("content_block_start", {"type": "content_block_start", "index": index,
                                             "content_block": {"type": "text", "text": ""}}),
                    ("content_block_delta", {"type": "content_block_delta", "index": index,
                                             "delta": {"type": "text_delta",
                                                       "text": block["text"]}})]
            else:
                events += [
                    ("content_block_start", {"type": "content_block_start", "index": index,
                                             "content_block": {**block, "input": {}}}),
                    ("content_block_delta", {"type": "content_block_delta", "index": index,
                                             "delta": {"type": "input_json_delta",
                                                       "partial_json": json.dumps(
                                                           block["input"])}})]
            events.append(("content_block_stop", {"type": "content_block_stop",
                                                  "index": index}))
        events += [("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": message["stop_reason"],
                                                "stop_sequence": None},
                                      "usage": {"output_tokens":
                                                message["usage"]["output_tokens"]}}),
                   ("message_stop", {"type": "message_stop"})]
        return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n"
                       for name, data in events).encode()
