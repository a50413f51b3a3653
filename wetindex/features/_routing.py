"""Routing state shared by the terrain features: outlets, filled surface, D8, order.

:class:`Routing` runs the global, sequential steps once per elevation grid (priority-
flood, D8 with resolved flats, downstream-first order) and derives accumulation, HAND
and bluespots from them. Private to :mod:`wetindex.features.terrain`.
"""

from __future__ import annotations

import numpy as np
import pyflwdir
import xarray as xr
from scipy import ndimage

from wetindex.features import _flow, _kernels
from wetindex.features._grid import as_mask, check_elevation, like


def default_outlets(valid: np.ndarray) -> np.ndarray:
    """Valid cells on the grid edge or next to a nodata cell (8-connected)."""
    if valid.all():
        edge = np.zeros(valid.shape, dtype=bool)
        edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
        return edge
    outside = np.pad(~valid, 1, constant_values=True)
    near = ndimage.binary_dilation(outside, structure=np.ones((3, 3), dtype=bool))
    return near[1:-1, 1:-1] & valid


class Routing:
    """Filled surface and D8 routing of one elevation grid, computed once and shared."""

    def __init__(self, elevation: xr.DataArray, outlets: xr.DataArray | None) -> None:
        self.elevation = elevation
        self.z, self.cell_size = check_elevation(elevation)
        self.shape = self.z.shape
        valid = ~np.isnan(self.z)
        if outlets is None:
            seeds = default_outlets(valid)
        else:
            seeds = as_mask(outlets, elevation, "outlets") & valid
        ncol = self.shape[1]
        # regions without an outlet get their lowest cell as an internal outlet
        self.filled, self.outlets = _flow.priority_flood(self.z.ravel(), ncol, seeds.ravel(), True)
        self.d8, _ = _flow.d8_resolved(self.filled, ncol, self.outlets)
        self.idxs_ds, self.seq, self.pits = _flow.downstream_and_sequence(self.d8, ncol)

    def grid(self, values: np.ndarray, name: str, units: str | None, **attrs) -> xr.DataArray:
        return like(self.elevation, values.reshape(self.shape), name, units, **attrs)

    def flwdir(self) -> pyflwdir.FlwdirRaster:
        pits = self.pits
        return pyflwdir.FlwdirRaster(
            idxs_ds=self.idxs_ds,
            shape=self.shape,
            ftype="d8",
            idxs_pit=pits,
            idxs_outlet=pits,
            idxs_seq=self.seq,
            nnodes=int(self.seq.size),
            transform=self.elevation.rio.transform(recalc=True),
            latlon=False,
        )

    def filled_elevation(self) -> xr.DataArray:
        return self.grid(self.filled, "filled_elevation", "m",
                         long_name="depression-filled elevation")

    def accumulation(self) -> xr.DataArray:
        acc = _flow.accumulate_cells(self.idxs_ds, self.seq).astype(np.float32)
        acc[np.isnan(self.z.ravel())] = np.nan
        return self.grid(acc, "flow_accumulation", "cells",
                         long_name="upstream cells draining through the cell, itself included")

    def hand(self, drainage: np.ndarray) -> xr.DataArray:
        out = _flow.height_above_drainage(self.idxs_ds, self.seq, self.z.ravel(),
                                          drainage.ravel())
        return self.grid(out, "hand", "m", long_name="height above nearest drainage")


def routing_of(elevation: xr.DataArray, outlets: xr.DataArray | None) -> Routing:
    return Routing(elevation, outlets)


def bluespot_dataset(routing: Routing, min_depth: float, min_cells: int) -> xr.Dataset:
    if not min_depth > 0:
        raise ValueError(f"min_depth must be > 0 m, got {min_depth}")
    z = routing.z
    filled = routing.filled.reshape(routing.shape)
    depth = filled - z  # NaN at nodata: no component includes it
    eight = np.ones((3, 3), dtype=bool)
    deep, n_deep = ndimage.label(depth >= min_depth, structure=eight)
    # A bluespot owns the whole depression around it (its shallow rim too): water that
    # enters the rim is caught even if its path over the filled flat misses the deep part.
    region, n_region = ndimage.label(depth > 0, structure=eight)
    ids, owned, volume_by_id, n_kept = _kernels.bluespot_tables(
        deep.ravel(), n_deep, region.ravel(), n_region, depth.ravel(), max(int(min_cells), 1))
    del deep, region
    cell_area = routing.cell_size**2
    volume_by_id *= cell_area
    catchment = _flow.first_label_downstream(routing.idxs_ds, routing.seq, owned)
    catch_area = _kernels.count_labels(catchment, n_kept) * cell_area
    with np.errstate(divide="ignore", invalid="ignore"):
        fill_rain_by_id = np.where(catch_area > 0, volume_by_id / catch_area * 1000.0, np.nan)
    ids = ids.reshape(routing.shape)
    inside = ids > 0
    nan = np.float32(np.nan)
    grid = routing.grid
    return xr.Dataset({
        "bluespot_depth": grid(np.where(inside, depth, np.float32(0)), "bluespot_depth", "m",
                               long_name="water depth when the bluespot is full"),
        "bluespot_id": grid(ids, "bluespot_id", None,
                            long_name="bluespot number (0 = none)"),
        # the filled surface is flat across a bluespot, so its level is the filled value
        "bluespot_level": grid(np.where(inside, filled, nan), "bluespot_level",
                               "m", long_name="spill level of the bluespot"),
        "bluespot_volume": grid(_kernels.gather_where(volume_by_id, ids.ravel(), 0.0),
                                "bluespot_volume", "m3",
                                long_name="volume of the bluespot when full"),
        "bluespot_catchment": grid(catchment, "bluespot_catchment", None,
                                   long_name="bluespot the cell drains into first (0 = none)"),
        "bluespot_fill_rain": grid(_kernels.gather_where(fill_rain_by_id, ids.ravel(), np.nan),
                                   "bluespot_fill_rain", "mm",
                                   long_name="rain on the bluespot's own catchment that fills it"),
    })
