"""Subscriptions file: polygon, buffered dike line, point with radius, clear errors."""

from __future__ import annotations

import pytest

from wetindex.alerts.subscriptions import load_subscriptions

GOOD = """
subscriptions:
  - id: digelag-klitten
    name: Digelaget Klitten
    email: formand@example.dk
    min_level: 2
    max_lead_h: 24
    area:
      crs: EPSG:25832
      line: [[540100, 6330300], [540300, 6330300]]
      buffer_m: 20
  - id: sommerhus-7
    name: Klitvej 7
    email: ejer@example.dk
    language: en
    min_probability: 0.3
    area:
      point: [9.6700, 57.1300]
      radius_m: 50
  - id: pumpestation
    name: Pumpestation Nord
    channels: [webhook]
    area:
      crs: EPSG:25832
      polygon: [[540000, 6330000], [540100, 6330000], [540100, 6330100], [540000, 6330100]]
"""


def test_three_kinds_of_area_in_grid_crs(tmp_path):
    path = tmp_path / "subs.yaml"
    path.write_text(GOOD)
    dike, house, pump = load_subscriptions(path, "EPSG:25832")
    assert dike.min_level == 2 and dike.max_lead_h == 24 and dike.language == "da"
    # a 200 m line buffered 20 m: ≈ 200 × 40 + π 20²
    assert dike.geometry.area == pytest.approx(200 * 40 + 3.14159 * 400, rel=0.01)
    assert house.language == "en" and house.min_probability == 0.3
    assert house.geometry.area == pytest.approx(3.14159 * 2500, rel=0.01)
    # lon/lat 9.67, 57.13 is in UTM 32 around x 540 700, y 6 332 000
    assert 540_000 < house.geometry.centroid.x < 541_500
    assert 6_331_000 < house.geometry.centroid.y < 6_333_000
    assert pump.email is None and pump.channels == ("webhook",)
    assert pump.geometry.area == pytest.approx(10_000)
    assert {s.crs for s in (dike, house, pump)} == {"EPSG:25832"}


def test_unknown_key_is_named_with_file(tmp_path):
    path = tmp_path / "subs.yaml"
    path.write_text(GOOD.replace("    max_lead_h: 24", "    max_lead_hours: 24"))
    with pytest.raises(ValueError) as err:
        load_subscriptions(path, "EPSG:25832")
    message = str(err.value)
    assert str(path) in message and "max_lead_hours" in message and "digelag-klitten" in message


def test_unknown_key_in_area(tmp_path):
    path = tmp_path / "subs.yaml"
    path.write_text(GOOD.replace("buffer_m: 20", "buffer: 20"))
    # one formatter for every file (wetindex.config.format_validation_error)
    with pytest.raises(ValueError, match=r"unknown key 'subscriptions\[0\]\.area\.buffer \(id"):
        load_subscriptions(path, "EPSG:25832")


@pytest.mark.parametrize(("old", "new", "match"), [
    ("      radius_m: 50\n", "", "point needs radius_m"),
    ("    email: formand@example.dk\n", "", "email channel needs"),
    ("id: sommerhus-7", "id: digelag-klitten", "duplicate subscription id"),
    ("min_level: 2", "min_level: 4", "min_level"),
    ("id: sommerhus-7", "id: 'sommer hus'", "id"),
])
def test_bad_values_are_explained(tmp_path, old, new, match):
    path = tmp_path / "subs.yaml"
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(ValueError, match=match):
        load_subscriptions(path, "EPSG:25832")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_subscriptions(tmp_path / "nope.yaml", "EPSG:25832")
