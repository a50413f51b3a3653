"""Putting inputs on the area grid: stations to grid, coarse to fine, reprojection.

Methods (pure functions on xarray objects):

* **Stations (or model points) to grid** — :func:`points_to_grid`. Inverse-distance
  weighting with power 2 (``method="idw"``) or the nearest station
  (``method="nearest"``), distances measured in the grid's projected CRS. At each
  time only stations with a value take part and the weights are renormalised over
  them; a cell whose stations are all missing (or farther than ``max_distance_m``)
  is NaN, never zero. A cell centre on a station takes that station's value.
* **Coarse grids to fine, and other CRSs** — :func:`reproject_to_grid`, GDAL warping
  through rioxarray: ``bilinear`` for smooth fields (temperature, terrain),
  ``nearest`` for classes, ``average`` for the area-weighted (conservative) mean when
  going from fine to coarse. Coarse-to-fine conservative regridding of an extensive
  field is ``nearest`` (each fine cell inherits its parent's value: the area mean
  is kept).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr
from pyproj import Transformer
from rasterio.enums import Resampling

from wetindex.grid import AreaGrid

#: cells per block when spreading points onto the grid (bounds the distance matrix)
CELL_BLOCK = 200_000


def lonlat_to_grid_xy(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 lon/lat to the grid CRS."""
    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def grid_bbox_lonlat(grid: AreaGrid, pad_deg: float = 0.0) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` in WGS84 covering the grid (plus ``pad_deg``)."""
    transformer = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    west, south, east, north = transformer.transform_bounds(*grid.bounds, densify_pts=21)
    return (west - pad_deg, south - pad_deg, east + pad_deg, north + pad_deg)


def points_to_grid(series: xr.DataArray, grid: AreaGrid, *, dim: str = "station",
                   method: Literal["idw", "nearest"] = "idw", power: float = 2.0,
                   max_distance_m: float | None = None) -> xr.DataArray:
    """Spread point series (``lon``/``lat`` coords on ``dim``) onto the grid.

    Returns ``(..., y, x)`` with the other dimensions of ``series`` first. See the
    module docstring for the method.
    """
    if dim not in series.dims:
        raise ValueError(f"{series.name}: no '{dim}' dimension to spread onto the grid")
    if method not in ("idw", "nearest"):
        raise ValueError(f"method must be 'idw' or 'nearest', got {method!r}")
    px, py = lonlat_to_grid_xy(series["lon"].values, series["lat"].values, grid.crs)
    gx, gy = (g.ravel() for g in np.meshgrid(grid.x, grid.y))
    other = [d for d in series.dims if d != dim]
    values = series.transpose(*other, dim).values.reshape(-1, series.sizes[dim])
    valid = np.isfinite(values)                                   # (time, station)
    out = np.full((values.shape[0], gx.size), np.nan, dtype=np.float32)
    # one weight matrix per pattern of reporting stations (usually one or two patterns),
    # built for blocks of cells so memory stays bounded on large grids
    patterns, which = np.unique(valid, axis=0, return_inverse=True)
    for start in range(0, gx.size, CELL_BLOCK):
        cells = slice(start, min(start + CELL_BLOCK, gx.size))
        dist = np.hypot(gx[cells, None] - px[None, :], gy[cells, None] - py[None, :])
        if max_distance_m is not None:
            dist = np.where(dist <= max_distance_m, dist, np.inf)
        for k, mask in enumerate(patterns):
            if mask.any():
                rows = np.flatnonzero(which.ravel() == k)
                v = values[np.ix_(rows, np.flatnonzero(mask))]
                out[rows, cells] = _weighted(v, dist[:, mask], method, power)
    shape = [series.sizes[d] for d in other] + list(grid.shape)
    da = xr.DataArray(out.reshape(shape), dims=(*other, "y", "x"),
                      coords={**{d: series[d] for d in other}, **grid.coords()},
                      name=series.name, attrs=dict(series.attrs))
    da.attrs["harmonised"] = (f"{method} from {series.sizes[dim]} points"
                              + (f" (power {power:g})" if method == "idw" else "")
                              + (f", within {max_distance_m:g} m" if max_distance_m else ""))
    return da.rio.write_crs(grid.crs).rio.write_transform(grid.transform)


def _weighted(v: np.ndarray, d: np.ndarray, method: str, power: float) -> np.ndarray:
    """``(time, cells)`` from station values ``v`` (time, stations) and distances ``d``."""
    if method == "nearest":
        res = v[:, np.argmin(d, axis=1)]
        res[:, ~np.isfinite(d.min(axis=1))] = np.nan
        return res
    on_station = d < 1e-6
    with np.errstate(divide="ignore"):
        d = np.maximum(d, 1e-6)
        w = 1.0 / (d * d if power == 2 else d**power)          # 1/inf = 0: out of reach
    w = np.where(on_station.any(axis=1, keepdims=True), on_station * 1.0, w)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = (v @ w.T) / total
    res[:, total == 0] = np.nan
    return res


def reproject_to_grid(raster: xr.DataArray, grid: AreaGrid,
                      resampling: Literal["bilinear", "nearest", "average", "cubic"] = "bilinear"
                      ) -> xr.DataArray:
    """Warp a raster with a CRS (rioxarray) onto the area grid."""
    if raster.rio.crs is None:
        raise ValueError(f"{raster.name}: the raster has no CRS; write it with .rio.write_crs() "
                         "(only when you know it: a guessed CRS misplaces the data)")
    nodata = raster.rio.nodata
    if nodata is None and np.issubdtype(raster.dtype, np.floating):
        raster = raster.rio.write_nodata(np.nan)
    out = raster.rio.reproject(grid.crs, shape=grid.shape, transform=grid.transform,
                               resampling=getattr(Resampling, resampling))
    out = out.assign_coords(x=grid.x, y=grid.y)
    if out.rio.nodata is not None and not np.isnan(out.rio.nodata):
        out = out.where(out != out.rio.nodata).astype(np.float32)
        out = out.rio.write_nodata(np.nan)
    out.attrs.update({k: v for k, v in raster.attrs.items() if k not in ("_FillValue",)})
    out.attrs["harmonised"] = f"{resampling} from {raster.rio.crs.to_string()}"
    return out.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
