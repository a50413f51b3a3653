"""Hourly forcing of the demo world with a Danish (north Jutland) climatology.

All series are area-wide: **rain is uniform over the demo area** (one series; a 10 km
area sits inside one weather-radar/forecast footprint, and it keeps the world cheap).
Every series is a pure function of the seed and the hourly time axis.

Rain [mm/h]
    Two event types arriving as seasonal Poisson processes. *Frontal systems* (most in
    autumn and winter, fewest in spring) last hours to days (log-normal duration, median
    ~9 h) with gamma-distributed hourly intensities and dry spells inside. *Convective
    showers* (June–August) last 1–4 h; a few per summer are cloudbursts of 20–60 mm.
    Frontal intensities are scaled so the area mean is ~750 mm/yr (±6 % per seed).
    Most hours are dry. One cloudburst of 45–60 mm in 3 h is placed in the first summer.
Evaporation [mm/d]
    Potential evaporation as an hourly rate: a seasonal cosine from ~0.2 mm/d in January
    to ~3.5 mm/d in July, ±20 % day-to-day, lower in hours with rain. No value depends on
    a later hour (an observation is known when it is made).
Sea level [m DVR90]
    Semi-diurnal tide (M2 0.24 m, S2 0.07 m, so ±0.3 m at springs) + mean 0.05 m + an
    AR(1) background surge (σ 0.1 m) + storm surges: wind events arriving mostly in
    October–March, each a smooth 1–2-day bump with a gamma-distributed peak. Natural
    surges are capped below the dike crest; ``overtop_level`` storms are added on purpose:
    two in every cool season before the last ~4 months (the verification hold-out) and
    two in the hold-out, peaking 0.04–0.25 m above the lowest crest; three more reach the dike toe
    (1.4–2.2 m). Genuine rain floods are put in too (:func:`add_heavy_rain`).
Groundwater anomaly [m]
    Rise of the near-surface water table: a linear reservoir of rain minus actual
    evaporation: percolation from a 100 mm soil bucket feeds a reservoir (specific yield
    0.2, time constant 60 days), centred on its mean. It rises in winter and falls in
    summer (≈ −0.4 … +0.7 m). This is the simulator's hidden truth
    (:func:`simulated_groundwater_truth`), not a product model: the product sees it only
    as the demo's national model publishes it (:mod:`wetindex.demo.national`), and an
    area without groundwater data gets the product's one proxy instead
    (:mod:`wetindex.recharge`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.signal import lfilter

from wetindex.climatology import evaporation_climatology
from wetindex.demo._kernels import soil_bucket

HOLDOUT_DAYS = 120  # the last ~4 months: verification hold-out


def _doy(times: pd.DatetimeIndex) -> np.ndarray:
    return (times.day_of_year.to_numpy() - 1 + times.hour.to_numpy() / 24.0).astype(np.float64)


def _event_starts(rng: np.random.Generator, rate_per_hour: np.ndarray) -> np.ndarray:
    return np.flatnonzero(rng.random(rate_per_hour.size) < rate_per_hour)


def rain_series(
    rng: np.random.Generator, times: pd.DatetimeIndex, annual_mm: float
) -> np.ndarray:
    """Hourly area rain [mm/h] (see the module docstring)."""
    n = times.size
    doy = _doy(times)
    frontal = np.zeros(n)
    rate = (0.20 + 0.10 * np.cos(2 * np.pi * (doy - 320) / 365.25)) / 24.0
    for s in _event_starts(rng, rate):
        dur = int(np.clip(rng.lognormal(np.log(9.0), 0.8), 2, 72))
        e = min(s + dur, n)
        inten = rng.gamma(1.3, 0.75, e - s) * (rng.random(e - s) > 0.3)
        frontal[s:e] += inten
    convective = np.zeros(n)
    summer = np.exp(-(((doy - 200) / 40.0) ** 2))
    for s in _event_starts(rng, 0.10 * summer / 24.0):
        dur = int(rng.integers(1, 5))
        total = rng.exponential(6.0)
        if rng.random() < 0.06:
            total = rng.uniform(20.0, 60.0)
        e = min(s + dur, n)
        shape = np.sin(np.pi * (np.arange(e - s) + 0.5) / dur)
        convective[s:e] += total * shape / shape.sum()
    years = n / 8766.0
    target = annual_mm * years
    scale = max(target - convective.sum(), 0.3 * target) / max(frontal.sum(), 1e-9)
    return frontal * scale + convective


def add_cloudburst(rng: np.random.Generator, times: pd.DatetimeIndex, rain: np.ndarray) -> int:
    """Put one 45–60 mm, 3-hour cloudburst in the first July/August of the series."""
    summer = np.flatnonzero((times.month.isin([7, 8])) & (times.hour == 14))
    if summer.size == 0:
        return -1
    s = int(rng.choice(summer[: max(1, min(summer.size, 62))]))
    total = rng.uniform(45.0, 60.0)
    shape = np.array([0.3, 0.5, 0.2])
    rain[s : s + 3] += total * shape[: rain[s : s + 3].size]
    return s


def evaporation_series(
    rng: np.random.Generator, times: pd.DatetimeIndex, rain: np.ndarray
) -> np.ndarray:
    """Potential evaporation [mm/d] as an hourly rate that depends on no later hour.

    A seasonal cosine times a day-to-day factor (drawn per day, independent of the
    rain), lowered to 40 % in an hour with rain (cloud, humid air). An observation at
    hour ``t`` is thus known at ``t``: a daily value that depended on the whole day's rain
    would hand a forecast issued in the morning the afternoon's rain.
    """
    days = np.asarray(times.values, dtype="datetime64[D]")
    uniq, inv = np.unique(days, return_inverse=True)
    base = evaporation_climatology(pd.DatetimeIndex(uniq), dtype="float64")
    factor = np.clip(1 + 0.2 * rng.standard_normal(uniq.size), 0.5, 1.5)
    hourly = (base * factor)[inv] * np.where(rain > 0.1, 0.4, 1.0)
    return np.clip(hourly, 0.05, None)


def sea_level_series(
    rng: np.random.Generator,
    times: pd.DatetimeIndex,
    history_hours: int,
    overtop_level: float,
    toe_level: float,
    storm_ahead_h: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Hourly sea level [m] and its surge part [m]; also the forced storm peak indices.

    ``storm_ahead_h`` adds one more overtopping storm peaking that many hours after
    the end of the history, inside the last forecast's horizon: the live demo then
    has a storm coming, as an operator would see one.
    """
    n = times.size
    hours = (times.values - times.values[0]) / np.timedelta64(1, "h")
    tide = 0.24 * np.cos(2 * np.pi * hours / 12.42 + rng.uniform(0, 2 * np.pi)) + 0.07 * np.cos(
        2 * np.pi * hours / 12.0 + rng.uniform(0, 2 * np.pi)
    )
    surge = lfilter([np.sqrt(1 - 0.97**2) * 0.10], [1, -0.97], rng.standard_normal(n))
    doy = _doy(times)
    rate = np.clip(0.035 + 0.045 * np.cos(2 * np.pi * (doy - 15) / 365.25), 0.004, None) / 24.0
    t_axis = np.arange(n)

    def bump(peak_i: int, height: float, width_h: float) -> np.ndarray:
        lo, hi = max(peak_i - int(4 * width_h), 0), min(peak_i + int(4 * width_h), n)
        out = np.zeros(n)
        out[lo:hi] = height * np.exp(-0.5 * ((t_axis[lo:hi] - peak_i) / width_h) ** 2)
        return out

    storms = np.zeros(n)
    for s in _event_starts(rng, rate):
        storms += bump(int(s), rng.gamma(2.0, 0.28), rng.uniform(6.0, 14.0))
    level = 0.05 + tide + surge + storms
    # natural storms stay below the crest: overtopping is reserved for the forced storms
    cap = overtop_level - 0.25
    over = level > cap
    level[over] = cap + 0.1 * np.tanh((level[over] - cap) / 0.1)

    forced: list[int] = []
    holdout_lo = max(history_hours - HOLDOUT_DAYS * 24 + 240, 0)
    candidates = _forced_windows(times, history_hours, holdout_lo)
    targets = [overtop_level + rng.uniform(0.04, 0.25) for _ in candidates]
    if storm_ahead_h is not None and not 0 < storm_ahead_h < n - history_hours:
        raise ValueError(f"storm_ahead_h={storm_ahead_h} must lie inside the forecast "
                         f"horizon (1 … {n - history_hours - 1} h)")
    for pool, target in zip(candidates, targets, strict=True):
        if pool.size == 0:
            continue
        peak = int(rng.choice(pool))
        # put the peak on a high tide near the chosen hour
        win = np.arange(max(peak - 6, 0), min(peak + 7, n))
        peak = int(win[np.argmax(tide[win])])
        width = rng.uniform(8.0, 12.0)
        b = bump(peak, 1.0, width)
        level += b * (target - level[peak])
        forced.append(peak)
    for _ in range(3):  # storms that reach the dike toe
        peak = int(rng.integers(24, max(history_hours - 24, 25)))
        if any(abs(peak - f) < 72 for f in forced):
            continue
        target = rng.uniform(toe_level + 0.1, min(toe_level + 0.9, overtop_level - 0.3))
        if level[peak] < target:
            level += bump(peak, 1.0, rng.uniform(6.0, 12.0)) * (target - level[peak])
    if storm_ahead_h is not None:
        # drawn from nothing: the history is the same with or without the coming storm
        peak = history_hours + storm_ahead_h
        win = np.arange(max(peak - 6, 0), min(peak + 7, n))
        peak = int(win[np.argmax(tide[win])])
        level += bump(peak, 1.0, 10.0) * (overtop_level + 0.3 - level[peak])
        forced.append(peak)
    surge_part = level - 0.05 - tide
    return level, surge_part, forced


def _forced_windows(times: pd.DatetimeIndex, history_hours: int,
                    holdout_lo: int) -> list[np.ndarray]:
    """Where the forced overtopping storms may peak: two in each cool season
    (October–March) before the hold-out, and two in the hold-out (one in each half)."""
    t_axis = np.arange(times.size)
    cool = times.month.isin([10, 11, 12, 1, 2, 3]) & (t_axis < holdout_lo - 24 * 20)
    season = np.where(times.month >= 10, times.year, times.year - 1)
    pools = []
    for year in np.unique(season[cool]):
        pool = np.flatnonzero(cool & (season == year))
        # two per season (early and late winter): the model must see more than one
        # overtopping to learn it, and the hold-out's are kept apart
        for half in (pool[: pool.size // 2], pool[pool.size // 2:]):
            if half.size >= 30 * 24:
                pools.append(half)
    if not pools:  # a short history: anywhere before the hold-out
        pools.append(np.arange(0, max(holdout_lo - 240, 1)))
    hi = max(history_hours - 240, holdout_lo + 2)
    mid = (holdout_lo + hi) // 2
    pools += [np.arange(holdout_lo, mid), np.arange(mid, hi)]
    return pools


def add_heavy_rain(rng: np.random.Generator, times: pd.DatetimeIndex, rain: np.ndarray,
                   history_hours: int) -> list[int]:
    """Put genuine rain floods in the history: frontal rain of 40–65 mm in 18–30 h, two
    before the hold-out (autumn or winter) and two in it, and a September cloudburst
    of 35–50 mm in 3 h in the hold-out. Returns their start indices."""
    holdout_lo = max(history_hours - HOLDOUT_DAYS * 24, 0)
    t_axis = np.arange(times.size)
    autumn = times.month.isin([9, 10, 11, 12, 1, 2]) & (t_axis < holdout_lo - 24 * 20)
    train = np.flatnonzero(autumn)
    hold = np.arange(holdout_lo + 24 * 7, max(history_hours - 24 * 7, holdout_lo + 24 * 8))
    starts = []
    pools = [train[: train.size // 2], train[train.size // 2:], hold[: hold.size // 2],
             hold[hold.size // 2:]]
    for pool in pools:
        if pool.size == 0:
            continue
        s = int(rng.choice(pool))
        dur = int(rng.integers(18, 31))
        total = rng.uniform(40.0, 65.0)
        shape = np.sin(np.pi * (np.arange(dur) + 0.5) / dur) ** 1.5 * rng.gamma(4.0, 0.25, dur)
        e = min(s + dur, rain.size)
        rain[s:e] += (total * shape / shape.sum())[: e - s]
        starts.append(s)
    sept = np.flatnonzero((times.month == 9) & (times.hour == 15) & (t_axis >= holdout_lo)
                          & (t_axis < history_hours - 48))
    if sept.size:
        s = int(rng.choice(sept))
        rain[s:s + 3] += rng.uniform(35.0, 50.0) * np.array([0.3, 0.5, 0.2])
        starts.append(s)
    return starts


def simulated_groundwater_truth(rain: np.ndarray, evaporation: np.ndarray) -> np.ndarray:
    """The demo world's true hourly water-table anomaly [m]: a linear reservoir fed by
    soil percolation (the simulator's hidden truth, not the product's proxy, which is
    :func:`wetindex.recharge.recharge_anomaly`).

    ``G' = (percolation − 0.2·PET) / Sy − G / k`` with specific yield ``Sy`` 0.2 and
    ``k`` 60 days (capillary rise and root uptake draw the table down in summer); centred
    on its mean. The series is spun up on its first year.
    """
    specific_yield, k_hours = 0.20, 60 * 24.0
    n = rain.size
    _, perc = _bucket(rain, evaporation)
    recharge = (perc - 0.2 * evaporation / 24.0) / 1000.0 / specific_yield
    a = 1.0 - 1.0 / k_hours
    spin = min(n, 8766)
    g0 = lfilter([1.0], [1, -a], np.concatenate([recharge[:spin], recharge]))[spin:]
    return g0 - g0.mean()


def _bucket(rain: np.ndarray, evaporation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return soil_bucket(rain.astype(np.float64), evaporation.astype(np.float64) / 24.0, 100.0)


def soil_wetness(rain: np.ndarray, evaporation: np.ndarray) -> np.ndarray:
    """Hourly soil-moisture fraction 0–1 of a 100 mm bucket (``evaporation`` in mm/d)."""
    return _bucket(rain, evaporation)[0]


def forcing_dataset(
    seed: int,
    times: pd.DatetimeIndex,
    history_hours: int,
    overtop_level: float,
    toe_level: float,
    annual_mm: float = 750.0,
    storm_ahead_h: int | None = None,
) -> tuple[xr.Dataset, dict]:
    """All forcing series on ``times`` (history plus a forecast buffer) and event facts."""
    rng = np.random.default_rng([seed, 2])
    annual = annual_mm * float(np.clip(1 + 0.06 * rng.standard_normal(), 0.85, 1.15))
    rain = rain_series(rng, times, annual)
    burst = add_cloudburst(rng, times, rain)
    heavy = add_heavy_rain(np.random.default_rng([seed, 2, 1]), times, rain, history_hours)
    evap = evaporation_series(rng, times, rain)
    sea, surge, forced = sea_level_series(rng, times, history_hours, overtop_level, toe_level,
                                          storm_ahead_h)
    gw = simulated_groundwater_truth(rain, evap)
    t = pd.DatetimeIndex(times).tz_localize(None).to_numpy().astype("datetime64[ns]")
    ds = xr.Dataset(
        {
            "rain": ("time", rain.astype(np.float32), {"units": "mm/h",
                     "long_name": "area rain (uniform over the area)"}),
            "evaporation": ("time", evap.astype(np.float32), {"units": "mm/d",
                            "long_name": "potential evaporation"}),
            "sea_level": ("time", sea.astype(np.float32), {"units": "m",
                          "long_name": "sea level above DVR90"}),
            "groundwater_anomaly": ("time", gw.astype(np.float32), {"units": "m",
                                    "long_name": "rise of the water table above its mean"}),
        },
        coords={"time": t},
    )
    events = {"overtopping_storms": forced, "cloudburst": burst, "heavy_rain": heavy,
              "surge": surge}
    return ds, events
