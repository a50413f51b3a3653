"""Static feature rows of the candidate cells, made block by block when asked for.

The forecast needs the static features of every candidate cell (13 float32: 52 B a
cell, about half the area's cells after the screen). Built whole
(:func:`wetindex.features.stack.static_table`) they grow with the area beside the
static features they are copied from; :class:`CandidateRows` makes the rows of the
cells asked for from the window of grid rows that holds them, so the streamed forecast
(:mod:`wetindex.forecast_stream`) holds one block's rows at a time, and a lazily
opened static cube (Zarr, Dask) is read a window at a time.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from wetindex.features.stack import STATIC_FEATURES, static_table


class CandidateRows:
    """``(cells, n_static)`` float32 rows of ``cells`` (flat indices), indexed like an array.

    ``rows[sel]`` (a slice or positions) equals ``static_table(static, cells)[sel]``.

    Parameters
    ----------
    static : xarray.Dataset
        The static features on ``(y, x)`` (in memory or lazily opened).
    cells : numpy.ndarray
        Flat indices of the candidate cells into the ``(y, x)`` grid.
    """

    ndim = 2
    dtype = np.dtype("float32")

    def __init__(self, static: xr.Dataset, cells: np.ndarray) -> None:
        missing = [f for f in STATIC_FEATURES if f not in static]
        if missing:
            raise KeyError(f"static features missing from the terrain cube: {missing}; "
                           "rebuild them with 'wetindex run static'")
        self.static = static
        self.cells = np.asarray(cells)
        self.nx = static.sizes["x"]

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.cells), len(STATIC_FEATURES))

    def __len__(self) -> int:
        return len(self.cells)

    def __getitem__(self, sel) -> np.ndarray:
        cells = np.atleast_1d(self.cells[sel])
        if cells.size == 0:
            return np.empty((0, len(STATIC_FEATURES)), "float32")
        r0, r1 = int(cells.min()) // self.nx, int(cells.max()) // self.nx + 1
        window = self.static[list(STATIC_FEATURES)].isel(y=slice(r0, r1))
        return static_table(window, cells - r0 * self.nx)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """All rows at once (what this class avoids; for callers that need an array)."""
        out = self[:]
        return out if dtype is None else out.astype(dtype)
