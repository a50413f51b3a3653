"""Satellite-like water maps and incident reports of the demo world's true water.

Passes (``satellite_passes``)
    Sentinel-1-like radar every 3 days, alternating 05 UTC (descending) and 17 UTC
    (ascending) orbits; Sentinel-2-like optical every 5 days at 10 UTC. About 5 % of
    acquisitions are missing. Radar sees through cloud (``cloud_fraction`` 0); the optical
    cloud fraction is Beta(0.7, 0.9), pushed up after rain.
Water maps (:func:`observed_water`), int8: 1 water, 0 dry, -1 unknown
    Start from the true flood water at the pass hour, then add the classic errors:
    radar false water on smooth surfaces (3 % of beach/dune, 2 % of farmland, in small
    clumps: wet sand, bare fields), radar misses under forest (70 %) and in town (50 %,
    double bounce), speckle (0.3 % of cells flipped); optical: cloud (and its shadow
    fringe) masked as -1 in spatially coherent patches covering ``cloud_fraction`` of
    the area, misses under forest (80 %) and town (30 %), 1 % false water (shadows, dark roofs).
    **Permanent water (sea, lake, stream channel) is -1**: it is not flood water and
    labels must not count it either way.
Incident reports (:func:`incident_reports`)
    A handful of points, each at a truly flooded cell at the reported hour, from the
    dike association, citizens, the municipality's road service or the fire service,
    with a short Danish description.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wetindex.demo.terrain import fractal_noise


def satellite_passes(seed: int, times: pd.DatetimeIndex, rain: np.ndarray) -> pd.DataFrame:
    """When the satellites pass over the demo area within ``times`` (hourly history)."""
    rng = np.random.default_rng([seed, 5])
    t0, t1 = times[0], times[-1]
    rows = []
    day0 = t0.floor("D")
    s1_offset, s2_offset = int(rng.integers(0, 3)), int(rng.integers(0, 5))
    days = pd.date_range(day0, t1.floor("D"), freq="D")
    for i, day in enumerate(days):
        if (i - s1_offset) % 3 == 0:
            hour = 5 if ((i - s1_offset) // 3) % 2 == 0 else 17
            rows.append((day + pd.Timedelta(hours=hour), "sentinel-1"))
        if (i - s2_offset) % 5 == 0:
            rows.append((day + pd.Timedelta(hours=10), "sentinel-2"))
    df = pd.DataFrame(rows, columns=["time", "sensor"])
    df = df[(df["time"] >= t0) & (df["time"] <= t1)]
    df = df[rng.random(len(df)) > 0.05].reset_index(drop=True)
    idx = times.get_indexer(df["time"])
    rain24 = np.array([rain[max(i - 24, 0) : i + 1].sum() for i in idx])
    cloud = np.clip(rng.beta(0.7, 0.9, len(df)) + 0.3 * (rain24 > 1.0), 0.0, 1.0)
    df["cloud_fraction"] = np.where(df["sensor"] == "sentinel-2", cloud, 0.0).round(3)
    df["time"] = pd.to_datetime(df["time"]).astype("datetime64[ns]")
    return df


def _clumps(rng: np.random.Generator, shape: tuple[int, int], cell: float,
            fraction: float, scale_m: float) -> np.ndarray:
    """A boolean mask covering ``fraction`` of the grid in coherent patches of ~``scale_m``."""
    if fraction <= 0:
        return np.zeros(shape, dtype=bool)
    if fraction >= 1:
        return np.ones(shape, dtype=bool)
    field = fractal_noise(rng, shape, cell, max(2 * cell, scale_m / 4), max(4 * cell, scale_m))
    return field > np.quantile(field, 1.0 - fraction)


def observed_water(seed: int, pass_index: int, sensor: str, cloud_fraction: float,
                   truth: np.ndarray, land_cover: np.ndarray, permanent: np.ndarray,
                   cell_size: float) -> np.ndarray:
    """One pass's water map (int8: 1 water, 0 dry, -1 unknown); see the module docstring."""
    rng = np.random.default_rng([seed, 6, pass_index])
    shape = truth.shape
    obs = truth.copy()
    forest, town = land_cover == 6, land_cover == 7
    u = rng.random(shape, dtype=np.float32)
    if sensor == "sentinel-1":
        obs &= ~((forest & (u < 0.7)) | (town & (u < 0.5)))
        smooth = _clumps(rng, shape, cell_size, 0.03, 80.0)
        obs |= smooth & (land_cover == 2)
        obs |= _clumps(rng, shape, cell_size, 0.02, 60.0) & (land_cover == 4)
        flip = rng.random(shape, dtype=np.float32) < 0.003
        obs ^= flip
        out = obs.astype(np.int8)
    else:
        obs &= ~((forest & (u < 0.8)) | (town & (u < 0.3)))
        obs |= rng.random(shape, dtype=np.float32) < 0.01
        out = obs.astype(np.int8)
        out[_clumps(rng, shape, cell_size, cloud_fraction, 1500.0)] = -1
    out[permanent] = -1
    return out


def incident_reports(seed: int, events: list[tuple[int, str, np.ndarray]],
                     times: pd.DatetimeIndex, x: np.ndarray, y: np.ndarray,
                     place_of_cell: np.ndarray, place_names: list[str]) -> pd.DataFrame:
    """Reports at truly wet cells. ``events`` holds (hour index, process, wet flat indices)."""
    rng = np.random.default_rng([seed, 7])
    texts = {
        "coastal": [("Nordre Digelag", "Havvand over diget, vand står i polderen"),
                    ("borger", "Havvand på vejen ved sommerhusene")],
        "fluvial": [("borger", "Lilleå er gået over sine bredder, engen står under vand"),
                    ("Jammerbugt Kommune, Vej og Park", "Vand over vejen ved broen")],
        "pluvial": [("borger", "Skybrud: vand i kælderen og på grunden"),
                    ("Beredskabet", "Oversvømmet vej efter kraftig regn")],
        "groundwater": [("borger", "Grundvand står op i haven og på marken")],
    }
    nx = x.size
    rows = []
    for t_idx, process, wet in events:
        if wet.size == 0:
            continue
        for cell in rng.choice(wet, size=min(int(rng.integers(1, 3)), wet.size), replace=False):
            source, text = texts[process][int(rng.integers(len(texts[process])))]
            r, c = divmod(int(cell), nx)
            rows.append({
                "time": times[t_idx],
                "x": float(x[c]),
                "y": float(y[r]),
                "place": place_names[int(place_of_cell[r, c])],
                "description": text,
                "source": source,
                "process": process,
            })
    df = pd.DataFrame(rows, columns=["time", "x", "y", "place", "description", "source",
                                     "process"])
    df["time"] = pd.to_datetime(df["time"]).astype("datetime64[ns]")
    return df.sort_values("time", kind="stable").reset_index(drop=True)
