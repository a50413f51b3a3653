"""Which cells can flood at all: the conservative pre-screen.

Predicting every cell for every lead is the dominant cost of a forecast. Cells
that cannot hold surface water (not in any depression, high above the drainage,
out of the sea's reach, with a deep water table) are given probability 0 without
calling the model. The evaluation counts the wet cells of a sample outside the screen
(``screen_misses``, on the model card and in the report); nothing fails on it.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

SCREEN_KEYS = ("hand_max_m", "max_sea_level", "sea_level_headroom_m", "groundwater_headroom_m")


def candidate_mask(
    static: xr.Dataset, shallowest_groundwater: np.ndarray | None = None, *,
    hand_max_m: float, max_sea_level: float, sea_level_headroom_m: float,
    groundwater_headroom_m: float = 0.5, **_: object,
) -> np.ndarray:
    """Boolean ``(y, x)`` mask of cells that could be flooded.

    Parameters
    ----------
    static : xr.Dataset
        Terrain cube with ``elevation``, ``filled_elevation``, ``hand``,
        ``sea_flood_level`` and ``permanent_water``.
    shallowest_groundwater : numpy.ndarray, optional
        The shallowest groundwater depth below terrain seen in the history [m];
        cells within ``groundwater_headroom_m`` of the surface are candidates.
    hand_max_m : float
        Cells at most this high above the nearest drainage are candidates.
    max_sea_level : float
        The highest sea level seen in the history [m].
    sea_level_headroom_m : float
        Extra height above ``max_sea_level`` the sea could reach.
    """
    elevation = static["elevation"].values
    with np.errstate(invalid="ignore"):
        can = (
            (static["filled_elevation"].values > elevation)  # any depression, rims included
            | (static["hand"].values <= hand_max_m)
            | (static["sea_flood_level"].values <= max_sea_level + sea_level_headroom_m)
        )
        if shallowest_groundwater is not None:
            can |= shallowest_groundwater <= groundwater_headroom_m
    can &= ~static["permanent_water"].values.astype(bool)
    can &= np.isfinite(elevation)
    return can


def candidate_cells(static: xr.Dataset, shallowest_groundwater: np.ndarray | None = None,
                    **screen: float) -> np.ndarray:
    """Flat indices of the cells :func:`candidate_mask` keeps."""
    return np.flatnonzero(candidate_mask(static, shallowest_groundwater, **screen).ravel())


def screened_cells(inputs, static: xr.Dataset, screen: dict) -> np.ndarray:
    """Candidate cells of an area, with its groundwater at the shallowest moment of the history.

    ``screen`` holds the numbers of :data:`SCREEN_KEYS` and
    ``groundwater_shallowest_time`` (ISO time), as saved with the model.
    """
    when = screen.get("groundwater_shallowest_time")
    shallowest = (None if when is None else
                  inputs.groundwater_depth(np.datetime64(when, "ns")).values)
    return candidate_cells(static, shallowest, **{k: screen[k] for k in SCREEN_KEYS
                                                  if k in screen})
