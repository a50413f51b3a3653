"""Alert e-mail texts for alerts, updates and all-clears, in both languages."""

from __future__ import annotations

from datetime import timedelta

from alert_fixtures import ISSUE, make_subscription

from wetindex.alerts.decision import AlertDecision
from wetindex.alerts.email import message_id, render_email

SITE = "https://varsler.example.dk/"


def _decision(kind: str, level: int, previous: int) -> AlertDecision:
    live = level > 0
    return AlertDecision(
        subscription_id="digelag-1", event_id="20261124T0600Z", revision=2, kind=kind,
        level=level, previous_level=previous, probability=0.75 if live else 0.05,
        issue_time=ISSUE, onset=ISSUE + timedelta(hours=3) if live else None,
        peak_time=ISSUE + timedelta(hours=5) if live else None,
        drivers={"sea": 0.7, "rain": 0.3}, place="Digelaget Klitten", area_name="Testkommune")


def _render(decision, language):
    sub = make_subscription(language=language)
    return render_email(decision, sub, site_url=SITE, unsubscribe_url=f"{SITE}afmeld?x=1")


def test_update_names_old_and_new_level_and_local_time():
    mail = _render(_decision("update", 3, 2), "en")
    assert mail["Subject"] == "Flood warning updated, now red: Digelaget Klitten"
    plain = mail.get_body(("plain",)).get_content()
    assert "from orange to red" in plain and "Act now" in plain
    # 09:00 UTC is 10:00 in Copenhagen in November; no end known: only "from"
    assert "When: Red from 24.11.2026 10:00 Danish time (2026-11-24 09:00 UTC)." in plain
    assert "high sea level, rain" in plain
    assert mail["Message-ID"] == message_id("digelag-1:20261124T0600Z:2")


def test_all_clear_in_danish():
    mail = _render(_decision("all_clear", 0, 1), "da")
    assert mail["Subject"] == "Afblæst: oversvømmelsesvarsel for Digelaget Klitten"
    plain = mail.get_body(("plain",)).get_content()
    assert "afblæst" in plain and "ikke længere forhøjet risiko" in plain
    assert "Hvornår" not in plain  # no time window for an ended warning
    assert mail.get_body(("html",)).get_content().count("<p>") >= 3


def test_mail_gives_the_end_of_the_window_and_the_drivers_in_physical_units():
    from dataclasses import replace

    decision = replace(_decision("alert", 2, 0), expires=ISSUE + timedelta(hours=20),
                       conditions={"high_water_cm": 262.0, "dike_crest_margin_cm": -7.0,
                                   "high_water_time": (ISSUE + timedelta(hours=4)).isoformat()})
    plain = _render(decision, "en").get_body(("plain",)).get_content()
    assert ("Orange from 24.11.2026 10:00 until 25.11.2026 03:00 Danish time "
            "(2026-11-24 09:00 to 2026-11-25 02:00 UTC)") in plain
    assert "Highest sea level: 262 cm above DVR90" in plain and "7 cm above the crest" in plain
    bare = _render(_decision("alert", 2, 0), "en").get_body(("plain",)).get_content()
    assert "until" not in bare and "DVR90" not in bare


def test_what_to_do_depends_on_the_kind_of_subscriber_and_the_window_has_an_end():
    from dataclasses import replace

    decision = replace(_decision("alert", 2, 0), expires=ISSUE + timedelta(hours=20))
    dike = render_email(decision, make_subscription(language="da", kind="dike_association"),
                        site_url=SITE, unsubscribe_url=f"{SITE}x")
    house = render_email(decision, make_subscription(language="da"), site_url=SITE,
                         unsubscribe_url=f"{SITE}x")
    dike_text, house_text = (m.get_body(("plain",)).get_content() for m in (dike, house))
    assert "Efterse diget" in dike_text and "Efterse diget" not in house_text
    assert "Flyt værdier op fra kældre" in house_text
    # 02:00 UTC on 25 Nov is 03:00 in Copenhagen
    assert ("til 25.11.2026 kl. 03:00 dansk tid (2026-11-24 09:00 til 2026-11-25 02:00 UTC)"
            in dike_text)


def test_drivers_in_physical_units_when_the_warning_carries_them():
    from dataclasses import replace

    decision = replace(_decision("alert", 3, 0), conditions={
        "rain_mm": 12.4, "high_water_cm": 182.0,
        "high_water_time": (ISSUE + timedelta(hours=8)).isoformat(),
        "dike_crest_margin_cm": 9.0, "unknown_key": 1})
    plain = _render(decision, "da").get_body(("plain",)).get_content()
    # 14:00 UTC is 15:00 in Copenhagen in November
    assert ("Regn i tidsrummet: 12 mm. Højeste vandstand i havet: 182 cm over DVR90 "
            "den 24.11.2026 kl. 15:00. Diget: kronen ligger 9 cm over den højeste "
            "vandstand.") in plain
    bare = _render(_decision("alert", 3, 0), "en").get_body(("plain",)).get_content()
    assert "DVR90" not in bare and "Rain in the period" not in bare  # nothing made up


def test_webhook_payload_of_conditions_is_json():
    import json
    from dataclasses import replace

    decision = replace(_decision("alert", 3, 0), conditions={
        "high_water_time": ISSUE + timedelta(hours=8), "high_water_cm": 182.0})
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["conditions"]["high_water_time"] == "2026-11-24T14:00:00+00:00"
