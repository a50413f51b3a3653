"""A real SMTP relay on loopback standing in for the operator's (aiosmtpd).

STARTTLS (required before AUTH and mail) or implicit TLS, AUTH PLAIN/LOGIN with one
user, certificate self-signed for 127.0.0.1 (the client trusts it through a CA file,
as an operator would with ``alerts.smtp.ca_file``). Recipients in ``refuse`` get a
``550`` (a bounce at the relay); ``defer`` a ``451``.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from wetindex.alerts.mailsink import free_port

USER, PASSWORD = "wetindex-relay", "s3cret-relay-pw"


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """Server context with a certificate for 127.0.0.1, and the CA file that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)  # certificate validity only; no test outcome depends on it
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "relay-cert.pem", folder / "relay-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server, cert_file


class _Handler:
    def __init__(self, relay: Relay):
        self.relay = relay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.relay.refuse:
            return "550 5.1.1 no such user"
        if address in self.relay.defer:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.relay.lock:
            self.relay.received.append((session.authenticated, envelope.mail_from,
                                        list(envelope.rcpt_tos), envelope.original_content
                                        or envelope.content))
        return "250 2.0.0 queued"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


class Relay:
    """``with Relay(tmp_path) as relay:`` — ``relay.port``, ``relay.ca_file``, ``relay.mails()``."""

    def __init__(self, folder: Path, *, implicit_tls: bool = False):
        self.folder, self.implicit_tls = Path(folder), implicit_tls
        self.port = free_port()
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.received: list[tuple] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> Relay:
        server_ctx, self.ca_file = self_signed(self.folder)
        common = dict(hostname="127.0.0.1", port=self.port, authenticator=_authenticator,
                      auth_required=True)
        if self.implicit_tls:
            self._controller = Controller(_Handler(self), ssl_context=server_ctx,
                                          auth_require_tls=False, **common)
        else:
            self._controller = Controller(_Handler(self), tls_context=server_ctx,
                                          require_starttls=True, **common)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def mails(self):
        """The accepted mails, parsed, in arrival order (all were sent after AUTH)."""
        with self.lock:
            received = list(self.received)
        assert all(auth for auth, *_ in received), "a mail was accepted without AUTH"
        return [message_from_bytes(raw, policy=policy.default) for *_, raw in received]
