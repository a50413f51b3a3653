"""CAP 1.2 messages: schema validity, polygon order, languages, references, texts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from alert_fixtures import ISSUE, make_warning
from lxml import etree

from wetindex.alerts.cap import CAP_NS, CapValidationError, cap_alert, cap_time, validate_cap
from wetindex.alerts.messages import _MESSAGES_FILE

NS = {"cap": CAP_NS}
SITE = "https://varsler.example.dk/"


def _cap(warning=None, **kw) -> bytes:
    args = {"identifier": "test-klitten.1", "sender": "wetindex@example.dk", "sent": ISSUE,
            "msg_type": "Alert", "site_url": SITE, "area_name": "Testkommune"} | kw
    return cap_alert(warning, **args)


def _all(xml: bytes, path: str) -> list[str]:
    return [e.text for e in etree.fromstring(xml).findall(path, NS)]


@pytest.mark.parametrize(("level", "probability", "awareness", "severity", "certainty"), [
    (1, 0.25, "2; yellow; Moderate", "Moderate", "Possible"),
    (2, 0.55, "3; orange; Severe", "Severe", "Likely"),
    (3, 0.85, "4; red; Extreme", "Extreme", "Likely"),
])
def test_each_level_is_valid_cap_with_mapped_fields(level, probability, awareness, severity,
                                                    certainty):
    xml = _cap(make_warning(level, probability))
    validate_cap(xml)
    assert _all(xml, "cap:info/cap:severity") == [severity, severity]
    assert _all(xml, "cap:info/cap:certainty") == [certainty, certainty]
    params = dict(zip(_all(xml, "cap:info/cap:parameter/cap:valueName"),
                      _all(xml, "cap:info/cap:parameter/cap:value"), strict=True))
    assert params == {"awareness_level": awareness, "awareness_type": "12; flooding"}
    assert _all(xml, "cap:status") == ["Actual"] and _all(xml, "cap:scope") == ["Public"]
    assert _all(xml, "cap:info/cap:web") == [SITE, SITE]
    assert _all(xml, "cap:info/cap:area/cap:geocode/cap:value") == ["test-klitten"] * 2


def test_both_languages_present_with_translated_event():
    xml = _cap(make_warning())
    assert _all(xml, "cap:info/cap:language") == ["da-DK", "en-GB"]
    assert _all(xml, "cap:info/cap:event") == ["Oversvømmelse", "Local flooding"]
    da, en = _all(xml, "cap:info/cap:headline")
    assert "Orange varsel" in da and "Orange warning" in en
    da_desc, en_desc = _all(xml, "cap:info/cap:description")
    # where, when (local and UTC), how likely, drivers
    assert "Sommerhusområdet ved Klitten" in da_desc and "50 %" in da_desc
    assert "dansk tid" in da_desc and "UTC" in da_desc and "regn" in da_desc
    assert "rain, high sea level" in en_desc


def test_urgency_follows_onset():
    assert _all(_cap(make_warning(onset_h=0)), "cap:info/cap:urgency")[0] == "Immediate"
    assert _all(_cap(make_warning(onset_h=4)), "cap:info/cap:urgency")[0] == "Expected"
    assert _all(_cap(make_warning(onset_h=20)), "cap:info/cap:urgency")[0] == "Future"


def test_polygon_is_lat_lon_and_closed():
    xml = _cap(make_warning())
    (polygon,) = set(_all(xml, "cap:info/cap:area/cap:polygon"))
    points = [tuple(map(float, p.split(","))) for p in polygon.split()]
    assert points[0] == points[-1] and len(points) == 5
    lats, lons = zip(*points, strict=True)
    assert all(57 < lat < 58 for lat in lats) and all(9 < lon < 10 for lon in lons)


def test_open_ring_is_closed_and_multipolygon_gives_several_polygons():
    open_ring = [[9.61, 57.12], [9.62, 57.12], [9.62, 57.13]]
    second = [[9.7, 57.2], [9.71, 57.2], [9.71, 57.21], [9.7, 57.2]]
    warning = make_warning()
    warning = type(warning)(**{**warning.__dict__, "geometry": {
        "type": "MultiPolygon", "coordinates": [[open_ring], [second]]}})
    xml = _cap(warning)
    validate_cap(xml)
    polygons = _all(xml, "cap:info[1]/cap:area/cap:polygon")
    assert len(polygons) == 2
    assert all(p.split()[0] == p.split()[-1] for p in polygons)


def test_projected_geometry_is_rejected_with_clear_error():
    warning = make_warning()
    warning = type(warning)(**{**warning.__dict__, "geometry": {
        "type": "Polygon", "coordinates": [[[540000, 6330000], [540100, 6330000],
                                            [540100, 6330100], [540000, 6330000]]]}})
    with pytest.raises(ValueError, match="not lon/lat"):
        _cap(warning)


def test_times_have_no_z_and_no_fraction():
    sent = ISSUE + timedelta(microseconds=123456)
    xml = _cap(make_warning(), sent=sent)
    validate_cap(xml)
    assert _all(xml, "cap:sent") == ["2026-11-24T06:00:00+00:00"]
    assert cap_time(sent) == "2026-11-24T06:00:00+00:00"


def test_all_clear_is_update_with_allclear_and_references():
    first = (("wetindex@example.dk", "test-klitten.1", ISSUE),
             ("wetindex@example.dk", "test-klitten.2", ISSUE + timedelta(hours=1)))
    xml = _cap(None, msg_type="Update", all_clear_of=make_warning(), references=first,
               identifier="test-klitten.3", sent=ISSUE + timedelta(hours=2))
    validate_cap(xml)
    assert _all(xml, "cap:msgType") == ["Update"]
    assert _all(xml, "cap:info/cap:responseType") == ["AllClear", "AllClear"]
    assert _all(xml, "cap:info/cap:parameter/cap:value")[0] == "1; green; Minor"
    assert _all(xml, "cap:references") == [
        "wetindex@example.dk,test-klitten.1,2026-11-24T06:00:00+00:00 "
        "wetindex@example.dk,test-klitten.2,2026-11-24T07:00:00+00:00"]


def test_update_without_references_is_refused():
    with pytest.raises(ValueError, match="references"):
        _cap(make_warning(), msg_type="Update")


def test_z_time_fails_validation_with_clear_error():
    xml = _cap(make_warning()).replace(b"2026-11-24T06:00:00+00:00", b"2026-11-24T06:00:00Z")
    with pytest.raises(CapValidationError) as err:
        validate_cap(xml)
    assert any("sent" in e and "pattern" in e for e in err.value.errors), err.value.errors


def test_missing_element_fails_validation_with_clear_error():
    root = etree.fromstring(_cap(make_warning()))
    root.remove(root.find("cap:status", NS))
    with pytest.raises(CapValidationError) as err:
        validate_cap(etree.tostring(root))
    assert "status" in str(err.value) and "msgType" in str(err.value)


def test_open_polygon_fails_validation():
    xml = _cap(make_warning())
    root = etree.fromstring(xml)
    for polygon in root.iter(f"{{{CAP_NS}}}polygon"):
        polygon.text = " ".join(polygon.text.split()[:-1])
    with pytest.raises(CapValidationError, match="not closed"):
        validate_cap(etree.tostring(root))


def test_not_xml_fails_validation():
    with pytest.raises(CapValidationError, match="well-formed"):
        validate_cap(b"<alert>")


def test_translations_have_the_same_keys():
    catalog = yaml.safe_load(_MESSAGES_FILE.read_text(encoding="utf-8"))

    def keys(d, prefix=""):
        return {f"{prefix}{k}" for k in d} | {
            k2 for k, v in d.items() if isinstance(v, dict) for k2 in keys(v, f"{prefix}{k}.")}

    assert keys(catalog["da"]) == keys(catalog["en"])
