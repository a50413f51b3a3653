"""A real HTTP server on loopback (http.server in a thread) that plays scripted routes.

Each route maps a path to a function ``(handler) -> (status, headers, body)``; every
request is kept (path, headers) so a test can check who received a token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


class LoopbackServer:
    """``with LoopbackServer(routes) as srv: srv.url('/x')``."""

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1"):
        self.routes = routes
        self.host = host
        self.seen: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str = "") -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}{path}"

    def __enter__(self) -> LoopbackServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append({"method": self.command, "path": self.path,
                                   "headers": dict(self.headers), "body": body})
                self.last_body = body
                route = outer.routes.get(self.path.split("?")[0])
                status, headers, content = route(self) if route else (404, {}, b"not found")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _answer

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
