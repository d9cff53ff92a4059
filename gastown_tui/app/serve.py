"""`gastown-tui serve`: the control room in a browser, through textual-serve.

Safe by default: the server binds 127.0.0.1, and every request (the page, its static assets,
the websocket that drives the control room, downloads, even unknown paths) must carry the token:
as `?token=...`, as `Authorization: Bearer ...`, or as the cookie the server sets after the first
good request (so the page's own assets and websocket work). Anything else gets 401 (no token) or
403 (wrong token) and a one-line text body.

textual-serve and aiohttp are imported lazily, inside the functions that need them.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import secrets
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from gastown_tui.town.errors import GasTownError

TOKEN_ENV = "GASTOWN_SERVE_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MIN_TOKEN_LENGTH = 16
# URL-unreserved characters only: the token goes into a URL, a header and a cookie unquoted.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]+")
SHUTDOWN_TIMEOUT = 3.0

MISSING_TOKEN = ("gastown-tui serve: a token is required (open the URL printed when the server "
                 "started, with ?token=...)\n")
WRONG_TOKEN = "gastown-tui serve: wrong token\n"
BAD_ORIGIN = "gastown-tui serve: websocket from another origin refused\n"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def resolve_token(explicit: str | None, environ: Mapping[str, str]) -> str:
    """--token, else $GASTOWN_SERVE_TOKEN, else a fresh random token; a given one is checked."""
    token = explicit if explicit is not None else environ.get(TOKEN_ENV)
    if token is None:
        return new_token()
    if len(token) < MIN_TOKEN_LENGTH or not TOKEN_PATTERN.fullmatch(token):
        source = "--token" if explicit is not None else TOKEN_ENV
        raise GasTownError(
            f"{source} must be at least {MIN_TOKEN_LENGTH} characters of A-Z a-z 0-9 . _ ~ -",
            fix="use a longer token, or give none and a random one is generated")
    return token


def token_matches(supplied: str | None, token: str) -> bool:
    if not supplied:
        return False
    return hmac.compare_digest(supplied.encode("utf-8", "surrogateescape"), token.encode("utf-8"))


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def served_argv(root: Path, *, read_only: bool = False) -> list[str]:
    """The control room for `root`, as `gastown-tui --town ROOT [--read-only]` runs it."""
    argv = [sys.executable, "-m", "gastown_tui.cli.tui", "--town", str(root)]
    if read_only:
        argv.append("--read-only")
    return argv


def served_command(root: Path, *, read_only: bool = False) -> str:
    # textual-serve hands its command string to /bin/sh (asyncio's subprocess-from-a-string), so
    # it is built from an argv with every word shlex-quoted: a town path with spaces, quotes or
    # `$(...)` stays one literal argument. Nothing from a request ever reaches this string.
    return shlex.join(served_argv(root, read_only=read_only))


def _server_class() -> type:
    """A textual-serve Server that enforces the token and serves on a port chosen at bind time."""
    try:
        import aiohttp_jinja2
        from aiohttp import hdrs, web
        from textual_serve.server import Server, to_int
    except ImportError as error:
        raise GasTownError(f"textual-serve is not installed ({error.name} is missing)",
                           fix="install it: pip install textual-serve") from None

    class TokenServer(Server):
        def __init__(self, command: str, *, token: str, host: str, port: int, title: str):
            super().__init__(command, host=host, port=port, title=title)
            self.token = token
            self.cookie_name = f"gastown_serve_{port}"

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.insert(0, self._require_token)
            return app

        def _authorised(self, request: web.Request) -> tuple[bool, bool]:
            """(allowed, came with a token other than the cookie)."""
            header = request.headers.get(hdrs.AUTHORIZATION, "")
            bearer = header[7:].strip() if header[:7].lower() == "bearer " else None
            for supplied in (request.query.get("token"), bearer):
                if token_matches(supplied, self.token):
                    return True, True
            return token_matches(request.cookies.get(self.cookie_name), self.token), False

        @web.middleware
        async def _require_token(self, request: web.Request, handler: Any) -> web.StreamResponse:
            allowed, fresh = self._authorised(request)
            if not allowed:
                offered = (request.query.get("token") or request.headers.get(hdrs.AUTHORIZATION)
                           or request.cookies.get(self.cookie_name))
                if offered:
                    return web.Response(status=403, text=WRONG_TOKEN)
                return web.Response(status=401, text=MISSING_TOKEN,
                                    headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="gastown-tui"'})
            if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket" \
                    and not self._same_origin(request):
                return web.Response(status=403, text=BAD_ORIGIN)
            response = await handler(request)
            if not response.prepared:  # a websocket or a download has already been sent
                response.headers["Referrer-Policy"] = "no-referrer"
                response.headers["Cache-Control"] = "no-store"
                if fresh:
                    response.set_cookie(self.cookie_name, self.token, path="/", httponly=True,
                                        samesite="Strict")
            return response

        @staticmethod
        def _same_origin(request: web.Request) -> bool:
            """A browser's websocket must come from a page this server served (no Origin: not a
            browser, and the token already proved who it is)."""
            origin = request.headers.get(hdrs.ORIGIN)
            if origin is None:
                return True
            return urlsplit(origin).netloc.lower() == (request.host or "").lower()

        async def handle_index(self, request: web.Request) -> web.Response:
            # textual-serve builds the page's URLs from the bind address; use the address the
            # browser used instead, so the cookie (which is per host name) reaches the websocket
            # when the page was opened as localhost, or from another machine with --host.
            secure = request.secure
            origin = f"{'https' if secure else 'http'}://{request.host}"
            router = request.app.router
            websocket = f"{'wss' if secure else 'ws'}://{request.host}{router['websocket'].url_for()}"
            static = f"{origin}{router['static'].url_for(filename='/')}".rstrip("/") + "/"
            context = {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": websocket,
                "config": {"static": {"url": static}},
                "application": {"name": self.title},
            }
            return aiohttp_jinja2.render_template("app_index.html", request, context)

        async def on_startup(self, app: web.Application) -> None:
            """textual-serve prints its logo and URL here; `serve` prints its own lines."""

    return TokenServer


def serve(root: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          token: str | None = None, read_only: bool = False,
          out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Serve the control room for the town at `root` until SIGINT/SIGTERM; 0 on a clean stop."""
    import asyncio

    out = out or sys.stdout
    err = err or sys.stderr
    token = resolve_token(token, os.environ)
    # The served control rooms inherit this process's environment: keep the token out of it.
    os.environ.pop(TOKEN_ENV, None)
    from gastown_tui.town.layout import Town

    # The town's own name (town.json, as `gt install --name` set it), not its folder's.
    server = _server_class()(served_command(root, read_only=read_only), token=token, host=host,
                             port=port, title=f"Gas Town control room: {Town(root).name}")
    return asyncio.run(_run(server, root, out, err))


async def _run(server: Any, root: Path, out: TextIO, err: TextIO) -> int:
    import asyncio
    import errno
    import logging
    import signal

    from aiohttp import web

    logging.basicConfig(level=logging.WARNING, format="gastown-tui serve: %(message)s")
    runner = web.AppRunner(await server._make_app(), handle_signals=False, access_log=None,
                           shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, server.host, server.port)
        try:
            await site.start()
        except OSError as error:
            where = f"{server.host}:{server.port}"
            if error.errno == errno.EADDRINUSE:
                raise GasTownError(f"port {server.port} on {server.host} is already in use",
                                   fix="pick another with --port, or stop what is using it"
                                   ) from None
            if error.errno == errno.EACCES:
                raise GasTownError(f"not allowed to listen on {where}",
                                   fix="use a port above 1023 with --port") from None
            raise GasTownError(f"cannot listen on {where}: {error.strerror or error}",
                               fix="check --host names an address of this machine") from None
        port = runner.addresses[0][1]
        server.port = port
        server.cookie_name = f"gastown_serve_{port}"
        if not is_loopback(server.host):
            err.write(f"gastown-tui serve: warning: listening on {server.host}, not loopback: "
                      "anyone who can reach this port and has the token controls the town "
                      "(the token is the only protection, and the traffic is plain HTTP)\n")
            err.flush()
        out.write(f"gastown-tui serve: the control room for {root} at "
                  f"{base_url(server.host, port)}/?token={server.token}\n"
                  "gastown-tui serve: press Ctrl+C to stop\n")
        out.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0
