"""The self-service API (a real ASGI app through FastAPI's TestClient): double opt-in,
same answers whether or not an address exists, hashed tokens, rate limits, purge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from alert_fixtures import AREA, ISSUE
from fastapi.testclient import TestClient

from wetindex.alerts.api import ACCEPTED, RateLimiter, create_app, purge_unconfirmed
from wetindex.alerts.crypto import ContactCipher, generate_key, token_hash
from wetindex.alerts.subscribers import SubscriberStore

CRS = "EPSG:25832"
API = "https://varsler.example.dk/api"
EMAIL = "beboer@example.dk"


def sign_up_body(email: str = EMAIL, **kw) -> dict:
    return {"area": "testkommune", "name": "Klitvej 12", "email": email, "language": "da",
            "level": "orange", "within_h": 24,
            "shape": {"crs": CRS, "point": list(AREA.centroid.coords[0]), "radius_m": 50}} | kw


class Clock:
    def __init__(self):
        self.now = ISSUE

    def __call__(self):
        return self.now


@pytest.fixture
def service(tmp_path):
    store = SubscriberStore(f"sqlite:///{tmp_path / 'alerts.db'}",
                            ContactCipher(generate_key()))
    mails, clock = [], Clock()
    app = create_app(store, crs=CRS, public_url=API, mailer=mails.append,
                     areas={"testkommune"}, limiter=RateLimiter(capacity=1000), now=clock)
    return TestClient(app), store, mails, clock, tmp_path / "alerts.db"


def link(mail, kind: str) -> str:
    return re.search(rf"{re.escape(API)}/{kind}/(\S+)", mail.get_content()).group(1)


def test_double_opt_in(service):
    client, store, mails, _clock, db = service
    answer = client.post("/subscriptions", json=sign_up_body())
    assert answer.status_code == 202 and answer.json() == ACCEPTED
    assert [s.status for s in store.list()] == ["pending"]
    assert store.subscriptions("testkommune", CRS) == []
    mail = mails[-1]
    assert mail["To"] == EMAIL and "Bekræft" in mail["Subject"]
    token = link(mail, "confirm")
    raw = b"".join(f.read_bytes() for f in db.parent.glob(db.name + "*"))  # db and its WAL
    assert token.encode() not in raw  # only its hash is stored
    assert token_hash(token).encode() in raw
    assert "<form method='post'" in client.get(f"/confirm/{token}").text  # GET changes nothing
    assert store.list()[0].status == "pending"
    page = client.post(f"/confirm/{token}")
    assert page.status_code == 200 and "Klitvej 12" in page.text
    sub = store.subscriptions("testkommune", CRS)[0]
    assert (sub.min_level, sub.max_lead_h, sub.email) == (2, 24, EMAIL)
    assert client.post(f"/confirm/{token}").status_code == 404  # a token works once


def test_answers_do_not_reveal_whether_an_address_exists(service):
    client, store, mails, _clock, _db = service
    client.post("/subscriptions", json=sign_up_body())
    client.post(f"/confirm/{link(mails[-1], 'confirm')}")
    again = client.post("/subscriptions", json=sign_up_body())
    new = client.post("/subscriptions", json=sign_up_body("ny@example.dk"))
    assert (again.status_code, again.json()) == (new.status_code, new.json()) == (202, ACCEPTED)

    known = client.post("/unsubscribe", json={"email": EMAIL})
    unknown = client.post("/unsubscribe", json={"email": "ukendt@example.dk"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert mails[-1]["To"] == EMAIL and "Afmeld" in mails[-1]["Subject"]  # only the known one
    assert sum(m["To"] == "ukendt@example.dk" for m in mails) == 0

    token = link(mails[-1], "unsubscribe")
    first = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    second = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    made_up = client.post("/unsubscribe/made-up-token")
    assert first.json() == second.json() == made_up.json()
    assert store.find_by_email(EMAIL) == []


def test_unsubscribe_link_of_alert_mails_works_one_click(service):
    client, store, mails, _clock, _db = service
    client.post("/subscriptions", json=sign_up_body())
    client.post(f"/confirm/{link(mails[-1], 'confirm')}")
    sub = store.list()[0]
    url = store.unsubscribe_url(API)(sub.to_subscription())
    assert url.startswith(f"{API}/unsubscribe/")
    assert client.post(url.removeprefix(API)).status_code == 200
    assert store.list() == []


def test_unconfirmed_sign_ups_are_purged_after_72_hours(service):
    client, store, mails, clock, _db = service
    client.post("/subscriptions", json=sign_up_body())
    token = link(mails[-1], "confirm")
    assert purge_unconfirmed(store, ISSUE + timedelta(hours=71)) == 0
    assert purge_unconfirmed(store, ISSUE + timedelta(hours=72, seconds=1)) == 1
    assert store.list() == []
    clock.now = ISSUE + timedelta(hours=1)
    assert client.post(f"/confirm/{token}").status_code == 404


def test_bad_sign_up_is_rejected_with_the_reason(service):
    client, store, mails, _clock, _db = service
    wrong_area = client.post("/subscriptions", json=sign_up_body(area="andeby"))
    assert wrong_area.status_code == 422 and "unknown area 'andeby'" in wrong_area.text
    bad_mail = client.post("/subscriptions", json=sign_up_body("ikke-en-adresse"))
    # the reason names the field (it once said only "For further information visit
    # https://errors.pydantic.dev/...", pydantic's last line)
    assert bad_mail.status_code == 422 and "email" in bad_mail.json()["detail"]
    assert "pydantic" not in bad_mail.text
    extra = client.post("/subscriptions", json=sign_up_body(password="x"))
    assert extra.status_code == 422
    assert store.list() == [] and mails == []


def test_rate_limit_per_client_ip(tmp_path):
    store = SubscriberStore(f"sqlite:///{tmp_path / 'a.db'}", ContactCipher(generate_key()))
    t = [0.0]
    limiter = RateLimiter(capacity=3, per_seconds=60, clock=lambda: t[0])
    client = TestClient(create_app(store, crs=CRS, public_url=API, mailer=lambda m: None,
                                   limiter=limiter))
    codes = [client.post("/unsubscribe", json={"email": EMAIL}).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    limited = client.post("/unsubscribe/x")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    other = TestClient(client.app, client=("203.0.113.9", 5000))
    assert other.post("/unsubscribe", json={"email": EMAIL}).status_code == 202
    t[0] = 20.0  # one token back after 60 s / 3
    assert client.post("/unsubscribe", json={"email": EMAIL}).status_code == 202
    assert client.post("/unsubscribe", json={"email": EMAIL}).status_code == 429


def test_a_failing_mailer_changes_no_answer(tmp_path):
    store = SubscriberStore(f"sqlite:///{tmp_path / 'a.db'}", ContactCipher(generate_key()))

    def broken(message):
        raise ConnectionRefusedError("smtp down")

    app = create_app(store, crs=CRS, public_url=API, mailer=broken)
    answer = TestClient(app).post("/subscriptions", json=sign_up_body())
    assert (answer.status_code, answer.json()) == (202, ACCEPTED)
    assert app.state.mail_failures == 1
