"""Static terrain features: depressions (bluespots), routing, HAND, slope, TWI, dikes.

Every function takes DataArrays on dims ``("y", "x")`` (cell-centre coordinates,
``y`` descending, a projected CRS in metres, square cells) and returns DataArrays or
Datasets on the same grid, with the CRS kept and a ``units`` attribute. Elevation is in
metres; NaN is nodata and counts as *outside the area*: water leaves the grid there,
as at the grid edge. Integer elevation with a rioxarray ``nodata`` value is converted
to float with NaN at nodata.

Laziness. Local operations (:func:`slope`, :func:`twi`) stay lazy on Dask input and
give the same numbers as on NumPy. :func:`distance_to` is global: on Dask input it
is one lazy task over the whole grid. Depression filling and flow routing are global
and sequential (a priority queue over all cells): on Dask input they compute the input
eagerly and return NumPy-backed results.

Routing. Depressions are filled by priority-flood from the outlets (grid edge and
cells next to nodata by default; :func:`static_features` adds the sea). Flow
directions are D8 steepest descent on the filled surface; flats (filled depressions
and naturally flat land) drain along the shortest path to the nearest lower cell or
outlet, so every valid cell drains to an outlet (see :mod:`wetindex.features._flow`).

Precision. Terrain is computed in float32 (1e-5 m at 100 m) and returned as float32;
``filled_elevation`` and ``sea_flood_level`` keep float64 input values exactly where
the cell is not raised, so ``filled >= elevation`` holds for any input dtype.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import dask
import dask.array as dsa
import numpy as np
import pyflwdir
import xarray as xr

from wetindex.features import _flow, _kernels
from wetindex.features._grid import (
    as_mask,
    check_elevation,
    check_grid,
    check_same_grid,
    like,
    not_below_input,
)
from wetindex.features._routing import bluespot_dataset, default_outlets, routing_of

__all__ = [
    "bluespots",
    "default_outlets",
    "dike_protection",
    "distance_to",
    "fill_depressions",
    "flow_accumulation",
    "flow_directions",
    "hand",
    "sea_flood_level",
    "slope",
    "static_features",
    "twi",
]

TAN_SLOPE_FLOOR = 0.001  # flat cells would give an infinite TWI


def fill_depressions(elevation: xr.DataArray, outlets: xr.DataArray | None = None
                     ) -> xr.DataArray:
    """Depression-filled elevation by priority-flood.

    Parameters
    ----------
    elevation : xr.DataArray
        Terrain [m] on ``("y", "x")``; NaN is nodata. Dask input is computed (global op).
    outlets : xr.DataArray of bool, optional
        Cells where water leaves the area. Default: the grid edge and cells next to
        nodata. A region with no outlet drains through its own lowest cell.

    Returns
    -------
    xr.DataArray
        ``filled_elevation`` [m]: the lowest level at which water from each cell can
        flow to an outlet; ``>= elevation`` everywhere, NaN at nodata.
    """
    return not_below_input(routing_of(elevation, outlets).filled_elevation(), elevation)


def flow_directions(elevation: xr.DataArray, outlets: xr.DataArray | None = None
                    ) -> pyflwdir.FlwdirRaster:
    """D8 flow directions on the filled surface, flats resolved (every cell reaches an outlet).

    Returns a :class:`pyflwdir.FlwdirRaster` (pits at outlets, ``idxs_seq`` precomputed).
    Dask input is computed (global op).
    """
    return routing_of(elevation, outlets).flwdir()


def flow_accumulation(elevation: xr.DataArray, outlets: xr.DataArray | None = None
                      ) -> xr.DataArray:
    """``flow_accumulation`` [cells]: cells draining through each cell, itself included.

    ``>= 1`` on valid cells, NaN at nodata. Values at the outlets sum to the number of
    valid cells. Dask input is computed (global op).
    """
    return routing_of(elevation, outlets).accumulation()


def hand(elevation: xr.DataArray, drainage: xr.DataArray, outlets: xr.DataArray | None = None
         ) -> xr.DataArray:
    """``hand`` [m]: height above the first drainage cell on the D8 flow path.

    Parameters
    ----------
    elevation : xr.DataArray
        Terrain [m]. Dask input is computed (global op).
    drainage : xr.DataArray of bool
        Stream, sea and permanent-water cells. HAND is 0 there.
    outlets : xr.DataArray of bool, optional
        As in :func:`fill_depressions`.

    Returns
    -------
    xr.DataArray
        ``>= 0`` everywhere (NaN at nodata). A cell whose path reaches no drainage is
        measured against its outlet cell. Raw (unfilled) elevation is used, so a cell in
        a depression lower than the drainage it spills to gets 0 (it is wet anyway;
        ``bluespot_depth`` carries how deep).
    """
    routing = routing_of(elevation, outlets)
    return routing.hand(as_mask(drainage, elevation, "drainage"))


def _sea_level_values(z: np.ndarray, sea: np.ndarray) -> np.ndarray:
    level, _ = _flow.priority_flood(z.ravel(), z.shape[1], (sea & ~np.isnan(z)).ravel(), False)
    return level.reshape(z.shape)


def sea_flood_level(elevation: xr.DataArray, sea: xr.DataArray) -> xr.DataArray:
    """``sea_flood_level`` [m]: the lowest sea level at which sea water reaches each cell.

    The minimax height over all 8-connected paths from any sea cell (a priority-flood
    seeded only at the sea, so the grid edge is *not* a way in). A dike is part of the
    elevation: cells behind it get its crest height until it is overtopped. Sea cells
    get their own elevation. Cells the sea cannot reach at any level (cut off by
    nodata), and all cells when ``sea`` is empty, are NaN. Dask input is computed.
    """
    z, _ = check_elevation(elevation)
    level = _sea_level_values(z, as_mask(sea, elevation, "sea"))
    out = like(elevation, level, "sea_flood_level", "m",
               long_name="lowest sea level that floods the cell over the terrain")
    return not_below_input(out, elevation)


def bluespots(elevation: xr.DataArray, outlets: xr.DataArray | None = None,
              min_depth: float = 0.05, min_cells: int = 4) -> xr.Dataset:
    """Bluespots: closed depressions that fill with rain water before they spill.

    Parameters
    ----------
    elevation : xr.DataArray
        Terrain [m]. Dask input is computed (global op).
    outlets : xr.DataArray of bool, optional
        As in :func:`fill_depressions`.
    min_depth : float
        A cell belongs to a bluespot where ``filled - elevation >= min_depth`` [m].
    min_cells : int
        Smaller connected groups (8-connected) are dropped.

    Returns
    -------
    xr.Dataset
        ``bluespot_depth`` [m] (0 outside bluespots); ``bluespot_id`` (int32, 1..n,
        0 = none); ``bluespot_level`` [m] (spill level, NaN outside);
        ``bluespot_volume`` [m3] (water held when full: depth x cell area summed over
        the whole depression the bluespot lies in, its shallow rim included; at its
        cells, 0 outside); ``bluespot_catchment`` (int32: first bluespot on each
        cell's flow path, entering its depression's rim counts; 0 if the path leaves
        the area first); ``bluespot_fill_rain`` [mm] (volume / area of the bluespot's
        own catchment x 1000 at its cells, NaN outside; the catchment is the cells
        that reach this bluespot first: an upstream bluespot is assumed to hold its
        own catchment's rain).
    """
    return bluespot_dataset(routing_of(elevation, outlets), min_depth, min_cells)


def _horn_block(block: np.ndarray, cell_size: float) -> np.ndarray:
    # dask passes the block with a 1-cell halo; the halo is trimmed afterwards
    padded = np.ascontiguousarray(block, dtype=np.float32)
    return np.pad(_kernels.horn_slope(padded, cell_size), 1)


def slope(elevation: xr.DataArray) -> xr.DataArray:
    """``slope`` [degree] by Horn's method; the grid edge repeats the edge cells.

    A nodata neighbour counts as the centre cell. Lazy on Dask input (``map_overlap``
    with a 1-cell halo) with the same numbers as on NumPy.
    """
    cell = check_grid(elevation, "elevation")
    data = elevation.data
    if isinstance(data, dsa.Array):
        out = data.astype(np.float32).map_overlap(
            _horn_block, depth=1, boundary="nearest", dtype=np.float32, cell_size=cell)
    else:
        z, _ = check_elevation(elevation)
        out = _kernels.horn_slope(np.pad(z, 1, mode="edge"), cell)
    return like(elevation, out, "slope", "degree", long_name="terrain slope (Horn)")


def _twi_block(acc: np.ndarray, slope_deg: np.ndarray, cell_size: float) -> np.ndarray:
    return _kernels.wetness_index(np.ascontiguousarray(acc), np.ascontiguousarray(slope_deg),
                               cell_size, TAN_SLOPE_FLOOR)


def twi(flow_acc: xr.DataArray, slope_deg: xr.DataArray) -> xr.DataArray:
    """``twi``: topographic wetness index ln(a / tan(beta)) [1].

    ``a`` is the specific catchment area (``flow_acc`` x cell size [m]); ``tan(beta)``
    is floored at 0.001 so flat cells stay finite. Lazy on Dask input (blockwise).
    """
    cell = check_grid(flow_acc, "flow_acc")
    check_grid(slope_deg, "slope_deg")
    check_same_grid(slope_deg, flow_acc, "slope_deg")
    values = xr.apply_ufunc(_twi_block, flow_acc, slope_deg, kwargs={"cell_size": cell},
                            dask="parallelized", output_dtypes=[np.float32])
    return like(flow_acc, values.data, "twi", "1", long_name="topographic wetness index")


def _edt(mask: np.ndarray, cell_size: float) -> np.ndarray:
    if not mask.any():
        return np.full(mask.shape, np.nan, dtype=np.float32)
    # exact EDT in numba: same distances as scipy.ndimage.distance_transform_edt, 6x faster
    return _kernels.euclidean_distance(np.ascontiguousarray(mask), float(cell_size))


def distance_to(mask: xr.DataArray, name: str) -> xr.DataArray:
    """Euclidean distance [m] from each cell to the nearest True cell of ``mask``.

    Used for ``distance_to_coast`` and ``distance_to_stream``. 0 on the mask; NaN
    everywhere when the mask has no True cell (no such feature in the area). The
    distance is global: on Dask input it is one lazy task over the whole grid.
    """
    cell = check_grid(mask, name)
    data = mask.data
    if isinstance(data, dsa.Array):
        task = dask.delayed(_edt)(data.astype(bool), cell)
        out = dsa.from_delayed(task, shape=mask.shape, dtype=np.float32).rechunk(data.chunks)
    else:
        values = np.asarray(data)
        if values.dtype != bool:
            values = np.nan_to_num(values.astype(np.float64), nan=0.0) != 0
        out = _edt(values, cell)
    return like(mask, out, name, "m", long_name=f"{name.replace('_', ' ')}")


def _dike_values(z: np.ndarray, sea: np.ndarray, crest: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sea-flood level with the dikes, protected mask and crest margin."""
    dike = np.isfinite(crest) & ~np.isnan(z)  # a crest over nodata is outside the area
    with_dike = np.where(dike, np.fmax(z, crest), z).astype(np.float32) if dike.any() else z
    level_with = _sea_level_values(with_dike, sea)
    if not dike.any():
        return level_with, np.zeros(z.shape, dtype=bool), np.full(z.shape, np.nan, np.float32)
    without = _kernels.lower_barrier(z.ravel(), z.shape[1], dike.ravel())
    # only levels behind the dikes change: update them instead of a second full flood
    level_without = _kernels.lower_levels(level_with.ravel(), without, z.shape[1],
                                       dike.ravel()).reshape(z.shape)
    protected = ~dike & ~sea & ~np.isnan(z) & (level_with > level_without)
    margin = np.where(protected, level_with - level_without, np.nan).astype(np.float32)
    return level_with, protected, margin


def dike_protection(elevation: xr.DataArray, sea: xr.DataArray, dike_crest: xr.DataArray
                    ) -> xr.Dataset:
    """Cells a dike keeps dry from the sea, and by how much.

    Parameters
    ----------
    elevation : xr.DataArray
        Terrain [m]. Dask input is computed (global op).
    sea : xr.DataArray of bool
        Sea cells.
    dike_crest : xr.DataArray
        Crest height [m] on dike cells, NaN elsewhere (ignored over nodata elevation).
        With the dike, a dike cell's height is ``max(elevation, crest)``. Without it,
        a dike cell is lowered to its lowest non-dike neighbour (working inwards across
        wide dikes), never raised.

    Returns
    -------
    xr.Dataset
        ``dike_protected`` (bool): the cell's :func:`sea_flood_level` with the dikes is
        higher than without them (dike and sea cells are never protected).
        ``dike_crest_margin`` [m]: at protected cells, the sea level that overtops the
        dike (the lowest crest on the way in) minus the level that would flood the cell
        without the dike; ``> 0``; NaN elsewhere.
    """
    z, _ = check_elevation(elevation)
    sea_m = as_mask(sea, elevation, "sea")
    check_same_grid(dike_crest, elevation, "dike_crest")
    crest = np.asarray(dike_crest.values, dtype=z.dtype)
    _, protected, margin = _dike_values(z, sea_m, crest)
    return xr.Dataset({
        "dike_protected": like(elevation, protected, "dike_protected", None,
                               long_name="kept dry by a dike until the sea overtops it"),
        "dike_crest_margin": like(elevation, margin, "dike_crest_margin", "m",
                                  long_name="dike overtopping level minus no-dike flood level"),
    })


def static_features(
    elevation: xr.DataArray,
    sea: xr.DataArray,
    stream: xr.DataArray | None = None,
    dike_crest: xr.DataArray | None = None,
    land_cover: xr.DataArray | None = None,
    permanent_water: xr.DataArray | None = None,
) -> xr.Dataset:
    """The static terrain cube of an area, routing computed once.

    Parameters
    ----------
    elevation : xr.DataArray
        Terrain [m] (heights above the national datum); NaN is nodata. Dask input is
        computed: filling and routing are global.
    sea : xr.DataArray of bool
        Sea cells. They are outlets for routing (with the grid edge and nodata) and
        drainage for HAND.
    stream, permanent_water : xr.DataArray of bool, optional
        Drainage for HAND (with the sea); ``stream`` gives ``distance_to_stream``.
    dike_crest : xr.DataArray, optional
        Crest height [m] on dike cells, NaN elsewhere. Without it no cell is protected.
        With it, ``sea_flood_level`` counts the crests (see :func:`dike_protection`).
    land_cover : xr.DataArray, optional
        Passed through as ``land_cover``.

    Returns
    -------
    xr.Dataset
        ``elevation, slope, filled_elevation, bluespot_* (see bluespots), flow_accumulation,
        hand, twi, distance_to_coast, distance_to_stream, sea_flood_level, sea_connected,
        dike_protected, dike_crest_margin`` and ``land_cover`` / ``permanent_water`` when
        given. ``sea_connected`` is True on land cells the sea can reach at some level
        (``sea_flood_level`` finite, cell not sea); cells cut off by nodata are False.
        ``distance_to_stream`` is NaN everywhere without a stream mask.
    """
    z, _ = check_elevation(elevation)
    sea_m = as_mask(sea, elevation, "sea")
    valid = ~np.isnan(z)
    drainage = sea_m.copy()
    stream_m = None
    if stream is not None:
        stream_m = as_mask(stream, elevation, "stream")
        drainage |= stream_m
    water_m = None
    if permanent_water is not None:
        water_m = as_mask(permanent_water, elevation, "permanent_water")
        drainage |= water_m
    if dike_crest is not None:
        check_same_grid(dike_crest, elevation, "dike_crest")
        crest = np.asarray(dike_crest.values, dtype=z.dtype)
    else:
        crest = np.full(z.shape, np.nan, dtype=z.dtype)

    elev_np = like(elevation, z, "elevation", "m", long_name="terrain height")
    outlets = like(elevation, default_outlets(valid) | (sea_m & valid), "outlets", None)

    no_stream = np.zeros_like(sea_m)

    def sea_side():  # independent of the routing: runs beside it (the kernels drop the GIL)
        return (_dike_values(z, sea_m, crest), slope(elev_np),
                distance_to(like(elevation, sea_m, "sea", None), "distance_to_coast"),
                distance_to(like(elevation, stream_m if stream_m is not None else no_stream,
                                 "stream", None), "distance_to_stream"))

    with ThreadPoolExecutor(max_workers=1) as pool:
        sea_job = pool.submit(sea_side)
        routing = routing_of(elev_np, outlets)
        acc = routing.accumulation()
        hand_m = routing.hand(drainage & valid)
        blue = bluespot_dataset(routing, 0.05, 4)
        (sea_level, protected, margin), slope_deg, to_coast, to_stream = sea_job.result()
    grid = routing.grid
    ds = xr.Dataset({
        "elevation": elev_np,
        "slope": slope_deg,
        "filled_elevation": routing.filled_elevation(),
        **blue.data_vars,
        "flow_accumulation": acc,
        "hand": hand_m,
        "twi": twi(acc, slope_deg),
        "distance_to_coast": to_coast,
        "distance_to_stream": to_stream,
        "sea_flood_level": grid(sea_level, "sea_flood_level", "m",
                                long_name="lowest sea level that floods the cell over the terrain"),
        "sea_connected": grid(np.isfinite(sea_level) & ~sea_m, "sea_connected", None,
                              long_name="land the sea reaches at some level"),
        "dike_protected": grid(protected, "dike_protected", None,
                               long_name="kept dry by a dike until the sea overtops it"),
        "dike_crest_margin": grid(margin, "dike_crest_margin", "m",
                                  long_name="dike overtopping level minus no-dike flood level"),
    })
    if land_cover is not None:
        check_same_grid(land_cover, elevation, "land_cover")
        ds["land_cover"] = like(elevation, np.asarray(land_cover.values), "land_cover",
                                land_cover.attrs.get("units"))
    if water_m is not None:
        ds["permanent_water"] = grid(water_m, "permanent_water", None)
    return ds.rio.write_crs(elevation.rio.crs, inplace=True)
