"""Alerts and the public warning feed.

* :mod:`~wetindex.alerts.cap` — CAP 1.2 messages and their validation
* :mod:`~wetindex.alerts.feed` — CAP files and the Atom feed, with revision history
* :mod:`~wetindex.alerts.subscriptions` — who wants to hear about which area
* :mod:`~wetindex.alerts.engine` — the alert state machine
* :mod:`~wetindex.alerts.outbox` — messages to send, exactly once
* :mod:`~wetindex.alerts.email` — e-mail rendering and the SMTP channel
* :mod:`~wetindex.alerts.mailsink` — a loopback SMTP server for the demo and tests
* :mod:`~wetindex.alerts.subscribers` — the subscriber store (SQLAlchemy, Alembic
  migrations in :mod:`~wetindex.alerts.migrations`), export and deletion
* :mod:`~wetindex.alerts.crypto` — contacts encrypted at rest, hashed tokens
* :mod:`~wetindex.alerts.api` — self-service sign-up with double opt-in (FastAPI;
  import it explicitly, it is not loaded here)
* :mod:`~wetindex.alerts.webhook` — Standard Webhooks channel
* :mod:`~wetindex.alerts.sms` — SMS through an HTTP gateway
"""

from wetindex.alerts.cap import CapValidationError, cap_alert, validate_cap
from wetindex.alerts.crypto import ContactCipher, MissingSecretKeyError
from wetindex.alerts.email import SmtpChannel, render_email
from wetindex.alerts.engine import (
    AlertDecision,
    AlertState,
    AlertStore,
    AreaRisk,
    area_risk,
    decide,
    run_alerts,
)
from wetindex.alerts.feed import FeedResult, write_feed
from wetindex.alerts.mailsink import MailSink
from wetindex.alerts.outbox import (
    DeliveryReport,
    Outbox,
    OutboxMessage,
    PermanentDeliveryError,
    deliver_pending,
)
from wetindex.alerts.sms import HttpSmsGateway, SmsChannel
from wetindex.alerts.subscribers import SubscriberSpec, SubscriberStore
from wetindex.alerts.subscriptions import Subscription, load_subscriptions
from wetindex.alerts.webhook import WebhookChannel

__all__ = [
    "AlertDecision",
    "AlertState",
    "AlertStore",
    "AreaRisk",
    "CapValidationError",
    "ContactCipher",
    "DeliveryReport",
    "FeedResult",
    "HttpSmsGateway",
    "MailSink",
    "MissingSecretKeyError",
    "Outbox",
    "OutboxMessage",
    "PermanentDeliveryError",
    "SmsChannel",
    "SmtpChannel",
    "SubscriberSpec",
    "SubscriberStore",
    "Subscription",
    "WebhookChannel",
    "area_risk",
    "cap_alert",
    "decide",
    "deliver_pending",
    "load_subscriptions",
    "render_email",
    "run_alerts",
    "validate_cap",
    "write_feed",
]
