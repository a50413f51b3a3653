"""The demo is honest: the model sees it only as a real area offers it, and the same
world comes back on every day, only moved in time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wetindex.config import demo_start_ending_now
from wetindex.demo import DemoWorld, DemoWorldConfig, build_demo_world
from wetindex.demo.climate import evaporation_series
from wetindex.demo.forecasts import rain_events
from wetindex.demo.national import model_anomaly_series
from wetindex.sources.demo import DemoInputs

SMALL = DemoWorldConfig(size_m=1000.0, years=1.0, seed=11)


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return build_demo_world(SMALL)


def test_two_days_give_the_same_world_moved_in_time() -> None:
    nows = [pd.Timestamp("2026-11-29T20:05"), pd.Timestamp("2027-03-02T07:59")]
    worlds = []
    for now in nows:
        start = demo_start_ending_now(0.5, now=now)
        worlds.append(build_demo_world(DemoWorldConfig(size_m=1000.0, years=0.5, seed=3,
                                                       start=start)))
    a, b = worlds
    for w, now in zip(worlds, nows, strict=True):
        # the latest issue time is the 3-hour slot of "now"
        inputs = DemoInputs(w)
        issues = inputs.issue_times()
        assert issues[issues <= w.history_end][-1] == now.floor("3h")
    offset = b.history_end - a.history_end
    assert offset == pd.Timestamp("2027-03-02T06:00") - pd.Timestamp("2026-11-29T18:00")
    for name in ("static", "forcing", "forecasts", "truth_state", "truth_cells"):
        da, db = getattr(a, name), getattr(b, name)
        for var in da.data_vars:
            np.testing.assert_array_equal(da[var].values, db[var].values, err_msg=var)
        for coord in ("time", "issue_time", "valid_time"):
            if coord in da.coords:
                np.testing.assert_array_equal(da[coord].values + offset.to_timedelta64(),
                                              db[coord].values)
    pd.testing.assert_series_equal(a.satellite_passes["time"] + offset,
                                   b.satellite_passes["time"])
    assert [pd.Timestamp(t) + offset for t in a.events["overtopping_storms"]] == [
        pd.Timestamp(t) for t in b.events["overtopping_storms"]]
    t = a.forcing["time"].values[::401]
    np.testing.assert_array_equal(a.water(t).values, b.water(t + offset.to_timedelta64()).values)


def test_a_saved_world_moves_like_a_built_one(world: DemoWorld, tmp_path) -> None:
    world.save(tmp_path / "w")
    moved = DemoWorld.load(tmp_path / "w").shifted("2030-06-01T03:00")
    assert moved.forcing["time"].values[0] == np.datetime64("2030-06-01T03:00")
    assert moved.config.start == "2030-06-01T03:00"
    xr.testing.assert_equal(moved.forcing.drop_vars("time"), world.forcing.drop_vars("time"))
    with pytest.raises(ValueError, match="whole UTC hour"):
        world.shifted("2030-06-01T03:30")


def test_observed_series_never_look_ahead() -> None:
    times = pd.date_range("2024-01-01", periods=24 * 60, freq="h")
    rng_rain = np.random.default_rng(0)
    rain = rng_rain.gamma(0.3, 2.0, times.size) * (rng_rain.random(times.size) < 0.2)
    later = rain.copy()
    cut = 24 * 30 + 7  # 07 UTC: the rest of the day's rain must not matter
    later[cut:] = 5.0
    a = evaporation_series(np.random.default_rng(1), times, rain)
    b = evaporation_series(np.random.default_rng(1), times, later)
    np.testing.assert_array_equal(a[:cut], b[:cut])
    truth = np.sin(np.arange(times.size) / 300.0)
    changed = truth.copy()
    changed[cut:] += 1.0
    ma, mb = model_anomaly_series(truth, 5), model_anomaly_series(changed, 5)
    np.testing.assert_array_equal(ma[:cut], mb[:cut])
    # and the national model's series lags the truth by a day or more
    np.testing.assert_array_equal(ma[cut:cut + 18], mb[cut:cut + 18])
    assert not np.array_equal(ma[cut + 48:], mb[cut + 48:])


def test_groundwater_offered_is_a_coarse_model_not_the_truth(world: DemoWorld) -> None:
    inputs = DemoInputs(world)
    t = world.forcing["time"].values[5000]
    offered = inputs.groundwater_depth(t).values
    truth = world.groundwater_depth([t]).values[0]
    land = ~world.static["permanent_water"].values
    diff = np.abs(offered - truth)[land]
    assert diff.mean() > 0.1, "the model's field must carry the national model's errors"
    assert np.corrcoef(offered[land], truth[land])[0, 1] > 0.3, "but still say where it is wet"
    # the water table height is one value per 100 m block (10 × 10 cells)
    head = world.static["elevation"].values - world.static["groundwater_model_depth"].values
    block = head[10:20, 10:20]
    positive = world.static["groundwater_model_depth"].values[10:20, 10:20] > 0
    assert np.ptp(block[positive]) < 1e-4
    # the observed anomaly is the national model's, not the simulator's
    obs = inputs.observed(world.forcing["time"].values[0], world.forcing["time"].values[-1])
    assert not np.allclose(obs["groundwater_anomaly"].values,
                           world.forcing["groundwater_anomaly"].values, atol=0.02)
    cells = np.array([0, 1234, 5678])
    np.testing.assert_allclose(inputs.groundwater_depth_cells(np.array([t]), cells)[0],
                               offered.ravel()[cells], atol=1e-6)


def test_rain_forecasts_miss_and_invent_storms(world: DemoWorld) -> None:
    fc = world.forecasts
    inside = fc["valid_time"].values[:, -1] <= world.history_end.to_datetime64()
    fc = fc.isel(issue_time=np.flatnonzero(inside))
    f_rain = fc["rain"].values
    t_rain = world.forcing["rain"].sel(time=fc["valid_time"].values.ravel()).values.reshape(
        f_rain.shape)

    def rates(leads: slice) -> tuple[float, float]:
        f, t = f_rain[:, leads].sum(axis=1), t_rain[:, leads].sum(axis=1)
        false_alarm = float(((f > 5) & (t < 0.5)).sum() / max((f > 5).sum(), 1))
        miss = float(((t > 5) & (f < 0.5)).sum() / max((t > 5).sum(), 1))
        return false_alarm, miss

    fa_short, miss_short = rates(slice(0, 6))
    fa_long, miss_long = rates(slice(42, 48))
    assert fa_long > 0.05 and miss_long > 0.05, "no false storm or missed storm at 2 days"
    assert fa_long > 1.5 * fa_short and miss_long > 1.5 * miss_short
    assert fa_short < 0.15 and miss_short < 0.2
    # the total is about right: neither a wet nor a dry bias beyond 25 %
    assert 0.75 < f_rain.sum() / t_rain.sum() < 1.25
    # events: wet hours joined across gaps of up to 2 dry hours
    events = rain_events(np.array([0, 1, 1, 0, 0, 0, 0, 2, 0, 0, 1.0, 0, 0, 0, 3]))
    np.testing.assert_array_equal(events, [[1, 3], [7, 11], [14, 15]])
