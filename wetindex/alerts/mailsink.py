"""A loopback SMTP server that stores every mail it receives as a ``.eml`` file.

For the demo and the tests: alerts go through real SMTP (and STARTTLS) to
``127.0.0.1`` and land in a folder you can open, instead of anyone's inbox.

    with MailSink(Path("demo-mails")) as sink:
        channel = SmtpChannel("127.0.0.1", sink.port, starttls=False, sender="...")
        ...
        sink.messages()   # the received mails, oldest first
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _FolderHandler:
    """aiosmtpd handler: writes each message to ``<folder>/<timestamp>-<n>.eml``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()
        self._count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self._count += 1
            n = self._count
        ns = time.time_ns()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}"
        path = self.folder / f"{stamp}-{n:05d}.eml"  # sortable; unique across restarts
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.replace(path)  # a reader never sees half a mail
        return "250 Message accepted for delivery"


class MailSink:
    """Context manager running an SMTP server on ``127.0.0.1`` that saves mails to a folder.

    Parameters
    ----------
    folder : Path
        Where ``.eml`` files go (created if missing).
    port : int, optional
        Port to listen on; default a free one.
    tls_context : ssl.SSLContext, optional
        Server context; enables STARTTLS.
    require_starttls : bool
        Refuse mail before STARTTLS.
    """

    def __init__(
        self,
        folder: Path,
        *,
        port: int | None = None,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
    ):
        self.folder = Path(folder)
        self.port = port or free_port()
        self._tls_context = tls_context
        self._require_starttls = require_starttls
        self._controller: Controller | None = None

    def start(self) -> MailSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if self._tls_context is not None:
            kwargs = {"tls_context": self._tls_context, "require_starttls": self._require_starttls}
        self._controller = Controller(
            _FolderHandler(self.folder), hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def files(self) -> list[Path]:
        """The saved ``.eml`` files, oldest first."""
        return sorted(self.folder.glob("*.eml"))

    def messages(self) -> list[EmailMessage]:
        """The received mails, parsed, oldest first."""
        return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
                for p in self.files()]
