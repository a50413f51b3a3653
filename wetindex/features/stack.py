"""The model's feature table: static cell features × drivers per lead.

A row is one (cell, issue time, lead). Static features come from the area's
terrain cube; drivers are per (issue, lead) and area-uniform in this version
(rain, sea level and the groundwater anomaly are one series per area); a few
features combine the two (sea margin over the cell, groundwater depth at the
valid time, rain relative to what fills the cell's bluespot).

:func:`drivers_for_issues` computes the same drivers as
:func:`wetindex.features.hydromet.drivers_at_leads` for many issue times at
once with NumPy (cumulative sums and a recursion over leads), which makes
training on years of hourly history take seconds instead of minutes; a test
keeps the two equal.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from wetindex.features.hydromet import (
    API_DECAY_PER_DAY,
    BALANCE_WINDOWS_D,
    HISTORY_NEEDED_H,
    RAIN_WINDOWS_H,
    DriverInputError,
)

#: A rain window missing more than this share of its observed hours is NaN (unknown).
MAX_MISSING_SHARE = 0.05

#: Static features taken per cell from the terrain cube, in model order.
STATIC_FEATURES: tuple[str, ...] = (
    "elevation", "slope", "bluespot_depth", "bluespot_fill_rain", "flow_accumulation",
    "hand", "twi", "distance_to_coast", "distance_to_stream", "sea_flood_level",
    "dike_protected", "dike_crest_margin", "land_cover",
)
#: Area drivers per (issue, lead), in model order.
DRIVER_FEATURES: tuple[str, ...] = (
    *(f"rain_{h}h" for h in RAIN_WINDOWS_H), "api",
    *(f"rain_minus_evaporation_{d}d" for d in BALANCE_WINDOWS_D),
    "sea_level", "sea_level_max_24h", "groundwater_rise", "lead_hours",
)
#: Features combining a cell and a driver.
CELL_DRIVER_FEATURES: tuple[str, ...] = (
    "groundwater_depth", "sea_margin", "sea_margin_max_24h",
    "rain_24h_fill_ratio", "rain_72h_fill_ratio",
)
FEATURES: tuple[str, ...] = STATIC_FEATURES + DRIVER_FEATURES + CELL_DRIVER_FEATURES

#: Which driver group each feature's contribution is counted under in explanations.
FEATURE_GROUPS: dict[str, str] = {
    **{f: "terrain" for f in STATIC_FEATURES},
    **{f"rain_{h}h": "rain" for h in RAIN_WINDOWS_H},
    "rain_24h_fill_ratio": "rain", "rain_72h_fill_ratio": "rain",
    "api": "wet_soil", "rain_minus_evaporation_7d": "wet_soil",
    "rain_minus_evaporation_30d": "wet_soil",
    "sea_level": "sea", "sea_level_max_24h": "sea", "sea_margin": "sea",
    "sea_margin_max_24h": "sea",
    "groundwater_rise": "groundwater", "groundwater_depth": "groundwater",
    "lead_hours": "terrain",
}


def static_table(static: xr.Dataset, cells: np.ndarray) -> np.ndarray:
    """Static features of flat ``cells`` as a float32 array ``(n_cells, n_static)``."""
    missing = [f for f in STATIC_FEATURES if f not in static]
    if missing:
        raise KeyError(f"static features missing from the terrain cube: {missing}; "
                       "rebuild them with 'wetindex run static'")
    cols = []
    for name in STATIC_FEATURES:
        values = np.asarray(static[name].values).ravel()[cells].astype("float32")
        if name == "flow_accumulation":
            values = np.log1p(values)
        cols.append(values)
    return np.stack(cols, axis=1)


def drivers_for_issues(
    observed: xr.Dataset, forecasts: xr.Dataset, issue_times: np.ndarray
) -> np.ndarray:
    """Area drivers for many issue times, ``(n_issues, n_leads, len(DRIVER_FEATURES))``.

    Parameters
    ----------
    observed : xr.Dataset
        Hourly observed ``rain``, ``evaporation``, ``sea_level``, ``groundwater_anomaly``
        on ``time`` (area-uniform), covering :data:`HISTORY_NEEDED_H` before each issue.
    forecasts : xr.Dataset
        ``rain``, ``sea_level``, ``groundwater_anomaly`` on ``(issue_time, lead)``.
    issue_times : numpy.ndarray
        The issue times to compute, all in ``forecasts.issue_time``.
    """
    t0 = observed["time"].values[0]
    idx = ((np.asarray(issue_times, "datetime64[ns]") - t0) // np.timedelta64(1, "h")).astype(int)
    if idx.min() < HISTORY_NEEDED_H:
        raise DriverInputError(
            f"observed series start at {t0}; issue times need {HISTORY_NEEDED_H // 24} days "
            "of history before them")
    if idx.max() >= observed.sizes["time"]:
        raise DriverInputError("an issue time lies after the last observation")
    fc = forecasts.sel(issue_time=np.asarray(issue_times, "datetime64[ns]"))
    f_rain = fc["rain"].transpose("issue_time", "lead").values.astype("float64")
    if np.nanmin(f_rain) < 0 or np.nanmin(observed["rain"].values) < 0:
        raise DriverInputError("rain: negative values; check the source's units and trace codes")
    n_lead = f_rain.shape[1]
    leads = np.arange(1, n_lead + 1)

    o_rain = observed["rain"].values.astype("float64")
    # a missing hour is left out of the sums (a NaN in a cumulative sum would make
    # every later window NaN); a window missing more than MAX_MISSING_SHARE of its
    # observed hours is NaN (unknown), never a silent zero
    o_cs = np.concatenate([[0.0], np.cumsum(np.nan_to_num(o_rain))])  # o_cs[i+1] = sum(rain[:i+1])
    o_missing = np.concatenate([[0], np.cumsum(np.isnan(o_rain))])
    f_cs = np.concatenate([np.zeros((len(idx), 1)), np.cumsum(f_rain, axis=1)], axis=1)

    def window(o_cumsum: np.ndarray, f_cumsum: np.ndarray, hours: int,
               miss_cumsum: np.ndarray = o_missing) -> np.ndarray:
        # sum over the hours (v - hours, v] where v = issue + lead
        fc_part = f_cumsum[:, leads] - f_cumsum[:, np.maximum(leads - hours, 0)]
        n_obs = np.maximum(hours - leads, 0)  # observed hours inside the window
        end = idx[:, None] + 1
        obs_part = o_cumsum[end] - o_cumsum[end - n_obs[None, :]]
        missing = miss_cumsum[end] - miss_cumsum[end - n_obs[None, :]]
        return np.where(missing > MAX_MISSING_SHARE * n_obs[None, :], np.nan, fc_part + obs_part)

    out = {f"rain_{h}h": window(o_cs, f_cs, h) for h in RAIN_WINDOWS_H}

    k = API_DECAY_PER_DAY ** (1.0 / 24.0)
    api_obs = np.empty_like(o_rain)
    acc = 0.0
    for i, r in enumerate(np.nan_to_num(o_rain)):  # one pass, shared by all issues
        acc = acc * k + r
        api_obs[i] = acc
    # the index starts from zero HISTORY_NEEDED_H hours before each issue time, so it
    # does not depend on how much older history happens to be loaded
    memory = HISTORY_NEEDED_H + 1
    api = np.empty_like(f_rain)
    acc_i = api_obs[idx] - k**memory * np.where(idx >= memory, api_obs[idx - memory], 0.0)
    for j in range(n_lead):
        acc_i = acc_i * k + f_rain[:, j]
        api[:, j] = acc_i
    out["api"] = api

    evap_h = observed["evaporation"].values.astype("float64") / 24.0
    e_missing = ~np.isfinite(evap_h)
    e_cs = np.concatenate([[0.0], np.cumsum(np.where(e_missing, 0.0, evap_h))])
    e_miss_cs = np.concatenate([[0], np.cumsum(e_missing)])
    evap_last_day = np.where(e_miss_cs[idx + 1] - e_miss_cs[idx + 1 - 24] > 0, np.nan,
                             (e_cs[idx + 1] - e_cs[idx + 1 - 24]) / 24.0)  # persisted
    fe_cs = np.concatenate([np.zeros((len(idx), 1)),
                            np.cumsum(np.repeat(evap_last_day[:, None], n_lead, 1), 1)], 1)
    for d in BALANCE_WINDOWS_D:
        h = d * 24
        out[f"rain_minus_evaporation_{d}d"] = (window(o_cs, f_cs, h)
                                               - window(e_cs, fe_cs, h, e_miss_cs))

    f_sea = fc["sea_level"].transpose("issue_time", "lead").values.astype("float64")
    o_sea = observed["sea_level"].values.astype("float64")
    out["sea_level"] = f_sea
    sea_max = np.empty_like(f_sea)
    for j in range(n_lead):  # window of 24 h ending at lead j + 1
        lead = j + 1
        window_max = f_sea[:, max(0, lead - 24):lead].max(axis=1)
        n_obs = 24 - lead  # observed hours in the window, issue hour included
        if n_obs > 0:
            past = np.stack([o_sea[idx - s] for s in range(n_obs)], axis=1).max(axis=1)
            window_max = np.maximum(window_max, past)
        sea_max[:, j] = window_max
    out["sea_level_max_24h"] = sea_max

    anomaly_now = observed["groundwater_anomaly"].values[idx]
    out["groundwater_rise"] = (
        fc["groundwater_anomaly"].transpose("issue_time", "lead").values - anomaly_now[:, None])
    out["lead_hours"] = np.repeat(leads[None, :].astype("float64"), len(idx), axis=0)
    return np.stack([out[name] for name in DRIVER_FEATURES], axis=2).astype("float32")



def observed_as_forecast(observed: xr.Dataset, issue_times: np.ndarray,
                         max_lead_h: int) -> xr.Dataset:
    """The drivers' truth laid out like a forecast ``(issue_time, lead)``: a perfect forecast.

    Feeding it to :func:`drivers_for_issues` gives the drivers a nowcast would
    see at each valid time (observed rain and sea level instead of forecast ones).
    """
    t0 = observed["time"].values[0]
    idx = ((np.asarray(issue_times, "datetime64[ns]") - t0) // np.timedelta64(1, "h")).astype(int)
    pos = idx[:, None] + np.arange(1, max_lead_h + 1)[None, :]
    if pos.max() >= observed.sizes["time"]:
        raise ValueError("nowcast: the observations end before the last valid time")
    data = {name: (("issue_time", "lead"), observed[name].values[pos])
            for name in ("rain", "sea_level", "groundwater_anomaly")}
    return xr.Dataset(data, coords={"issue_time": np.asarray(issue_times, "datetime64[ns]"),
                                    "lead": np.arange(1, max_lead_h + 1)})

def feature_rows(
    static_rows: np.ndarray, drivers: np.ndarray, groundwater_depth: np.ndarray
) -> np.ndarray:
    """Feature matrix for cells × one (issue, lead) each.

    Parameters
    ----------
    static_rows : numpy.ndarray
        ``(n, n_static)`` from :func:`static_table`.
    drivers : numpy.ndarray
        ``(n, n_drivers)`` (one row per cell) or ``(n_drivers,)`` shared by all cells.
    groundwater_depth : numpy.ndarray
        ``(n,)`` groundwater depth below terrain at the issue time [m].

    Returns
    -------
    numpy.ndarray
        ``(n, len(FEATURES))`` float32 in :data:`FEATURES` order.
    """
    n = static_rows.shape[0]
    d = np.broadcast_to(drivers, (n, len(DRIVER_FEATURES))).astype("float32")
    s = {name: static_rows[:, i] for i, name in enumerate(STATIC_FEATURES)}
    dv = {name: d[:, i] for i, name in enumerate(DRIVER_FEATURES)}
    fill = np.where(s["bluespot_fill_rain"] > 0, s["bluespot_fill_rain"], np.nan)
    combined = np.stack([
        np.maximum(groundwater_depth - dv["groundwater_rise"], 0.0),
        dv["sea_level"] - s["sea_flood_level"],
        dv["sea_level_max_24h"] - s["sea_flood_level"],
        dv["rain_24h"] / fill,
        dv["rain_72h"] / fill,
    ], axis=1)
    return np.concatenate([static_rows, d, combined.astype("float32")], axis=1)
