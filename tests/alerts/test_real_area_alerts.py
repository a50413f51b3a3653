"""A local (non-demo) area's alerts end to end: forecast, publish and alerts through the
CLI an operator uses, the mail received by a real SMTP relay on loopback.

The tiny local area (``tests/local_area.py``, memoised) gets a model that warns red over
its land and two subscribers added with ``wetindex subscribers add``: one whose polygon
lies in the warned place, one whose circle lies in the grid's margin outside the area
boundary, where the forecast is no risk. The one mail must state the level, the window
(from, earlier levels, until, peak in Danish time), the area and the action of the
published CAP message and place page from the same forecast; the subscriber outside
gets nothing; a second ``run alerts`` on the same forecast sends nothing again.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from failloud_area import FRESH_NOW, area_variant, cli, install_model
from local_area import tiny_project
from lxml import etree
from smtp_relay import PASSWORD, USER, Relay

from wetindex.alerts.crypto import generate_key
from wetindex.alerts.messages import table

CPH = ZoneInfo("Europe/Copenhagen")
CAP = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
AREA = "real-alerts"
INSIDE = "polder@klitten.example"  # a household in the warned place
OUTSIDE = "naboen@udenfor.example"  # a circle in the margin, outside the area boundary
#: the whole window sentence of site, CAP and e-mail (wetindex.warnings.window_text)
WINDOW = re.compile(r"(?:Gul|Orange|Rød) fra .*?Højest omkring \S+ kl\. \d\d:\d\d\.")


def _danish_times(text: str) -> list[datetime]:
    return [datetime.strptime(m, "%d.%m.%Y kl. %H:%M").replace(tzinfo=CPH)
            for m in re.findall(r"\d\d\.\d\d\.\d{4} kl\. \d\d:\d\d", text)]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, project_root):
    """One forecast, publish and two alert runs of a local area; the relay's mails."""
    project = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    tmp = tmp_path_factory.mktemp("real-alerts")
    inside = tmp / "polder.geojson"  # 200 m × 200 m inside the boundary, in the grid CRS
    inside.write_text(json.dumps({
        "type": "Feature", "properties": {},
        "crs": {"type": "name", "properties": {"name": "EPSG:25832"}},
        "geometry": {"type": "Polygon", "coordinates": [[
            [540300, 6334300], [540500, 6334300], [540500, 6334500], [540300, 6334500],
            [540300, 6334300]]]}}))
    with Relay(tmp) as relay, pytest.MonkeyPatch.context() as mp:
        mp.setenv("WETINDEX_SECRET_KEY", generate_key())
        mp.setenv("WETINDEX_SMTP_PASSWORD", PASSWORD)
        mp.setenv("WETINDEX_NOW", FRESH_NOW)
        # 24 h of leads (not 48): the warning starts at +9 h; half the forecast and layers
        area_variant(project, AREA, forecast={"max_lead_h": 24}, alerts={
            "sender": "varsel@kommune.example.dk", "sender_name": "Demo-kommunen varsler",
            "smtp": {"host": "127.0.0.1", "port": relay.port, "security": "starttls",
                     "username": USER, "ca_file": str(relay.ca_file), "timeout_s": 5}})
        install_model(project, AREA)
        added = [cli(project, "subscribers", "add", "--area", AREA, "--id", "polder",
                     "--name", "Polderen ved Klitten", "--email", INSIDE,
                     "--polygon", str(inside)),
                 cli(project, "subscribers", "add", "--area", AREA, "--id", "nabo",
                     "--name", "Naboen udenfor", "--email", OUTSIDE,
                     "--point", "541065,6334450", "--radius", "40")]
        assert all(r.exit_code == 0 for r in added), [r.output for r in added]
        steps = {stage: cli(project, "run", stage, "--area", AREA)
                 for stage in ("forecast", "publish", "alerts")}
        steps["again"] = cli(project, "run", "alerts", "--area", AREA)
        mails = relay.mails()
    assert all(r.exit_code == 0 for r in steps.values()), {k: r.output for k, r in
                                                           steps.items()}
    var = project / "var" / AREA
    (cap_file,) = (var / "feed" / "cap").glob("*.xml")
    (forecast,) = (var / "forecasts").glob("2*")
    warnings = json.loads((forecast / "warnings.geojson").read_text())["features"]
    return {"mails": mails, "steps": steps, "cap": etree.fromstring(cap_file.read_bytes()),
            "warnings": [w["properties"] for w in warnings],
            "site": var / "site" / "current"}


def test_only_the_subscriber_in_the_warned_place_gets_one_mail(real_run):
    # catches: no mail at all, every subscriber of the area alerted whatever their shape
    # (the margin circle is inside the grid but the forecast is no risk there), a mail to
    # the wrong address
    assert len(real_run["warnings"]) == 1 and real_run["warnings"][0]["level"] == 3
    assert [m["To"] for m in real_run["mails"]] == [INSIDE]
    assert "1 sent" in real_run["steps"]["alerts"].output


def test_a_second_run_on_the_same_forecast_sends_nothing_twice(real_run):
    # catches: a run that re-decides and re-sends the same alert (the relay would hold two)
    again = real_run["steps"]["again"].output
    assert "0 decision(s), 0 sent" in again, again
    assert len(real_run["mails"]) == 1


def test_the_mail_says_the_level_window_place_and_action_of_cap_and_site(real_run):
    # catches: a mail with another level, another window (e.g. the subscriber's first
    # hour at yellow as "from", UTC shown as Danish time, the peak from another cell), a
    # wrong area name or the instruction of another level than the CAP message's
    (mail,) = real_run["mails"]
    warning = real_run["warnings"][0]
    plain = " ".join(mail.get_body(("plain",)).get_content().split())
    da = real_run["cap"].xpath("c:info[c:language='da-DK']", namespaces=CAP)[0]
    cap = {tag: da.findtext(f"c:{tag}", namespaces=CAP) for tag in
           ("severity", "onset", "expires", "description", "instruction")}
    area_desc = da.findtext("c:area/c:areaDesc", namespaces=CAP)
    slug = re.sub(r"[^a-z0-9]+", "-", warning["place"].lower()).strip("-")
    page = unescape((real_run["site"] / "places" / f"{slug}.html").read_text())
    site_sentence = " ".join(re.search(r'<p class="headline-sentence">(.*?)</p>', page,
                                       re.S)[1].split())

    # level: red in the subject, CAP's severity, the site's headline class
    assert mail["Subject"] == "Rød varsel om oversvømmelse: Polderen ved Klitten"
    assert cap["severity"] == "Extreme" and 'class="headline level-red"' in page
    # the window: one sentence, the same in the mail, the CAP description and the page
    (mail_window,) = WINDOW.findall(plain)
    assert mail_window == WINDOW.search(cap["description"])[0] == WINDOW.search(
        site_sentence)[0]
    # … whose times are CAP's onset and expires and the warning's peak, in Danish time
    onset, end, *earlier, peak = _danish_times(mail_window)
    assert onset == datetime.fromisoformat(cap["onset"]).astimezone(CPH)
    assert end == datetime.fromisoformat(cap["expires"]).astimezone(CPH)
    assert peak == datetime.fromisoformat(warning["peak_time"]).astimezone(CPH)
    assert earlier == [datetime.fromisoformat(warning["level_from"][k]).astimezone(CPH)
                       for k in ("yellow", "orange") if k in warning["level_from"]]
    # the place: the subscriber's own name, in the area CAP names
    area_name = area_desc.split(", ")[-1]
    assert f"Hvor: Polderen ved Klitten, {area_name}." in plain and area_name == "Demo-kommunen"
    assert "Naboen udenfor" not in plain
    # the same highest flood risk in whole percent
    risk = re.search(r"op til (\d+) %", plain)[1]
    assert risk == re.search(r"op til (\d+) %", cap["description"])[1] == str(
        round(100 * warning["probability"]))
    # the action: the red instruction, as in CAP and on the page
    red = " ".join(table("da", "instruction")[3].split())
    assert " ".join(cap["instruction"].split()) == red and red in plain and red in " ".join(
        page.split())


def test_the_subscribers_are_named_in_no_public_product(real_run):
    # catches: a subscriber's name or address leaking into the site or the feed
    site = real_run["site"]
    public = "".join(p.read_text(errors="ignore") for p in site.rglob("*.html"))
    public += etree.tostring(real_run["cap"]).decode()
    for secret in (INSIDE, OUTSIDE, "Polderen ved Klitten", "Naboen udenfor"):
        assert secret not in public
