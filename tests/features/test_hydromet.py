"""Dynamic drivers: window sums, API, the vectorised drivers equal the xarray ones."""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wetindex.features.hydromet import (
    HISTORY_NEEDED_H,
    DriverInputError,
    antecedent_precipitation_index,
    continue_with_forecast,
    drivers_at_leads,
    groundwater_depth_at_leads,
    rain_drivers,
    refuse_negative,
    sea_margins,
    window_sum,
)
from wetindex.features.stack import DRIVER_FEATURES, drivers_for_issues


def _observed(n_hours: int, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    time = pd.date_range("2024-01-01", periods=n_hours, freq="h")
    rain = np.where(rng.random(n_hours) < 0.1, rng.gamma(0.8, 2.0, n_hours), 0.0)
    return xr.Dataset({
        "rain": ("time", rain),
        "evaporation": ("time", 1.0 + np.sin(np.arange(n_hours) / 500.0)),
        "sea_level": ("time", 0.4 * np.sin(np.arange(n_hours) * 2 * np.pi / 12.42)
                      + rng.normal(0, 0.1, n_hours)),
        "groundwater_anomaly": ("time", np.cumsum(rng.normal(0, 0.002, n_hours))),
    }, coords={"time": time})


def _forecasts(observed: xr.Dataset, issues: pd.DatetimeIndex, seed: int = 1) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    leads = np.arange(1, 49)
    shape = (len(issues), len(leads))
    return xr.Dataset({
        "rain": (("issue_time", "lead"), np.abs(rng.normal(0.3, 1.0, shape))),
        "sea_level": (("issue_time", "lead"), rng.normal(0.2, 0.4, shape)),
        "groundwater_anomaly": (("issue_time", "lead"), rng.normal(0, 0.05, shape)),
    }, coords={"issue_time": issues, "lead": leads})


def test_window_sum_matches_explicit_sums():
    s = xr.DataArray(np.arange(10.0), dims="time",
                     coords={"time": pd.date_range("2024-01-01", periods=10, freq="h")})
    out = window_sum(s, 3)
    assert np.isnan(out.values[:2]).all()
    np.testing.assert_allclose(out.values[2:], [s.values[i - 2:i + 1].sum() for i in range(2, 10)])


def test_window_sum_stays_lazy_and_equal_on_dask():
    rng = np.random.default_rng(3)
    values = rng.random((200, 4, 5))
    time = pd.date_range("2024-01-01", periods=200, freq="h")
    eager = xr.DataArray(values, dims=("time", "y", "x"), coords={"time": time})
    lazy = eager.copy(data=dsa.from_array(values, chunks=(50, 2, 5)))
    out = window_sum(lazy, 24)
    assert isinstance(out.data, dsa.Array)
    np.testing.assert_allclose(out.values, window_sum(eager, 24).values)


def test_api_recursion():
    time = pd.date_range("2024-01-01", periods=48, freq="h")
    rain = xr.DataArray(np.r_[10.0, np.zeros(47)], dims="time", coords={"time": time})
    api = antecedent_precipitation_index(rain, decay_per_day=0.5)
    assert api.values[0] == pytest.approx(10.0)
    assert api.values[24] == pytest.approx(5.0, rel=1e-5)  # one day later: halved
    assert api.values[47] == pytest.approx(10.0 * 0.5 ** (47 / 24), rel=1e-5)


def test_continue_with_forecast_refuses_a_stale_series():
    obs = _observed(100)
    fc = _forecasts(obs, pd.DatetimeIndex([obs.time.values[-1]]))
    late_issue = obs.time.values[-1] + np.timedelta64(3, "h")
    with pytest.raises(DriverInputError, match="missing or stale"):
        continue_with_forecast(obs["rain"], fc["rain"].isel(issue_time=0), late_issue)


def test_vectorised_drivers_equal_the_xarray_definition():
    obs = _observed(HISTORY_NEEDED_H + 400)
    issues = pd.DatetimeIndex(obs.time.values[HISTORY_NEEDED_H + 10:: 37][:6])
    fcs = _forecasts(obs, issues)
    fast = drivers_for_issues(obs, fcs, issues.values)
    for i, issue in enumerate(issues):
        ref = drivers_at_leads(obs, fcs.sel(issue_time=issue), issue.to_datetime64())
        for j, name in enumerate(DRIVER_FEATURES):
            np.testing.assert_allclose(fast[i, :, j], ref[name].values, rtol=2e-4, atol=2e-4,
                                       err_msg=name)


def test_drivers_need_enough_history():
    obs = _observed(200)
    issues = pd.DatetimeIndex([obs.time.values[100]])
    with pytest.raises(DriverInputError, match="days"):
        drivers_for_issues(obs, _forecasts(obs, issues), issues.values)


def test_negative_rain_is_refused():
    obs = _observed(HISTORY_NEEDED_H + 10)
    obs["rain"][5] = -0.1
    issues = pd.DatetimeIndex([obs.time.values[-1]])
    with pytest.raises(DriverInputError, match="negative"):
        drivers_for_issues(obs, _forecasts(obs, issues), issues.values)


def test_groundwater_depth_never_above_surface():
    depth = xr.DataArray(np.array([[0.1, 2.0]]), dims=("y", "x"))
    rise = xr.DataArray(np.array([0.0, 0.5]), dims="lead")
    out = groundwater_depth_at_leads(depth, rise)
    np.testing.assert_allclose(out.values, [[[0.1, 2.0]], [[0.0, 1.5]]])


# --- gridded and lazy -------------------------------------------------------------------

def raise_on_compute(dsk, keys, **kwargs):
    raise AssertionError("a Dask graph was computed where the result should stay lazy")


def _api_by_loop(values: np.ndarray, decay_per_day: float) -> np.ndarray:
    """The recursion written out, as the reference for the vectorised index."""
    k = decay_per_day ** (1.0 / 24.0)
    out = np.empty_like(values)
    acc = np.zeros(values.shape[1:])
    for i in range(values.shape[0]):
        acc = acc * k + np.nan_to_num(values[i])
        out[i] = acc
    return out


def _gridded_rain(n_time: int = 300, seed: int = 5) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    values = np.where(rng.random((n_time, 6, 7)) < 0.2, rng.gamma(0.8, 2.0, (n_time, 6, 7)), 0.0)
    values[10, 2, 3] = np.nan  # a missing value counts as no rain in the index
    time = pd.date_range("2024-01-01", periods=n_time, freq="h")
    return xr.DataArray(values, dims=("time", "y", "x"), name="rain",
                        coords={"time": time, "y": np.arange(6)[::-1] * 10.0,
                                "x": np.arange(7) * 10.0}, attrs={"units": "mm/h"})


def test_api_is_lazy_on_gridded_dask_and_independent_of_chunks():
    rain = _gridded_rain()
    eager = antecedent_precipitation_index(rain, decay_per_day=0.8)
    np.testing.assert_allclose(eager.values, _api_by_loop(rain.values, 0.8), rtol=1e-5)
    assert eager.dims == rain.dims and eager.attrs["units"] == "mm"
    for chunks in ({"time": 50, "y": 2, "x": 3}, {"time": -1, "y": 6, "x": 1}):
        with dask.config.set(scheduler=raise_on_compute):
            lazy = antecedent_precipitation_index(rain.chunk(chunks), decay_per_day=0.8)
        assert isinstance(lazy.data, dsa.Array)
        np.testing.assert_array_equal(lazy.values, eager.values)


def test_rain_drivers_on_a_gridded_dask_cube_equal_numpy_and_stay_lazy():
    rain = _gridded_rain(HISTORY_NEEDED_H + 20).fillna(0.0)
    issue = rain.time.values[-1]
    rng = np.random.default_rng(2)
    forecast = xr.DataArray(rng.gamma(0.5, 1.0, (48, 6, 7)), dims=("lead", "y", "x"),
                            coords={"lead": np.arange(1, 49), "y": rain.y, "x": rain.x})
    eager = rain_drivers(rain, forecast, issue)
    with dask.config.set(scheduler=raise_on_compute):
        lazy = rain_drivers(rain.chunk({"time": 100, "y": 3}), forecast.chunk({"lead": 10}), issue)
    for name in eager.data_vars:
        assert isinstance(lazy[name].data, dsa.Array), name
        assert lazy[name].dims == ("lead", "y", "x")
        np.testing.assert_allclose(lazy[name].values, eager[name].values, rtol=1e-9, atol=1e-9,
                                   err_msg=name)
    # the 72 h sum at lead 1: 71 observed hours and the first forecast hour
    expected = rain.isel(time=slice(-71, None)).sum("time") + forecast.isel(lead=0)
    np.testing.assert_allclose(eager["rain_72h"].isel(lead=0), expected, rtol=1e-9)


def test_gridded_drivers_equal_the_area_drivers_cell_by_cell():
    obs = _observed(HISTORY_NEEDED_H + 50)
    issue = obs.time.values[-1]
    fc = _forecasts(obs, pd.DatetimeIndex([issue])).isel(issue_time=0, drop=True)
    area = drivers_at_leads(obs, fc, issue)
    cells = xr.DataArray(np.ones((2, 3)), dims=("y", "x"))
    gridded_obs = obs.assign(rain=obs["rain"] * cells).chunk({"time": 200})
    gridded_fc = fc.assign(rain=fc["rain"] * cells)
    gridded = drivers_at_leads(gridded_obs, gridded_fc, issue)
    assert isinstance(gridded["api"].data, dsa.Array)
    for name in ("rain_1h", "rain_72h", "api", "rain_minus_evaporation_30d"):
        np.testing.assert_allclose(gridded[name].transpose("lead", "y", "x").values,
                                   np.broadcast_to(area[name].values[:, None, None], (48, 2, 3)),
                                   rtol=1e-5, err_msg=name)


def test_negative_rain_in_a_lazy_series_fails_on_compute_with_its_name():
    rain = _gridded_rain().fillna(0.0)
    rain[3, 1, 1] = -0.5
    checked = refuse_negative(rain.chunk({"time": 100}), "rain")  # no error while lazy
    with pytest.raises(DriverInputError, match="rain: negative"):
        checked.compute()
    with pytest.raises(DriverInputError, match="rain: negative"):
        refuse_negative(rain, "rain")


def test_sea_margins_over_cell_dike_crest_and_if_breached():
    # three cells: open coast (flooded at 1 m), behind a 3 m dike (1 m without it), unreachable
    flood_level = xr.DataArray([1.0, 3.0, np.nan], dims="x")
    protected = xr.DataArray([False, True, False], dims="x")
    crest_margin = xr.DataArray([np.nan, 2.0, np.nan], dims="x")
    sea = xr.DataArray([0.5, 2.0], dims="lead", coords={"lead": [1, 2]})
    out = sea_margins(sea, flood_level, protected, crest_margin)
    np.testing.assert_allclose(out["sea_margin"].values,
                               [[-0.5, -2.5, np.nan], [1.0, -1.0, np.nan]])
    np.testing.assert_allclose(out["sea_margin_over_dike_crest"].values,
                               [[np.nan, -2.5, np.nan], [np.nan, -1.0, np.nan]])
    np.testing.assert_allclose(out["sea_margin_if_breached"].values,
                               [[-0.5, -0.5, np.nan], [1.0, 1.0, np.nan]])
    assert all(out[v].attrs["units"] == "m" for v in out.data_vars)
