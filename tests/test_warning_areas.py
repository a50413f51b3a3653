"""Warning areas from a forecast cube: per place, with a minimum area, in lon/lat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import box, shape

from wetindex.grid import AreaGrid
from wetindex.model.predict import levels
from wetindex.risk import group_contributions, slug, warning_areas
from wetindex.sources.base import Place

GRID = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_330_000.0, 40, 40)


def _forecast(prob: np.ndarray) -> xr.Dataset:
    leads = np.arange(1, prob.shape[0] + 1)
    issue = np.datetime64("2026-01-01T00:00", "ns")
    da = xr.DataArray(prob.astype("float32"), dims=("lead", "y", "x"),
                      coords={"lead": leads, **GRID.coords(), "issue_time": issue,
                              "valid_time": ("lead", issue + leads.astype("timedelta64[h]"))})
    return xr.Dataset({"probability": da, "level": levels(da, [0.2, 0.4, 0.7])})


PLACES = [Place("Vestmarken", "farmland", box(540_000, 6_329_600, 540_200, 6_330_000)),
          Place("Østengen", "meadow", box(540_200, 6_329_600, 540_400, 6_330_000))]


def test_one_warning_per_place_at_the_level_reached_over_enough_area():
    prob = np.zeros((6, 40, 40))
    prob[2:5, 5:15, 2:12] = 0.75  # 100 cells = 1 ha red in the west, hours 3–5
    prob[1, 36, 38] = 0.95  # one red cell in the east: too small to warn alone
    prob[1, 20:31, 25:35] = 0.3  # 1.1 ha yellow in the east at hour 2
    warnings = warning_areas(_forecast(prob), PLACES, GRID, area_name="Test", area_id="test")
    by_place = {w.place: w for w in warnings}
    west, east = by_place["Vestmarken"], by_place["Østengen"]
    assert west.level == 3 and west.probability == 0.75
    assert west.onset == pd.Timestamp("2026-01-01T03:00", tz="UTC")
    assert west.expires == pd.Timestamp("2026-01-01T06:00", tz="UTC")
    # the lone red cell makes neither the level nor the score: the warning says what 1 ha
    # of the place reaches, so a yellow warning never says "up to 95 %"
    assert east.level == 1 and east.probability == 0.3
    assert west.warning_id == "test-vestmarken" and east.warning_id == "test-oestengen"
    assert warnings[0] is west  # highest level first
    lon, lat = shape(west.geometry).centroid.coords[0]
    assert 9.6 < lon < 9.7 and 57.1 < lat < 57.2  # lon/lat, not metres


def test_no_warning_when_nothing_reaches_yellow():
    prob = np.full((6, 40, 40), 0.1)
    assert warning_areas(_forecast(prob), PLACES, GRID, area_name="T", area_id="t") == []


def test_drivers_share_positive_contributions_by_group():
    names = ["rain_6h", "sea_margin", "hand"]
    groups = {"rain_6h": "rain", "sea_margin": "sea", "hand": "terrain"}
    contrib = np.array([[2.0, -1.0, 1.0, -3.0], [2.0, 0.5, 1.0, -3.0]])  # last column: bias
    shares = group_contributions(contrib, names, groups)
    assert shares["rain"] == 0.615 and shares["sea"] == 0.077 and shares["terrain"] == 0.308
    assert shares["groundwater"] == 0.0


def test_slug_is_ascii():
    assert slug("Polderen bag Nordre Dige") == "polderen-bag-nordre-dige"
    assert slug("Søndersø Å") == "soendersoe-aa"


def test_conditions_are_the_drivers_in_physical_units_over_the_window():
    prob = np.zeros((12, 40, 40))
    prob[5:9, 0:20, 0:20] = 0.5  # the west at orange from +6 h to +9 h
    leads = np.arange(1, 13)
    rain = np.zeros(12)
    rain[5:9] = 2.5  # 10 mm in the window
    rain[11] = 30.0  # after it: not part of the warning
    sea = np.full(12, 0.3)
    sea[3] = 2.1  # high water 2 h before the onset
    drivers = xr.Dataset({"rain": ("lead", rain), "sea_level": ("lead", sea)},
                         coords={"lead": leads})
    crest = np.full((40, 40), np.nan)
    crest[0, 0:20] = 2.6
    depth = np.full((40, 40), 0.4)
    [w] = warning_areas(_forecast(prob), PLACES, GRID, area_name="T", area_id="t",
                        drivers=drivers, dike_crest=crest, groundwater_depth=depth)
    c = w.conditions
    assert c["rain_mm"] == 10.0 and c["sea_level_cm"] == 30.0 and c["high_water_cm"] == 210.0
    assert c["high_water_time"] == "2026-01-01T04:00:00+00:00"
    assert c["dike_crest_margin_cm"] == 50.0 and c["groundwater_depth_m"] == 0.4
    assert w.level == 2 and w.onset == pd.Timestamp("2026-01-01T06:00", tz="UTC")
