"""A subscribers file (``wetindex subscribers import``): the one subscriber model, its three
kinds of shape, one line per bad entry, and one clear error for the old format."""

from __future__ import annotations

import re

import pytest

from wetindex.alerts.subscriber_input import SubscribersFileError, read_subscribers_file
from wetindex.alerts.subscriptions import area_geometry

CRS = "EPSG:25832"
GOOD = """
subscribers:
  - id: digelag-klitten
    name: Digelaget Klitten
    email: formand@example.dk
    kind: dike_association
    min_level: 2
    max_lead_h: 24
    shape:
      crs: EPSG:25832
      line: [[540100, 6330300], [540300, 6330300]]
      buffer_m: 20
  - id: sommerhus-7
    name: Klitvej 7
    email: ejer@example.dk
    language: en
    min_probability: 0.3
    shape:
      point: [9.6700, 57.1300]
      radius_m: 50
  - id: pumpestation
    name: Pumpestation Nord
    webhook_url: https://pumpe.example.dk/hook
    webhook_secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    shape:
      crs: EPSG:25832
      polygon: [[540000, 6330000], [540100, 6330000], [540100, 6330100], [540000, 6330100]]
"""


def read(tmp_path, text: str, area: str = "kyst"):
    path = tmp_path / "subs.yaml"
    path.write_text(text)
    return path, *read_subscribers_file(path, area, CRS)


def test_three_kinds_of_shape_read_as_the_one_model(tmp_path):
    _, (dike, house, pump), problems = read(tmp_path, GOOD)
    assert problems == []
    assert {s.area for s in (dike, house, pump)} == {"kyst"}  # from --area
    assert dike.min_level == 2 and dike.max_lead_h == 24 and dike.language == "da"
    assert dike.kind == "dike_association" and dike.channels == ("email",)
    # a 200 m line buffered 20 m: ≈ 200 × 40 + π 20²
    assert area_geometry(dike.shape, CRS, "t").area == pytest.approx(200 * 40 + 3.14159 * 400,
                                                                     rel=0.01)
    assert house.language == "en" and house.min_probability == 0.3
    circle = area_geometry(house.shape, CRS, "t")
    assert circle.area == pytest.approx(3.14159 * 2500, rel=0.01)
    # lon/lat 9.67, 57.13 is in UTM 32 around x 540 700, y 6 332 000
    assert 540_000 < circle.centroid.x < 541_500 and 6_331_000 < circle.centroid.y < 6_333_000
    assert pump.email is None and pump.channels == ("webhook",)  # inferred from the contact


def test_the_old_format_is_one_error_naming_the_field_and_the_fix(tmp_path):
    # catches: an old file read silently wrong (its shapes under 'area:' taken for area
    # names, or dropped), or one skip line per entry instead of one error
    old = GOOD.replace("subscribers:", "subscriptions:").replace("    shape:", "    area:")
    path = tmp_path / "old.yaml"
    path.write_text(old)
    with pytest.raises(SubscribersFileError) as err:
        read_subscribers_file(path, "kyst", CRS)
    message = str(err.value)
    assert str(path) in message and "'subscriptions:'" in message
    assert "'area:'" in message and "'shape:'" in message and "--area" in message
    half = tmp_path / "half.yaml"
    half.write_text(GOOD.replace("    shape:", "    area:", 1))  # new top level, old entry
    with pytest.raises(SubscribersFileError, match=r"rename .*'area:' .* to 'shape:'"):
        read_subscribers_file(half, "kyst", CRS)


def test_an_unknown_key_is_named_with_file_and_id_and_the_rest_is_kept(tmp_path):
    path, subs, problems = read(tmp_path, GOOD.replace("    max_lead_h: 24",
                                                       "    max_lead_hours: 24"))
    assert [s.id for s in subs] == ["sommerhus-7", "pumpestation"]
    (line,) = problems
    assert str(path) in line and "digelag-klitten" in line
    assert "unknown key 'max_lead_hours': remove it or fix its spelling" in line


@pytest.mark.parametrize(("old", "new", "match"), [
    ("      radius_m: 50\n", "", "point needs radius_m"),
    ("    email: formand@example.dk\n", "", "give a contact"),
    ("id: sommerhus-7", "id: digelag-klitten", "duplicate id 'digelag-klitten'"),
    ("min_level: 2", "min_level: 4", "min_level"),
    ("id: sommerhus-7", "id: 'sommer hus'", "id: String should match pattern"),
    ("- id: pumpestation\n    name", "- name", "needs an 'id'"),
    # catches: a webhook subscriber stored unsigned, whose every alert fails at delivery
    ("    webhook_secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", "",
     "webhook_url needs its webhook_secret .*generate_secret"),
    ("buffer_m: 20", "buffer: 20", r"unknown key 'shape\.buffer'"),
    ("[540100, 6330000], [540100, 6330100]", "[540100, 6330100], [540100, 6330000]",
     "not valid"),
    ("id: pumpestation\n", "id: pumpestation\n    area: andeby\n", "not the imported area"),
])
def test_a_bad_entry_is_one_line_and_skipped(tmp_path, old, new, match):
    assert old in GOOD
    _, subs, problems = read(tmp_path, GOOD.replace(old, new, 1))
    assert len(subs) == 2 and len(problems) == 1, problems
    assert "skipped" in problems[0]
    assert re.search(match, problems[0]), problems[0]


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(SubscribersFileError, match=r"nope\.yaml: subscribers file not found"):
        read_subscribers_file(tmp_path / "nope.yaml", "kyst", CRS)


def test_check_reports_an_old_file_as_one_problem(tmp_path):
    # catches: `wetindex check` crashing on an old file, or passing it as fine
    from wetindex.checks import subscription_problems
    from wetindex.config import parse_config

    def config(text: str):
        (tmp_path / "subs.yaml").write_text(text)
        return parse_config({
            "name": "kyst", "title": "Kyst", "source": "local",
            "grid": {"x_min": 540000, "y_max": 6330500, "nx": 50, "ny": 50},
            "inputs": {"terrain": "t.tif", "rain": "r.csv", "sea_level": "s.csv",
                       "boundary": "b.geojson"},
            "alerts": {"subscriptions": "subs.yaml"}})  # relative to the project root

    old = GOOD.replace("subscribers:", "subscriptions:").replace("shape:", "area:")
    (line,) = subscription_problems(config(old), tmp_path, CRS)
    assert line.startswith("alerts: ") and "old subscriptions format" in line
    assert subscription_problems(config(GOOD), tmp_path, CRS) == []
