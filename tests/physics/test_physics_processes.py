"""The physical forecast on a coast made in code: sea and dike, hollow, stream, spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from coast_world import CREST, HOLLOW, LOWER_HOLLOW, STREAM_ROW, CoastInputs, static

from wetindex.physics.forecast import PhysicalSetup, physical_forecast
from wetindex.physics.pluvial import simulate
from wetindex.physics.uncertainty import (
    default_spread,
    estimate_spread,
    rain_members,
    sea_level_members,
)

ISSUE = pd.Timestamp("2026-01-10T00:00")
THRESHOLDS = [0.2, 0.4, 0.7]


@pytest.fixture(scope="module")
def coast():
    st = static()
    return st, PhysicalSetup.from_static(st)


def _forecast(coast, sea, rain=None, **kw):
    st, setup = coast
    rain = np.zeros(48) if rain is None else rain
    inputs = CoastInputs(ISSUE, sea, rain, **kw)
    return physical_forecast(inputs, st, ISSUE, thresholds=THRESHOLDS, setup=setup)


def _surge(peak: float) -> np.ndarray:
    sea = np.full(48, 0.3)
    sea[18:24] = peak  # high water at leads 19-24
    return sea


def test_a_surge_over_the_crest_floods_the_polder_and_nothing_inland(coast):
    st, _ = coast
    fc = _forecast(coast, _surge(CREST + 0.5))
    p = fc.dataset["probability"].values
    polder = st["dike_protected"].values & ~st["permanent_water"].values  # not the stream
    assert polder.sum() > 500
    assert p[20][polder].min() >= 0.9  # overtopped: the whole polder at lead 21
    sea = fc.component("sea")
    assert sea[5][polder].max() == 0  # before the surge: no sea water behind the dike
    z = st["elevation"].values
    inland = ~polder & (z > CREST + 0.5 + 1.0)  # above the surge by more than its spread
    assert sea[:, inland].max() == 0
    (dike,) = fc.summary["dikes"]
    assert dike["margin_m"] == pytest.approx(-0.5, abs=1e-3)
    assert dike["overtopping_probability"] > 0.9
    assert fc.dataset["level"].values[20][polder].min() == 3  # red


def test_below_the_crest_nothing_behind_the_dike_and_the_margin_is_reported(coast):
    st, _ = coast
    fc = _forecast(coast, _surge(CREST - 0.6))
    p = fc.dataset["probability"].values
    polder = st["dike_protected"].values
    assert fc.component("sea")[:, polder].max() == 0
    # away from the stream and the hollows (which the rain ensemble may fill) nothing at all
    away = polder & (st["bluespot_id"].values == 0)
    away[STREAM_ROW - 20:] = False
    assert p[:, away].max() == 0.0
    # the beach in front of the dike floods: the sea forecast is used, not ignored
    beach = st["sea_connected"].values & ~polder & (st["elevation"].values < 2.0)
    assert p[20][beach].max() >= 0.9
    (dike,) = fc.summary["dikes"]
    assert dike["crest_m"] == pytest.approx(CREST)
    assert dike["margin_m"] == pytest.approx(0.6, abs=1e-3)
    assert dike["overtopping_probability"] == 0.0
    assert pd.Timestamp(dike["high_water_time"]) == ISSUE + pd.Timedelta(hours=19)


def test_rain_fills_the_hollow_by_the_expected_volume(coast):
    st, setup = coast
    net = setup.bluespots
    b = int(st["bluespot_id"].values[HOLLOW]) - 1
    area = float((st["bluespot_catchment"].values == b + 1).sum()) * 100.0
    assert net.catchment_area[b] == area
    rain_mm = 0.3 * net.capacity[b] / area * 1000.0  # fills it to 30 %
    volumes, wet = simulate(net, np.array([rain_mm]), np.array([0.0]))
    assert volumes[0, 0, b] == pytest.approx(rain_mm * 1e-3 * area)  # rain × its catchment
    # the water stands where it should: Σ (level − z) · A over the wet cells = the volume
    s, e = net.offsets[b], net.offsets[b + 1]
    z = net.z[s:e]
    n_wet = int((wet[0, s:e] > 0).sum())
    assert 0 < n_wet < e - s
    lo, hi = z.min(), z.max() + 5.0
    for _ in range(60):  # level by bisection on the volume
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if 100.0 * np.clip(mid - z, 0, None).sum() < volumes[0, 0, b] \
            else (lo, mid)
    assert n_wet == int((lo - z >= 0.02).sum())
    # more rain than it holds: full at its capacity, the rest runs on to the lower hollow
    down = int(net.spill_to[b]) - 1
    assert down >= 0 and down == int(st["bluespot_id"].values[LOWER_HOLLOW]) - 1
    rain_mm = 1.2 * net.capacity[b] / area * 1000.0
    overflow = rain_mm * 1e-3 * area - net.capacity[b]
    # the lower hollow lies behind the dike: its pumping station takes 15 mm/day
    assert net.pumped_m3_h[b] == 0.0
    assert net.pumped_m3_h[down] == pytest.approx(15.0 / 24e3 * net.catchment_area[down])
    expected = rain_mm * 1e-3 * net.catchment_area[down] + overflow - net.pumped_m3_h[down]
    assert expected < net.capacity[down]
    volumes, _ = simulate(net, np.array([rain_mm]), np.array([0.0]))
    assert volumes[0, 0, b] == pytest.approx(net.capacity[b])
    assert volumes[0, 0, down] == pytest.approx(expected)


def test_a_rain_storm_in_the_forecast_fills_the_hollow_later_not_now(coast):
    rain = np.zeros(48)
    rain[10:16] = 15.0  # 90 mm in 6 hours, from lead 11
    fc = _forecast(coast, np.full(48, 0.0), rain)
    p = fc.dataset["probability"].values
    centre = (HOLLOW[0], HOLLOW[1])
    assert p[0][centre] < 0.2
    assert p[20][centre] > 0.9
    near_stream = (STREAM_ROW + 1, 60)
    assert p[30][near_stream] > p[0][near_stream]  # the stream rises over its bank
    assert fc.explain(20, np.array([centre[0] * 80 + centre[1]]))["rain"] == 1.0


def test_a_wet_hour_held_by_persistence_is_not_taken_as_two_days_of_rain(coast):
    rain = np.full(48, 10.0)  # persistence of a 10 mm/h hour at the issue time
    real = _forecast(coast, np.zeros(48), rain)
    held = _forecast(coast, np.zeros(48), rain, forecast_kind="persistence")
    centre = HOLLOW
    assert real.dataset["probability"].values[30][centre] > 0.9
    assert held.dataset["probability"].values[30][centre] < 0.2
    assert "persistence" in held.summary["rain_forecast"]


def test_probabilities_widen_with_lead_as_the_driver_errors_do(coast):
    st, _ = coast
    rng = np.random.default_rng(0)
    leads = np.arange(1, 49)
    past = pd.date_range(ISSUE - pd.Timedelta(days=30), ISSUE - pd.Timedelta(hours=48),
                         freq="6h")
    history = {t: (rng.normal(0, 1, 48) * 0.02 * leads, np.zeros(48)) for t in past}
    inputs = CoastInputs(ISSUE, np.full(48, 0.3), np.zeros(48), history=history)
    spread = estimate_spread(inputs, ISSUE, 48)
    assert spread.source["sea_level"].startswith("history")
    assert spread.sea_level[0] < 0.05 and 0.6 < spread.sea_level[-1] < 1.3
    assert np.all(np.diff(spread.sea_level) >= 0)
    fc = _forecast(coast, np.full(48, 0.3), history=history)
    p = fc.dataset["probability"].values
    # a beach cell 0.5 m above the forecast level: unlikely at first, plausible later
    sfl = st["sea_flood_level"].values
    cell = np.unravel_index(np.nanargmin(np.abs(np.where(st["sea_connected"].values,
                                                         sfl, np.nan) - 0.8)), sfl.shape)
    series = p[:, cell[0], cell[1]]
    assert series[0] == 0.0 and series[-1] > 0.2
    assert np.all(np.diff(series) >= 0)
    # no history: the documented default, also widening
    d = default_spread(48)
    assert d.source["sea_level"] == "default" and d.sea_level[-1] > d.sea_level[0]


def test_the_ensemble_keeps_the_forecast_and_its_spread():
    sigma = np.linspace(0.1, 0.3, 48)
    members = sea_level_members(np.full(48, 1.0), sigma, 200)
    assert members.mean(axis=0) == pytest.approx(np.full(48, 1.0), abs=1e-9)
    assert members.std(axis=0) == pytest.approx(sigma, rel=0.03)
    rain = rain_members(np.full(48, 1.0), np.full(48, 2.0), 64)
    assert rain.min() >= 0.0
    assert np.median(rain.sum(axis=1)) == pytest.approx(48.0, rel=0.1)
