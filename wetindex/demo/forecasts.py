"""Archived forecasts of the demo world: the truth plus errors that grow with lead time.

Forecasts are issued every ``every_h`` hours over the whole history, for leads
1..``max_lead_h`` hours (``valid_time = issue_time + lead``). Each issue draws its own
errors, correlated along the lead axis:

Rain [mm/h]
    Timing and amplitude error. The forecast at lead ``l`` is the true rain at
    ``valid_time + s_l`` (linear interpolation between hours), times ``exp(a_l − σ_a²/2)``.
    ``s`` and ``a`` are random walks over lead: shift steps σ 0.58 h (std ≈ 4 h at 48 h),
    log-amplitude steps σ 0.08 (std ≈ 0.55 at 48 h). A forecast is never negative.
Sea level [m]
    An AR(1) error over lead (φ = 0.9) with standard deviation growing from 0.05 m at 1 h
    to 0.30 m at 48 h (``σ_l = 0.05 + 0.25·((l−1)/(L−1))^0.8``), plus a surge-amplitude
    error: the surge part of the truth times ``N(0, 0.15·l/L)`` (storms over- or
    under-forecast more the further ahead).
Groundwater anomaly [m]
    Slow drift: ``l·δ`` with ``δ ~ N(0, 0.001 m/h)`` per issue (std ≈ 0.05 m at 48 h) plus
    white noise of 0.005 m.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def make_forecasts(
    seed: int,
    forcing: xr.Dataset,
    surge: np.ndarray,
    history_hours: int,
    every_h: int,
    max_lead_h: int,
) -> xr.Dataset:
    """Forecasts issued every ``every_h`` hours over the first ``history_hours`` of ``forcing``.

    ``forcing`` must extend at least ``max_lead_h`` hours past the history (the truth the
    last forecasts are verified against). ``surge`` is the surge part of the sea level.
    """
    if every_h < 1 or max_lead_h < 1:
        raise ValueError(
            f"forecast_every_h={every_h} and max_lead_h={max_lead_h} must both be >= 1"
        )
    n = forcing.sizes["time"]
    if n < history_hours + max_lead_h:
        raise ValueError("forcing must extend max_lead_h hours past the history")
    rng = np.random.default_rng([seed, 4])
    issue = np.arange(0, history_hours, every_h)
    lead = np.arange(1, max_lead_h + 1)
    valid = issue[:, None] + lead[None, :]
    ni, nl = valid.shape

    rain = forcing["rain"].values.astype(np.float64)
    shift = np.cumsum(rng.normal(0.0, 0.58, (ni, nl)), axis=1)
    log_amp = np.cumsum(rng.normal(0.0, 0.08, (ni, nl)), axis=1)
    var_a = (0.08**2) * lead[None, :]
    pos = np.clip(valid + shift, 0, n - 1)
    rain_fc = np.interp(pos, np.arange(n), rain) * np.exp(log_amp - var_a / 2)

    sea = forcing["sea_level"].values.astype(np.float64)
    sigma = 0.05 + 0.25 * ((lead - 1) / max(nl - 1, 1)) ** 0.8
    phi = 0.9
    err = np.empty((ni, nl))
    err[:, 0] = rng.normal(0.0, sigma[0], ni)
    for j in range(1, nl):
        innov = np.sqrt(max(sigma[j] ** 2 - (phi * sigma[j - 1]) ** 2, 0.0))
        err[:, j] = phi * err[:, j - 1] + rng.normal(0.0, innov, ni)
    amp = rng.normal(0.0, 1.0, (ni, 1)) * 0.15 * lead[None, :] / nl
    sea_fc = sea[valid] + err + amp * surge[valid]

    gw = forcing["groundwater_anomaly"].values.astype(np.float64)
    drift = rng.normal(0.0, 0.001, (ni, 1)) * lead[None, :]
    gw_fc = gw[valid] + drift + rng.normal(0.0, 0.005, (ni, nl))

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
