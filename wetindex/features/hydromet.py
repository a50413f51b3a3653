"""Dynamic hydro-meteorological drivers per lead hour.

The drivers of a forecast issued at ``issue_time`` come from the observed series
up to the issue time, continued by the forecast for ``lead`` = 1 … 48 h. Window
sums use a cumulative sum along time (one pass, lazy on Dask, 18× faster than
``rolling().sum()`` on large cubes), so each valid time's "rain over the last
24 h" mixes observed and forecast rain exactly as a forecaster would.

All functions take and return xarray objects. A series may be area-uniform
(dims ``("time",)``) or gridded (``("time", "y", "x")``); the results broadcast
the same way. On Dask input every function stays lazy and gives the same numbers
as on NumPy (the antecedent precipitation index runs its recursion along time
inside each spatial chunk; the negative-rain check raises when the graph is
computed). :func:`rain_drivers`, :func:`evaporation_sums`, :func:`sea_drivers`
and :func:`sea_margins` are the gridded building blocks;
:func:`wetindex.features.dynamic.dynamic_features` assembles them, with rain on
the upstream catchment, into the ``(lead, y, x)`` cube of one issue time. The
model's feature list (:data:`wetindex.features.stack.FEATURES`) still uses the
area-uniform :func:`drivers_at_leads`; the gridded cube is ready for gridded rain.
"""

from __future__ import annotations

from functools import partial

import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr
from scipy.signal import lfilter

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


def _api_along_last_axis(values: np.ndarray, k: float) -> np.ndarray:
    # API_t = k * API_{t-1} + rain_t is a first-order recursive filter: lfilter runs
    # the recursion in C over every cell of the block at once
    out = lfilter([1.0], [1.0, -k], np.nan_to_num(values.astype("float64"), nan=0.0), axis=-1)
    return out.astype("float32")


def antecedent_precipitation_index(
    rain: xr.DataArray, decay_per_day: float = API_DECAY_PER_DAY
) -> xr.DataArray:
    """Antecedent precipitation index [mm], ``API_t = k·API_{t-1} + rain_t`` hourly.

    ``k = decay_per_day ** (1/24)``, starting from 0 at the first time of ``rain``
    (the drivers pass exactly :data:`HISTORY_NEEDED_H` hours before the issue time);
    missing rain counts as 0. ``rain`` may be area-uniform or gridded. Lazy on Dask
    input: the recursion runs along ``time`` inside each spatial chunk (``time`` is
    joined into one chunk), so the result does not depend on the spatial chunking.
    """
    k = decay_per_day ** (1.0 / 24.0)
    if isinstance(rain.data, dsa.Array) and len(rain.chunks[rain.get_axis_num("time")]) > 1:
        rain = rain.chunk({"time": -1})
    api = xr.apply_ufunc(
        _api_along_last_axis, rain, kwargs={"k": k},
        input_core_dims=[["time"]], output_core_dims=[["time"]],
        dask="parallelized", output_dtypes=[np.float32], keep_attrs=False,
    ).transpose(*rain.dims)
    api.name = "api"
    api.attrs = {"units": "mm", "long_name": "antecedent precipitation index",
                 "decay_per_day": decay_per_day}
    return api


def _refuse_negative_block(block: np.ndarray, name: str) -> np.ndarray:
    if block.size and np.nanmin(block) < 0:
        raise DriverInputError(f"{name}: negative values; check the source's units and trace codes")
    return block


def refuse_negative(series: xr.DataArray, name: str) -> xr.DataArray:
    """``series`` unchanged, or :class:`DriverInputError` if it has negative values.

    On Dask input the check is part of the graph (it raises when computed), so building
    the features stays lazy.
    """
    if isinstance(series.data, dsa.Array):
        check = partial(_refuse_negative_block, name=name)
        return series.copy(data=series.data.map_blocks(check, dtype=series.dtype))
    _refuse_negative_block(np.asarray(series.values), name)
    return series


def _history(observed: xr.DataArray, issue_time: np.datetime64) -> xr.DataArray:
    start = issue_time - np.timedelta64(HISTORY_NEEDED_H, "h")
    if observed["time"].values[0] > start:
        raise DriverInputError(
            f"{observed.name}: observed series start at "
            f"{pd.Timestamp(observed['time'].values[0])}, but a forecast issued at "
            f"{pd.Timestamp(issue_time)} needs {HISTORY_NEEDED_H // 24} days before it "
            f"(rule: {HISTORY_NEEDED_H // 24} days of observed history before an issue time; "
            f"the first possible issue time is "
            f"{pd.Timestamp(observed['time'].values[0]) + pd.Timedelta(hours=HISTORY_NEEDED_H)})"
        )
    return observed.sel(time=slice(start, issue_time))


def _valid_times(issue_time: np.datetime64, leads: xr.DataArray) -> np.ndarray:
    return issue_time + leads.values.astype("int64").astype("timedelta64[h]")


def _at_leads(series: xr.DataArray, valid: np.ndarray, leads: np.ndarray) -> xr.DataArray:
    out = series.sel(time=valid)
    return out.drop_vars("time").rename({"time": "lead"}).assign_coords(lead=leads)


def rain_drivers(
    rain_observed: xr.DataArray, rain_forecast: xr.DataArray, issue_time: np.datetime64
) -> xr.Dataset:
    """Rain sums, API and the rain part of the water balance at every lead.

    Ready for gridded rain: ``rain_observed`` on ``time`` and ``rain_forecast`` on
    ``lead`` may carry any further dims (``("y", "x")`` on the rain's own grid); the
    results keep them. Lazy on Dask input (cumulative sums and a blockwise recursion
    along time), with the same numbers as on NumPy input.

    Returns
    -------
    xr.Dataset
        On ``lead`` (+ the rain's other dims): ``rain_1h`` … ``rain_72h``, ``api``,
        ``rain_7d``, ``rain_30d`` [mm], float64.
    """
    issue_time = np.datetime64(issue_time, "ns")
    leads = rain_forecast["lead"]
    valid = _valid_times(issue_time, leads)
    obs = _history(rain_observed, issue_time)
    rain = refuse_negative(continue_with_forecast(obs, rain_forecast, issue_time), "rain")
    out = {f"rain_{h}h": window_sum(rain, h) for h in RAIN_WINDOWS_H}
    out["api"] = antecedent_precipitation_index(rain)
    out |= {f"rain_{d}d": window_sum(rain, d * 24) for d in BALANCE_WINDOWS_D}
    return xr.Dataset({k: _at_leads(v, valid, leads.values) for k, v in out.items()})


def evaporation_sums(
    evaporation_observed: xr.DataArray, issue_time: np.datetime64, leads: xr.DataArray
) -> xr.Dataset:
    """Evaporation summed over 7 and 30 days up to each lead's valid time [mm].

    ``evaporation_observed`` [mm/d] is hourly on ``time`` (area-uniform or gridded);
    after the issue time the mean of its last 24 hours is persisted (evaporation
    forecasts are rarely available and change slowly). ``evaporation_7d``, ``_30d``.
    """
    issue_time = np.datetime64(issue_time, "ns")
    obs = _history(evaporation_observed, issue_time)
    evap_daily = obs.isel(time=slice(-24, None)).mean("time")
    forecast = xr.zeros_like(leads, dtype="float64") + evap_daily
    hourly = continue_with_forecast(obs, forecast, issue_time) / 24.0
    valid = _valid_times(issue_time, leads)
    return xr.Dataset({f"evaporation_{d}d": _at_leads(window_sum(hourly, d * 24), valid,
                                                      leads.values)
                       for d in BALANCE_WINDOWS_D})


def sea_drivers(
    sea_observed: xr.DataArray, sea_forecast: xr.DataArray, issue_time: np.datetime64
) -> xr.Dataset:
    """``sea_level`` at the valid time and ``sea_level_max_24h`` (max of the last 24 h) [m]."""
    issue_time = np.datetime64(issue_time, "ns")
    leads = sea_forecast["lead"]
    valid = _valid_times(issue_time, leads)
    sea = continue_with_forecast(_history(sea_observed, issue_time), sea_forecast, issue_time)
    return xr.Dataset({
        "sea_level": _at_leads(sea, valid, leads.values),
        "sea_level_max_24h": _at_leads(sea.rolling(time=24, min_periods=1).max(), valid,
                                       leads.values),
    })


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
        issue time) and ``lead`` [h]. For gridded inputs on a grid of their own see
        :func:`wetindex.features.dynamic.dynamic_features`.
    """
    issue_time = np.datetime64(issue_time, "ns")
    leads = forecast["lead"]
    valid = _valid_times(issue_time, leads)
    rain = rain_drivers(observed["rain"], forecast["rain"], issue_time)
    evap = evaporation_sums(observed["evaporation"], issue_time, leads)
    ds = rain[[f"rain_{h}h" for h in RAIN_WINDOWS_H] + ["api"]]
    for d in BALANCE_WINDOWS_D:
        ds[f"rain_minus_evaporation_{d}d"] = rain[f"rain_{d}d"] - evap[f"evaporation_{d}d"]
    ds = ds.merge(sea_drivers(observed["sea_level"], forecast["sea_level"], issue_time))
    anomaly_now = observed["groundwater_anomaly"].sel(time=issue_time)
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


def sea_margins(
    sea_level: xr.DataArray,
    sea_flood_level: xr.DataArray,
    dike_protected: xr.DataArray,
    dike_crest_margin: xr.DataArray,
) -> xr.Dataset:
    """The sea's margin over each cell and over the dike crest that protects it [m].

    Parameters
    ----------
    sea_level : xr.DataArray
        Sea level at the valid time [m], e.g. on ``lead`` (area-uniform) or gridded.
    sea_flood_level, dike_protected, dike_crest_margin : xr.DataArray
        Static features on ``("y", "x")`` (see
        :func:`wetindex.features.terrain.static_features`).

    Returns
    -------
    xr.Dataset
        ``sea_margin``: ``sea_level - sea_flood_level`` (dikes counted; > 0 where the
        sea reaches the cell). ``sea_margin_over_dike_crest``: the same at dike-protected
        cells only, i.e. the sea over the crest that protects the cell (< 0 is the
        freeboard left), NaN elsewhere. ``sea_margin_if_breached``: the sea over the
        level that would flood the cell without its dike (``sea_flood_level -
        dike_crest_margin``); equal to ``sea_margin`` at unprotected cells. All NaN
        where the sea cannot reach the cell. Lazy on Dask input.
    """
    margin = sea_margin(sea_level, sea_flood_level)
    protected = dike_protected.astype(bool)
    over_crest = margin.where(protected)
    breached = margin + xr.where(protected, dike_crest_margin, 0.0)
    out = xr.Dataset({
        "sea_margin": margin,
        "sea_margin_over_dike_crest": over_crest.rename("sea_margin_over_dike_crest"),
        "sea_margin_if_breached": breached.rename("sea_margin_if_breached"),
    })
    for name in out.data_vars:
        out[name].attrs["units"] = "m"
    return out
