"""Delivery over real SMTP on loopback (aiosmtpd via MailSink), with faults.

Each fault test counts mails sent, duplicated and lost against the outbox keys and
prints the tally (run with ``-s`` to see it).
"""

from __future__ import annotations

import ssl
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from alert_fixtures import ISSUE, make_forecast, make_subscription, make_warning
from smtp_relay import self_signed

from wetindex.alerts.email import SmtpChannel, message_id
from wetindex.alerts.engine import AlertStore, run_alerts
from wetindex.alerts.mailsink import MailSink, free_port
from wetindex.alerts.outbox import Outbox, deliver_pending

SITE = "https://varsler.example.dk/"
SENDER = "wetindex@example.dk"


def tally(sink: MailSink, outbox: Outbox, label: str) -> dict[str, int]:
    """Sent / duplicated / lost of the outbox's messages among the mails received."""
    expected = {message_id(m.idempotency_key) for m in outbox.messages()}
    received = Counter(m["Message-ID"] for m in sink.messages())
    counts = {
        "sent": sum(received.values()),
        "duplicated": sum(n - 1 for n in received.values()),
        "lost": len(expected - set(received)),
        "unexpected": len(set(received) - expected),
    }
    print(f"\n[delivery tally] {label}: {counts}")
    return counts


def _queue(tmp_path, n_subs: int = 3) -> tuple[Outbox, AlertStore]:
    outbox = Outbox(f"sqlite:///{tmp_path / 'alerts.db'}")
    store = AlertStore(outbox)
    subs = [make_subscription(f"sub-{i}", language="da" if i % 2 == 0 else "en")
            for i in range(n_subs)]
    run_alerts(make_forecast(0.55), subs, store, outbox, issue_time=ISSUE, site_url=SITE,
               warnings=[make_warning()])
    return outbox, store


def _plain_channel(port: int) -> SmtpChannel:
    return SmtpChannel("127.0.0.1", port, starttls=False, sender=SENDER, timeout=5)


def test_mails_arrive_with_both_parts_and_one_click_unsubscribe(tmp_path):
    outbox, _ = _queue(tmp_path, n_subs=2)
    with MailSink(tmp_path / "mails") as sink:
        report = deliver_pending(outbox, {"email": _plain_channel(sink.port)})
        mails = sink.messages()
    assert len(report.delivered) == 2 and len(mails) == 2
    da = next(m for m in mails if m["Content-Language"] == "da")
    en = next(m for m in mails if m["Content-Language"] == "en")
    assert da["Subject"] == "Orange varsel om oversvømmelse: Digelaget Klitten"
    assert en["Subject"] == "Orange flood warning: Digelaget Klitten"
    assert da.get_content_type() == "multipart/alternative"
    plain = da.get_body(("plain",)).get_content()
    html = da.get_body(("html",)).get_content()
    # the covering warning's highest flood risk (50 %), as on the site and in CAP
    assert "50 %" in plain and "dansk tid" in plain and "UTC" in plain and "regn" in plain
    assert "Vær forberedt" in plain and SITE in plain
    assert "<h1" in html and "Vær forberedt" in html
    assert da["List-Unsubscribe"] == f"<{SITE}afmeld?abonnement=sub-0>"
    assert da["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert da["From"] == SENDER and da["To"] == "sub-0@example.dk"
    # the Message-ID comes from the idempotency key; nobody else's address is in the mail
    keys = {m.recipient: m.idempotency_key for m in outbox.messages()}
    assert da["Message-ID"] == message_id(keys["sub-0@example.dk"])
    assert "sub-1@example.dk" not in da.as_string()
    assert tally(sink, outbox, "plain SMTP") == {"sent": 2, "duplicated": 0, "lost": 0,
                                                "unexpected": 0}


def _self_signed(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Server context with a self-signed cert for 127.0.0.1, and a client context trusting it."""
    server, ca_file = self_signed(tmp_path)
    return server, ssl.create_default_context(cafile=str(ca_file))


def test_starttls_with_verified_certificate(tmp_path):
    outbox, _ = _queue(tmp_path, n_subs=1)
    server_ctx, client_ctx = _self_signed(tmp_path)
    with MailSink(tmp_path / "mails", tls_context=server_ctx, require_starttls=True) as sink:
        # default context: certificate verification ON, so a self-signed cert is refused
        strict = SmtpChannel("127.0.0.1", sink.port, sender=SENDER, timeout=5)
        refused = deliver_pending(outbox, {"email": strict})
        assert refused.retrying and "CERTIFICATE_VERIFY_FAILED" in next(
            iter(refused.errors.values()))
        assert sink.messages() == []
        # plain SMTP is refused by a server that requires STARTTLS
        later = datetime.now(UTC) + timedelta(minutes=2)
        assert deliver_pending(outbox, {"email": _plain_channel(sink.port)}, now=later).retrying
        # trusting the test certificate: delivered
        trusting = SmtpChannel("127.0.0.1", sink.port, sender=SENDER, timeout=5,
                               ssl_context=client_ctx)
        later += timedelta(minutes=5)
        assert len(deliver_pending(outbox, {"email": trusting}, now=later).delivered) == 1
        assert tally(sink, outbox, "STARTTLS") == {"sent": 1, "duplicated": 0, "lost": 0,
                                                  "unexpected": 0}


def test_server_down_then_up_delivers_once_later(tmp_path):
    outbox, _ = _queue(tmp_path)
    port = free_port()  # nothing listens here yet
    channels = {"email": _plain_channel(port)}
    t0 = datetime.now(UTC)
    down = deliver_pending(outbox, channels, now=t0)
    assert len(down.retrying) == 3 and not down.delivered
    assert outbox.stats()["retrying"] == 3
    with MailSink(tmp_path / "mails", port=port) as sink:
        # the server is up, but the backoff is not over: nothing is sent yet
        assert deliver_pending(outbox, channels, now=t0 + timedelta(seconds=30)).delivered == []
        up = deliver_pending(outbox, channels, now=t0 + timedelta(minutes=1))
        assert len(up.delivered) == 3
        # delivering again sends nothing
        assert deliver_pending(outbox, channels, now=t0 + timedelta(hours=2)).delivered == []
        assert outbox.stats() == {"pending": 0, "delivered": 3, "failed": 0, "retrying": 0}
        assert tally(sink, outbox, "server down, then up") == {
            "sent": 3, "duplicated": 0, "lost": 0, "unexpected": 0}


def test_killed_between_outbox_write_and_delivery_delivers_exactly_once(tmp_path):
    outbox, store = _queue(tmp_path)
    assert outbox.stats()["pending"] == 3
    outbox.engine.dispose()  # the process dies before delivering
    del outbox, store
    restarted = Outbox(f"sqlite:///{tmp_path / 'alerts.db'}")
    # the restarted process also reruns the same forecast: nothing new is queued
    run_alerts(make_forecast(0.55), [make_subscription(f"sub-{i}") for i in range(3)],
               AlertStore(restarted), restarted, issue_time=ISSUE, site_url=SITE)
    with MailSink(tmp_path / "mails") as sink:
        channels = {"email": _plain_channel(sink.port)}
        assert len(deliver_pending(restarted, channels).delivered) == 3
        assert deliver_pending(restarted, channels).delivered == []  # delivering twice
        assert tally(sink, restarted, "killed before delivery") == {
            "sent": 3, "duplicated": 0, "lost": 0, "unexpected": 0}


def test_crash_after_send_before_mark_is_resent_with_same_message_id(tmp_path):
    """The one at-least-once window: accepted by SMTP, process dies before recording it."""
    outbox, _ = _queue(tmp_path, n_subs=1)
    with MailSink(tmp_path / "mails") as sink:
        channel = _plain_channel(sink.port)
        (message,) = outbox.pending()
        assert outbox.claim(message.id)
        channel.deliver(message)  # ... and the process is killed here
        assert deliver_pending(outbox, {"email": channel}).delivered == []  # lease still held
        after_lease = datetime.now(UTC) + timedelta(minutes=6)
        assert len(deliver_pending(outbox, {"email": channel}, now=after_lease).delivered) == 1
        counts = tally(sink, outbox, "killed after SMTP accepted, before marking")
    assert counts == {"sent": 2, "duplicated": 1, "lost": 0, "unexpected": 0}
    ids = [m["Message-ID"] for m in sink.messages()]
    assert ids[0] == ids[1]  # the receiver can fold the duplicate


def test_password_needs_starttls():
    with pytest.raises(ValueError, match="starttls"):
        SmtpChannel("127.0.0.1", 25, starttls=False, username="u", password="p", sender=SENDER)
