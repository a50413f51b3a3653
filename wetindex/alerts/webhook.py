"""Webhooks signed per the Standard Webhooks spec (https://www.standardwebhooks.com).

Each delivery is a ``POST`` of the outbox body (JSON) with the headers

* ``webhook-id``: stable per message (from the outbox idempotency key), so a receiver
  can drop the rare duplicate after a crash mid-send;
* ``webhook-timestamp``: Unix seconds of this attempt;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed
  with the base64-decoded part of the subscriber's ``whsec_…`` secret.

Retries over hours come from the outbox's backoff (:class:`~wetindex.alerts.outbox.Outbox`
``base_delay``/``max_delay``/``max_attempts``). Redirects are not followed. Before
sending, the host is resolved and *every* address checked: loopback, private,
link-local, multicast, reserved and unspecified addresses are refused (so a
subscriber cannot aim the server at its own network) unless the operator passes
``allow_private=True``. The check resolves the name once before the request; a DNS
server that answers differently a moment later (rebinding) is not covered.
Error texts name the host only, never the full URL (it may hold a token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from wetindex.alerts.outbox import OutboxMessage, PermanentDeliveryError

SIGNATURE_TOLERANCE_S = 300
Resolver = Callable[[str, int], list[str]]


def generate_secret() -> str:
    """A new ``whsec_`` secret (24 random bytes, base64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret starts with 'whsec_' followed by base64")
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one delivery."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None,
           tolerance_s: int = SIGNATURE_TOLERANCE_S) -> bool:
    """What a receiver does: check the timestamp window and any ``v1`` signature."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, timestamp = lower["webhook-id"], int(lower["webhook-timestamp"])
        given = lower["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, sig) for sig in given if sig.startswith("v1,"))


def webhook_id(idempotency_key: str) -> str:
    """``msg_…``, the same for every attempt of one outbox message."""
    return "msg_" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:26]


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def check_destination(url: str, *, allow_private: bool = False,
                      resolver: Resolver = _system_resolver) -> list[str]:
    """The addresses of ``url``'s host; refuses non-public ones unless ``allow_private``.

    Raises
    ------
    PermanentDeliveryError
        For a URL that is not http(s) or a host with a non-public address.
    OSError
        When the name does not resolve now (retried later by the outbox).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentDeliveryError("webhook URL must be http(s)://host/...")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolver(parts.hostname, port)
    if not addresses:
        raise OSError(f"webhook host {parts.hostname} has no address")
    blocked = [a for a in addresses if not is_public_address(a)]
    if blocked and not allow_private:
        raise PermanentDeliveryError(
            f"webhook host {parts.hostname} resolves to non-public address(es) {blocked}; "
            "refused (allow_private=True lets the operator permit it)")
    return addresses


class WebhookChannel:
    """Delivers outbox messages as signed webhooks.

    Parameters
    ----------
    targets : callable
        ``OutboxMessage -> (url, whsec_secret)``; e.g. :meth:`contacts` of a store, so
        the URL stays encrypted in the database until the moment of sending.
    timeout : float
        Seconds for connect and for the whole answer.
    allow_private : bool
        Permit loopback/private/link-local destinations (tests, closed networks).
    """

    def __init__(self, targets: Callable[[OutboxMessage], tuple[str, str | None]], *,
                 timeout: float = 10.0, allow_private: bool = False,
                 resolver: Resolver = _system_resolver, user_agent: str = "wetindex-webhook/1"):
        self.targets = targets
        self.timeout = timeout
        self.allow_private = allow_private
        self.resolver = resolver
        self.user_agent = user_agent

    def deliver(self, message: OutboxMessage) -> None:
        url, secret = self.targets(message)
        if not secret:
            raise PermanentDeliveryError("webhook subscriber has no whsec_ secret")
        host = urlsplit(url).hostname
        check_destination(url, allow_private=self.allow_private, resolver=self.resolver)
        msg_id, timestamp = webhook_id(message.idempotency_key), int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": self.user_agent,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, message.body),
        }
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(url, content=message.body, headers=headers)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"webhook host {host}: {type(exc).__name__}") from None
        if response.status_code == 410:
            raise PermanentDeliveryError(f"webhook host {host} answered 410 Gone")
        if not 200 <= response.status_code < 300:
            raise ConnectionError(f"webhook host {host} answered HTTP {response.status_code}")


def store_contacts(store, channel: str) -> Callable[[OutboxMessage], tuple[str, str | None]]:
    """Targets for a channel, looked up (decrypted) in a
    :class:`~wetindex.alerts.subscribers.SubscriberStore` by the message's subscription."""

    def targets(message: OutboxMessage) -> tuple[str, str | None]:
        if message.subscription_id is None:
            raise PermanentDeliveryError(f"{channel} message {message.id} has no subscriber")
        try:
            return store.contact(message.subscription_id, channel)
        except KeyError:
            raise PermanentDeliveryError(
                f"subscriber {message.subscription_id} no longer exists") from None

    return targets
