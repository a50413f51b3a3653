"""SMS through the generic HTTP gateway, against a real HTTP receiver on loopback; the
gateway down then up (fault test: counts printed, run with ``-s``)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from alert_fixtures import AREA, ISSUE, make_forecast
from http_receiver import Receiver

from wetindex.alerts.crypto import ContactCipher, generate_key
from wetindex.alerts.engine import AlertStore, run_alerts
from wetindex.alerts.outbox import Outbox, OutboxMessage, PermanentDeliveryError, deliver_pending
from wetindex.alerts.sms import SMS_AUTH_ENV, HttpSmsGateway, SmsChannel
from wetindex.alerts.subscribers import SubscriberSpec, SubscriberStore
from wetindex.alerts.webhook import store_contacts

CRS = "EPSG:25832"
TOKEN = "Bearer sms-gateway-token-123"


def authorised(headers, body) -> int:
    return 200 if headers.get("authorization") == TOKEN else 401


@pytest.fixture(autouse=True)
def auth(monkeypatch):
    monkeypatch.setenv(SMS_AUTH_ENV, TOKEN)


def msg(body: str = "Orange varsel", key: str = "s:e:1") -> OutboxMessage:
    return OutboxMessage(1, key, "sms", None, "s", body.encode(), "sending", 1, ISSUE, None,
                         ISSUE, None)


def test_json_gateway_with_auth_from_environment():
    with Receiver(check=authorised) as gateway:
        HttpSmsGateway(gateway.url, to_field="recipients", to_as_list=True,
                       text_field="message", sender="Wetindex").send("+4512345678", "Hej",
                                                                     "ref-1")
    request = gateway.requests[0]
    assert request.status == 200 and request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {"recipients": ["+4512345678"], "message": "Hej",
                                        "reference": "ref-1", "from": "Wetindex"}


def test_form_gateway_and_refusals():
    with Receiver(check=authorised) as gateway:
        HttpSmsGateway(gateway.url, body_format="form", reference_field=None).send(
            "+4512345678", "Rødt varsel æøå", "r")
    form = parse_qs(gateway.requests[0].body.decode())
    assert form == {"to": ["+4512345678"], "text": ["Rødt varsel æøå"]}
    with Receiver(check=lambda h, b: 400) as bad:
        with pytest.raises(PermanentDeliveryError, match="HTTP 400"):
            HttpSmsGateway(bad.url).send("+4512345678", "x", "r")
    with Receiver(check=lambda h, b: 429) as busy:
        with pytest.raises(ConnectionError, match="HTTP 429"):
            HttpSmsGateway(busy.url).send("+4512345678", "x", "r")


def test_missing_auth_names_the_variable(monkeypatch):
    monkeypatch.delenv(SMS_AUTH_ENV)
    with pytest.raises(ValueError, match=SMS_AUTH_ENV):
        HttpSmsGateway("https://sms.example.dk/send")
    assert HttpSmsGateway("https://sms.example.dk/send", auth_env=None).headers == {}


def test_gateway_down_then_up_delivers_once_later(tmp_path):
    store = SubscriberStore(f"sqlite:///{tmp_path / 'alerts.db'}", ContactCipher(generate_key()))
    outbox = Outbox(store.engine, base_delay=timedelta(minutes=10))
    for i, lang in enumerate(("da", "en")):
        store.add(SubscriberSpec(area="t", name=f"Digelag {i}", phone=f"+451234567{i}",
                                 language=lang, min_level=1,
                                 shape={"crs": CRS, "polygon": list(AREA.exterior.coords)},
                                 id=f"dige-{i}"), CRS)
    run_alerts(make_forecast(0.75), store.subscriptions("t", CRS), AlertStore(store.engine),
               outbox, site_url="https://varsler.example.dk/", now=ISSUE)
    gateway = Receiver(check=authorised)
    channels = {"sms": SmsChannel(HttpSmsGateway(gateway.url, timeout=2),
                                  store_contacts(store, "sms"))}
    assert all(m.recipient is None for m in outbox.messages())  # numbers stay encrypted

    down = deliver_pending(outbox, channels, now=ISSUE)
    assert down.delivered == [] and len(down.retrying) == 2
    with gateway:
        assert deliver_pending(outbox, channels, now=ISSUE + timedelta(minutes=5)).delivered == []
        assert len(deliver_pending(outbox, channels,
                                   now=ISSUE + timedelta(minutes=11)).delivered) == 2
        assert deliver_pending(outbox, channels, now=ISSUE + timedelta(hours=3)).delivered == []

    refs = Counter(json.loads(r.body)["reference"] for r in gateway.requests)
    texts = {json.loads(r.body)["to"]: json.loads(r.body)["text"] for r in gateway.requests}
    counts = {"sent": len(refs), "duplicated": sum(n - 1 for n in refs.values()),
              "lost": len(outbox.messages()) - len(refs)}
    print(f"\n[sms gateway down then up] outbox messages={len(outbox.messages())} {counts}")
    assert counts == {"sent": 2, "duplicated": 0, "lost": 0}
    assert texts["+4512345670"].startswith("Rød varsel om oversvømmelse: Digelag 0.")
    assert texts["+4512345671"].startswith("Red ") and "Flood risk 75 %" in texts["+4512345671"]
    assert all(t.endswith("https://varsler.example.dk/") for t in texts.values())
    assert "75 %" in texts["+4512345670"]
