"""A real HTTP receiver on loopback for webhook and SMS tests (http.server in a thread).

It records every request; ``check`` (headers, body) → status code decides the answer,
e.g. a Standard Webhooks signature check. It can be stopped and started again on the
same port to play a receiver that is down, then up.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from wetindex.alerts.mailsink import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class Receiver:
    def __init__(self, check=None, port: int | None = None, delay_s: float = 0.0):
        self.port = port or free_port()
        self.check = check or (lambda headers, body: 200)
        self.delay_s = delay_s
        self.requests: list[Received] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if receiver.delay_s:
                    threading.Event().wait(receiver.delay_s)
                status = receiver.check(headers, body)
                receiver.requests.append(Received(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep test output quiet
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
