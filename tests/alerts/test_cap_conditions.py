"""The CAP description gives the warning's drivers in physical units, from its conditions."""

from __future__ import annotations

from datetime import UTC, datetime

from wetindex.alerts.cap import info_texts
from wetindex.warnings import WarningArea, conditions_text


def _warning(conditions: dict) -> WarningArea:
    t = datetime(2026, 11, 2, 1, tzinfo=UTC)
    return WarningArea("demo-polder", "Demo", "Polderen", 2, 0.55, t, t, t, {"sea": 1.0},
                       {"type": "Polygon", "coordinates": [[[9, 57], [9.1, 57], [9, 57.1],
                                                            [9, 57]]]}, 100,
                       conditions=conditions)


def test_description_names_rain_high_water_and_the_dike_margin():
    w = _warning({"rain_mm": 12.4, "sea_level_cm": 180.0, "high_water_cm": 262.0,
                  "high_water_time": "2026-11-02T00:00:00+00:00",
                  "dike_crest_margin_cm": -7.0, "groundwater_depth_m": 0.5})
    da = info_texts("da", w, area_name="Demo", all_clear=False)["description"]
    assert "Regn i tidsrummet: 12 mm." in da
    assert "262 cm over DVR90 den 02.11.2026 kl. 01:00" in da  # local time (CET)
    assert "7 cm over kronen" in da and "0.5 m under terræn" in da
    en = info_texts("en", w, area_name="Demo", all_clear=False)["description"]
    assert "Rain in the period: 12 mm." in en and "7 cm above the crest" in en


def test_no_conditions_no_invented_numbers():
    assert conditions_text("en", {}) == ""
    en = info_texts("en", _warning({}), area_name="Demo", all_clear=False)["description"]
    assert "mm" not in en and "DVR90" not in en
