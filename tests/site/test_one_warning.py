"""One computation of a warning: the site, the CAP message and the e-mail say the same.

The warnings are built once from a forecast cube (:func:`wetindex.risk.warning_areas`);
the place page, the CAP 1.2 message and an alert e-mail received by a real SMTP server
on loopback (aiosmtpd) must then state the same level, the same "from" (the first hour
at the warning's level), the same earlier lower level, the same "until" and the same
action: CAP times in UTC, the human texts in Danish local time. The place's chart must
draw the warning score (the quantity the level is decided on), not the raw probability.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import xarray as xr
from lxml import etree
from shapely.geometry import box
from site_inputs import ISSUE, synthetic_inputs

from wetindex.alerts.cap import cap_alert, validate_cap
from wetindex.alerts.email import SmtpChannel
from wetindex.alerts.engine import AlertStore, run_alerts
from wetindex.alerts.mailsink import MailSink
from wetindex.alerts.messages import table
from wetindex.alerts.outbox import Outbox, deliver_pending
from wetindex.alerts.subscriptions import Subscription
from wetindex.grid import AreaGrid
from wetindex.risk import warning_areas, warning_timeline
from wetindex.site.pages import build_site

CPH = ZoneInfo("Europe/Copenhagen")
SITE = "https://varsler.example.dk/"
CAP = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
THRESHOLDS = (0.2, 0.4, 0.7)
#: the place's score per lead hour 1…48: yellow +3 h, orange +5 h, red +8 h to +10 h,
#: yellow again +11 h and +12 h, then nothing
SCORE_BY_LEAD = {3: 0.25, 4: 0.3, 5: 0.5, 6: 0.55, 7: 0.6, 8: 0.8, 9: 0.85, 10: 0.75,
                 11: 0.35, 12: 0.25}


def _forecast_and_places(kw: dict) -> tuple[xr.Dataset, list, AreaGrid]:
    """The synthetic site's forecast with a warning score that is not the probability."""
    grid = AreaGrid.from_dataarray(kw["elevation"])
    fc = kw["forecast"]
    n_lead = fc.sizes["lead"]
    score = np.zeros((n_lead, grid.ny, grid.nx), "float32")
    for lead, value in SCORE_BY_LEAD.items():
        score[lead - 1, 40:60, 10:30] = value  # 4 ha inside the polder
    # the raw wetness is higher (exposure < 1): a chart of it would look different
    probability = np.clip(score * 1.2 + 0.05, 0, 1).astype("float32")
    level = np.zeros(score.shape, "uint8")
    for code, t in enumerate(THRESHOLDS, start=1):
        level[score >= t] = code
    fc = fc.assign(probability=(("lead", "y", "x"), probability),
                   level=(("lead", "y", "x"), level),
                   warning_score=(("lead", "y", "x"), score))
    fc.attrs["area_name"] = "Testkommune"
    x0, y0, x1, y1 = grid.bounds
    mid = x0 + 0.6 * (x1 - x0)
    places = [SimpleNamespace(name="Polderen bag Diget", kind="polder",
                              geometry=box(x0, y0, mid, y1)),
              SimpleNamespace(name="Bakkerne Øst", kind="hills", geometry=box(mid, y0, x1, y1))]
    return fc, places, grid


def _danish_times(text: str) -> list[datetime]:
    """Every ``dd.mm.yyyy kl. HH:MM`` in a Danish text, as aware Copenhagen times."""
    return [datetime.strptime(m, "%d.%m.%Y kl. %H:%M").replace(tzinfo=CPH)
            for m in re.findall(r"\d\d\.\d\d\.\d{4} kl\. \d\d:\d\d", text)]


def _window(text: str) -> dict[str, datetime]:
    """Level, from, until and the earlier yellow of the window sentence in a Danish text."""
    m = re.search(r"(Gul|Orange|Rød) fra (\S+ kl\. \S+) til (\S+ kl\. \S+) dansk tid", text)
    assert m, text
    before = re.search(r"Forinden gul fra (\S+ kl\. \d\d:\d\d)", text)
    assert before, text
    return {"level": m.group(1), "from": _danish_times(m.group(2))[0],
            "until": _danish_times(m.group(3))[0],
            "yellow_from": _danish_times(before.group(1))[0]}


@pytest.fixture(scope="module")
def one_run(tmp_path_factory, web_dir: Path) -> dict:
    """Warnings built once; the site, a CAP message and an e-mail made from them."""
    tmp = tmp_path_factory.mktemp("one-warning")
    kw = synthetic_inputs()
    fc, places, grid = _forecast_and_places(kw)
    warnings = warning_areas(fc, [SimpleNamespace(name=p.name, kind=p.kind, geometry=p.geometry)
                                  for p in places], grid, area_name="Testkommune",
                             area_id="test")
    kw.update(forecast=fc, warnings=warnings, places_in=places, web_dir=web_dir)
    site = build_site(tmp / "site", **kw)
    (polder,) = [w for w in warnings if w.place == "Polderen bag Diget"]
    cap = cap_alert(polder, identifier="test-polder-1", sender="wetindex@example.dk",
                    sent=ISSUE, msg_type="Alert", site_url=SITE, area_name="Testkommune")
    validate_cap(cap)
    outbox = Outbox(f"sqlite:///{tmp / 'alerts.db'}")
    sub = Subscription(id="hus-1", name="Polderen bag Diget", email="hus@example.dk",
                       language="da", geometry=places[0].geometry, crs=grid.crs)
    run_alerts(fc, [sub], AlertStore(outbox), outbox, issue_time=ISSUE, site_url=SITE,
               warnings=warnings, now=ISSUE)
    with MailSink(tmp / "mails") as sink:
        deliver_pending(outbox, {"email": SmtpChannel("127.0.0.1", sink.port, starttls=False,
                                                      sender="wetindex@example.dk", timeout=5)},
                        now=ISSUE)
        (mail,) = sink.messages()
    page = (site / "places" / "polderen-bag-diget.html").read_text(encoding="utf-8")
    return {"warning": polder, "page": page, "cap": cap, "mail": mail, "forecast": fc}


def test_site_cap_and_email_state_the_same_level_window_and_action(one_run):
    w, page, mail = one_run["warning"], one_run["page"], one_run["mail"]
    # the one computation: red at the peak, from +8 h, yellow from +3 h, until the end of +12 h
    assert w.level == 3
    assert w.onset == ISSUE + timedelta(hours=8)
    assert w.level_from["yellow"] == ISSUE + timedelta(hours=3)
    assert w.level_from["orange"] == ISSUE + timedelta(hours=5)
    assert w.expires == ISSUE + timedelta(hours=13) and not w.beyond_horizon

    # CAP: severity of red, onset/expires in UTC, headline, the red instruction
    doc = etree.fromstring(one_run["cap"])
    da = doc.xpath("c:info[c:language='da-DK']", namespaces=CAP)[0]
    get = {tag: da.findtext(f"c:{tag}", namespaces=CAP) for tag in
           ("severity", "onset", "expires", "headline", "description", "instruction")}
    assert get["severity"] == "Extreme"
    cap_onset = datetime.fromisoformat(get["onset"])
    cap_expires = datetime.fromisoformat(get["expires"])
    assert get["onset"].endswith("+00:00") and cap_onset == w.onset
    assert cap_expires == w.expires
    assert get["headline"].startswith("Rød varsel")
    cap_window = _window(get["description"])

    # the place page: its headline sentence and what to do
    sentence = unescape(re.search(r'<p class="headline-sentence">(.*?)</p>', page, re.S)[1])
    action = unescape(re.search(r'<p class="headline-action">.*?</strong> (.*?)</p>', page,
                                re.S)[1])
    assert 'class="headline level-red"' in page
    site_window = _window(sentence)

    # the e-mail, as the SMTP server received it
    assert mail["Subject"] == "Rød varsel om oversvømmelse: Polderen bag Diget"
    plain = mail.get_body(("plain",)).get_content()
    mail_window = _window(plain)

    # the same level and times everywhere; the human texts in Danish time = CAP's UTC
    assert site_window == cap_window == mail_window
    assert site_window["level"] == "Rød"
    assert site_window["from"] == cap_onset.astimezone(CPH)
    assert site_window["until"] == cap_expires.astimezone(CPH)
    assert site_window["yellow_from"] == w.level_from["yellow"].astimezone(CPH)
    # the same highest flood risk (the warning score), in whole percent
    risk = [re.search(r"op til (\d+)\s?%", x.replace("\xa0", " "))[1]
            for x in (sentence, get["description"], plain)]
    assert risk == [str(round(100 * w.probability))] * 3
    # the same action: the red instruction, on the page, in CAP and in the e-mail
    red = table("da", "instruction")[3]
    assert action == red == get["instruction"]
    assert " ".join(red.split()) in " ".join(plain.split())


def test_the_place_chart_draws_the_warning_score_not_the_probability(one_run):
    w, page = one_run["warning"], one_run["page"]
    svg = re.search(r'<svg[^>]*id="chart-level".*?</svg>', page, re.S)[0]
    root = etree.fromstring(svg.encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    (curve,) = root.xpath("//s:polyline[@class='score']", namespaces=ns)
    # y = TOP + plot height × (1 − value): read the plotted values back
    from wetindex.site.chart import BOTTOM, HEIGHT, TOP

    plot_h = HEIGHT - TOP - BOTTOM
    plotted = [1 - (float(p.split(",")[1]) - TOP) / plot_h
               for p in curve.get("points").split()]
    assert plotted == pytest.approx(w.hourly_score, abs=0.01)
    probability = one_run["forecast"]["probability"].values[:, 40:60, 10:30].max(axis=(1, 2))
    assert not np.allclose(plotted, probability, atol=0.05)
    # the thresholds it is compared with, and the level of each hour as a column
    assert len(root.xpath("//s:line[contains(@class,'threshold')]", namespaces=ns)) == 3
    red_hours = root.xpath("//s:rect[contains(@class,'hour-level-red')]", namespaces=ns)
    assert len(red_hours) == 3  # +8 h to +10 h
    assert root.xpath("//s:text[contains(@class,'y-axis-label')]", namespaces=ns)[0].text \
        == "Risiko for oversvømmelse"


def test_the_timeline_says_beyond_the_horizon_in_plain_words():
    times = [datetime(2026, 11, 24, h, tzinfo=UTC) for h in range(1, 9)]
    tl = warning_timeline(np.array([0, 1, 1, 2, 3, 3, 2, 1]), times)
    assert tl["level"] == 3 and tl["onset"] == times[4]
    assert tl["level_from"] == {"yellow": times[1], "orange": times[3], "red": times[4]}
    assert tl["beyond_horizon"] and tl["expires"] == times[-1] + timedelta(hours=1)
    assert warning_timeline(np.zeros(8, int), times) is None

    from wetindex.warnings import window_text

    w = SimpleNamespace(level=3, onset=tl["onset"], expires=tl["expires"],
                        peak_time=tl["peak_time"], level_from=tl["level_from"],
                        beyond_horizon=True)
    assert "mindst til 24.11.2026 kl. 10:00, hvor prognosen slutter" in window_text("da", w)
    assert "lasting at least until 24.11.2026 10:00, when the forecast ends" in \
        window_text("en", w)
