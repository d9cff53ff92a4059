"""Google's Gemini API as Gemini CLI calls it (GOOGLE_GEMINI_BASE_URL): the conversation on
POST /v1beta/models/<model>:streamGenerateContent?alt=sse (each SSE event one
GenerateContentResponse, the last with finishReason and usageMetadata), its shell tool
`run_shell_command` with args {"command", "description"}, tool results as functionResponse
parts. Side requests go to :generateContent without tools and expect JSON shaped by their
responseJsonSchema (a router's complexity score, a next-speaker check): they are answered from
the schema, without consuming the script; :countTokens gets an estimate."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.scripted_model.script import Request, Turn


def _json(status: int, data: Any, headers: list[tuple[str, str]] | None = None
          ) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json"), *(headers or [])], \
        json.dumps(data).encode()


def _parts_text(parts: Any) -> tuple[str, list[str]]:
    """(text, tool results) of a content's parts."""
    texts: list[str] = []
    results: list[str] = []
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str) and not part.get("thought"):
            texts.append(part["text"])
        elif "functionResponse" in part:
            response = (part["functionResponse"] or {}).get("response")
            inner = (response.get("output") or response.get("error") or json.dumps(response)
                     if isinstance(response, dict) else str(response))
            results.append(str(inner))
            texts.append(str(inner))
        elif "functionCall" in part:
            texts.append(json.dumps((part["functionCall"] or {}).get("args", {})))
    return "\n".join(texts), results


def from_schema(schema: Any) -> Any:
    """A small value a JSON schema accepts (the side requests' answers): enums take 'user'
    where it is allowed (the next speaker), numbers a low score, strings a word."""
    if not isinstance(schema, dict):
        return "scripted"
    kind = str(schema.get("type", "object")).lower()
    if schema.get("enum"):
        return "user" if "user" in schema["enum"] else schema["enum"][0]
    if kind == "object":
        props = schema.get("properties") or {}
        return {key: from_schema(value) for key, value in props.items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 10
    if kind == "boolean":
        return False
    return "scripted"


class GeminiDialect:
    shell_tool = "run_shell_command"

    def parse(self, method: str, path: str, headers: dict[str, str], body: Any) -> Request:
        request = Request(method, path, headers, body)
        if method != "POST" or not isinstance(body, dict) or "/models/" not in path:
            return request
        system = body.get("systemInstruction") or {}
        request.system = _parts_text(system.get("parts") if isinstance(system, dict)
                                     else [])[0]
        for content in body.get("contents") or []:
            text, results = _parts_text(content.get("parts"))
            role = content.get("role", "")
            request.messages.append(("assistant" if role == "model" else role, text))
            request.tool_results += results
        names = {decl.get("name") for tool in body.get("tools") or []
                 for decl in tool.get("functionDeclarations") or []}
        request.main = self.shell_tool in names and "streamGenerateContent" in path
        # Gemini CLI sends no session header: the first user content (its session context
        # and the first prompt) is the same on every request of one conversation.
        contents = body.get("contents") or []
        if contents:
            first = _parts_text(contents[0].get("parts"))[0][:4000]
            request.conversation = hashlib.sha1(first.encode()).hexdigest()[:16]
        return request

    def respond(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method != "POST":
            return _json(200, {"models": []})
        path = request.path.split("?")[0]
        if path.endswith(":countTokens"):
            return _json(200, {"totalTokens": max(1, len(request.text) // 4)})
        turn = request.answer
        if turn is None:
            config = body.get("generationConfig") or {}
            schema = config.get("responseJsonSchema") or config.get("responseSchema")
            text = json.dumps(from_schema(schema)) if schema else "Scripted"
            turn = Turn(text=text)
        if turn.status != 200:
            status = "RESOURCE_EXHAUSTED" if turn.status == 429 else "INTERNAL"
            return _json(turn.status, {"error": {"code": turn.status, "message": turn.error,
                                                 "status": status}}, list(turn.headers))
        parts: list[dict[str, Any]] = []
        if turn.text:
            parts.append({"text": turn.text})
        if turn.shell is not None:
            parts.append({"functionCall": {"name": self.shell_tool, "args": {
                "command": turn.shell, "description": "scripted step"}}})
        if not parts:
            parts.append({"text": "OK"})
        inp, out = turn.usage
        usage = {"promptTokenCount": inp, "candidatesTokenCount": out,
                 "totalTokenCount": inp + out}
        model = path.rsplit("/", 1)[-1].split(":")[0]
        final = {"candidates": [{"content": {"role": "model", "parts": parts},
                                 "finishReason": "STOP", "index": 0}],
                 "usageMetadata": usage, "modelVersion": model}
        if "streamGenerateContent" not in path:
            return _json(200, final)
        return 200, [("Content-Type", "text/event-stream")], \
            f"data: {json.dumps(final)}\n\n".encode()
