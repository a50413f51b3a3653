"""Dynamic drivers: window sums, API, the vectorised drivers equal the xarray ones."""

from __future__ import annotations

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
