"""An area's alerts end to end: the store as the one source, a real SMTP relay on loopback
(STARTTLS + AUTH, or implicit TLS), a real HTTP SMS gateway and webhook receiver, the
outcomes in ``wetindex status``, and no stand-down for want of data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alert_fixtures import (
    AREA,
    GRID,
    ISSUE,
    FakeForecast,
    FakeInputs,
    make_forecast,
    make_warning,
)
from http_receiver import Receiver
from smtp_relay import PASSWORD, USER, Relay

from wetindex.alerts.area import (
    alerts_housekeeping,
    delivery_status,
    open_store,
    run_area_alerts,
)
from wetindex.alerts.crypto import generate_key
from wetindex.alerts.subscribers import SubscriberSpec
from wetindex.alerts.webhook import verify
from wetindex.config import parse_config
from wetindex.stages.context import AreaContext
from wetindex.warnings import InputHealth, RunStatus

SITE = "https://varsler.example.dk/"


def status(fresh: bool = True, issue=ISSUE) -> RunStatus:
    inputs = [InputHealth("sea_level", "fresh" if fresh else "stale", issue, "")]
    return RunStatus(area_name="Testkommune", issue_time=issue, generated_at=issue,
                     next_update=issue + timedelta(hours=3), inputs=inputs,
                     forecast_ok=True, message="" if fresh else "sea level 9 h old")


def forecast(p: float, *, issue=ISSUE, fresh: bool = True) -> FakeForecast:
    return FakeForecast(make_forecast(p, issue_time=issue), [make_warning()],
                        status(fresh, issue))


def area_context(tmp_path, monkeypatch, *, relay: Relay | None = None, sms_url: str | None = None,
                 security: str = "starttls") -> AreaContext:
    monkeypatch.setenv("WETINDEX_SECRET_KEY", generate_key())
    monkeypatch.setenv("WETINDEX_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("WETINDEX_SMS_AUTH", "Bearer sms-token")
    alerts: dict = {"sender": "varsel@kommune.example.dk", "sender_name": "Testkommune varsler",
                    "reply_to": "beredskab@kommune.example.dk", "webhook_allow_private": True}
    if relay is not None:
        alerts["smtp"] = {"host": "127.0.0.1", "port": relay.port, "security": security,
                          "username": USER, "ca_file": str(relay.ca_file), "timeout_s": 5}
    if sms_url is not None:
        alerts["sms"] = {"url": sms_url}
    config = parse_config({
        "name": "testkommune", "title": "Testkommune", "source": "local",
        "grid": {"x_min": GRID.x_min, "y_max": GRID.y_max, "nx": GRID.nx, "ny": GRID.ny},
        "inputs": {"terrain": "t.tif", "rain": "r.csv", "sea_level": "s.csv",
                   "boundary": "b.geojson"},
        "site": {"url": SITE}, "alerts": alerts})
    return AreaContext(config, tmp_path)


def add_subscriber(ctx, *, email="formand@klitten.example", phone=None, webhook=None,
                   secret=None, sub_id="digelag-klitten"):
    x0, y0, x1, y1 = AREA.bounds
    spec = SubscriberSpec(
        area="testkommune", name="Digelaget Klitten", email=email, phone=phone,
        webhook_url=webhook, webhook_secret=secret,
        shape={"crs": GRID.crs, "polygon": [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]}, id=sub_id)
    return open_store(ctx).add(spec, GRID.crs, now=ISSUE)


def test_all_channels_through_the_configured_relay_gateway_and_receiver(tmp_path, monkeypatch):
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    with Relay(tmp_path) as relay, Receiver() as gateway, Receiver(
            check=lambda h, b: 200 if verify(secret, h, b) else 401) as hook:
        ctx = area_context(tmp_path, monkeypatch, relay=relay, sms_url=gateway.url)
        add_subscriber(ctx, phone="+4512345678", webhook=hook.url, secret=secret)
        done = run_area_alerts(ctx, FakeInputs(), forecast(0.55), now=ISSUE)
        mails = relay.mails()
    assert done.decisions == 1 and done.delivery.counts()["accepted"] == 3
    (mail,) = mails
    assert mail["From"] == '"Testkommune varsler" <varsel@kommune.example.dk>' or \
        mail["From"] == "Testkommune varsler <varsel@kommune.example.dk>"
    assert mail["Reply-To"] == "beredskab@kommune.example.dk"
    assert mail["To"] == "formand@klitten.example"
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{SITE}api/unsubscribe/") and "digelag-klitten" not in link
    (sms,) = gateway.requests
    assert sms.headers["authorization"] == "Bearer sms-token" and b"+4512345678" in sms.body
    assert len(hook.requests) == 1 and hook.requests[0].status == 200
    st = delivery_status(ctx)
    assert st["accepted"] == 3 and st["by_channel"]["sms"]["accepted"] == 1
    # contacts are encrypted at rest in the outbox too
    raw = b"".join(p.read_bytes() for p in (ctx.area_dir / "alerts").glob("outbox.sqlite*"))
    assert b"formand@klitten.example" not in raw and b"+4512345678" not in raw


def test_implicit_tls_relay(tmp_path, monkeypatch):
    with Relay(tmp_path, implicit_tls=True) as relay:
        ctx = area_context(tmp_path, monkeypatch, relay=relay, security="tls")
        add_subscriber(ctx)
        done = run_area_alerts(ctx, FakeInputs(), forecast(0.55), now=ISSUE)
        # catches: nothing sent, or a mail to someone else
        assert [m["To"] for m in relay.mails()] == ["formand@klitten.example"]
    assert done.delivery.counts()["accepted"] == 1


def test_bounced_deferred_and_retried_by_housekeeping(tmp_path, monkeypatch):
    waits: list[float] = []
    with Relay(tmp_path) as relay:
        relay.refuse.add("nobody@klitten.example")
        relay.defer.add("later@klitten.example")
        ctx = area_context(tmp_path, monkeypatch, relay=relay)
        add_subscriber(ctx, email="nobody@klitten.example", sub_id="a")
        add_subscriber(ctx, email="later@klitten.example", sub_id="b")
        done = run_area_alerts(ctx, FakeInputs(), forecast(0.55), now=ISSUE, sleep=waits.append)
        counts = done.delivery.counts()
        assert counts["bounced"] == 1 and counts["deferred"] == 1 and counts["accepted"] == 0
        assert waits == [5.0, 10.0]  # retried within the run, then left for later
        st = delivery_status(ctx)
        assert (st["bounced"], st["deferred"], st["accepted"]) == (1, 1, 0)
        relay.defer.clear()
        later = ISSUE + timedelta(hours=2)
        kept = alerts_housekeeping(ctx, later)
        assert kept["deliveries"]["accepted"] == 1
        assert [m["To"] for m in relay.mails()] == ["later@klitten.example"]
    assert delivery_status(ctx)["accepted"] == 1 and delivery_status(ctx)["bounced"] == 1
    # retention: delivered and bounced messages go after alerts.retention_days
    gone = alerts_housekeeping(ctx, ISSUE + timedelta(days=31))
    assert gone["messages_removed"] == 2 and delivery_status(ctx)["accepted"] == 0


def test_no_relay_configured_keeps_mail_queued_and_says_so(tmp_path, monkeypatch):
    ctx = area_context(tmp_path, monkeypatch)
    add_subscriber(ctx)
    done = run_area_alerts(ctx, FakeInputs(), forecast(0.55), now=ISSUE)
    assert done.delivery.counts()["accepted"] == 0 and done.delivery.unrouted == {"email": 1}
    assert any("alerts.smtp" in n for n in done.notes)
    assert delivery_status(ctx)["queued"] == 1


def test_missing_key_names_the_variable(tmp_path, monkeypatch):
    ctx = area_context(tmp_path, monkeypatch)
    monkeypatch.delenv("WETINDEX_SECRET_KEY")
    with pytest.raises(Exception, match="WETINDEX_SECRET_KEY"):
        open_store(ctx)


def test_never_stands_down_for_want_of_data(tmp_path, monkeypatch):
    with Relay(tmp_path) as relay:
        ctx = area_context(tmp_path, monkeypatch, relay=relay)
        add_subscriber(ctx)
        t1, t2, t3, t4 = (ISSUE + timedelta(hours=h) for h in (0, 9, 12, 21))
        assert run_area_alerts(ctx, FakeInputs(), forecast(0.55, issue=t1), now=t1).decisions == 1
        # a stale run that shows no danger: the warning stays in force, nothing is sent
        stale = run_area_alerts(ctx, FakeInputs(), forecast(0.01, issue=t2, fresh=False), now=t2)
        assert stale.decisions == 0 and stale.held == {"digelag-klitten": t1.isoformat()}
        assert any("not fresh" in n for n in stale.notes)
        # an older issue time than the last processed: ignored
        old = run_area_alerts(ctx, FakeInputs(), forecast(0.01, issue=t1 - timedelta(hours=3)),
                              now=t3)
        assert old.decisions == 0
        # a stale run that shows MORE danger still escalates
        worse = run_area_alerts(ctx, FakeInputs(), forecast(0.8, issue=t3, fresh=False), now=t3)
        assert worse.decisions == 1
        # only a fresh forecast that shows the danger has passed stands down
        clear = run_area_alerts(ctx, FakeInputs(), forecast(0.01, issue=t4), now=t4)
        assert clear.decisions == 1
        subjects = [m["Subject"] for m in relay.mails()]
    assert len(subjects) == 3
    assert subjects == ["Orange varsel om oversvømmelse: Digelaget Klitten",
                        "Opdateret varsel, nu rød: Digelaget Klitten",
                        "Afblæst: oversvømmelsesvarsel for Digelaget Klitten"]
