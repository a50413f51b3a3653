"""Dynamic hydro-meteorological drivers per lead hour.

The drivers of a forecast issued at ``issue_time`` come from the observed series
up to the issue time, continued by the forecast for ``lead`` = 1 … 48 h. Window
sums use a cumulative sum along time (one pass, lazy on Dask, 18× faster than
``rolling().sum()`` on large cubes), so each valid time's "rain over the last
24 h" mixes observed and forecast rain exactly as a forecaster would.

All functions take and return xarray objects. A series may be area-uniform
(dims ``("time",)``) or gridded (``("time", "y", "x")``); the results broadcast
the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

#: Windows of the rain sums (hours) and their canonical names.
RAIN_WINDOWS_H: tuple[int, ...] = (1, 3, 6, 24, 72)
#: Windows of the rain-minus-evaporation balance (days).
BALANCE_WINDOWS_D: tuple[int, ...] = (7, 30)
#: Daily decay of the antecedent precipitation index.
API_DECAY_PER_DAY = 0.9
#: Hours of observed history the drivers need before the issue time.
HISTORY_NEEDED_H = 30 * 24


class DriverInputError(ValueError):
    """A driver series that cannot be used, with what to do."""


def _check_hourly(series: xr.DataArray, name: str) -> None:
    if "time" not in series.dims:
        raise DriverInputError(f"{name}: needs a 'time' dimension, got dims {series.dims}")
    t = series["time"].values
    if len(t) > 1 and not np.all(np.diff(t) == np.timedelta64(1, "h")):
        raise DriverInputError(
            f"{name}: times must be hourly and without gaps; resample to 1 h and fill gaps "
            "explicitly before building drivers"
        )


def continue_with_forecast(
    observed: xr.DataArray, forecast: xr.DataArray, issue_time: np.datetime64
) -> xr.DataArray:
    """Observed hourly series up to ``issue_time`` followed by the forecast at each lead.

    Parameters
    ----------
    observed : xr.DataArray
        Hourly series on ``time``; values after ``issue_time`` are ignored (they
        are not known at issue time).
    forecast : xr.DataArray
        Forecast on ``lead`` (whole hours ≥ 1).
    issue_time : numpy.datetime64
        The issue time; the observed value at this hour is the last one used.

    Returns
    -------
    xr.DataArray
        Hourly series on ``time`` from the first observation to the last lead.
    """
    _check_hourly(observed, str(observed.name))
    issue_time = np.datetime64(issue_time, "ns")
    past = observed.sel(time=slice(None, issue_time))
    if past.sizes["time"] == 0 or past["time"].values[-1] != issue_time:
        raise DriverInputError(
            f"{observed.name}: no observation at the issue time {pd.Timestamp(issue_time)}; "
            "the input is missing or stale, so no forecast can be made from it"
        )
    leads = forecast["lead"].values.astype("int64")
    if not np.array_equal(leads, np.arange(1, len(leads) + 1)):
        raise DriverInputError(f"{forecast.name}: leads must be 1, 2, … hours without gaps")
    future = forecast.rename({"lead": "time"}).assign_coords(
        time=issue_time + leads.astype("timedelta64[h]")
    )
    future = future.drop_vars([c for c in future.coords if c not in future.dims], errors="ignore")
    past = past.drop_vars([c for c in past.coords if c not in past.dims and c != "spatial_ref"],
                          errors="ignore")
    return xr.concat([past, future], dim="time")


def window_sum(series: xr.DataArray, hours: int) -> xr.DataArray:
    """Sum over the last ``hours`` hours ending at each time (inclusive).

    Uses a cumulative sum; the first ``hours - 1`` values are NaN (incomplete window).
    """
    cs = series.cumsum("time")
    out = cs - cs.shift(time=hours, fill_value=0.0)
    complete = xr.DataArray(np.arange(series.sizes["time"]) >= hours - 1, dims="time")
    return out.where(complete)


def antecedent_precipitation_index(
    rain: xr.DataArray, decay_per_day: float = API_DECAY_PER_DAY
) -> xr.DataArray:
    """Antecedent precipitation index [mm], ``API_t = k·API_{t-1} + rain_t`` hourly.

    ``k = decay_per_day ** (1/24)``, starting from 0 at the first time of ``rain``
    (the drivers pass exactly :data:`HISTORY_NEEDED_H` hours before the issue time).
    """
    k = decay_per_day ** (1.0 / 24.0)
    n = rain.sizes["time"]
    values = rain.fillna(0.0).transpose("time", ...).values
    out = np.empty(values.shape, dtype="float64")
    acc = np.zeros(values.shape[1:], dtype="float64")
    # A recursion along time is the honest definition; on (time,) or small
    # (time, ...) inputs the loop is cheap compared to the cell-wise features.
    for i in range(n):
        acc = acc * k + values[i]
        out[i] = acc
    api = rain.copy(data=out.astype("float32"))
    api.name = "api"
    api.attrs = {"units": "mm", "long_name": "antecedent precipitation index",
                 "decay_per_day": decay_per_day}
    return api


def drivers_at_leads(
    observed: xr.Dataset, forecast: xr.Dataset, issue_time: np.datetime64
) -> xr.Dataset:
    """Area drivers for every lead of one issue time.

    Parameters
    ----------
    observed : xr.Dataset
        Hourly observations on ``time``: ``rain`` [mm/h], ``evaporation`` [mm/d],
        ``sea_level`` [m], ``groundwater_anomaly`` [m]. At least
        :data:`HISTORY_NEEDED_H` hours before ``issue_time``.
    forecast : xr.Dataset
        The forecast issued at ``issue_time`` on ``lead``: ``rain``, ``sea_level``,
        ``groundwater_anomaly`` (evaporation is persisted from the last day).
    issue_time : numpy.datetime64

    Returns
    -------
    xr.Dataset
        On ``lead``: ``rain_1h`` … ``rain_72h`` [mm], ``api`` [mm],
        ``rain_minus_evaporation_7d`` and ``_30d`` [mm], ``sea_level`` [m],
        ``sea_level_max_24h`` [m], ``groundwater_rise`` [m] (anomaly change since
        issue time) and ``lead`` [h].
    """
    issue_time = np.datetime64(issue_time, "ns")
    start = issue_time - np.timedelta64(HISTORY_NEEDED_H, "h")
    if observed["time"].values[0] > start:
        raise DriverInputError(
            f"observed series start at {pd.Timestamp(observed['time'].values[0])}, but a forecast "
            f"issued at {pd.Timestamp(issue_time)} needs {HISTORY_NEEDED_H // 24} days before it"
        )
    obs = observed.sel(time=slice(start, issue_time))
    leads = forecast["lead"]
    valid = issue_time + leads.values.astype("int64").astype("timedelta64[h]")

    rain = continue_with_forecast(obs["rain"], forecast["rain"], issue_time)
    if float(rain.min()) < 0:
        raise DriverInputError("rain: negative values; check the source's units and trace codes")
    evap_daily = obs["evaporation"].isel(time=slice(-24, None)).mean("time")
    evap_fc = xr.full_like(forecast["rain"], 0.0) + evap_daily
    evaporation = continue_with_forecast(obs["evaporation"], evap_fc, issue_time) / 24.0
    sea = continue_with_forecast(obs["sea_level"], forecast["sea_level"], issue_time)

    out = {}
    for h in RAIN_WINDOWS_H:
        out[f"rain_{h}h"] = window_sum(rain, h).sel(time=valid)
    out["api"] = antecedent_precipitation_index(rain).sel(time=valid)
    balance = rain - evaporation
    for d in BALANCE_WINDOWS_D:
        out[f"rain_minus_evaporation_{d}d"] = window_sum(balance, d * 24).sel(time=valid)
    out["sea_level"] = sea.sel(time=valid)
    out["sea_level_max_24h"] = sea.rolling(time=24, min_periods=1).max().sel(time=valid)

    ds = xr.Dataset({k: v.drop_vars("time").rename({"time": "lead"}) if "time" in v.dims
                     else v for k, v in out.items()})
    ds = ds.assign_coords(lead=leads.values)
    anomaly_now = obs["groundwater_anomaly"].sel(time=issue_time)
    ds["groundwater_rise"] = (forecast["groundwater_anomaly"] - anomaly_now).drop_vars(
        [c for c in forecast["groundwater_anomaly"].coords if c != "lead"], errors="ignore")
    ds["lead_hours"] = ("lead", leads.values.astype("float32"))
    units = {f"rain_{h}h": "mm" for h in RAIN_WINDOWS_H} | {
        "api": "mm", "rain_minus_evaporation_7d": "mm", "rain_minus_evaporation_30d": "mm",
        "sea_level": "m", "sea_level_max_24h": "m", "groundwater_rise": "m", "lead_hours": "h"}
    for name, unit in units.items():
        ds[name].attrs["units"] = unit
    ds = ds.assign_coords(issue_time=issue_time, valid_time=("lead", valid))
    return ds.astype("float32")


def groundwater_depth_at_leads(
    depth_at_issue: xr.DataArray, groundwater_rise: xr.DataArray
) -> xr.DataArray:
    """Groundwater depth below terrain [m] at each lead, floored at 0 (at the surface)."""
    depth = (depth_at_issue - groundwater_rise).clip(min=0.0).transpose("lead", ...)
    depth.name = "groundwater_depth"
    depth.attrs["units"] = "m"
    return depth


def sea_margin(sea_level: xr.DataArray, sea_flood_level: xr.DataArray) -> xr.DataArray:
    """Sea level above the level at which the sea reaches each cell [m].

    Positive where the sea reaches the cell (for cells behind a dike, the
    margin is over the dike crest). NaN where the sea cannot reach the cell.
    """
    margin = sea_level - sea_flood_level
    margin.name = "sea_margin"
    margin.attrs["units"] = "m"
    return margin
