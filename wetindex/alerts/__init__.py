"""Alerts and the public warning feed.

* :mod:`~wetindex.alerts.cap` — CAP 1.2 messages and their validation
* :mod:`~wetindex.alerts.feed` — CAP files and the Atom feed, with revision history
* :mod:`~wetindex.alerts.subscriptions` — a subscriber's shape, and the engine's view of
  a subscriber
* :mod:`~wetindex.alerts.engine` — the alert state machine
* :mod:`~wetindex.alerts.outbox` — messages to send, exactly once
* :mod:`~wetindex.alerts.email` — e-mail rendering and the SMTP channel
* :mod:`~wetindex.alerts.mailsink` — a loopback SMTP server for the demo and tests
* :mod:`~wetindex.alerts.subscribers` — the one subscriber model (``SubscriberSpec``)
  and the store (SQLAlchemy, Alembic migrations in :mod:`~wetindex.alerts.migrations`),
  export and deletion
* :mod:`~wetindex.alerts.subscriber_input` — subscribers in: shapes from GeoJSON or a
  point, a subscribers file, the demo's seeds
* :mod:`~wetindex.alerts.crypto` — contacts encrypted at rest, hashed tokens
* :mod:`~wetindex.alerts.api` — self-service sign-up with double opt-in (FastAPI)
* :mod:`~wetindex.alerts.webhook` — Standard Webhooks channel
* :mod:`~wetindex.alerts.sms` — SMS through an HTTP gateway

Import what you use from its module (``from wetindex.alerts.engine import run_alerts``):
this package imports none of them, so importing one does not load all of them (and
cannot close an import cycle through this file).
"""
