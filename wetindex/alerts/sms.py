"""SMS through a pluggable HTTP gateway.

An :class:`SmsGateway` sends one text to one phone number. :class:`HttpSmsGateway` is
the generic implementation most SMS providers fit: a ``POST`` of JSON or a form to a
configured URL, field names configurable, the authorisation header's value read from
an environment variable (never from a config file). :class:`SmsChannel` is the outbox
channel: it looks up the phone number when sending (it stays encrypted until then)
and passes the outbox idempotency key as a reference so gateways that deduplicate can.

Example, for a gateway that takes ``{"recipients": [...], "message": ..., "sender": ...}``
with a bearer token::

    export WETINDEX_SMS_AUTH="Bearer 123abc"
    HttpSmsGateway("https://gateway.example/sms", to_field="recipients", to_as_list=True,
                   text_field="message", sender="Wetindex")
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Literal, Protocol

import httpx

from wetindex.alerts.decision import AlertDecision
from wetindex.alerts.messages import table, text
from wetindex.alerts.outbox import OutboxMessage, PermanentDeliveryError
from wetindex.alerts.subscriptions import Subscription
from wetindex.warnings import window_text

SMS_AUTH_ENV = "WETINDEX_SMS_AUTH"
_RETRYABLE_4XX = {408, 409, 425, 429}


class SmsGateway(Protocol):
    """Sends one SMS; raises on failure (:class:`PermanentDeliveryError` if retry is futile)."""

    def send(self, phone: str, text: str, reference: str) -> None: ...


class HttpSmsGateway:
    """A generic HTTP SMS gateway.

    Parameters
    ----------
    url : str
        The gateway's send endpoint.
    body_format : {"json", "form"}
    to_field, text_field, reference_field, sender_field : str
        Field names in the request (``reference_field=None`` leaves it out).
    to_as_list : bool
        Send the number as a one-element list.
    sender : str, optional
        Sender id shown on the phone.
    auth_env : str or None
        Environment variable holding the authorisation header's value; None for no auth.
    auth_header : str
    timeout : float
    """

    def __init__(self, url: str, *, body_format: Literal["json", "form"] = "json",
                 to_field: str = "to", text_field: str = "text",
                 reference_field: str | None = "reference", sender_field: str = "from",
                 to_as_list: bool = False, sender: str | None = None,
                 auth_env: str | None = SMS_AUTH_ENV, auth_header: str = "Authorization",
                 timeout: float = 10.0):
        if body_format not in ("json", "form"):
            raise ValueError(
                f"SMS gateway body_format must be 'json' or 'form', not {body_format!r}")
        self.url, self.body_format, self.timeout = url, body_format, timeout
        self.fields = (to_field, text_field, reference_field, sender_field)
        self.to_as_list, self.sender = to_as_list, sender
        self.headers: dict[str, str] = {}
        if auth_env is not None:
            value = os.environ.get(auth_env, "").strip()
            if not value:
                raise ValueError(
                    f"the SMS gateway needs its authorisation in the environment variable "
                    f"{auth_env} (e.g. 'Bearer <token>'); set it, or pass auth_env=None for "
                    "a gateway without authorisation")
            self.headers[auth_header] = value

    def payload(self, phone: str, message: str, reference: str) -> dict:
        to_field, text_field, reference_field, sender_field = self.fields
        data: dict = {to_field: [phone] if self.to_as_list else phone, text_field: message}
        if reference_field:
            data[reference_field] = reference
        if self.sender:
            data[sender_field] = self.sender
        return data

    def send(self, phone: str, text: str, reference: str) -> None:
        data = self.payload(phone, text, reference)
        kwargs = {"json": data} if self.body_format == "json" else {"data": data}
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(self.url, headers=self.headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"SMS gateway: {type(exc).__name__}") from None
        code = response.status_code
        if 400 <= code < 500 and code not in _RETRYABLE_4XX:
            raise PermanentDeliveryError(f"SMS gateway refused the message: HTTP {code}")
        if not 200 <= code < 300:
            raise ConnectionError(f"SMS gateway answered HTTP {code}")


class SmsChannel:
    """The outbox channel ``sms``: body is the text, the number comes from ``targets``."""

    def __init__(self, gateway: SmsGateway,
                 targets: Callable[[OutboxMessage], tuple[str, str | None]]):
        self.gateway, self.targets = gateway, targets

    def deliver(self, message: OutboxMessage) -> None:
        phone, _ = self.targets(message)
        reference = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        self.gateway.send(phone, message.body.decode("utf-8"), reference)


def render_sms(decision: AlertDecision, subscription: Subscription, *, site_url: str) -> str:
    """A short SMS: what, where, when, how likely, the link (public content only)."""
    lang = subscription.language
    levels, titles = table(lang, "level_name"), table(lang, "level_title")
    values = {"place": decision.place, "level_name": levels[decision.level],
              "level_title": titles[decision.level]}
    if decision.kind == "all_clear":
        return f"{text(lang, 'subject_all_clear', **values)}. {site_url}"
    subject = text(lang, "subject" if decision.kind == "alert" else "subject_update", **values)
    parts = [subject + "."]
    if decision.onset is not None:
        parts.append(window_text(lang, decision, peak=False, utc=False))
    parts.append(f"{text(lang, 'sms_risk').capitalize()} "
                 f"{round(100 * decision.probability)} %.")
    parts.append(site_url)
    return " ".join(parts)
