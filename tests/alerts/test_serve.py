"""`wetindex serve` for real: uvicorn on loopback serving the site at / and the API at
/api/, a real SMTP relay (STARTTLS + AUTH) for the confirmation and the alerts; a person
signs up, confirms, gets an alert, follows the unsubscribe link in the received mail,
and gets nothing more. Rate limits by client (X-Forwarded-For only from trusted
proxies) and by target address."""

from __future__ import annotations

import re
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import httpx
import pytest
import uvicorn
from alert_fixtures import AREA, GRID, ISSUE
from smtp_relay import PASSWORD, USER, Relay
from test_area_delivery import FakeInputs, forecast

from wetindex.alerts.area import open_store, run_area_alerts
from wetindex.alerts.crypto import generate_key
from wetindex.alerts.mailsink import free_port
from wetindex.alerts.serve import build_app
from wetindex.config import parse_config
from wetindex.stages.context import AreaContext

EMAIL = "beboer@klitten.example"


class Clock:
    def __init__(self):
        self.now = ISSUE

    def __call__(self):
        return self.now


@contextmanager
def running(tmp_path, monkeypatch, relay: Relay, *, trusted=("127.0.0.1",), clock=None):
    """The area's sign-up service on a free loopback port; yields (ctx, base URL)."""
    monkeypatch.setenv("WETINDEX_SECRET_KEY", generate_key())
    monkeypatch.setenv("WETINDEX_SMTP_PASSWORD", PASSWORD)
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    config = parse_config({
        "name": "testkommune", "title": "Testkommune", "source": "local",
        "grid": {"x_min": GRID.x_min, "y_max": GRID.y_max, "nx": GRID.nx, "ny": GRID.ny},
        "inputs": {"terrain": "t.tif", "rain": "r.csv", "sea_level": "s.csv",
                   "boundary": "b.geojson"},
        "site": {"url": base},
        "alerts": {"sender": "varsel@kommune.example.dk",
                   "smtp": {"host": "127.0.0.1", "port": relay.port, "username": USER,
                            "ca_file": str(relay.ca_file), "timeout_s": 5},
                   "serve": {"trusted_proxies": list(trusted), "client_per_minute": 5,
                             "target_per_day": 3}}})
    ctx = AreaContext(config, tmp_path)
    site = ctx.area_dir / "site" / "current"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>site</title>")
    with ExitStack() as stack:
        app = build_app(ctx, stack, with_site=True, now=clock or Clock())
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", proxy_headers=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        try:
            yield ctx, base
        finally:
            server.should_exit = True
            thread.join(10)


def sign_up_body(email: str = EMAIL) -> dict:
    return {"area": "testkommune", "name": "Klitvej 12", "email": email, "language": "da",
            "level": "yellow", "shape": {"crs": GRID.crs,
                                         "point": list(AREA.centroid.coords[0]),
                                         "radius_m": 40}}


def wait_for(predicate, seconds: float = 10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_sign_up_confirm_alert_unsubscribe_from_the_received_mail(tmp_path, monkeypatch):
    with Relay(tmp_path) as relay, running(tmp_path, monkeypatch, relay) as (ctx, base):
        http = httpx.Client(timeout=10)
        assert http.get(base).status_code == 200  # the site, same origin as the API
        answer = http.post(f"{base}api/subscriptions", json=sign_up_body())
        assert answer.status_code == 202
        wait_for(lambda: len(relay.mails()) == 1)
        confirm = re.search(r"(http://\S+/api/confirm/\S+)", relay.mails()[0].get_content())[1]
        page = http.get(confirm)
        action = re.search(r"action='([^']+)'", page.text)[1]
        assert "du får nu varsler" in http.post(action).text
        # the next run finds the new subscriber in the store and mails the alert
        done = run_area_alerts(ctx, FakeInputs(), forecast(0.55), now=ISSUE)
        assert done.decisions == 1
        alert = relay.mails()[-1]
        assert alert["To"] == EMAIL and alert["Subject"].startswith("Orange")
        link = re.search(r"(http://\S+/api/unsubscribe/\S+)",
                         alert.get_body(("plain",)).get_content())[1]
        assert alert["List-Unsubscribe"] == f"<{link}>"
        # the link opens a page with one button; pressing it unsubscribes and deletes
        page = http.get(link)
        assert page.status_code == 200 and "Afmeld" in page.text
        action = re.search(r"action='([^']+)'", page.text)[1]
        done_page = http.post(action, data={"List-Unsubscribe": "One-Click"},
                              headers={"accept": "text/html"})
        assert "Afmeldt" in done_page.text and "<html" in done_page.text
        assert open_store(ctx).list() == []
        # the storm gets worse: the person gets nothing more
        before = len(relay.mails())
        later = ISSUE + timedelta(hours=3)
        assert run_area_alerts(ctx, FakeInputs(), forecast(0.8, issue=later),
                               now=later).decisions == 0
        assert len(relay.mails()) == before == 2


def test_rfc8058_one_click_post(tmp_path, monkeypatch):
    with Relay(tmp_path) as relay, running(tmp_path, monkeypatch, relay) as (ctx, base):
        store = open_store(ctx)
        http = httpx.Client(timeout=10)
        http.post(f"{base}api/subscriptions", json=sign_up_body())
        wait_for(lambda: len(relay.mails()) == 1)
        confirm = re.search(r"/api/confirm/(\S+)", relay.mails()[0].get_content())[1]
        http.post(f"{base}api/confirm/{confirm}")
        run_area_alerts(ctx, FakeInputs(), forecast(0.55), now=ISSUE)
        link = relay.mails()[-1]["List-Unsubscribe"].strip("<>")
        # what a mail client does (RFC 8058): POST the form body, no cookies, no page
        answer = http.post(link, content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 200 and "Unsubscribed" in answer.json()["detail"]
        assert store.list() == []
        made_up = http.post(link[:-4] + "AAAA", content=b"List-Unsubscribe=One-Click",
                            headers={"content-type": "application/x-www-form-urlencoded"})
        assert made_up.json() == answer.json()  # tokens cannot be probed


def test_made_up_forwarded_for_does_not_pass_the_client_limit(tmp_path, monkeypatch):
    # the test client (127.0.0.1) is NOT a trusted proxy here: its X-Forwarded-For is ignored
    with Relay(tmp_path) as relay, running(tmp_path, monkeypatch, relay,
                                           trusted=("10.9.9.9",)) as (_, base):
        http = httpx.Client(timeout=10)
        codes = [http.post(f"{base}api/subscriptions", json=sign_up_body(f"v{i}@x.example"),
                           headers={"x-forwarded-for": f"198.51.100.{i}"}).status_code
                 for i in range(20)]
    assert codes.count(202) == 5 and codes.count(429) == 15


def test_one_victim_gets_at_most_the_per_address_limit(tmp_path, monkeypatch):
    # behind the trusted proxy every request comes from a different real client
    with Relay(tmp_path) as relay, running(tmp_path, monkeypatch, relay) as (ctx, base):
        http = httpx.Client(timeout=10)
        codes = [http.post(f"{base}api/subscriptions", json=sign_up_body(),
                           headers={"x-forwarded-for": f"198.51.100.{i}"}).status_code
                 for i in range(20)]
        time.sleep(0.5)
        mails = relay.mails()
        # one person, one place: still one (pending) subscriber
        assert len(open_store(ctx).list()) == 1
    assert codes == [202] * 20  # the same answer every time: nothing to learn
    assert len(mails) == 3  # alerts.serve.target_per_day


@pytest.mark.parametrize("peer,header,expected", [
    ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
    ("127.0.0.1", "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # only the hop the proxy saw
    ("198.51.100.1", "203.0.113.7", "198.51.100.1"),  # not a proxy: header ignored
    ("127.0.0.1", "not-an-ip", "127.0.0.1"),
])
def test_client_address(peer, header, expected):
    from wetindex.alerts.api import client_address

    assert client_address(peer, header, ["127.0.0.1", "::1"]) == expected
