"""Secrets for subscriber data: contacts encrypted at rest, tokens kept as hashes.

* Contact fields (e-mail, phone, webhook URL and secret) are encrypted with Fernet
  (AES-128-CBC + HMAC-SHA256) under the key in the environment variable
  ``WETINDEX_SECRET_KEY``. Without the key the database reveals no contact.
* Finding a subscriber by address (self-service unsubscribe) uses a *blind index*: an
  HMAC of the normalised address under a key derived from the same secret, so equal
  addresses match without the address being stored in clear.
* Confirmation and unsubscribe tokens are stored only as their SHA-256.

Generate a key with ``python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken

SECRET_KEY_ENV = "WETINDEX_SECRET_KEY"
SEALED = b"fernet:"  # marks an encrypted outbox value


class MissingSecretKeyError(RuntimeError):
    """The subscriber store was opened without a usable encryption key."""


def generate_key() -> str:
    """A new key for ``WETINDEX_SECRET_KEY``."""
    return Fernet.generate_key().decode("ascii")


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a confirmation or unsubscribe token: what the database keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh, unguessable URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def mask_contact(value: str | None) -> str:
    """A contact shown to an operator without revealing it: ``f***@e***.dk``, ``+45****12``."""
    if not value:
        return "-"
    if "@" in value:
        local, _, domain = value.partition("@")
        host, dot, tld = domain.rpartition(".")
        return f"{local[:1]}***@{(host or tld)[:1]}***{dot}{tld if host else ''}"
    if value.startswith(("http://", "https://")):
        scheme, _, rest = value.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/***"
    return f"{value[:3]}****{value[-2:]}" if len(value) > 6 else "****"


class ContactCipher:
    """Encrypts contact fields and computes their blind index.

    Parameters
    ----------
    key : str
        A Fernet key (32 url-safe base64-encoded bytes), e.g. from :func:`generate_key`.
    """

    def __init__(self, key: str):
        try:
            self._fernet = Fernet(key.encode("ascii") if isinstance(key, str) else key)
        except (ValueError, TypeError) as exc:
            raise MissingSecretKeyError(
                f"{SECRET_KEY_ENV} is not a valid Fernet key (32 url-safe base64 bytes); "
                f"generate one with: python -c \"from wetindex.alerts.crypto import "
                f"generate_key; print(generate_key())\"") from exc
        raw = base64.urlsafe_b64decode(key)
        # separate keys for separate purposes, derived from the one secret
        self._index_key = hmac.new(raw, b"wetindex blind index v1", hashlib.sha256).digest()
        self._token_key = hmac.new(raw, b"wetindex unsubscribe token v1", hashlib.sha256).digest()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ContactCipher:
        """The cipher for the key in ``WETINDEX_SECRET_KEY``; a clear error if it is unset."""
        key = (environ if environ is not None else os.environ).get(SECRET_KEY_ENV, "").strip()
        if not key:
            raise MissingSecretKeyError(
                f"{SECRET_KEY_ENV} is not set: subscriber contacts are encrypted with it. "
                f"Set it to a key from: python -c \"from wetindex.alerts.crypto import "
                f"generate_key; print(generate_key())\" and keep it safe (without it the "
                f"stored contacts cannot be read).")
        return cls(key)

    def encrypt(self, value: str | None) -> bytes | None:
        return None if value is None else self._fernet.encrypt(value.encode("utf-8"))

    def decrypt(self, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except InvalidToken:
            raise MissingSecretKeyError(
                f"a stored contact cannot be decrypted: {SECRET_KEY_ENV} is not the key it "
                "was encrypted with") from None

    def seal_bytes(self, value: bytes) -> bytes:
        """``value`` encrypted and marked as such (for outbox bodies)."""
        return SEALED + self._fernet.encrypt(value)

    def open_bytes(self, value: bytes) -> bytes:
        """The clear value of :meth:`seal_bytes`; unmarked (older, clear) values pass as is."""
        value = bytes(value)
        if not value.startswith(SEALED):
            return value
        try:
            return self._fernet.decrypt(value[len(SEALED):])
        except InvalidToken:
            raise MissingSecretKeyError(
                f"an outbox message cannot be decrypted: {SECRET_KEY_ENV} is not the key it "
                "was encrypted with") from None

    def seal_text(self, value: str | None) -> str | None:
        return None if value is None else self.seal_bytes(value.encode("utf-8")).decode("ascii")

    def open_text(self, value: str | None) -> str | None:
        return None if value is None else self.open_bytes(value.encode("ascii")).decode("utf-8")

    def blind_index(self, value: str) -> str:
        """HMAC of the normalised contact, to find a subscriber by address."""
        normalised = value.strip().lower().encode("utf-8")
        return hmac.new(self._index_key, normalised, hashlib.sha256).hexdigest()

    def unsubscribe_token(self, subscriber_id: str, salt: str) -> str:
        """The subscriber's unsubscribe token, recomputable only with the secret key.

        Alert e-mails are rendered long after sign-up, so the token cannot be a
        one-off random value kept in clear; only its hash is stored.
        """
        mac = hmac.new(self._token_key, f"{subscriber_id}:{salt}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")
