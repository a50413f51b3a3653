"""Delivering an area's alerts: the channels its configuration names, with retries.

One function, :func:`deliver`, is used by the scheduled run (``run alerts``, the
forecast flow, the demo) and by the daily housekeeping. It opens the channels from
``alerts`` in the area's configuration:

* ``email`` — the operator's SMTP relay (``alerts.smtp``: host, port, STARTTLS or
  implicit TLS, user; the password from the environment variable it names). With no
  relay configured, the demo (and only the demo) uses the loopback mail sink that
  writes each received mail to ``alerts/mail/``; a real area's e-mails then stay
  queued and the summary says why.
* ``sms`` — the HTTP gateway in ``alerts.sms``;
* ``webhook`` — signed Standard Webhooks, to each subscriber's URL.

Each message's real outcome is kept in the outbox and read by :func:`outcomes`
(``wetindex status``): ``accepted`` (the relay, gateway or receiver took it),
``deferred`` (a temporary failure; retried with backoff), ``bounced`` (refused for
good: SMTP 5xx, a gateway's 4xx, a webhook's 410), ``failed`` (still failing after
``alerts.max_attempts``), ``queued`` (not tried yet, e.g. no channel configured).
A relay that accepts a mail and bounces it later reports that to the sender's
mailbox; this code does not read bounce mails.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from wetindex.alerts.email import SmtpChannel
from wetindex.alerts.mailsink import MailSink
from wetindex.alerts.outbox import (
    Channel,
    Outbox,
    deliver_pending,
    outbox_table,
    to_db_time,
    utc_now,
)
from wetindex.alerts.sms import HttpSmsGateway, SmsChannel
from wetindex.alerts.webhook import WebhookChannel, store_contacts

log = logging.getLogger(__name__)

OUTCOMES: tuple[str, ...] = ("accepted", "deferred", "bounced", "failed", "queued")
#: the error text a permanent refusal is recorded with (see :func:`deliver_pending`)
_PERMANENT = "PermanentDeliveryError"


class DeliveryConfigError(ValueError):
    """A delivery channel that cannot be opened, with what to set."""


@dataclass
class DeliverySummary:
    """What one :func:`deliver` call did, counted by outcome (outbox ids per outcome)."""

    accepted: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    bounced: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    #: channels with due messages but nothing configured to carry them
    unrouted: dict[str, int] = field(default_factory=dict)
    mail_dir: Path | None = None
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"accepted": len(self.accepted), "deferred": len(self.deferred),
                "bounced": len(self.bounced), "failed": len(self.failed),
                "unrouted": sum(self.unrouted.values())}


def smtp_channel(smtp: Any, alerts: Any, environ: dict[str, str] | None = None):
    """The :class:`~wetindex.alerts.email.SmtpChannel` for an ``alerts.smtp`` section."""
    env = os.environ if environ is None else environ
    password = None
    if smtp.username:
        password = env.get(smtp.password_env)
        if not password:
            raise DeliveryConfigError(
                f"alerts.smtp.username is {smtp.username!r} but the environment variable "
                f"{smtp.password_env} (alerts.smtp.password_env) holding its password is not "
                "set; set it in the service's environment")
    context = None
    if smtp.security != "none":
        context = ssl.create_default_context(cafile=smtp.ca_file) if smtp.ca_file \
            else ssl.create_default_context()
    return SmtpChannel(
        smtp.host, smtp.port, starttls=smtp.security == "starttls",
        implicit_tls=smtp.security == "tls", username=smtp.username if password else None,
        password=password, sender=alerts.sender, sender_name=alerts.sender_name,
        reply_to=alerts.reply_to, timeout=smtp.timeout_s, ssl_context=context)


def sms_channel(sms: Any, store: Any):
    """The ``sms`` outbox channel for an ``alerts.sms`` section; numbers from ``store``."""
    gateway = HttpSmsGateway(
        sms.url, body_format=sms.body_format, to_field=sms.to_field,
        text_field=sms.text_field, reference_field=sms.reference_field,
        sender_field=sms.sender_field, to_as_list=sms.to_as_list, sender=sms.sender,
        auth_env=sms.auth_env)
    return SmsChannel(gateway, store_contacts(store, "sms"))


@contextmanager
def open_channels(alerts: Any, store: Any, *, loopback_mail_dir: Path | None = None,
                  notes: list[str] | None = None) -> Iterator[dict[str, Channel]]:
    """The channels an ``alerts`` configuration names, open for the ``with`` block.

    ``loopback_mail_dir``: with no relay configured, run the loopback mail sink that
    writes mails there (the demo). A channel that is not configured is left out (its
    messages stay queued; :data:`MISSING_CHANNEL` says why).
    """
    notes = notes if notes is not None else []
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(store_contacts(store, "webhook"),
                                  allow_private=alerts.webhook_allow_private)}
    with ExitStack() as stack:
        if alerts.smtp is not None:
            channels["email"] = smtp_channel(alerts.smtp, alerts)
        elif loopback_mail_dir is not None:
            sink = stack.enter_context(MailSink(loopback_mail_dir))
            channels["email"] = SmtpChannel(
                "127.0.0.1", sink.port, starttls=False, sender=alerts.sender,
                sender_name=alerts.sender_name, reply_to=alerts.reply_to, timeout=10)
            notes.append(f"e-mail to the loopback mail sink ({loopback_mail_dir}), "
                         "not to anyone's inbox")
        if alerts.sms is not None:
            try:
                channels["sms"] = sms_channel(alerts.sms, store)
            except ValueError as exc:  # e.g. the gateway's auth variable is unset
                notes.append(f"SMS not sent: {exc}")
        yield channels


#: what to configure for a channel whose messages stay queued
MISSING_CHANNEL = {"email": "no SMTP relay configured (alerts.smtp): {n} e-mail(s) stay queued",
                   "sms": "no SMS gateway configured (alerts.sms): {n} SMS stay queued"}


def deliver(outbox: Outbox, channels: dict[str, Channel], *, now: datetime | None = None,
            passes: int = 3, pause_s: float = 5.0,
            sleep: Callable[[float], None] = time.sleep) -> DeliverySummary:
    """Send every due message; retry temporary failures ``passes`` times in this run.

    Between passes, wait ``pause_s`` (doubling). Messages still failing stay
    ``retrying`` with the outbox's backoff and are tried again by the next run or the
    housekeeping. ``now`` fixes the clock (tests); then the pauses advance it.
    """
    summary = DeliverySummary()
    outcome: dict[int, str] = {}
    clock = now
    for attempt in range(passes):
        report = deliver_pending(outbox, channels, clock)
        for mid in report.delivered:
            outcome[mid] = "accepted"
        for mid in report.retrying:
            outcome[mid] = "deferred"
        for mid in report.failed:
            outcome[mid] = "bounced" if _is_bounce(outbox, mid) else "failed"
        if not report.retrying or attempt == passes - 1:
            unrouted: dict[str, int] = {}
            for m in outbox.pending(clock):
                if m.channel not in channels:
                    unrouted[m.channel] = unrouted.get(m.channel, 0) + 1
            summary.unrouted = unrouted
            break
        wait = pause_s * 2 ** attempt
        sleep(wait)
        if clock is not None:
            clock = clock + timedelta(seconds=wait)
        # the retries of this run are due now, whatever the outbox's own backoff says
        _due_now(outbox, report.retrying, clock)
    for mid, name in outcome.items():
        getattr(summary, name).append(mid)
    return summary


def _is_bounce(outbox: Outbox, message_id: int) -> bool:
    with outbox.engine.connect() as conn:
        error = conn.execute(select(outbox_table.c.last_error).where(
            outbox_table.c.id == message_id)).scalar()
    return bool(error) and error.startswith(_PERMANENT)


def _due_now(outbox: Outbox, ids: list[int], now: datetime | None) -> None:
    if not ids:
        return
    with outbox.engine.begin() as conn:
        conn.execute(outbox_table.update().where(
            outbox_table.c.id.in_(ids), outbox_table.c.status == "retrying").values(
            next_attempt_at=to_db_time(now or utc_now())))


def outcomes(engine: Any) -> dict[str, int]:
    """Messages by outcome (``accepted``, ``deferred``, ``bounced``, ``failed``, ``queued``)
    and by channel, for ``wetindex status``. Reads no contact."""
    counts = dict.fromkeys(OUTCOMES, 0)
    by_channel: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        rows = conn.execute(select(
            outbox_table.c.channel, outbox_table.c.status,
            outbox_table.c.last_error.like(f"{_PERMANENT}%").label("permanent"),
            func.count()).group_by(outbox_table.c.channel, outbox_table.c.status,
                                   "permanent")).all()
    for channel, status, permanent, n in rows:
        name = {"delivered": "accepted", "retrying": "deferred", "pending": "queued",
                "sending": "queued"}.get(status)
        if status == "failed":
            name = "bounced" if permanent else "failed"
        if name is None:
            continue
        counts[name] += n
        by_channel.setdefault(channel, dict.fromkeys(OUTCOMES, 0))[name] += n
    return counts | {"by_channel": by_channel}


def purge_old_messages(engine: Any, *, now: datetime | None = None,
                       retention: timedelta = timedelta(days=30)) -> int:
    """Delete delivered and finally failed messages older than ``retention``.

    Queued and retrying messages are kept: they are not done yet. Returns how many
    were deleted. The idempotency of a purged message no longer matters: its alert
    state has moved on, so the engine never queues that key again.
    """
    cutoff = to_db_time((now or utc_now()) - retention)
    with engine.begin() as conn:
        return conn.execute(delete(outbox_table).where(
            outbox_table.c.status.in_(("delivered", "failed")),
            outbox_table.c.created_at < cutoff)).rowcount
