"""The loopback HTTP server: routes each request through a dialect, answers main requests
from the scripts, side requests from the dialect's defaults, and logs everything."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.scripted_model.anthropic import AnthropicDialect
from tests.scripted_model.script import Request, Script, Step, Turn

IDLE = Turn(text="Done for now.")  # what a main request gets once no script has a turn


class ScriptedModel:
    """`with ScriptedModel() as model:` serves on 127.0.0.1 at `model.url`."""

    def __init__(self, dialect: Any | None = None, default: Turn = IDLE) -> None:
        self.dialect = dialect or AnthropicDialect()
        self.default = default
        self.requests: list[Request] = []
        self.scripts: list[Script] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self._server: http.server.ThreadingHTTPServer | None = None

    # ----------------------------------------------------------------- scripts
    def script(self, match: Callable[[Request], bool] | str, *steps: Step) -> Script:
        """Steps for the main requests matching `match` (a predicate, or a substring of the
        agent's working directory)."""
        if isinstance(match, str):
            needle = match
            match = lambda request: needle in request.cwd  # noqa: E731
        script = Script(match, list(steps))
        with self.lock:
            self.scripts.append(script)
        return script

    def answer(self, request: Request) -> Turn:
        with self.lock:
            for script in self.scripts:
                if script.match(request):
                    turn = script.next_turn(request)
                    if turn is not None:
                        return turn
            return self.default

    # ----------------------------------------------------------------- log
    def record(self, request: Request) -> None:
        with self.changed:
            self.requests.append(request)
            self.changed.notify_all()

    def main_requests(self, match: Callable[[Request], bool] | str | None = None
                      ) -> list[Request]:
        with self.lock:
            found = [r for r in self.requests if r.main]
        if isinstance(match, str):
            return [r for r in found if match in r.cwd]
        return [r for r in found if match is None or match(r)]

    def wait_for(self, condition: Callable[[Request], bool], timeout: float = 60.0,
                 what: str = "a request") -> Request:
        """The first logged request meeting `condition`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for request in self.requests:
                    if condition(request):
                        return request
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "; ".join(f"{r.method} {r.path} main={r.main} cwd={r.cwd}"
                                     for r in self.requests[-8:])
                    raise AssertionError(f"timed out after {timeout}s waiting for {what} "
                                         f"(last requests: {seen or 'none'})")
                self.changed.wait(min(left, 0.5))

    # ----------------------------------------------------------------- server
    @property
    def url(self) -> str:
        assert self._server is not None, "start the model first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ScriptedModel:
        model = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> Any:
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size) if size else b""
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return raw.decode("utf-8", "replace")

            def _handle(self) -> None:
                body = self._body() if self.command in ("POST", "PUT") else None
                request = model.dialect.parse(self.command, self.path, dict(self.headers), body)
                if request.main:
                    request.answer = model.answer(request)
                model.record(request)
                status, headers, payload = model.dialect.respond(request)
                if request.answer is not None and request.answer.delay:
                    time.sleep(request.answer.delay)
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_PUT = _handle

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="scripted-model",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
