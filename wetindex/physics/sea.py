"""The sea over the terrain: which cells a forecast sea level floods, and the dikes' margin.

A land cell floods from the sea when the sea level rises above its ``sea_flood_level``
(the lowest sea level that reaches it over the terrain from the sea, see
:func:`wetindex.features.terrain.sea_flood_level`). The dikes are part of that level:
a cell behind a dike gets the crest height on its way in, so it stays dry until the sea
overtops the crest and then floods as the land in front of it does (a bathtub: the
volume that comes over the crest in the hours of overtopping is not limited; on the
safe side for a warning). Cells the sea cannot reach (``sea_connected`` False) never
flood from the sea.

Per protected area (connected cells behind a dike) the margin to the crest is reported:
the lowest crest on the way in minus the highest forecast sea level, with the hour of
that high water and the share of ensemble members that overtop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage


def sea_flood_probability(sea_flood_level: np.ndarray, sea_connected: np.ndarray,
                          members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probability that the sea stands above each cell's flood level, on the cells it may.

    Parameters
    ----------
    sea_flood_level : numpy.ndarray
        ``(y, x)`` [m]; NaN where the sea cannot reach.
    sea_connected : numpy.ndarray of bool
        ``(y, x)``: land the sea reaches at some level.
    members : numpy.ndarray
        Sea level [m] ``(member, lead)``.

    Returns
    -------
    cells : numpy.ndarray
        Flat indices of the cells below the highest member level (all others get 0).
    probability : numpy.ndarray
        float32 ``(lead, cells)``: the share of members above the cell's flood level.
    """
    n_members, n_leads = members.shape
    level = sea_flood_level.ravel()
    reach = sea_connected.ravel() & np.isfinite(level)
    cells = np.flatnonzero(reach & (level < members.max()))
    level = level[cells]
    out = np.empty((n_leads, cells.size), dtype="float32")
    sorted_members = np.sort(members, axis=0)
    for lead in range(n_leads):
        # members strictly above the cell's level: M - (number <= level)
        above = n_members - np.searchsorted(sorted_members[:, lead], level, side="right")
        out[lead] = above / n_members
    return cells, out


def protected_areas(dike_protected: np.ndarray) -> tuple[np.ndarray, int]:
    """Connected (8-neighbour) areas behind dikes: labels ``(y, x)`` (0 none) and count."""
    labels, n = ndimage.label(np.asarray(dike_protected, bool), structure=np.ones((3, 3), bool))
    return labels.astype("int32"), int(n)


def dike_margins(static: xr.Dataset, forecast_level: np.ndarray, members: np.ndarray,
                 valid_times: pd.DatetimeIndex) -> list[dict[str, Any]]:
    """Margin to the crest of every area behind a dike, for one forecast.

    Parameters
    ----------
    static : xr.Dataset
        ``dike_protected``, ``sea_flood_level``.
    forecast_level : numpy.ndarray
        The sea-level forecast [m] on ``lead``.
    members : numpy.ndarray
        Its ensemble ``(member, lead)`` [m].
    valid_times : pandas.DatetimeIndex
        Valid time of each lead.

    Returns
    -------
    list of dict
        One per protected area, largest first: ``area`` (number), ``cells``,
        ``crest_m`` (lowest sea level that overtops into it), ``max_forecast_m`` and
        ``high_water_time``, ``margin_m`` (crest minus high water; negative: overtopped),
        ``overtopping_probability`` (largest share of members above the crest at any hour).
    """
    labels, n = protected_areas(static["dike_protected"].values)
    if n == 0:
        return []
    sfl = static["sea_flood_level"].values
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    crest = ndimage.minimum(sfl, labels, index=np.arange(1, n + 1))
    peak = int(np.nanargmax(forecast_level))
    high = float(forecast_level[peak])
    out = []
    for i in range(n):
        c = float(crest[i])
        out.append({
            "area": i + 1, "cells": int(sizes[i + 1]), "crest_m": round(c, 3),
            "max_forecast_m": round(high, 3),
            "high_water_time": pd.Timestamp(valid_times[peak]).isoformat(),
            "margin_m": round(c - high, 3),
            "overtopping_probability": round(float((members > c).mean(axis=0).max()), 3),
        })
    return sorted(out, key=lambda d: -d["cells"])
