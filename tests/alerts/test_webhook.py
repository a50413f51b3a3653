"""Webhooks: Standard Webhooks signatures, refusal of private addresses, and delivery to a
real HTTP receiver on loopback that verifies every signature — with the receiver down
then up (fault test: counts of sent, duplicated and lost are printed; run with ``-s``)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from alert_fixtures import AREA, ISSUE, make_forecast
from http_receiver import Receiver

from wetindex.alerts.crypto import ContactCipher, generate_key
from wetindex.alerts.engine import AlertStore, run_alerts
from wetindex.alerts.outbox import Outbox, OutboxMessage, PermanentDeliveryError, deliver_pending
from wetindex.alerts.subscribers import SubscriberSpec, SubscriberStore
from wetindex.alerts.webhook import (
    WebhookChannel,
    check_destination,
    generate_secret,
    sign,
    store_contacts,
    verify,
    webhook_id,
)

CRS = "EPSG:25832"


def test_signature_matches_the_standard_webhooks_test_vector():
    # the vector published with the Standard Webhooks reference libraries
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": f"v1,bm9wZQ== {expected}"}
    assert verify(secret, headers, body, now=1614265330 + 10)
    assert not verify(secret, headers, body + b" ", now=1614265330)
    assert not verify(secret, headers, body, now=1614265330 + 301)  # replayed later
    assert not verify(generate_secret(), headers, body, now=1614265330)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.7", "172.16.5.5",
                                     "169.254.169.254", "::1", "fe80::1", "fd00::5",
                                     "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1"])
def test_non_public_addresses_are_refused(address):
    with pytest.raises(PermanentDeliveryError, match="non-public"):
        check_destination("https://hook.example.dk/x", resolver=lambda h, p: [address])
    # every address counts: one private answer among public ones is enough to refuse
    with pytest.raises(PermanentDeliveryError):
        check_destination("https://hook.example.dk/x",
                          resolver=lambda h, p: ["93.184.215.14", address])
    assert check_destination("https://hook.example.dk/x", allow_private=True,
                             resolver=lambda h, p: [address]) == [address]


def test_public_addresses_and_schemes():
    assert check_destination("https://hook.example.dk:8443/x",
                             resolver=lambda h, p: ["93.184.215.14", "2606:2800:21f::1"])
    with pytest.raises(PermanentDeliveryError, match="http"):
        check_destination("ftp://hook.example.dk/x", resolver=lambda h, p: ["93.184.215.14"])


def message(body: bytes = b'{"type": "flood.alert"}', key: str = "s:e:1") -> OutboxMessage:
    return OutboxMessage(1, key, "webhook", None, "s", body, "sending", 1, ISSUE, None, ISSUE,
                         None)


def test_loopback_receiver_is_refused_unless_allowed():
    secret = generate_secret()
    with Receiver() as receiver:
        channel = WebhookChannel(lambda m: (receiver.url, secret))
        with pytest.raises(PermanentDeliveryError, match="non-public"):
            channel.deliver(message())
        assert receiver.requests == []
        WebhookChannel(lambda m: (receiver.url, secret), allow_private=True).deliver(message())
        assert len(receiver.requests) == 1


def test_gone_is_permanent_and_a_slow_receiver_times_out():
    secret = generate_secret()
    with Receiver(check=lambda h, b: 410) as gone:
        with pytest.raises(PermanentDeliveryError, match="410"):
            WebhookChannel(lambda m: (gone.url, secret), allow_private=True).deliver(message())
    with Receiver(delay_s=1.0) as slow:
        channel = WebhookChannel(lambda m: (slow.url, secret), allow_private=True, timeout=0.2)
        with pytest.raises(ConnectionError, match="Timeout"):
            channel.deliver(message())


def tally(received: list, outbox: Outbox, label: str) -> dict[str, int]:
    ids = Counter(r.headers["webhook-id"] for r in received)
    expected = {webhook_id(m.idempotency_key) for m in outbox.messages()}
    counts = {"sent": len(set(ids) & expected),
              "duplicated": sum(n - 1 for n in ids.values()),
              "lost": len(expected - set(ids))}
    print(f"\n[{label}] outbox messages={len(expected)} {counts}")
    return counts


def test_receiver_down_then_up_delivers_once_later(tmp_path):
    store = SubscriberStore(f"sqlite:///{tmp_path / 'alerts.db'}", ContactCipher(generate_key()))
    # retries over hours: 15 min, 30 min, 1 h, 2 h, 2 h, ... (outbox backoff)
    outbox = Outbox(store.engine, base_delay=timedelta(minutes=15),
                    max_delay=timedelta(hours=2), max_attempts=12)
    secret = generate_secret()
    receiver = Receiver(check=lambda headers, body: 200 if verify(secret, headers, body)
                        else 401)
    for i in range(3):
        store.add(SubscriberSpec(
            area="t", name=f"Pumpestation {i}", webhook_url=receiver.url, webhook_secret=secret,
            shape={"crs": CRS, "polygon": list(AREA.exterior.coords)}, id=f"pumpe-{i}"), CRS)
    run_alerts(make_forecast(0.5), store.subscriptions("t", CRS), AlertStore(store.engine),
               outbox, site_url="https://x.dk/", now=ISSUE)
    channels = {"webhook": WebhookChannel(store_contacts(store, "webhook"), allow_private=True,
                                          timeout=2)}

    down = deliver_pending(outbox, channels, now=ISSUE)  # nobody listening
    assert down.delivered == [] and len(down.retrying) == 3
    assert "ConnectError" in outbox.messages()[0].last_error
    assert "127.0.0.1" in outbox.messages()[0].last_error  # the host, not the path
    assert "/hook" not in outbox.messages()[0].last_error
    assert deliver_pending(outbox, channels, now=ISSUE + timedelta(minutes=5)).delivered == []

    with receiver:
        later = ISSUE + timedelta(minutes=16)
        up = deliver_pending(outbox, channels, now=later)
        assert len(up.delivered) == 3
        assert deliver_pending(outbox, channels, now=later + timedelta(hours=5)).delivered == []
    assert all(r.status == 200 for r in receiver.requests)  # every signature verified
    payload = json.loads(receiver.requests[0].body)
    assert payload["type"] == "flood.alert" and payload["data"]["level_name"] == "orange"
    assert "Pumpestation" in payload["data"]["place"]
    assert tally(receiver.requests, outbox, "webhook down then up") == {
        "sent": 3, "duplicated": 0, "lost": 0}
    assert outbox.stats()["delivered"] == 3


def test_wrong_secret_is_retried_not_delivered(tmp_path):
    right, wrong = generate_secret(), generate_secret()
    outbox = Outbox(f"sqlite:///{tmp_path / 'o.db'}")
    outbox.enqueue("s:e:1", "webhook", None, b"{}", subscription_id="s", now=ISSUE)
    with Receiver(check=lambda h, b: 200 if verify(right, h, b) else 401) as receiver:
        report = deliver_pending(outbox, {"webhook": WebhookChannel(
            lambda m: (receiver.url, wrong), allow_private=True)}, now=ISSUE)
    assert report.retrying == [1] and "HTTP 401" in report.errors[1]


def test_deleted_subscriber_gets_nothing(tmp_path):
    store = SubscriberStore(f"sqlite:///{tmp_path / 'a.db'}", ContactCipher(generate_key()))
    outbox = Outbox(store.engine)
    outbox.enqueue("ghost:e:1", "webhook", None, b"{}", subscription_id="ghost", now=ISSUE)
    report = deliver_pending(outbox, {"webhook": WebhookChannel(
        store_contacts(store, "webhook"), allow_private=True)}, now=ISSUE)
    assert report.failed == [1] and "no longer exists" in report.errors[1]
