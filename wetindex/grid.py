"""The area grid: one projected CRS, one cell size, dims ``("y", "x")``.

Every raster in wetindex lives on an :class:`AreaGrid`. Coordinates are cell
centres; ``x`` increases eastwards and ``y`` decreases southwards (north-up), as
GeoTIFFs expect. The CRS travels with the data through rioxarray.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine


@dataclass(frozen=True)
class AreaGrid:
    """A north-up regular grid in a projected CRS.

    Parameters
    ----------
    crs : str
        Projected CRS, e.g. ``"EPSG:25832"``.
    cell_size : float
        Cell size in metres.
    x_min, y_max : float
        West and north edges of the grid, in CRS units.
    nx, ny : int
        Number of columns and rows.
    """

    crs: str
    cell_size: float
    x_min: float
    y_max: float
    nx: int
    ny: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return (self.ny, self.nx)

    @property
    def x_max(self) -> float:
        return self.x_min + self.nx * self.cell_size

    @property
    def y_min(self) -> float:
        return self.y_max - self.ny * self.cell_size

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(x_min, y_min, x_max, y_max)`` in CRS units."""
        return (self.x_min, self.y_min, self.x_max, self.y_max)

    @property
    def cell_area(self) -> float:
        """Area of one cell in m²."""
        return self.cell_size * self.cell_size

    @property
    def transform(self) -> Affine:
        return Affine(self.cell_size, 0.0, self.x_min, 0.0, -self.cell_size, self.y_max)

    @property
    def x(self) -> np.ndarray:
        return self.x_min + (np.arange(self.nx) + 0.5) * self.cell_size

    @property
    def y(self) -> np.ndarray:
        return self.y_max - (np.arange(self.ny) + 0.5) * self.cell_size

    def coords(self) -> dict[str, np.ndarray]:
        """Cell-centre coordinates for ``("y", "x")``."""
        return {"y": self.y, "x": self.x}

    def data_array(
        self, values: Any, name: str, units: str | None = None, **attrs: Any
    ) -> xr.DataArray:
        """Wrap a ``(ny, nx)`` array (NumPy or Dask) as a DataArray on this grid."""
        if tuple(values.shape[-2:]) != self.shape:
            raise ValueError(
                f"{name}: array shape {values.shape} does not match the grid {self.shape}"
            )
        if values.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D (y, x) array, got {values.ndim} dimensions")
        da = xr.DataArray(values, dims=("y", "x"), coords=self.coords(), name=name)
        if units is not None:
            da.attrs["units"] = units
        da.attrs.update(attrs)
        return da.rio.write_crs(self.crs).rio.write_transform(self.transform)

    def to_dict(self) -> dict[str, Any]:
        return {
            "crs": self.crs,
            "cell_size": self.cell_size,
            "x_min": self.x_min,
            "y_max": self.y_max,
            "nx": self.nx,
            "ny": self.ny,
        }

    @classmethod
    def from_dataarray(cls, da: xr.DataArray) -> AreaGrid:
        """The grid of a north-up DataArray with ``x``/``y`` cell-centre coords and a CRS."""
        x = da["x"].values
        y = da["y"].values
        if len(x) < 2 or len(y) < 2:
            raise ValueError(f"{da.name}: a grid needs at least 2 × 2 cells")
        cell = float(x[1] - x[0])
        if not np.isclose(float(y[0] - y[1]), cell):
            raise ValueError(f"{da.name}: cells are not square or the grid is not north-up")
        crs = da.rio.crs
        if crs is None:
            raise ValueError(f"{da.name}: no CRS; write one with .rio.write_crs()")
        return cls(
            crs=crs.to_string(),
            cell_size=cell,
            x_min=float(x[0] - cell / 2),
            y_max=float(y[0] + cell / 2),
            nx=len(x),
            ny=len(y),
        )
