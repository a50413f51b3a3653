"""Groundwater as a national model offers it (like the Danish HIP model), not as it is.

A real area never sees the water table itself: it gets a national hydrological model's
field of the terrain-near groundwater, on a 100 m grid, updated daily and published
late, with the model's own errors. The demo gives its forecast the same:

Field (static)
    The true mean water table *height* (terrain minus the true base depth) averaged over
    100 m blocks, plus a model error that is smooth over a few hundred metres (σ 0.25 m)
    and one per 100 m block (σ 0.10 m); resampled to the area grid by nearest
    neighbour, then turned back into a depth below the area's 10 m terrain (never below
    zero). So the field knows the lowland from the hills but not which 10 m hollow holds
    the water table at the surface.
Anomaly (hourly series)
    The model's value for day ``D`` is the true area anomaly at noon of ``D`` plus a
    slowly varying model error (AR(1) from day to day, φ 0.97, σ 0.07 m); it is
    published at 06 UTC on ``D + 1``. At each hour the series holds the latest published
    value: it lags the truth by 18–42 hours and never looks ahead.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from wetindex.demo.terrain import fractal_noise

MODEL_CELL_M = 100.0  # m: the national model's grid
PUBLISH_LAG_H = 30  # h after the start of day D at which day D's value is published


def model_depth_field(elevation: np.ndarray, base_depth: np.ndarray, permanent: np.ndarray,
                      cell_size: float, seed: int) -> np.ndarray:
    """Mean depth [m] of the water table below terrain as the national model has it."""
    rng = np.random.default_rng([seed, 8])
    ny, nx = elevation.shape
    b = max(1, round(MODEL_CELL_M / cell_size))
    head = (elevation - base_depth).astype(np.float64)
    pad_y, pad_x = (-ny) % b, (-nx) % b
    padded = np.pad(head, ((0, pad_y), (0, pad_x)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // b, b, padded.shape[1] // b, b).mean(axis=(1, 3))
    smooth = fractal_noise(rng, blocks.shape, MODEL_CELL_M, 2 * MODEL_CELL_M,
                           max(8 * MODEL_CELL_M, 1000.0))
    blocks = blocks + 0.25 * smooth + 0.10 * rng.standard_normal(blocks.shape)
    coarse = np.repeat(np.repeat(blocks, b, axis=0), b, axis=1)[:ny, :nx]
    depth = np.clip(elevation - coarse, 0.0, 30.0)
    return np.where(permanent, 0.0, depth).astype(np.float32)


def model_anomaly_series(true_anomaly: np.ndarray, seed: int) -> np.ndarray:
    """The national model's published anomaly at each hour [m] (see the module docstring).

    Hour 0 of ``true_anomaly`` must be 00 UTC.
    """
    rng = np.random.default_rng([seed, 9])
    n = true_anomaly.size
    n_days = n // 24 + 2
    phi, sigma = 0.97, 0.07
    err = lfilter([np.sqrt(1 - phi**2) * sigma], [1, -phi], rng.standard_normal(n_days))
    noon = np.minimum(np.arange(n_days) * 24 + 12, n - 1)
    daily = true_anomaly[noon] + err
    hours = np.arange(n)
    day = (hours - PUBLISH_LAG_H) // 24  # the latest day published by each hour
    # before the first publication the model still has a value: its spin-up's
    out = np.where(day >= 0, daily[np.maximum(day, 0)], true_anomaly[0] + err[0])
    return out.astype(np.float32)
