"""Archived forecasts of the demo world, with the kinds of error real forecasts make.

Forecasts are issued every ``every_h`` hours over the whole history, for leads
1..``max_lead_h`` hours (``valid_time = issue_time + lead``). A forecast is never the truth
moved in time: it is built from *events*, and each event is forecast, missed, misplaced
or invented, with errors that grow with lead time.

Rain [mm/h]
    The true rain is cut into events (wet hours with gaps under 3 h). Each event carries
    latent draws fixed for its life, so successive forecasts of one storm agree more the
    closer it comes (as runs of a weather model do):

    * **misses** — an event appears in a forecast only when its predictability draw
      ``u`` (plus a little run-to-run jitter) is below ``1 − miss(lead)``; the miss
      rate grows from 3 % at 1 h to 30 % at 48 h for frontal rain, and from 15 % to 60 %
      for short convective showers (which a model places in the wrong parish);
    * **false alarms** — phantom events (copies of real events of the same season at
      other times, about as many as real ones) appear when their draw is below
      ``false(lead)``, from 2 % at 1 h to 35 % at 48 h: a forecast storm that never comes;
    * **timing** — a shift of ``z_t·σ_t(lead)`` hours, ``σ_t`` 0.5 h at 1 h to 4.5 h at 48 h
      (×1.5 for showers), plus run-to-run jitter of 0.5 h;
    * **amplitude** — a factor ``exp(z_a·σ_a − σ_a²/2)``, ``σ_a`` 0.1 at 1 h to 0.6 at 48 h,
      which also stands for placement (the core of a storm passing beside the area).

    The lead of an event is that of its centre in the forecast.
Sea level [m]
    The astronomical tide is forecast exactly; the surge part (the truth minus tide and
    mean) is forecast with a timing error (one per run, ``N(0, 0.3 + 2.5·l/L)`` hours),
    an amplitude error (``N(0, 0.15·l/L)`` of the surge) and an AR(1) error over lead
    (φ 0.9) with standard deviation from 0.05 m at 1 h to 0.30 m at 48 h.
Groundwater anomaly [m]
    Not the truth: the national model's latest value at the issue time (see
    :mod:`wetindex.demo.national`) plus the rise the forecast rain would give through
    the soil, estimated from the observed soil wetness at the issue time.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

GAP_H = 3  # h: dry hours that end a rain event


def rain_events(rain: np.ndarray, gap_h: int = GAP_H) -> np.ndarray:
    """``(n, 2)`` start and stop indices of rain events (wet hours, gaps < ``gap_h``)."""
    wet = np.flatnonzero(rain > 0)
    if wet.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    breaks = np.flatnonzero(np.diff(wet) > gap_h)
    starts = np.concatenate([[wet[0]], wet[breaks + 1]])
    stops = np.concatenate([wet[breaks], [wet[-1]]]) + 1
    return np.column_stack([starts, stops]).astype(np.int64)


def _ramp(lead: np.ndarray, at_1: float, at_max: float, max_lead: int) -> np.ndarray:
    return at_1 + (at_max - at_1) * np.clip((lead - 1) / max(max_lead - 1, 1), 0, 1)


def rain_forecasts(rng: np.random.Generator, rain: np.ndarray, issue: np.ndarray,
                   max_lead_h: int, history_hours: int) -> np.ndarray:
    """Forecast rain ``(n_issue, max_lead_h)`` [mm/h] (see the module docstring).

    Only rain up to ``history_hours + max_lead_h`` is seen, so events after the end
    of the history (the live demo's coming storm) are forecast like any other.
    """
    n = rain.size
    events = rain_events(rain)
    real = [(int(a), int(b), rain[a:b].astype(np.float64), False) for a, b in events]
    # phantoms: real events of the same season, put at other times
    phantoms = []
    if events.size:
        n_ph = rng.poisson(len(events))
        for _ in range(n_ph):
            t0 = int(rng.integers(0, n))
            near = np.flatnonzero(np.abs(events[:, 0] - t0) < 45 * 24)
            a, b = events[int(rng.choice(near))] if near.size else events[
                int(rng.integers(len(events)))]
            phantoms.append((t0, t0 + int(b - a), rain[a:b].astype(np.float64), True))
    out = np.zeros((issue.size, max_lead_h))
    lead = np.arange(1, max_lead_h + 1)
    every = int(issue[1] - issue[0]) if issue.size > 1 else 1
    for start, stop, profile, phantom in real + phantoms:
        dur = stop - start
        convective = dur <= 4 and profile.max() >= 2.0
        u, z_t, z_a = rng.random(), rng.standard_normal(), rng.standard_normal()
        reach = 20 if not convective else 30  # h: the largest timing error considered
        lo = max((start - reach - max_lead_h) // every, 0)
        hi = min((stop + reach) // every + 1, issue.size)
        if hi <= lo:
            continue
        ii = np.arange(lo, hi)
        k = ii.size
        centre = start + dur / 2.0
        ev_lead = np.clip(centre - issue[ii], 1, max_lead_h)
        jitter = 0.1 * rng.standard_normal(k)
        if phantom:
            present = u + jitter < _ramp(ev_lead, 0.02, 0.35, max_lead_h)
        else:
            miss = (_ramp(ev_lead, 0.15, 0.60, max_lead_h) if convective
                    else _ramp(ev_lead, 0.03, 0.30, max_lead_h))
            present = u + jitter < 1.0 - miss
        if not present.any():
            continue
        sig_t = _ramp(ev_lead, 0.5, 4.5, max_lead_h) * (1.5 if convective else 1.0)
        shift = z_t * sig_t + 0.5 * rng.standard_normal(k)
        sig_a = _ramp(ev_lead, 0.1, 0.6, max_lead_h)
        amp = np.exp(z_a * sig_a + 0.1 * rng.standard_normal(k) - sig_a**2 / 2)
        ii, shift, amp = ii[present], shift[present], amp[present]
        # position inside the event's profile of each valid hour of each forecast
        x = issue[ii][:, None] + lead[None, :] - (start + shift[:, None])
        vals = np.interp(x, np.arange(dur, dtype=np.float64), profile, left=0.0, right=0.0)
        out[ii] += vals * amp[:, None]
    return out


def sea_level_forecasts(rng: np.random.Generator, sea: np.ndarray, surge: np.ndarray,
                        valid: np.ndarray, max_lead_h: int,
                        coming_storms: list[int] | None = None) -> np.ndarray:
    """Forecast sea level ``(n_issue, max_lead_h)`` [m] (see the module docstring).

    Forecasts whose horizon holds the peak of one of ``coming_storms`` (the live
    demo's storm, hour indices) get a fixed, typical error instead of a random one:
    the surge a little low (4 %), an hour late at 48 h, and a third of the usual
    random error, so the story the demo tells does not hang on one unlucky draw.
    """
    ni, nl = valid.shape
    n = sea.size
    lead = np.arange(1, nl + 1)
    sigma = 0.05 + 0.25 * ((lead - 1) / max(nl - 1, 1)) ** 0.8
    phi = 0.9
    err = np.empty((ni, nl))
    err[:, 0] = rng.normal(0.0, sigma[0], ni)
    for j in range(1, nl):
        innov = np.sqrt(max(sigma[j] ** 2 - (phi * sigma[j - 1]) ** 2, 0.0))
        err[:, j] = phi * err[:, j - 1] + rng.normal(0.0, innov, ni)
    amp = rng.normal(0.0, 1.0, (ni, 1)) * 0.15 * lead[None, :] / nl
    timing = rng.normal(0.0, 1.0, (ni, 1)) * (0.3 + 2.5 * lead[None, :] / nl)
    for peak in coming_storms or []:
        story = (valid[:, 0] <= peak) & (valid[:, -1] >= peak)
        err[story] *= 1 / 3
        amp[story] = -0.04
        timing[story] = lead[None, :] / nl
    pos = np.clip(valid + timing, 0, n - 1)
    surge_fc = np.interp(pos, np.arange(n), surge)
    return sea[valid] - surge[valid] + surge_fc * (1 + amp) + err


def groundwater_forecasts(model_anomaly: np.ndarray, soil_wetness: np.ndarray,
                          evaporation: np.ndarray, rain_fc: np.ndarray,
                          issue: np.ndarray) -> np.ndarray:
    """Forecast groundwater anomaly ``(n_issue, n_lead)`` [m] from what is known at issue.

    The national model's value at the issue time, plus percolation of the forecast rain
    (half of it once the soil is past 60 % wet, all of it from 90 %) over a specific
    yield of 0.2, minus the observed evaporation's draw on the water table.
    """
    wet = soil_wetness[issue]
    share = 0.5 * np.clip((wet - 0.6) / 0.3, 0.0, 1.0) + 0.5 * (wet >= 0.9)
    recharge = rain_fc * share[:, None] - 0.2 * evaporation[issue][:, None] / 24.0
    return model_anomaly[issue][:, None] + np.cumsum(recharge, axis=1) / 1000.0 / 0.2


def make_forecasts(
    seed: int,
    forcing: xr.Dataset,
    surge: np.ndarray,
    history_hours: int,
    every_h: int,
    max_lead_h: int,
    groundwater_model_anomaly: np.ndarray,
    soil_wetness: np.ndarray,
    coming_storms: list[int] | None = None,
) -> xr.Dataset:
    """Forecasts issued every ``every_h`` hours over the first ``history_hours`` of ``forcing``.

    ``forcing`` must extend at least ``max_lead_h`` hours past the history (the truth the
    last forecasts are verified against). ``surge`` is the surge part of the sea level;
    ``groundwater_model_anomaly`` and ``soil_wetness`` are hourly series on the same
    times: what a national model and the observed rain tell at each hour.
    """
    if every_h < 1 or max_lead_h < 1:
        raise ValueError(
            f"forecast_every_h={every_h} and max_lead_h={max_lead_h} must both be >= 1"
        )
    n = forcing.sizes["time"]
    if n < history_hours + max_lead_h:
        raise ValueError("forcing must extend max_lead_h hours past the history")
    issue = np.arange(0, history_hours, every_h)
    lead = np.arange(1, max_lead_h + 1)
    valid = issue[:, None] + lead[None, :]

    rain = forcing["rain"].values.astype(np.float64)[: history_hours + max_lead_h + 1]
    rain_fc = rain_forecasts(np.random.default_rng([seed, 4, 1]), rain, issue, max_lead_h,
                             history_hours)
    sea_fc = sea_level_forecasts(np.random.default_rng([seed, 4, 2]),
                                 forcing["sea_level"].values.astype(np.float64), surge, valid,
                                 max_lead_h, coming_storms)
    gw_fc = groundwater_forecasts(groundwater_model_anomaly, soil_wetness,
                                  forcing["evaporation"].values.astype(np.float64), rain_fc,
                                  issue)

    times = forcing["time"].values
    issue_time = times[issue]
    valid_time = issue_time[:, None] + lead[None, :].astype("timedelta64[h]")
    dims = ("issue_time", "lead")
    return xr.Dataset(
        {
            "rain": (dims, np.maximum(rain_fc, 0).astype(np.float32), {"units": "mm/h"}),
            "sea_level": (dims, sea_fc.astype(np.float32), {"units": "m"}),
            "groundwater_anomaly": (dims, gw_fc.astype(np.float32), {"units": "m"}),
        },
        coords={
            "issue_time": issue_time,
            "lead": ("lead", lead.astype(np.int64), {"units": "h"}),
            "valid_time": (dims, valid_time.astype("datetime64[ns]")),
        },
        attrs={"error_model": "see wetindex.demo.forecasts"},
    )
