"""`gastown-tui serve`: the real textual-serve server, run as a process on a free port.

Safe by default: 127.0.0.1 only, and no page, asset or websocket without the token."""

from __future__ import annotations

import asyncio
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gastown_tui.app.serve import (
    TOKEN_ENV,
    is_loopback,
    resolve_token,
    served_argv,
    served_command,
    token_matches,
)
from gastown_tui.town.errors import GasTownError
from tests.waiting import wait_for

pytest.importorskip("textual_serve")
aiohttp = pytest.importorskip("aiohttp")

BIN = Path(sys.executable).parent
URL_LINE = re.compile(r"at (http://(?P<host>[^:/]+):(?P<port>\d+))/\?token=(?P<token>\S+)")


@dataclass
class Served:
    proc: subprocess.Popen[str]
    base: str
    host: str
    port: int
    token: str
    stderr_lines: list[str]


def _read_line(proc: subprocess.Popen[str], stream, what: str) -> str:
    """The next line of `stream`, polling so a stuck server fails the test instead of hanging."""
    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}): {proc.stderr.read()}")
        return bool(select.select([stream], [], [], 0)[0])

    wait_for(ready, timeout=20, what=what)
    return stream.readline()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _start(town: Path, env: dict[str, str], *args: str, warn: bool = False) -> Served:
    proc = subprocess.Popen([str(BIN / "gastown-tui"), "serve", "--town", str(town),
                             "--port", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=town)
    try:
        stderr_lines = [_read_line(proc, proc.stderr, "the warning")] if warn else []
        line = _read_line(proc, proc.stdout, "the startup line")
        match = URL_LINE.search(line)
        assert match, line
    except BaseException:
        _stop(proc)
        raise
    return Served(proc, match[1], match["host"], int(match["port"]), match["token"],
                  stderr_lines)


@pytest.fixture
def served(town: Path, clean_env: dict[str, str]) -> Iterator[Served]:
    server = _start(town, clean_env)
    try:
        yield server
    finally:
        _stop(server.proc)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(), dict(error.headers)


def _ws_status(url: str, headers: dict[str, str]) -> int:
    """101 if the websocket handshake succeeds (then closes it), else the HTTP status."""
    async def attempt() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(url, headers=headers, timeout=aiohttp.ClientWSTimeout(ws_receive=10)):
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    return asyncio.run(attempt())


# --- over HTTP, against the real server -------------------------------------------------------


def test_default_bind_is_loopback_and_the_url_carries_the_token(served: Served):
    assert served.host == "127.0.0.1"
    assert len(served.token) >= 32  # secrets.token_urlsafe(24)
    with socket.create_connection(("127.0.0.1", served.port), timeout=5):
        pass
    other = _non_loopback_address()
    if other is None:
        pytest.skip("this machine has no non-loopback address to try")
    with pytest.raises(OSError), socket.create_connection((other, served.port), timeout=5):
        pass


def test_no_token_is_refused_everywhere(served: Served):
    for path in ("/", "/static/js/textual.js", "/download/x", "/no-such-page"):
        status, body, headers = get(served.base + path)
        assert status == 401, path
        assert "token is required" in body
        assert "Set-Cookie" not in headers
    assert _ws_status(served.base.replace("http:", "ws:") + "/ws", {}) == 401


def test_wrong_token_is_refused(served: Served):
    wrong = "x" * len(served.token)
    cookie = f"gastown_serve_{served.port}"
    for url, headers in ((f"{served.base}/?token={wrong}", {}),
                         (f"{served.base}/", {"Authorization": f"Bearer {wrong}"}),
                         (f"{served.base}/", {"Cookie": f"{cookie}={wrong}"}),
                         (f"{served.base}/?token={served.token[:-1]}", {})):
        status, body, _ = get(url, headers)
        assert status == 403, (url, headers)
        assert body.strip() == "gastown-tui serve: wrong token"
    assert _ws_status(f"{served.base.replace('http:', 'ws:')}/ws?token={wrong}", {}) == 403


def test_right_token_serves_the_page_and_the_cookie_opens_the_rest(served: Served):
    status, body, headers = get(f"{served.base}/?token={served.token}")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert body.lstrip().startswith("<!DOCTYPE html>")
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in body
    assert headers["Referrer-Policy"] == "no-referrer"
    # the splash and the tab name the town as it was installed (the folder is "town")
    assert "Gas Town control room: testtown" in body
    assert "control room: town" not in body
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"gastown_serve_{served.port}={served.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    name_value = cookie.split(";", 1)[0]
    status, body, _ = get(f"{served.base}/static/js/textual.js", {"Cookie": name_value})
    assert status == 200 and len(body) > 1000
    status, _, _ = get(f"{served.base}/", {"Authorization": f"Bearer {served.token}"})
    assert status == 200


def test_the_websocket_runs_the_control_room_with_the_cookie(served: Served):
    url = served.base.replace("http:", "ws:") + "/ws?width=100&height=30"
    cookie = {"Cookie": f"gastown_serve_{served.port}={served.token}"}

    async def session() -> int:
        received = 0
        async with aiohttp.ClientSession() as client, client.ws_connect(url, headers=cookie) as ws:
            while received < 1000:
                message = await asyncio.wait_for(ws.receive(), 20)
                assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), message
                received += len(message.data)
        return received

    assert asyncio.run(session()) >= 1000
    # A page from another site may not drive the town, even with the browser's cookie.
    assert _ws_status(url, {**cookie, "Origin": "http://evil.example"}) == 403


def test_non_loopback_host_warns(town: Path, clean_env: dict[str, str]):
    server = _start(town, clean_env, "--host", "0.0.0.0", warn=True)
    try:
        warning = server.stderr_lines[0]
        assert warning.startswith("gastown-tui serve: warning: listening on 0.0.0.0, not loopback")
        assert "token is the only protection" in warning
        assert get(f"http://127.0.0.1:{server.port}/")[0] == 401
    finally:
        _stop(server.proc)


def test_token_from_the_environment(town: Path, clean_env: dict[str, str]):
    token = "a-token-from-the-environment"
    server = _start(town, {**clean_env, TOKEN_ENV: token})
    try:
        assert server.token == token
        assert get(f"{server.base}/?token={token}")[0] == 200
    finally:
        _stop(server.proc)


# --- one-line errors --------------------------------------------------------------------------


def _serve(cli, *args: str) -> subprocess.CompletedProcess[str]:
    return cli.run("gastown-tui", "serve", *args, ok=False)


def test_port_in_use_is_one_line(cli, town: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _serve(cli, "--town", str(town), "--port", str(port))
    assert proc.returncode == 1
    assert proc.stderr == (f"gastown-tui: port {port} on 127.0.0.1 is already in use (pick "
                           "another with --port, or stop what is using it)\n")


def test_no_town_and_bad_token_are_one_line(cli, tmp_path: Path):
    proc = _serve(cli, "--town", str(tmp_path / "nowhere"), "--port", "0")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "is not a Gas Town town" in proc.stderr
    proc = _serve(cli, "--port", "0", "--token", "short")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "--token must be at least 16" in proc.stderr


def test_help_explains_token_and_host(cli):
    out = cli.run("gastown-tui", "serve", "--help").stdout
    assert "127.0.0.1" in out and "token" in out and "GASTOWN_SERVE_TOKEN" in out
    assert "--host" in out and "--port" in out


# --- units ------------------------------------------------------------------------------------


async def test_websocket_without_token_is_refused_before_anything_runs(tmp_path: Path):
    from aiohttp.test_utils import TestClient, TestServer

    from gastown_tui.app.serve import _server_class

    # A command that would leave a trace if it ever ran.
    marker = tmp_path / "ran"
    server = _server_class()(shlex.join(["touch", str(marker)]), token="t" * 32,
                             host="127.0.0.1", port=0, title="test")
    async with TestClient(TestServer(await server._make_app())) as client:
        for headers in ({}, {"Origin": "http://evil.example"}):
            response = await client.get("/ws", headers={
                "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", **headers})
            assert response.status == 401
        response = await client.get("/ws?token=" + "u" * 32)
        assert response.status == 403
    assert not marker.exists()


def test_served_command_is_quoted_for_the_shell(tmp_path: Path):
    root = tmp_path / "a town; $(touch pwned) 'x'"
    argv = served_argv(root, read_only=True)
    assert argv == [sys.executable, "-m", "gastown_tui.cli.tui", "--town", str(root),
                    "--read-only"]
    assert shlex.split(served_command(root, read_only=True)) == argv
    assert "--read-only" not in served_command(root)


def test_token_rules():
    assert len(resolve_token(None, {})) >= 32
    assert resolve_token(None, {}) != resolve_token(None, {})
    assert resolve_token(None, {TOKEN_ENV: "e" * 16}) == "e" * 16
    assert resolve_token("f" * 20, {TOKEN_ENV: "e" * 16}) == "f" * 20
    for bad in ("short", "x" * 15, "has space in it!!", "semi;colon;cookie;x", "ünïcødé" * 3):
        with pytest.raises(GasTownError):
            resolve_token(bad, {})
    assert token_matches("abc" * 6, "abc" * 6)
    assert not token_matches(None, "abc")
    assert not token_matches("", "abc")
    assert not token_matches("ünï", "abc")


def test_loopback_detection():
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com", ""):
        assert not is_loopback(host), host


def _non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only, nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if is_loopback(address) or address == "0.0.0.0" else address


def test_the_cli_module_stays_light():
    code = ("import sys\nimport gastown_tui.cli.tui\n"
            "print([m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'textual_serve', 'aiohttp')])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ}).stdout
    assert out.strip() == "[]"
