"""Streams rising over low-HAND cells, and groundwater reaching the surface.

Streams. The rain excess of the catchment (:func:`wetindex.physics.pluvial.rain_excess`)
runs through a linear reservoir (time constant :data:`STREAM_K_H`) to a specific
discharge ``q`` [mm/h]. The water rises above its normal level by::

    rise = BANKFULL_RISE_M · (q / Q_BANKFULL_MM_H) ** 0.6

(a power-law rating curve; at ``Q_BANKFULL_MM_H`` ≈ 0.4 mm/h, about 110 l/s/km², the
order of a two-year flood of a small Danish lowland stream, the water is 1 m up). A
cell next to the stream floods where its height above the drainage it flows to
(``hand``) is below the rise. Only cells that drain to a stream are considered (within
:data:`FLOODPLAIN_MAX_M` of a stream and nearer to it than to the coast); an area without
a stream network in its static inputs gets no stream flooding, and the forecast says so.

Groundwater. The depth to the water table at the issue time, minus the forecast rise of
its anomaly; a cell is wet where that is <= 0.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from wetindex.physics.pluvial import MIN_DEPTH_M, rain_excess

STREAM_K_H = 12.0  # h: linear-reservoir time constant of the stream's catchment
Q_BANKFULL_MM_H = 0.4  # mm/h: specific discharge that raises the water by BANKFULL_RISE_M
BANKFULL_RISE_M = 1.0  # m
RATING_EXPONENT = 0.6
FLOODPLAIN_MAX_M = 150.0  # m: cells farther from a stream are not flooded by it


def floodplain_cells(static: xr.Dataset) -> np.ndarray:
    """Flat indices of cells that drain to a stream (not the sea), not water themselves."""
    if "distance_to_stream" not in static:
        return np.zeros(0, dtype="int64")
    to_stream = static["distance_to_stream"].values
    to_coast = static["distance_to_coast"].values
    hand = static["hand"].values
    ok = np.isfinite(to_stream) & np.isfinite(hand) & (hand > 0)
    ok &= to_stream <= FLOODPLAIN_MAX_M
    ok &= ~(np.isfinite(to_coast) & (to_coast < to_stream))
    if "permanent_water" in static:
        ok &= ~static["permanent_water"].values.astype(bool)
    return np.flatnonzero(ok.ravel())


def discharge(excess: np.ndarray, q0: float | np.ndarray = 0.0) -> np.ndarray:
    """Specific discharge [mm/h] from hourly excess ``(..., hour)`` by a linear reservoir."""
    decay = np.exp(-1.0 / STREAM_K_H)
    q = np.empty_like(np.asarray(excess, dtype="float64"))
    prev = np.broadcast_to(np.asarray(q0, dtype="float64"), q.shape[:-1]).copy()
    for t in range(q.shape[-1]):
        prev = prev * decay + excess[..., t] * (1.0 - decay)
        q[..., t] = prev
    return q


def stage_rise(q: np.ndarray) -> np.ndarray:
    """Rise of the water above its normal level [m] at specific discharge ``q`` [mm/h]."""
    return BANKFULL_RISE_M * (np.maximum(q, 0.0) / Q_BANKFULL_MM_H) ** RATING_EXPONENT


def _share_above(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Share of members strictly above each value: ``(lead, cells)`` from ``(member, lead)``."""
    n_members = members.shape[0]
    ordered = np.sort(members, axis=0)
    out = np.empty((members.shape[1], values.size), dtype="float32")
    for lead in range(members.shape[1]):
        out[lead] = (n_members - np.searchsorted(ordered[:, lead], values, side="right")
                     ) / n_members
    return out


def stream_probability(static: xr.Dataset, rain_observed: np.ndarray, rain_members: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Flat floodplain cells, the probability ``(lead, cells)`` that the stream floods
    each, and a summary."""
    n_leads = rain_members.shape[1]
    cells = floodplain_cells(static)
    if cells.size == 0:
        return cells, np.zeros((n_leads, 0), "float32"), {"modelled": False, "reason": (
            "no stream network in the static inputs: stream flooding is not modelled")}
    obs_excess, api = rain_excess(rain_observed)
    q_obs = discharge(obs_excess)
    q0 = float(q_obs[-1]) if q_obs.size else 0.0
    fc_excess, _ = rain_excess(rain_members, api_start=api)
    rise = stage_rise(discharge(fc_excess, q0))
    hand = static["hand"].values.ravel()[cells].astype("float64")
    return cells, _share_above(hand + MIN_DEPTH_M, rise), {
        "modelled": True, "floodplain_cells": int(cells.size),
        "discharge_at_issue_mm_h": round(q0, 3),
        "max_rise_median_m": round(float(np.median(rise.max(axis=1))), 3)}


def groundwater_probability(depth_at_issue: np.ndarray, rise_members: np.ndarray,
                            exclude: np.ndarray | None = None
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Probability that the water table reaches the surface, on the cells where it may.

    Parameters
    ----------
    depth_at_issue : numpy.ndarray
        ``(y, x)`` depth below terrain [m] at the issue time.
    rise_members : numpy.ndarray
        ``(member, lead)`` rise of the water table since the issue time [m].
    exclude : numpy.ndarray of bool, optional
        ``(y, x)`` cells never counted (sea, permanent water).

    Returns
    -------
    cells : numpy.ndarray
        Flat indices of the cells no deeper than the highest member's rise.
    probability : numpy.ndarray
        float32 ``(lead, cells)``.
    """
    depth = np.nan_to_num(depth_at_issue.astype("float64").ravel(), nan=np.inf)
    may = depth <= rise_members.max()
    if exclude is not None:
        may &= ~exclude.ravel()
    cells = np.flatnonzero(may)
    # wet where depth - rise <= 0, i.e. rise >= depth: members above depth - tiny
    return cells, _share_above(depth[cells] - 1e-9, rise_members)
