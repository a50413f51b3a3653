"""The sea of an area from the data: terrain, nodata and the operator's water layer.

The boundary says where warnings are made, not where the sea is: a municipality's
boundary is drawn over the water and a bounding box holds sea on one side. The sea is
therefore found in the terrain, whatever the boundary includes:

- with a sea polygon file (``inputs.sea``: a coastline/sea layer), the cells it covers;
- else a land/sea mask: the connected cells (4-neighbour) that are low (at or below
  ``sea_below_m``, DVR90 0 m by default) or nodata inside the terrain's footprint, and
  touch the grid's edge. Dike cells never connect: a polder below 0 m behind its dike
  is land, not sea. A low hollow inside the land that does not reach the edge is not sea.
  Where the terrain raster ends inside the grid, its edge counts as the grid's.

:func:`sea_summary` gives the counts ``wetindex check`` prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasterio.features import rasterize
from scipy import ndimage

from wetindex.grid import AreaGrid
from wetindex.sources.base import InputMissingError
from wetindex.sources.water_layers import read_vector


def derived_sea(z: np.ndarray, footprint: np.ndarray, sea_below_m: float,
                barrier: np.ndarray | None = None) -> np.ndarray:
    """Land/sea mask: low or nodata cells connected to the grid's edge.

    Parameters
    ----------
    z : numpy.ndarray
        Terrain [m] ``(y, x)``, NaN where the raster has no value.
    footprint : numpy.ndarray of bool
        Cells the terrain raster covers (nodata inside it is sea: terrain models leave
        the sea empty; outside it the terrain is just not known).
    sea_below_m : float
        Terrain at or below this height is low enough to be sea.
    barrier : numpy.ndarray of bool, optional
        Cells that never connect (the dikes' cells).

    Returns
    -------
    numpy.ndarray of bool
        The sea.
    """
    with np.errstate(invalid="ignore"):
        low = (np.isnan(z) & footprint) | (z <= sea_below_m)
    if barrier is not None:
        low &= ~barrier
    labels, n = ndimage.label(low)  # 4-neighbour: water does not pass between corners
    if n == 0:
        return np.zeros(z.shape, bool)
    # the edge of what is known: the grid's, and the terrain raster's own edge when it
    # does not cover the whole grid (the sea goes on beyond both)
    outer = np.zeros(z.shape, bool)
    outer[0, :] = outer[-1, :] = outer[:, 0] = outer[:, -1] = True
    outer |= ndimage.binary_dilation(~footprint)
    edge = np.unique(labels[outer & low])
    edge = edge[edge > 0]
    return np.isin(labels, edge)


def polygon_sea(path: Path, grid: AreaGrid) -> np.ndarray:
    """Cells covered by the polygons of a sea/coastline file (any CRS)."""
    polygons = [g for g in read_vector("sea", path, grid).geometry
                if g is not None and g.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise InputMissingError("sea", f"{path}: no polygons; give the sea as polygons "
                                       "(a coastline line cannot say which side is sea)")
    return rasterize([(g, 1) for g in polygons], out_shape=grid.shape,
                     transform=grid.transform, fill=0).astype(bool)


def sea_summary(sea: np.ndarray, inside: np.ndarray, protected: np.ndarray,
                cell_size: float, how: str) -> list[str]:
    """Lines for ``check``: the sea found and the land the dikes protect, with counts."""
    km2 = cell_size**2 / 1e6
    n_sea, n_in = int(sea.sum()), int((sea & inside).sum())
    _, n_areas = ndimage.label(protected, structure=np.ones((3, 3)))
    return [f"sea: {n_sea} cells ({n_sea * km2:.2f} km²), {n_in} of them inside the "
            f"boundary ({how})",
            f"protected areas: {n_areas} behind the dikes, {int(protected.sum())} cells "
            f"({protected.sum() * km2:.2f} km²)"]
