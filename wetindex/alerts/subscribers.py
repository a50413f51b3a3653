"""The subscriber store: who is subscribed, in SQL (SQLite by default, PostgreSQL by URL).

The database is the alerts database: ``subscribers`` next to ``alert_state`` and
``outbox`` (see :mod:`wetindex.alerts.outbox`), brought to the newest schema with
Alembic whenever the store is opened (:mod:`wetindex.alerts.migrations`). Its URL is
the argument, else ``WETINDEX_DB_URL``, else ``sqlite:///wetindex-alerts.db``.

Personal data is kept to the minimum: one contact per channel, encrypted at rest
(:mod:`wetindex.alerts.crypto`); the area, thresholds and language in clear because
the alert engine needs them. Tokens are stored only as SHA-256 hashes. A subscriber
can be exported completely (:meth:`SubscriberStore.export`) and deleted completely,
with its alert state and its messages (:meth:`SubscriberStore.remove`).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)

from wetindex.alerts.crypto import ContactCipher, new_token, token_hash
from wetindex.alerts.migrations import upgrade_database
from wetindex.alerts.outbox import (
    Outbox,
    alert_state_table,
    from_db_time,
    make_engine,
    outbox_table,
    to_db_time,
    utc_now,
)
from wetindex.alerts.subscriptions import AreaSpec, Channel, Subscription, area_geometry, reproject
from wetindex.config import format_validation_error
from wetindex.warnings import LEVEL_NAMES

DB_URL_ENV = "WETINDEX_DB_URL"
DEFAULT_DB_URL = "sqlite:///wetindex-alerts.db"
UNCONFIRMED_TTL = timedelta(hours=72)

subscriber_metadata = MetaData()  # apart from the outbox's: created by migrations only
subscribers_table = Table(
    "subscribers",
    subscriber_metadata,
    Column("id", String(64), primary_key=True),
    Column("area", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # pending | active
    Column("email_enc", LargeBinary),
    Column("email_index", String(64)),
    Column("phone_enc", LargeBinary),
    Column("webhook_url_enc", LargeBinary),
    Column("webhook_secret_enc", LargeBinary),
    Column("channels", String(64), nullable=False),
    Column("language", String(2), nullable=False),
    Column("area_kind", String(16), nullable=False),
    Column("area_crs", String(64), nullable=False),
    Column("area_wkb", LargeBinary, nullable=False),
    Column("area_source_wkt", Text, nullable=False),
    Column("buffer_m", Float),
    Column("min_level", Integer, nullable=False),
    Column("min_probability", Float),
    Column("max_lead_h", Integer, nullable=False),
    Column("confirm_token_hash", String(64)),
    Column("unsubscribe_token_hash", String(64)),
    Column("token_salt", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("confirmed_at", DateTime),
    Column("kind", String(32), nullable=False, server_default="household"),
)

#: a subscriber's lowest level by name (``--level``, the sign-up form), from the one table
LEVELS = {name: code for code, name in LEVEL_NAMES.items() if code}
SubscriberKind = Literal["household", "dike_association", "operator"]


def db_url(url: str | None = None) -> str:
    """The alerts database URL: ``url``, else ``WETINDEX_DB_URL``, else a local SQLite file.

    ``postgresql://`` URLs use the psycopg (3) driver.
    """
    url = url or os.environ.get(DB_URL_ENV) or DEFAULT_DB_URL
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class SubscriberSpec(BaseModel):
    """What a subscriber wants: the one model for the CLI (``subscribers add``), the
    self-service API, the import file (``subscribers import``) and the store.

    ``area`` is the wetindex area's name, ``shape`` the subscribed place in it. The
    channels follow from the contacts given unless named. ``id`` is chosen by the
    operator (CLI ``--id``, an import file's entries, the demo) or left to the store.
    """

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]+$", max_length=64,
                           description="letters, digits, . _ - (part of idempotency keys)")
    area: str = Field(min_length=1, max_length=100, description="wetindex area name")
    name: str = Field(min_length=1, max_length=200, description="place name used in alerts")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                              max_length=254)
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    webhook_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=2000)
    webhook_secret: str | None = Field(default=None, pattern=r"^whsec_[A-Za-z0-9+/=]{24,}$")
    channels: tuple[Channel, ...] | None = None
    language: Literal["da", "en"] = "da"
    shape: AreaSpec
    min_level: int = Field(default=1, ge=1, le=3)
    min_probability: float | None = Field(default=None, gt=0, le=1)
    max_lead_h: int = Field(default=48, ge=1, le=48)
    #: what alerts tell them to do: a household protects its property, a dike association
    #: inspects and prepares its dike, an operator (pumps, emergency services) acts
    kind: SubscriberKind = "household"

    @model_validator(mode="after")
    def _contacts_match_channels(self) -> SubscriberSpec:
        have = {"email": self.email, "sms": self.phone, "webhook": self.webhook_url}
        if self.channels is None:
            self.channels = tuple(c for c, v in have.items() if v)  # type: ignore[assignment]
        if not self.channels:
            raise ValueError("give a contact: an e-mail address, a phone number (+45...) "
                             "or a webhook URL")
        missing = [c for c in self.channels if not have[c]]
        if missing:
            raise ValueError(f"channel(s) {missing} need their contact (email, phone, "
                             "webhook_url)")
        if self.webhook_url and not self.webhook_secret:
            # unsigned, every alert to it would fail at delivery: say so now, not then
            raise ValueError("a webhook_url needs its webhook_secret (whsec_..., shared with "
                             "the receiver); make one with: python -c \"from "
                             "wetindex.alerts.webhook import generate_secret; "
                             "print(generate_secret())\"")
        return self


def spec_problem(err: ValidationError, source: str) -> str:
    """A :class:`SubscriberSpec`'s validation error on one line, naming ``source`` and
    each bad or unknown field (by the one formatter,
    :func:`wetindex.config.format_validation_error`)."""
    head, *lines = format_validation_error(err, source, "subscriber").splitlines()
    return head + ": " + "; ".join(line.strip() for line in lines)


@dataclass(frozen=True)
class Subscriber:
    """A stored subscriber, contacts decrypted."""

    id: str
    area: str
    name: str
    status: str
    email: str | None
    phone: str | None
    webhook_url: str | None
    webhook_secret: str | None
    channels: tuple[str, ...]
    language: str
    area_kind: str
    area_crs: str
    geometry: Any  # shapely geometry in area_crs (lines and points already buffered)
    source_shape: Any
    buffer_m: float | None
    min_level: int
    min_probability: float | None
    max_lead_h: int
    created_at: datetime
    confirmed_at: datetime | None
    kind: str = "household"

    def to_subscription(self, crs: str | None = None) -> Subscription:
        """The alert engine's view, the geometry in ``crs`` (default: the stored CRS)."""
        geometry = self.geometry
        if crs is not None and crs != self.area_crs:
            geometry = reproject(geometry, self.area_crs, crs)
        return Subscription(
            id=self.id, name=self.name, email=self.email, language=self.language,
            geometry=geometry, min_level=self.min_level, min_probability=self.min_probability,
            max_lead_h=self.max_lead_h, channels=self.channels, crs=crs or self.area_crs,
            kind=self.kind)


class UnknownSubscriberError(KeyError):
    """No subscriber with that id."""

    def __str__(self) -> str:
        return f"no subscriber with id {self.args[0]!r} (see `wetindex subscribers list`)"


class SubscriberStore:
    """Subscribers in the alerts database.

    Parameters
    ----------
    url : str or Engine, optional
        SQLAlchemy URL or engine; default from :func:`db_url`. Migrations run on open.
    cipher : ContactCipher, optional
        Default: from ``WETINDEX_SECRET_KEY`` (a clear error names it when unset).
    """

    def __init__(self, url: str | Engine | None = None, cipher: ContactCipher | None = None):
        self.cipher = cipher or ContactCipher.from_env()
        self.engine = make_engine(url if isinstance(url, Engine) else db_url(url))
        upgrade_database(self.engine)

    # ------------------------------------------------------------------ writing
    def _row(self, spec: SubscriberSpec, crs: str, status: str, now: datetime) -> dict:
        geometry = area_geometry(spec.shape, crs, f"subscriber {spec.name!r}")
        kind, source, buffer_m = spec.shape.source()
        source = reproject(source, spec.shape.crs, crs)
        c = self.cipher
        return {
            "area": spec.area, "name": spec.name, "status": status,
            "email_enc": c.encrypt(spec.email),
            "email_index": c.blind_index(spec.email) if spec.email else None,
            "phone_enc": c.encrypt(spec.phone), "webhook_url_enc": c.encrypt(spec.webhook_url),
            "webhook_secret_enc": c.encrypt(spec.webhook_secret),
            "channels": ",".join(spec.channels or ()), "language": spec.language,
            "area_kind": kind, "area_crs": crs, "area_wkb": shapely.to_wkb(geometry),
            "area_source_wkt": shapely.to_wkt(source, rounding_precision=3),
            "buffer_m": buffer_m, "min_level": spec.min_level,
            "min_probability": spec.min_probability, "max_lead_h": spec.max_lead_h,
            "token_salt": secrets.token_hex(16), "created_at": to_db_time(now),
            "kind": spec.kind,
        }

    def add(self, spec: SubscriberSpec, crs: str, *, now: datetime | None = None
            ) -> Subscriber:
        """Add an active subscriber (the operator vouches for the contact), with the id
        ``spec.id`` or a new one."""
        now = now or utc_now()
        row = self._row(spec, crs, "active", now) | {"confirmed_at": to_db_time(now)}
        return self._insert(row, spec.id)

    def sign_up(self, spec: SubscriberSpec, crs: str, *, now: datetime | None = None
                ) -> tuple[Subscriber, str | None]:
        """A pending self-service subscriber and its confirmation token (kept only hashed).

        One person, one place: if this e-mail address already subscribes to the same
        shape in the same area, nothing new is stored. A pending duplicate gets a new
        token (the old link stops working, the 72 h start again); an active one gets
        none (``None``): there is nothing to confirm. The store chooses the id.
        """
        if spec.id is not None:
            raise ValueError("a self-service sign-up cannot choose its id")
        now = now or utc_now()
        token = new_token()
        row = self._row(spec, crs, "pending", now)
        row["confirm_token_hash"] = token_hash(token)
        with self.engine.begin() as conn:
            same = conn.execute(select(subscribers_table.c.id, subscribers_table.c.status)
                                .where(subscribers_table.c.area == row["area"],
                                       subscribers_table.c.email_index == row["email_index"],
                                       subscribers_table.c.area_source_wkt
                                       == row["area_source_wkt"])).first()
            if same is not None and same.status == "pending":
                conn.execute(update(subscribers_table).where(subscribers_table.c.id == same.id)
                             .values(confirm_token_hash=row["confirm_token_hash"],
                                     created_at=to_db_time(now)))
        if same is not None:
            return self.get(same.id), token if same.status == "pending" else None
        return self._insert(row, None), token

    def _insert(self, row: dict, subscriber_id: str | None) -> Subscriber:
        row["id"] = subscriber_id or f"s-{secrets.token_hex(6)}"
        row["unsubscribe_token_hash"] = token_hash(
            self.cipher.unsubscribe_token(row["id"], row["token_salt"]))
        with self.engine.begin() as conn:
            if conn.execute(select(subscribers_table.c.id).where(
                    subscribers_table.c.id == row["id"])).first():
                raise ValueError(f"a subscriber with id {row['id']!r} already exists")
            conn.execute(subscribers_table.insert().values(**row))
        return self.get(row["id"])

    def confirm(self, token: str, *, now: datetime | None = None) -> Subscriber | None:
        """Activate the pending subscriber of a confirmation token (None if unknown/expired)."""
        now = now or utc_now()
        with self.engine.begin() as conn:
            row = conn.execute(select(subscribers_table.c.id, subscribers_table.c.created_at)
                               .where(subscribers_table.c.confirm_token_hash == token_hash(token),
                                      subscribers_table.c.status == "pending")).first()
            if row is None or from_db_time(row.created_at) < now - UNCONFIRMED_TTL:
                return None
            conn.execute(update(subscribers_table).where(subscribers_table.c.id == row.id)
                         .values(status="active", confirm_token_hash=None,
                                 confirmed_at=to_db_time(now)))
        return self.get(row.id)

    def remove(self, subscriber_id: str) -> dict[str, int]:
        """Delete a subscriber completely: its row, its alert state and its messages.

        Returns the number of rows deleted per table.
        """
        with self.engine.begin() as conn:
            counts = {
                "subscribers": conn.execute(delete(subscribers_table).where(
                    subscribers_table.c.id == subscriber_id)).rowcount,
                "alert_state": conn.execute(delete(alert_state_table).where(
                    alert_state_table.c.subscription_id == subscriber_id)).rowcount,
                "outbox": conn.execute(delete(outbox_table).where(
                    outbox_table.c.subscription_id == subscriber_id)).rowcount,
            }
        if counts["subscribers"] == 0:
            raise UnknownSubscriberError(subscriber_id)
        return counts

    def unsubscribe(self, token: str) -> bool:
        """Delete the subscriber whose unsubscribe token this is; False if none."""
        with self.engine.connect() as conn:
            found = conn.execute(select(subscribers_table.c.id).where(
                subscribers_table.c.unsubscribe_token_hash == token_hash(token))).scalar()
        if found is None:
            return False
        self.remove(found)
        return True

    def purge_unconfirmed(self, now: datetime | None = None,
                          max_age: timedelta = UNCONFIRMED_TTL) -> int:
        """Delete sign-ups not confirmed within ``max_age`` (72 h); returns how many."""
        cutoff = to_db_time((now or utc_now()) - max_age)
        with self.engine.connect() as conn:
            ids = conn.execute(select(subscribers_table.c.id).where(
                subscribers_table.c.status == "pending",
                subscribers_table.c.created_at < cutoff)).scalars().all()
        for sid in ids:
            self.remove(sid)
        return len(ids)

    # ------------------------------------------------------------------ reading
    def _subscriber(self, row: Any) -> Subscriber:
        d, c = row._mapping, self.cipher
        return Subscriber(
            id=d["id"], area=d["area"], name=d["name"], status=d["status"],
            email=c.decrypt(d["email_enc"]), phone=c.decrypt(d["phone_enc"]),
            webhook_url=c.decrypt(d["webhook_url_enc"]),
            webhook_secret=c.decrypt(d["webhook_secret_enc"]),
            channels=tuple(x for x in d["channels"].split(",") if x), language=d["language"],
            area_kind=d["area_kind"], area_crs=d["area_crs"],
            geometry=shapely.from_wkb(bytes(d["area_wkb"])),
            source_shape=shapely.from_wkt(d["area_source_wkt"]), buffer_m=d["buffer_m"],
            min_level=d["min_level"], min_probability=d["min_probability"],
            max_lead_h=d["max_lead_h"], created_at=from_db_time(d["created_at"]),
            confirmed_at=from_db_time(d["confirmed_at"]), kind=d["kind"],
        )

    def get(self, subscriber_id: str) -> Subscriber:
        with self.engine.connect() as conn:
            row = conn.execute(select(subscribers_table).where(
                subscribers_table.c.id == subscriber_id)).first()
        if row is None:
            raise UnknownSubscriberError(subscriber_id)
        return self._subscriber(row)

    def list(self, area: str | None = None, *, status: str | None = None) -> list[Subscriber]:
        """Subscribers (of ``area``, in ``status``), oldest first."""
        query = select(subscribers_table).order_by(subscribers_table.c.created_at,
                                                   subscribers_table.c.id)
        if area is not None:
            query = query.where(subscribers_table.c.area == area)
        if status is not None:
            query = query.where(subscribers_table.c.status == status)
        with self.engine.connect() as conn:
            return [self._subscriber(r) for r in conn.execute(query)]

    def find_by_email(self, email: str) -> list[Subscriber]:
        """Active subscribers with this e-mail address (by its blind index)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(subscribers_table).where(
                subscribers_table.c.email_index == self.cipher.blind_index(email),
                subscribers_table.c.status == "active")).all()
        return [self._subscriber(r) for r in rows]

    def outbox(self, **options: Any) -> Outbox:
        """The outbox in this database, recipients and bodies encrypted with this key."""
        return Outbox(self.engine, cipher=self.cipher, **options)

    def subscriptions(self, area: str, crs: str) -> list[Subscription]:
        """The active subscriptions of ``area`` for the alert engine, geometry in ``crs``."""
        return [s.to_subscription(crs) for s in self.list(area, status="active")]

    def unsubscribe_token(self, subscriber_id: str) -> str:
        """The token of the subscriber's one-click unsubscribe link (recomputed, not stored)."""
        with self.engine.connect() as conn:
            salt = conn.execute(select(subscribers_table.c.token_salt).where(
                subscribers_table.c.id == subscriber_id)).scalar()
        if salt is None:
            raise UnknownSubscriberError(subscriber_id)
        return self.cipher.unsubscribe_token(subscriber_id, salt)

    def unsubscribe_url(self, api_url: str):
        """For :func:`~wetindex.alerts.engine.run_alerts`: subscription → one-click link."""
        base = api_url.rstrip("/")
        return lambda sub: f"{base}/unsubscribe/{self.unsubscribe_token(sub.id)}"

    def contact(self, subscriber_id: str, channel: str) -> tuple[str, str | None]:
        """The decrypted target of ``channel`` (address, and the webhook secret)."""
        sub = self.get(subscriber_id)
        target = {"email": sub.email, "sms": sub.phone, "webhook": sub.webhook_url}[channel]
        if target is None:
            raise ValueError(f"subscriber {subscriber_id!r} has no {channel} contact")
        return target, sub.webhook_secret if channel == "webhook" else None

    def export(self, subscriber_id: str) -> dict[str, Any]:
        """Everything stored about one subscriber (GDPR access), as JSON-able data."""
        sub = self.get(subscriber_id)

        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        with self.engine.connect() as conn:
            state = conn.execute(select(alert_state_table).where(
                alert_state_table.c.subscription_id == subscriber_id)).first()
            messages = conn.execute(select(outbox_table).where(
                outbox_table.c.subscription_id == subscriber_id).order_by(outbox_table.c.id)
            ).all()
        return {
            "id": sub.id, "area": sub.area, "name": sub.name, "status": sub.status,
            "contact": {"email": sub.email, "phone": sub.phone, "webhook_url": sub.webhook_url,
                        "webhook_secret": sub.webhook_secret},
            "channels": list(sub.channels), "language": sub.language, "kind": sub.kind,
            "shape": {"kind": sub.area_kind, "crs": sub.area_crs,
                      "wkt": shapely.to_wkt(sub.source_shape, rounding_precision=3),
                      "buffer_m": sub.buffer_m,
                      "area_wkt": shapely.to_wkt(sub.geometry, rounding_precision=3)},
            "thresholds": {"min_level": sub.min_level, "min_probability": sub.min_probability,
                           "max_lead_h": sub.max_lead_h},
            "created_at": iso(sub.created_at), "confirmed_at": iso(sub.confirmed_at),
            "alert_state": None if state is None else {
                k: (iso(from_db_time(v)) if isinstance(v, datetime) else v)
                for k, v in state._mapping.items()},
            "messages": [{
                "idempotency_key": m.idempotency_key, "channel": m.channel,
                "recipient": self.cipher.open_text(m.recipient), "status": m.status,
                "attempts": m.attempts, "created_at": iso(from_db_time(m.created_at)),
                "delivered_at": iso(from_db_time(m.delivered_at)),
                "body": self.cipher.open_bytes(m.body).decode("utf-8", errors="replace"),
            } for m in messages],
        }

