"""An area's alerts: its one subscriber store, a run's decisions, delivery, housekeeping.

The encrypted :class:`~wetindex.alerts.subscribers.SubscriberStore` is the only source
of subscriptions for a run. It lives in the alerts database (``alerts.db_url``, by
default ``var/<area>/alerts/outbox.sqlite``) next to the alert state and the outbox,
so one transaction commits a subscriber's new state with its messages. Contacts are
encrypted with the key in the environment variable ``alerts.secret_key_env``
(``WETINDEX_SECRET_KEY``); the demo, and only the demo, makes itself a key file
``alerts/secret.key`` (mode 0600) when the variable is unset.

A run stands no warning down for want of data: an all-clear or a lower level needs a
forecast whose run status is healthy (fresh inputs, forecast made); otherwise each
warning in force is kept (its state untouched, so the last fresh forecast's issue
time says since when) and the run reports it. Escalations still go out.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import inspect

from wetindex.alerts.crypto import ContactCipher, MissingSecretKeyError, generate_key
from wetindex.alerts.delivery import (
    MISSING_CHANNEL,
    DeliverySummary,
    deliver,
    open_channels,
    outcomes,
    purge_old_messages,
)
from wetindex.alerts.engine import AlertStore
from wetindex.alerts.outbox import make_engine, utc_now
from wetindex.alerts.subscriber_input import seed_subscribers
from wetindex.alerts.subscribers import SubscriberSpec, SubscriberStore
from wetindex.subscriber_isolation import run_alerts_isolated

log = logging.getLogger(__name__)


def alerts_folder(ctx: Any) -> Path:
    return ctx.area_dir / "alerts"


def db_url(ctx: Any) -> str:
    """The area's alerts database: ``alerts.db_url`` or SQLite in ``alerts/``."""
    return ctx.config.alerts.db_url or f"sqlite:///{alerts_folder(ctx) / 'outbox.sqlite'}"


def api_url(ctx: Any) -> str:
    """Public URL of the sign-up API (``alerts.api_url``, default ``<site.url>api``)."""
    return (ctx.config.alerts.api_url or ctx.config.site.url.rstrip("/") + "/api").rstrip("/")


def contact_cipher(ctx: Any, environ: dict[str, str] | None = None) -> ContactCipher:
    """The key that encrypts the area's contacts (see the module docstring)."""
    env = os.environ if environ is None else environ
    name = ctx.config.alerts.secret_key_env
    key = env.get(name, "").strip()
    if key:
        return ContactCipher(key)
    if ctx.config.source != "demo":
        raise MissingSecretKeyError(
            f"area {ctx.config.name!r}: subscriber contacts are encrypted with the key in the "
            f"environment variable {name} (alerts.secret_key_env), which is not set. Generate "
            "one with: python -c \"from wetindex.alerts.crypto import generate_key; "
            "print(generate_key())\" and keep it with the service's secrets.")
    path = alerts_folder(ctx) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(generate_key())
    return ContactCipher(path.read_text().strip())


def _no_store_yet(ctx: Any) -> bool:
    """True for a real area with no contact key and no subscriber database yet."""
    key = os.environ.get(ctx.config.alerts.secret_key_env, "").strip()
    return (ctx.config.source != "demo" and not key and not ctx.config.alerts.db_url
            and not (alerts_folder(ctx) / "outbox.sqlite").exists())


def open_store(ctx: Any) -> SubscriberStore:
    """The area's subscriber store (migrated to the newest schema on open)."""
    alerts_folder(ctx).mkdir(parents=True, exist_ok=True)
    return SubscriberStore(db_url(ctx), cipher=contact_cipher(ctx))


def demo_subscribers(area: str, inputs: Any) -> list[SubscriberSpec]:
    """The demo world's two subscribers (ids ``demo-1``, ``demo-2``), in the grid CRS."""
    crs = inputs.grid.crs
    specs = []
    for i, s in enumerate(inputs.world.demo_subscribers(), start=1):
        shape = ({"crs": crs, "point": s["point"], "radius_m": s["radius_m"]} if "point" in s
                 else {"crs": crs, "polygon": list(s["geometry"].exterior.coords)})
        specs.append(SubscriberSpec(
            id=f"demo-{i}", area=area, name=s["name"], email=s["email"],
            language=s["language"], shape=shape, min_level=int(s.get("min_level", 1)),
            max_lead_h=int(s.get("max_lead_h", 48)),
            kind="dike_association" if s.get("kind") == "dike_association" else "household"))
    return specs


def seed_demo_subscribers(store: SubscriberStore, ctx: Any, inputs: Any) -> int:
    """The demo world's two subscribers, stored once (ids ``demo-1``, ``demo-2``)."""
    return seed_subscribers(store, inputs.grid.crs, demo_subscribers(ctx.config.name, inputs))


@dataclass
class AreaAlerts:
    """What a run's alerts stage did."""

    decisions: int
    subscribers: int
    delivery: DeliverySummary
    #: warnings kept in force because the forecast was not fresh: id → since (issue time)
    held: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: subscriptions that could not be decided, reported and skipped (one line each)
    problems: list[str] = field(default_factory=list)


def run_area_alerts(ctx: Any, inputs: Any, forecast: Any, *, now: datetime | None = None,
                    sleep: Any = None) -> AreaAlerts:
    """Decide alerts for the area's active subscribers, queue them, deliver them."""
    if _no_store_yet(ctx):
        # a new area's first runs: nobody can have subscribed without the contact key
        return AreaAlerts(0, 0, DeliverySummary(), notes=[
            f"no subscribers yet: set {ctx.config.alerts.secret_key_env} (the contact key), "
            f"then add them with 'wetindex subscribers add --area {ctx.config.name}' or "
            "'wetindex serve'"])
    store = open_store(ctx)
    if ctx.config.source == "demo":
        seed_demo_subscribers(store, ctx, inputs)
    notes: list[str] = []
    if ctx.config.alerts.subscriptions:
        notes.append(
            f"alerts.subscriptions ({ctx.config.alerts.subscriptions}) is not read by a run; "
            f"import it once: wetindex subscribers import FILE --area {ctx.config.name}")
    subscriptions = store.subscriptions(ctx.config.name, inputs.grid.crs)
    outbox = store.outbox(max_attempts=ctx.config.alerts.max_attempts)
    held: dict[str, str] = {}
    status = forecast.status
    fresh = bool(status.healthy and status.forecast_ok)
    if not fresh:
        notes.append("the forecast is not fresh (" + (status.message or "inputs stale or "
                     "missing") + "): warnings in force are kept, none is stood down")
    # one subscription at a time: one that cannot be decided is reported and skipped,
    # and everyone else's alert is still queued and delivered
    decisions, problems = run_alerts_isolated(
        forecast.dataset, subscriptions, AlertStore(outbox), outbox,
        site_url=ctx.config.site.url, warnings=forecast.warnings,
        unsubscribe_url=store.unsubscribe_url(api_url(ctx)), fresh=fresh, held=held, now=now)
    notes += [f"skipped: {line}" for line in problems]
    summary = deliver_area(ctx, store, outbox=outbox, now=now, sleep=sleep)
    for note in notes + summary.notes:
        log.warning("alerts %s: %s", ctx.config.name, note)
    return AreaAlerts(len(decisions), len(subscriptions), summary, held, notes + summary.notes,
                      problems)


def deliver_area(ctx: Any, store: SubscriberStore, *, outbox: Any = None,
                 now: datetime | None = None, sleep: Any = None) -> DeliverySummary:
    """Deliver the area's due messages through its configured channels."""
    outbox = outbox or store.outbox(max_attempts=ctx.config.alerts.max_attempts)
    notes: list[str] = []
    loopback = alerts_folder(ctx) / "mail" if ctx.config.source == "demo" else None
    with open_channels(ctx.config.alerts, store, loopback_mail_dir=loopback,
                       notes=notes) as channels:
        kwargs = {"sleep": sleep} if sleep is not None else {}
        summary = deliver(outbox, channels, now=now, **kwargs)
    notes += [MISSING_CHANNEL.get(c, "no {c} channel: {n} message(s) stay queued").format(c=c, n=n)
              for c, n in summary.unrouted.items()]
    summary.notes, summary.mail_dir = notes, loopback
    return summary


def alerts_housekeeping(ctx: Any, now: datetime | None = None) -> dict[str, Any] | None:
    """Daily: retry deliveries, delete unconfirmed sign-ups (72 h) and old messages."""
    url = db_url(ctx)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    if "subscribers" not in inspect(make_engine(url)).get_table_names():
        return None
    now = now or utc_now()
    store = open_store(ctx)
    summary = deliver_area(ctx, store, now=now)
    return {
        "deliveries": summary.counts(),
        "unconfirmed_removed": store.purge_unconfirmed(now),
        "messages_removed": purge_old_messages(
            store.engine, now=now, retention=timedelta(days=ctx.config.alerts.retention_days)),
    }


def delivery_status(ctx: Any) -> dict[str, Any] | None:
    """Outcomes of the area's messages for ``wetindex status`` (no key needed)."""
    url = db_url(ctx)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    engine = make_engine(url)
    if "outbox" not in inspect(engine).get_table_names():
        return None
    return outcomes(engine)
