"""Inputs at their own resolution: daily series spread to hours, groundwater in time.

- A series coarser than an hour (daily evaporation stamped at 00:00) holds each value for
  its whole step: the hours ``t … t + step − 1 h`` get it. The series then ends at the
  last hour its last value covers, not at its last stamp (a daily file must not move
  the latest forecast back to midnight).
- Groundwater depth [m below terrain] as a time series: a NetCDF of grids
  ``(time, y, x)`` or a CSV of points (``time, x, y, depth`` rows in the area CRS; or
  ``time`` plus one depth column per well, the same depth everywhere). Each hour takes
  the last map at or before it (the first before the series starts); points are spread
  over the grid by inverse-distance weighting (power 2) of the wells that have a value
  at that time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from rasterio.enums import Resampling

from wetindex.grid import AreaGrid
from wetindex.plausibility import parse_times
from wetindex.sources.base import InputMissingError
from wetindex.sources.harmonise import reproject_to_grid as warp_to_grid


def reproject_to_grid(da: xr.DataArray, grid: AreaGrid, name: str, resampling: Any) -> np.ndarray:
    """A raster (any CRS) resampled onto the area grid; NaN where it has no data.

    The warp is :func:`wetindex.sources.harmonise.reproject_to_grid` (one warp for every
    source); this adds the operator's error naming the input and the values as float32.
    """
    if da.rio.crs is None:
        raise InputMissingError(name, "the raster has no CRS; assign one (gdal_edit.py -a_srs)")
    method = resampling.name if isinstance(resampling, Resampling) else str(resampling)
    return warp_to_grid(da.astype("float32"), grid, method).values.astype("float32")


def native_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The series' own time step (the median spacing of its stamps)."""
    if len(index) < 2:
        return pd.Timedelta(hours=1)
    return pd.Timedelta(np.median(np.diff(index.values)))


def spread_to_hours(series: pd.Series) -> pd.Series:
    """Hourly values of a series, each coarse value held over its whole step."""
    step = native_step(pd.DatetimeIndex(series.index))
    if step <= pd.Timedelta(hours=1):
        return series
    hours = pd.date_range(series.index[0].floor("1h"),
                          series.index[-1].floor("1h") + step - pd.Timedelta(hours=1), freq="1h")
    per_hour = series.groupby(series.index.floor("1h")).mean()
    return per_hour.reindex(hours).ffill(limit=int(step / pd.Timedelta(hours=1)) - 1)


class GroundwaterSeries:
    """Depth to the water table [m] in time, from grids or points (module docstring)."""

    def __init__(self, times: pd.DatetimeIndex, values: np.ndarray,
                 points: np.ndarray | None, grid: AreaGrid) -> None:
        order = np.argsort(times.values)
        self.times = pd.DatetimeIndex(times[order])
        self.values = np.asarray(values, "float64")[order]  # (T, cells) or (T, points)
        self.points = points  # (P, 2) x, y; None when values are whole grids / uniform
        self.grid = grid

    def _index(self, times: np.ndarray) -> np.ndarray:
        pos = self.times.get_indexer(pd.DatetimeIndex(times), method="ffill")
        return np.where(pos >= 0, pos, 0)

    def at(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Depth ``(len(times), len(cells))`` [m], float32, never below 0."""
        rows = self.values[self._index(times)]
        if self.points is None:
            out = rows[:, cells] if rows.shape[1] > 1 else np.repeat(rows, len(cells), 1)
        else:
            ys, xs = np.divmod(np.asarray(cells), self.grid.nx)
            cx = self.grid.x_min + (xs + 0.5) * self.grid.cell_size
            cy = self.grid.y_max - (ys + 0.5) * self.grid.cell_size
            d2 = (cx[:, None] - self.points[None, :, 0]) ** 2 + \
                (cy[:, None] - self.points[None, :, 1]) ** 2
            w = 1.0 / np.maximum(d2, (self.grid.cell_size / 2) ** 2)  # (cells, P)
            have = np.isfinite(rows)  # (T, P)
            out = (np.nan_to_num(rows) @ w.T) / np.maximum(have.astype(float) @ w.T, 1e-30)
        return np.maximum(out, 0.0).astype("float32")


def read_groundwater_series(path: Path, grid: AreaGrid, variable: str | None = None
                            ) -> GroundwaterSeries | None:
    """A groundwater time series from ``path``, or None for a single GeoTIFF grid."""
    suffix = path.suffix.lower()
    if suffix in (".nc", ".nc4", ".netcdf"):


        try:
            ds = xr.open_dataset(path, decode_coords="all")
        except Exception as err:
            raise InputMissingError("groundwater", f"{path}: not a readable NetCDF ({err})"
                                    ) from None
        var = variable or next((v for v in ds.data_vars if "time" in ds[v].dims), None)
        if var is None or var not in ds or "time" not in ds[var].dims:
            raise InputMissingError("groundwater", f"{path}: no variable on a 'time' dimension "
                                                   "(depth grids in time); set "
                                                   "inputs.groundwater.variable")
        da = ds[var]
        if da.rio.crs is None:
            da = da.rio.write_crs(grid.crs)
        maps = [reproject_to_grid(da.isel(time=t), grid, "groundwater", Resampling.bilinear)
                .ravel() for t in range(da.sizes["time"])]
        values = np.stack(maps)
        fill = np.nanmedian(values, axis=1, keepdims=True)
        values = np.where(np.isfinite(values), values, fill)
        return GroundwaterSeries(pd.DatetimeIndex(da["time"].values), values, None, grid)
    if suffix == ".csv":

        try:
            frame = pd.read_csv(path)
        except Exception as err:
            raise InputMissingError("groundwater", f"{path}: not a readable CSV ({err})"
                                    ) from None
        if "time" not in frame.columns:
            raise InputMissingError("groundwater", f"{path}: no 'time' column (UTC)")
        times = parse_times(frame["time"], "groundwater", path, None)
        if {"x", "y"} <= set(frame.columns):
            col = variable or next((c for c in frame.columns if c not in ("time", "x", "y")),
                                   None)
            if col is None or col not in frame.columns:
                raise InputMissingError("groundwater", f"{path}: no depth column; set "
                                                       "inputs.groundwater.variable")
            frame = frame.assign(time=times)
            table = frame.pivot_table(index="time", columns=["x", "y"], values=col,
                                      aggfunc="mean")
            points = np.array([list(c) for c in table.columns], "float64")
            return GroundwaterSeries(pd.DatetimeIndex(table.index), table.values, points, grid)
        cols = [variable] if variable else [c for c in frame.columns if c != "time"]
        values = frame[cols].apply(pd.to_numeric, errors="coerce").mean(axis=1).values
        return GroundwaterSeries(times, values[:, None], None, grid)
    if suffix not in (".tif", ".tiff"):
        raise InputMissingError("groundwater", f"{path}: give the depth [m] as a number, a "
                                               "GeoTIFF grid, a NetCDF of grids in time or a "
                                               "CSV of wells in time (time, x, y, depth)")
    return None
