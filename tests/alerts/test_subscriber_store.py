"""The subscriber store: migrations, encryption at rest, export and complete deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest
import shapely
from alert_fixtures import AREA, ISSUE, make_forecast
from sqlalchemy import inspect

from wetindex.alerts.crypto import (
    SECRET_KEY_ENV,
    ContactCipher,
    MissingSecretKeyError,
    generate_key,
    mask_contact,
)
from wetindex.alerts.engine import AlertStore, run_alerts
from wetindex.alerts.migrations import current_revision
from wetindex.alerts.outbox import Outbox
from wetindex.alerts.subscribers import SubscriberSpec, SubscriberStore, db_url
from wetindex.alerts.webhook import generate_secret

CRS = "EPSG:25832"
EMAIL = "formand@digelaget-klitten.dk"
PHONE = "+4512345678"
HOOK = "https://pumpe.example.dk/hooks/wetindex-7f3a"


def spec(**kw) -> SubscriberSpec:
    values = {"area": "testkommune", "name": "Digelaget Klitten", "email": EMAIL,
              "shape": {"crs": CRS, "polygon": list(AREA.exterior.coords)},
              "min_level": 2, "max_lead_h": 24} | kw
    return SubscriberSpec(**values)


@pytest.fixture
def cipher() -> ContactCipher:
    return ContactCipher(generate_key())


@pytest.fixture
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'alerts.db'}"


def test_missing_key_names_the_variable(monkeypatch, db):
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    with pytest.raises(MissingSecretKeyError, match=SECRET_KEY_ENV):
        SubscriberStore(db)
    monkeypatch.setenv(SECRET_KEY_ENV, "not-a-key")
    with pytest.raises(MissingSecretKeyError, match=f"{SECRET_KEY_ENV} is not a valid"):
        SubscriberStore(db)


def test_wrong_key_cannot_read_contacts(db, cipher):
    SubscriberStore(db, cipher).add(spec(id="a"), CRS)
    with pytest.raises(MissingSecretKeyError, match="not the key"):
        SubscriberStore(db, ContactCipher(generate_key())).get("a")


def test_db_url_from_environment(monkeypatch):
    monkeypatch.setenv("WETINDEX_DB_URL", "postgresql://u:p@127.0.0.1:5432/w")
    assert db_url() == "postgresql+psycopg://u:p@127.0.0.1:5432/w"
    monkeypatch.delenv("WETINDEX_DB_URL")
    assert db_url() == "sqlite:///wetindex-alerts.db"


def test_contacts_are_encrypted_at_rest(tmp_path, db, cipher):
    store = SubscriberStore(db, cipher)
    sub = store.add(spec(phone=PHONE, webhook_url=HOOK, webhook_secret=generate_secret()),
                    CRS)
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("alerts.db*"))  # db and its WAL
    for secret in (EMAIL, PHONE, HOOK, "digelaget-klitten", "pumpe.example"):
        assert secret.encode() not in raw
    assert b"Digelaget Klitten" in raw  # the place name is not personal data, stays readable
    back = store.get(sub.id)
    assert (back.email, back.phone, back.webhook_url) == (EMAIL, PHONE, HOOK)
    assert back.channels == ("email", "sms", "webhook")
    assert store.find_by_email(" Formand@Digelaget-Klitten.dk")[0].id == sub.id


def test_areas_are_stored_in_the_area_crs(db, cipher):
    store = SubscriberStore(db, cipher)
    poly = store.add(spec(), CRS)
    line = store.add(spec(shape={"crs": CRS, "line": [[540200, 6330230], [540260, 6330230]],
                                 "buffer_m": 15}), CRS)
    point = store.add(spec(shape={"crs": "EPSG:4326", "point": [9.63, 57.12],
                                  "radius_m": 100}), CRS)
    assert poly.geometry.equals(AREA)
    assert line.geometry.area == pytest.approx(60 * 30 + 3.1416 * 15**2, rel=0.01)
    assert line.source_shape.geom_type == "LineString" and line.buffer_m == 15
    assert point.geometry.area == pytest.approx(3.1416 * 100**2, rel=0.01)
    assert 500_000 < point.source_shape.x < 600_000  # lon/lat came in, metres stored
    sub = point.to_subscription("EPSG:3857")
    assert sub.crs == "EPSG:3857" and sub.geometry.area > point.geometry.area  # Mercator


def test_spec_needs_a_contact_for_each_channel():
    with pytest.raises(ValueError, match="give a contact"):
        spec(email=None)
    with pytest.raises(ValueError, match=r"\['sms'\] need their contact"):
        spec(channels=("email", "sms"))
    with pytest.raises(ValueError, match="exactly one of polygon, line, point"):
        spec(shape={"crs": CRS})


def test_migrations_adopt_an_existing_outbox_database(db, cipher):
    outbox = Outbox(db)  # made before migrations existed: tables by create_all
    outbox.enqueue("old:1:1", "email", "x@example.dk", b"body", subscription_id="old")
    assert current_revision(outbox.engine) is None
    store = SubscriberStore(db, cipher)
    assert current_revision(store.engine) == "0002"
    assert {"subscribers", "alert_state", "outbox", "alembic_version"} <= set(
        inspect(store.engine).get_table_names())
    assert [m.idempotency_key for m in Outbox(db).messages()] == ["old:1:1"]
    SubscriberStore(db, cipher)  # opening again is a no-op
    assert current_revision(store.engine) == "0002"


def test_export_and_complete_deletion(db, cipher):
    store = SubscriberStore(db, cipher)
    outbox, states = Outbox(store.engine), AlertStore(store.engine)
    keep = store.add(spec(email="andre@example.dk"), CRS)
    gone = store.add(spec(), CRS)
    subs = store.subscriptions("testkommune", CRS)
    run_alerts(make_forecast(0.5), subs, states, outbox, site_url="https://x.dk/",
               unsubscribe_url=store.unsubscribe_url("https://x.dk/api"))
    data = store.export(gone.id)
    assert data["contact"]["email"] == EMAIL
    assert data["thresholds"] == {"min_level": 2, "min_probability": None, "max_lead_h": 24}
    assert data["alert_state"]["level"] == 2
    assert shapely.from_wkt(data["shape"]["wkt"]).equals(AREA)
    assert [m["channel"] for m in data["messages"]] == ["email"]
    assert "/api/unsubscribe/" in data["messages"][0]["body"]

    counts = store.remove(gone.id)
    assert counts == {"subscribers": 1, "alert_state": 1, "outbox": 1}
    with pytest.raises(KeyError, match="no subscriber"):
        store.get(gone.id)
    assert states.get(gone.id) is None
    assert {m.subscription_id for m in outbox.messages()} == {keep.id}
    with pytest.raises(KeyError):
        store.remove(gone.id)


def test_sign_up_confirm_and_purge(db, cipher):
    store = SubscriberStore(db, cipher)
    pending, token = store.sign_up(spec(), CRS, now=ISSUE)
    assert pending.status == "pending" and store.subscriptions("testkommune", CRS) == []
    assert store.confirm("wrong-token", now=ISSUE) is None
    assert store.confirm(token, now=ISSUE + timedelta(hours=1)).status == "active"
    assert store.confirm(token, now=ISSUE + timedelta(hours=1)) is None  # used up
    # the same person and place again: nothing new (one person, one place)
    assert store.sign_up(spec(), CRS, now=ISSUE)[1] is None
    _late, late_token = store.sign_up(spec(email="late@example.dk"), CRS, now=ISSUE)
    assert store.confirm(late_token, now=ISSUE + timedelta(hours=73)) is None
    assert store.purge_unconfirmed(ISSUE + timedelta(hours=71)) == 0
    assert store.purge_unconfirmed(ISSUE + timedelta(hours=73)) == 1
    assert [s.id for s in store.list()] == [pending.id]


def test_unsubscribe_token_deletes_only_its_subscriber(db, cipher):
    store = SubscriberStore(db, cipher)
    a, b = store.add(spec(), CRS), store.add(spec(), CRS)
    assert store.unsubscribe_token(a.id) != store.unsubscribe_token(b.id)
    assert not store.unsubscribe("made-up")
    assert store.unsubscribe(store.unsubscribe_token(a.id))
    assert [s.id for s in store.list()] == [b.id]


def test_mask_contact_hides_the_contact():
    assert mask_contact(EMAIL) == "f***@d***.dk"
    assert mask_contact(PHONE) == "+45****78"
    assert mask_contact(HOOK) == "https://pumpe.example.dk/***"
    assert "formand" not in mask_contact(EMAIL)


def test_alerts_from_store_subscriptions_reach_the_outbox(db, cipher):
    store = SubscriberStore(db, cipher)
    store.add(spec(min_level=1, id="klitten"), CRS)
    outbox, states = Outbox(store.engine), AlertStore(store.engine)
    forecast = make_forecast(0.3)
    decisions = run_alerts(forecast, store.subscriptions("testkommune", CRS), states, outbox,
                           site_url="https://x.dk/")
    assert [(d.subscription_id, d.level) for d in decisions] == [("klitten", 1)]
    assert run_alerts(forecast, store.subscriptions("testkommune", CRS), states, outbox,
                      site_url="https://x.dk/") == []


def test_outbox_rows_are_encrypted_too_and_still_delivered(tmp_path, db, cipher):
    from wetindex.alerts.email import SmtpChannel
    from wetindex.alerts.mailsink import MailSink
    from wetindex.alerts.outbox import deliver_pending

    store = SubscriberStore(db, cipher)
    store.add(spec(id="klitten"), CRS)
    plain = Outbox(store.engine)
    plain.enqueue("old:1:1", "email", "gammel@example.dk", b"To: gammel@example.dk\r\n\r\nx")
    outbox = store.outbox()
    run_alerts(make_forecast(0.5), store.subscriptions("testkommune", CRS),
               AlertStore(store.engine), outbox, site_url="https://x.dk/")
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("alerts.db*"))  # db and its WAL
    assert EMAIL.encode() not in raw and b"Digelaget Klitten" in raw  # name: subscribers row
    assert [m.recipient for m in outbox.messages()] == ["gammel@example.dk", EMAIL]
    assert store.export("klitten")["messages"][0]["recipient"] == EMAIL
    with MailSink(tmp_path / "mail") as sink:
        channel = SmtpChannel("127.0.0.1", sink.port, starttls=False, sender="w@x.dk")
        assert len(deliver_pending(outbox, {"email": channel}).delivered) == 2
        assert sorted(m["To"] for m in sink.messages()) == [EMAIL, "gammel@example.dk"]
    with pytest.raises(MissingSecretKeyError, match="outbox message cannot be decrypted"):
        Outbox(store.engine, cipher=ContactCipher(generate_key())).messages()


def test_seeding_subscribers_is_idempotent_and_keeps_each_shape(db, cipher):
    # catches: a re-import that adds everyone twice, a seed that drops the thresholds, and
    # a point/line flattened to a polygon (the store's record of what was given)
    from wetindex.alerts.subscriber_input import seed_subscribers

    store = SubscriberStore(db, cipher)
    x, y = AREA.centroid.x, AREA.centroid.y
    seeds = [spec(id="demo-1", min_level=3),
             spec(id="demo-2", email="ejer@klitrosen.dk",
                  shape={"crs": CRS, "point": (x, y), "radius_m": 25.0})]
    assert seed_subscribers(store, CRS, seeds) == 2
    assert seed_subscribers(store, CRS, seeds) == 0
    assert len(store.list()) == 2
    subs = {s.id: s for s in store.subscriptions("testkommune", CRS)}
    assert subs["demo-1"].min_level == 3 and subs["demo-1"].email == EMAIL
    assert subs["demo-1"].geometry.equals(AREA)
    assert subs["demo-2"].email == "ejer@klitrosen.dk" and subs["demo-2"].min_level == 2
    assert subs["demo-2"].geometry.area == pytest.approx(3.14159 * 25 ** 2, rel=0.01)
    assert store.get("demo-2").area_kind == "point"
    with pytest.raises(ValueError, match="needs an id"):
        seed_subscribers(store, CRS, [spec()])


def test_a_self_service_sign_up_cannot_choose_its_id(db, cipher):
    # catches: a sign-up taking over an existing subscriber's id (and its alert state)
    with pytest.raises(ValueError, match="cannot choose its id"):
        SubscriberStore(db, cipher).sign_up(spec(id="demo-1"), CRS)
