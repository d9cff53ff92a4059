"""OpenAI's two APIs as the agent CLIs call them.

- The Responses API (Codex, `wire_api = "responses"`): POST /v1/responses streamed as SSE
  (response.created, output_item.added/done, output_text.delta, response.completed with the
  token usage); its shell tool is `exec_command` with `{"cmd"}`; tool results come back as
  `function_call_output` items. Codex's side requests (a thread title, compaction) offer no
  shell tool.
- Chat Completions (OpenCode through `@ai-sdk/openai-compatible`): POST /v1/chat/completions
  streamed as `chat.completion.chunk` SSE ending in `[DONE]`, the usage in a last chunk
  (`stream_options.include_usage`); its shell tool is `bash` with `{"command",
  "description"}`; tool results come back as `role: "tool"` messages. Its title request
  offers no tools."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.scripted_model.script import Request, Turn

_ids = itertools.count(1)


def _json(status: int, data: Any, headers: list[tuple[str, str]] | None = None
          ) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json"), *(headers or [])], \
        json.dumps(data).encode()


def _error(turn: Turn) -> tuple[int, list[tuple[str, str]], bytes]:
    kind = "rate_limit_exceeded" if turn.status == 429 else "server_error"
    return _json(turn.status, {"error": {"type": kind, "code": kind, "message": turn.error}},
                 list(turn.headers))


def _sse(events: list[tuple[str | None, Any]]) -> bytes:
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}\n" if name else "") + f"data: {payload}\n\n")
    return "".join(out).encode()


def _content_text(content: Any) -> str:
    """The text of a message's content: a string, or a list of text parts of any type."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        if isinstance(part, dict):
            text = part.get("text")
            if isinstance(text, str):
                parts.append(text)
        elif isinstance(part, str):
            parts.append(part)
    return "\n".join(parts)


class ResponsesDialect:
    """Codex CLI's wire: the Responses API."""

    shell_tool = "exec_command"

    def parse(self, method: str, path: str, headers: dict[str, str], body: Any) -> Request:
        request = Request(method, path, headers, body)
        if method != "POST" or not isinstance(body, dict) or "/responses" not in path:
            return request
        instructions = body.get("instructions") or ""
        developer: list[str] = [instructions] if instructions else []
        for item in body.get("input") or []:
            kind = item.get("type", "message")
            if kind == "message":
                text = _content_text(item.get("content"))
                role = item.get("role", "")
                if role in ("developer", "system"):
                    developer.append(text)
                else:
                    request.messages.append((role, text))
            elif kind == "function_call_output":
                output = item.get("output")
                text = output if isinstance(output, str) else _content_text(output)
                request.tool_results.append(text)
                request.messages.append(("tool", text))
            elif kind == "function_call":
                request.messages.append(("assistant", str(item.get("arguments", ""))))
        request.system = "\n".join(developer)
        tools = {t.get("name") for t in body.get("tools") or []}
        request.main = bool(tools & {"exec_command", "shell", "shell_command"})
        lowered = {k.lower(): v for k, v in headers.items()}
        request.conversation = (lowered.get("session-id") or lowered.get("session_id")
                                or str(body.get("prompt_cache_key") or ""))
        return request

    @staticmethod
    def _shell_call(request: Request, command: str) -> tuple[str, dict[str, Any]]:
        """The call of whichever shell tool this Codex offers (newer ones: exec_command)."""
        body = request.body if isinstance(request.body, dict) else {}
        tools = {t.get("name") for t in body.get("tools") or []}
        if "exec_command" in tools:
            return "exec_command", {"cmd": command}
        if "shell_command" in tools:
            return "shell_command", {"command": command}
        return "shell", {"command": ["bash", "-lc", command]}

    def respond(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method != "POST":
            return _json(200, {"object": "list", "data": []})
        turn = request.answer or Turn(text="Scripted title" if not request.main else "OK")
        if turn.status != 200:
            return _error(turn)
        items: list[dict[str, Any]] = []
        if turn.text:
            items.append({"type": "message", "id": f"msg_{next(_ids):06d}", "role": "assistant",
                          "status": "completed",
                          "content": [{"type": "output_text", "text": turn.text,
                                       "annotations": []}]})
        if turn.shell is not None:
            name, args = self._shell_call(request, turn.shell)
            items.append({"type": "function_call", "id": f"fc_{next(_ids):06d}",
                          "call_id": f"call_{next(_ids):06d}", "name": name,
                          "arguments": json.dumps(args), "status": "completed"})
        if not items:
            items.append({"type": "message", "id": f"msg_{next(_ids):06d}", "role": "assistant",
                          "status": "completed",
                          "content": [{"type": "output_text", "text": "OK", "annotations": []}]})
        inp, out = turn.usage
        response = {"id": f"resp_{next(_ids):06d}", "object": "response",
                    "created_at": int(time.time()), "model": body.get("model", "scripted"),
                    "status": "in_progress", "output": []}
        events: list[tuple[str | None, Any]] = [
            ("response.created", {"type": "response.created", "response": response})]
        for index, item in enumerate(items):
            events.append(("response.output_item.added", {
                "type": "response.output_item.added", "output_index": index,
                "item": {**item, "status": "in_progress",
                         **({"content": []} if item["type"] == "message" else {})}}))
            if item["type"] == "message":
                events.append(("response.output_text.delta", {
                    "type": "response.output_text.delta", "item_id": item["id"],
                    "output_index": index, "content_index": 0,
                    "delta": item["content"][0]["text"]}))
            events.append(("response.output_item.done", {
                "type": "response.output_item.done", "output_index": index, "item": item}))
        events.append(("response.completed", {"type": "response.completed", "response": {
            **response, "status": "completed", "output": items,
            "usage": {"input_tokens": inp, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": inp + out}}}))
        return 200, [("Content-Type", "text/event-stream")], _sse(events)


class ChatCompletionsDialect:
    """OpenCode's wire through @ai-sdk/openai-compatible: Chat Completions."""

    shell_tool = "bash"

    def parse(self, method: str, path: str, headers: dict[str, str], body: Any) -> Request:
        request = Request(method, path, headers, body)
        if method != "POST" or not isinstance(body, dict) or "/chat/completions" not in path:
            return request
        system: list[str] = []
        for message in body.get("messages") or []:
            role = message.get("role", "")
            text = _content_text(message.get("content"))
            if role == "system":
                system.append(text)
                continue
            if role == "tool":
                request.tool_results.append(text)
            for call in message.get("tool_calls") or []:
                text += "\n" + str((call.get("function") or {}).get("arguments", ""))
            request.messages.append((role, text))
        request.system = "\n".join(system)
        tools = {(t.get("function") or {}).get("name") for t in body.get("tools") or []}
        request.main = self.shell_tool in tools
        lowered = {k.lower(): v for k, v in headers.items()}
        request.conversation = lowered.get("x-session-affinity", "")
        return request

    def respond(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method != "POST":
            return _json(200, {"object": "list", "data": []})
        turn = request.answer or Turn(text="Scripted title" if not request.main else "OK")
        if turn.status != 200:
            return _error(turn)
        ident = f"chatcmpl-{next(_ids):06d}"
        model = body.get("model", "scripted")
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict:
            return {"id": ident, "object": "chat.completion.chunk", "created": created,
                    "model": model, "choices": [{"index": 0, "delta": delta,
                                                 "finish_reason": finish}], **extra}

        text = turn.text or ("" if turn.shell is not None else "OK")
        chunks = [chunk({"role": "assistant", "content": ""})]
        if text:
            chunks.append(chunk({"content": text}))
        if turn.shell is not None:
            chunks.append(chunk({"tool_calls": [{
                "index": 0, "id": f"call_{next(_ids):06d}", "type": "function",
                "function": {"name": self.shell_tool, "arguments": json.dumps(
                    {"command": turn.shell, "description": "scripted step"})}}]}))
        chunks.append(chunk({}, "tool_calls" if turn.shell is not None else "stop"))
        inp, out = turn.usage
        chunks.append({"id": ident, "object": "chat.completion.chunk", "created": created,
                       "model": model, "choices": [],
                       "usage": {"prompt_tokens": inp, "completion_tokens": out,
                                 "total_tokens": inp + out}})
        events: list[tuple[str | None, Any]] = [(None, c) for c in chunks]
        events.append((None, "[DONE]"))
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            return _json(200, {"id": ident, "object": "chat.completion", "created": created,
                               "model": model, "choices": [{"index": 0, "message": message,
                                                            "finish_reason": "stop"}],
                               "usage": chunks[-1]["usage"]})
        return 200, [("Content-Type", "text/event-stream")], _sse(events)
