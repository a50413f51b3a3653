"""From probabilities to warnings: levels, warning areas per place, their drivers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC as _UTC

import numpy as np
import pandas as pd
import rasterio.features
import shapely
import xarray as xr
from pyproj import Transformer
from shapely.geometry import mapping, shape
from shapely.ops import unary_union

from wetindex.grid import AreaGrid
from wetindex.sources.base import Place
from wetindex.warnings import DRIVER_GROUPS, WarningArea

#: Explains the forecast at one lead for some flat cells: driver group -> share.
Explainer = Callable[[int, np.ndarray], dict[str, float]]


def slug(text: str) -> str:
    """ASCII identifier for a place name (``"Engene ved Lilleå"`` → ``"engene-ved-lillea"``)."""
    text = text.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = text.replace("Æ", "Ae").replace("Ø", "Oe").replace("Å", "Aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def place_raster(places: Sequence[Place], grid: AreaGrid) -> np.ndarray:
    """Index (1-based) of the place each cell is in; 0 where no place covers it."""
    shapes = [(p.geometry, i) for i, p in enumerate(places, start=1)]
    if not shapes:
        return np.zeros(grid.shape, dtype="int32")
    return rasterio.features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform,
                                       fill=0, dtype="int32")


def _to_wgs84(geom, crs: str):
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geom, project)


def warning_areas(
    forecast: xr.Dataset, places: Sequence[Place], grid: AreaGrid, *, area_name: str,
    area_id: str, explain: Explainer | None = None, min_area_m2: float = 10_000.0,
) -> list[WarningArea]:
    """One warning per place where some cells reach at least yellow within the horizon.

    Parameters
    ----------
    forecast : xr.Dataset
        ``probability`` and ``level`` on ``(lead, y, x)`` with ``valid_time``.
    places : sequence of Place
        Named parts of the area; a warning is named after its place.
    min_area_m2 : float
        A place is warned at a level only where at least this much of it (default
        1 ha) reaches that level at some hour: a single wet hollow in a field does
        not make a whole place red, and isolated cells are noise at the map's scale.
    """
    level = forecast["level"].values
    prob = forecast["probability"].values
    max_level = level.max(axis=0)
    place_idx = place_raster(places, grid)
    valid_times = pd.DatetimeIndex(forecast["valid_time"].values)
    out: list[WarningArea] = []
    min_cells = max(1, int(np.ceil(min_area_m2 / grid.cell_area)))
    for i, place in enumerate(places, start=1):
        here = place_idx == i
        place_level = max((lvl for lvl in (3, 2, 1)
                           if int((here & (max_level >= lvl)).sum()) >= min_cells), default=0)
        if place_level == 0:
            continue
        in_place = here & (max_level >= 1)
        n = int(in_place.sum())
        flat = np.flatnonzero(in_place.ravel())
        p_cells = prob.reshape(prob.shape[0], -1)[:, flat]  # (lead, cells)
        active = (level.reshape(level.shape[0], -1)[:, flat] >= 1).any(axis=1)
        lead_idx = np.flatnonzero(active)
        peak_lead, _peak_cell = np.unravel_index(int(np.argmax(p_cells)), p_cells.shape)
        polys = [shape(g) for g, v in rasterio.features.shapes(
            in_place.astype("uint8"), mask=in_place, transform=grid.transform) if v == 1]
        geom = unary_union(polys).simplify(grid.cell_size / 2)
        drivers = {g: 0.0 for g in DRIVER_GROUPS}
        if explain is not None:
            top = flat[np.argsort(p_cells[peak_lead])[::-1][:300]]
            drivers.update(explain(int(peak_lead), top))
        else:
            drivers["terrain"] = 1.0
        out.append(WarningArea(
            warning_id=f"{area_id}-{slug(place.name)}",
            area_name=area_name,
            place=place.name,
            level=place_level,
            probability=round(float(p_cells.max()), 3),
            onset=valid_times[lead_idx[0]].to_pydatetime().replace(tzinfo=_UTC),
            expires=(valid_times[lead_idx[-1]] + pd.Timedelta(hours=1)).to_pydatetime()
            .replace(tzinfo=_UTC),
            peak_time=valid_times[peak_lead].to_pydatetime().replace(tzinfo=_UTC),
            drivers=drivers,
            geometry=mapping(_to_wgs84(geom, grid.crs)),
            cells=n,
        ))
    return sorted(out, key=lambda w: (-w.level, -w.probability, w.place))


def group_contributions(contrib: np.ndarray, feature_names: Sequence[str],
                        groups: dict[str, str]) -> dict[str, float]:
    """Shares of the positive (towards wet) contributions per driver group.

    ``contrib`` is LightGBM's ``pred_contrib`` output ``(n, n_features + 1)``;
    the last column (the bias) is not a driver.
    """
    per_feature = np.clip(contrib[:, :-1], 0, None).sum(axis=0)
    shares = {g: 0.0 for g in DRIVER_GROUPS}
    for name, value in zip(feature_names, per_feature, strict=True):
        shares[groups[name]] += float(value)
    total = sum(shares.values())
    if total <= 0:
        return {g: (1.0 if g == "terrain" else 0.0) for g in DRIVER_GROUPS}
    return {g: round(v / total, 3) for g, v in shares.items()}



