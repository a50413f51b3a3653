"""The gridded dynamic feature cube of one issue time: ``(lead, y, x)``, lazy on Dask.

Rain, evaporation and groundwater may come on a grid of their own (radar and
forecast rain on ~1-2.5 km, evaporation on 10-20 km) or at the area's resolution.
Time aggregates (window sums, the antecedent precipitation index, the water
balance) are computed on the input's own grid and then regridded to the area grid
by nearest neighbour. That is exact (a nearest-neighbour regrid only copies values,
so it commutes with sums over time) and on a 2 km rain grid 40 000 times cheaper
than aggregating at 10 m.

Rain on the upstream catchment is the mean rain over each cell's upstream area,
accumulated along the D8 network of :func:`wetindex.features.terrain.flow_directions`.
It is global in space, so each lead is one task over the whole grid (a numba pass
over the flow order, ~30 ms per million cells): the cube stays chunked over
``lead`` and a consumer can stream it lead by lead.

Everything here takes and returns xarray objects, keeps the area's coordinates and
CRS, sets ``units``, stays lazy on Dask input and gives the same numbers as on
NumPy input.
"""

from __future__ import annotations

import uuid

import dask.array as dsa
import numpy as np
import pyflwdir
import xarray as xr
from numba import njit

from wetindex.features import terrain
from wetindex.features._grid import as_mask, check_elevation, like
from wetindex.features.hydromet import (
    BALANCE_WINDOWS_D,
    RAIN_WINDOWS_H,
    DriverInputError,
    evaporation_sums,
    groundwater_depth_at_leads,
    rain_drivers,
    sea_drivers,
    sea_margins,
)

#: Windows [h] of the upstream-catchment rain features.
UPSTREAM_WINDOWS_H: tuple[int, ...] = (6, 24)


class FlowNetwork:
    """The D8 network in flow order, with a cheap Dask token (no hashing of 100s of MB).

    Cells are stored in the downstream-first order of ``flow.idxs_seq``: ``cells[j]`` is
    the flat index of the ``j``-th cell and ``down[j]`` the position of the cell it
    drains into (``down[j] == j`` at outlets). Accumulating in that order touches
    neighbouring memory, several times faster than following flat indices.
    """

    def __init__(self, flow: pyflwdir.FlwdirRaster) -> None:
        self.shape = tuple(flow.shape)
        self.idxs_ds = np.asarray(flow.idxs_ds, dtype=np.int64)
        # int32 positions halve the memory traffic of each pass (grids < 2**31 cells)
        index = np.int32 if self.idxs_ds.size < 2**31 else np.int64
        self.cells = np.asarray(flow.idxs_seq).astype(index)
        position = np.full(self.idxs_ds.size, -1, dtype=index)
        position[self.cells] = np.arange(self.cells.size, dtype=index)
        self.down = position[self.idxs_ds[self.cells]]
        self.upstream_cells = _upstream_sum(np.ones(self.cells.size), self.down)
        self._token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        return self._token


@njit(cache=True, nogil=True)
def _upstream_sum(values, down):
    """Sum of ``values`` (in flow order) over each cell's upstream area, itself included."""
    total = values.astype(np.float64)
    for j in range(down.size - 1, -1, -1):  # every cell comes after its downstream cell
        d = down[j]
        if d != j:
            total[d] += total[j]
    return total


@njit(cache=True, nogil=True)
def _upstream_mean(values, cells, down, upstream_cells):
    """Mean of the finite ``values`` (flat grid) over each cell's upstream area, as a grid."""
    n = cells.size
    ordered = np.empty(n, dtype=np.float64)
    has_nan = False
    for j in range(n):
        v = values[cells[j]]
        if v != v:
            has_nan = True
            v = 0.0
        ordered[j] = v
    total = _upstream_sum(ordered, down)
    count = upstream_cells
    if has_nan:  # missing values are left out of the mean
        finite = np.empty(n, dtype=np.float64)
        for j in range(n):
            finite[j] = 1.0 if values[cells[j]] == values[cells[j]] else 0.0
        count = _upstream_sum(finite, down)
    out = np.full(values.size, np.nan, dtype=np.float32)
    for j in range(n):
        if count[j] > 0:
            out[cells[j]] = total[j] / count[j]
    return out


def _upstream_block(block: np.ndarray, network: FlowNetwork) -> np.ndarray:
    flat = block.reshape(-1, block.shape[-2] * block.shape[-1])
    out = np.empty(flat.shape, dtype=np.float32)
    for k in range(flat.shape[0]):
        out[k] = _upstream_mean(np.ascontiguousarray(flat[k], dtype=np.float32),
                                network.cells, network.down, network.upstream_cells)
    return out.reshape(block.shape)


def upstream_mean(values: xr.DataArray, flow: pyflwdir.FlwdirRaster | FlowNetwork,
                  name: str) -> xr.DataArray:
    """Mean of ``values`` over each cell's upstream catchment (the cell included).

    Parameters
    ----------
    values : xr.DataArray
        On ``(..., "y", "x")`` on the grid of ``flow``, e.g. rain [mm] on ``("lead", "y", "x")``.
        NaN values are left out of the mean.
    flow : pyflwdir.FlwdirRaster or FlowNetwork
        From :func:`wetindex.features.terrain.flow_directions` on the same grid.
    name : str
        Name of the result; its units are those of ``values``.

    Returns
    -------
    xr.DataArray
        Same dims, coords and CRS; NaN at nodata cells. On Dask input each index of the
        leading dims is one lazy task over the whole grid (chunks ``(1, …, ny, nx)``).
    """
    network = flow if isinstance(flow, FlowNetwork) else FlowNetwork(flow)
    if values.dims[-2:] != ("y", "x") or values.shape[-2:] != network.shape:
        raise ValueError(
            f"{name}: expected (..., 'y', 'x') on the flow grid {network.shape}, got dims "
            f"{values.dims} shape {values.shape}; regrid it with regrid_nearest(values, elevation)")
    data = values.data
    if isinstance(data, dsa.Array):
        lead_chunks = {d: 1 for d in values.dims[:-2]}
        data = values.chunk({**lead_chunks, "y": -1, "x": -1}).data
        out = data.map_blocks(_upstream_block, network=network, dtype=np.float32)
    else:
        out = _upstream_block(np.asarray(data), network)
    result = values.copy(data=out).rename(name)
    result.attrs = {"units": values.attrs.get("units", ""),
                    "long_name": f"mean of {values.name} over the upstream catchment"}
    return result


def _nearest_index(source: np.ndarray, target: np.ndarray, dim: str, name: str) -> np.ndarray:
    step = float(source[1] - source[0]) if source.size > 1 else 1.0
    pos = np.rint((target - source[0]) / step)
    if np.any(pos < -0.5) or np.any(pos > source.size - 0.5):
        raise DriverInputError(
            f"{name}: its grid does not cover the area along {dim} "
            f"({source.min():.0f} … {source.max():.0f} vs "
            f"{target.min():.0f} … {target.max():.0f}); "
            "fetch it for the whole area (a missing input is not 'no rain')")
    return np.clip(pos, 0, source.size - 1).astype(np.intp)


def _take_block(block: np.ndarray, iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
    return block[..., iy, :][..., ix]


def regrid_nearest(field: xr.DataArray, target: xr.DataArray) -> xr.DataArray:
    """``field`` on ``(..., "y", "x")`` of its own grid, on the grid of ``target`` (nearest).

    Area-uniform fields (no ``y``/``x``) are returned unchanged. Both grids must share
    the CRS; the field's grid must cover the target. Lazy on Dask input: one output
    chunk per index of the leading dims, the whole area grid each.
    """
    if "y" not in field.dims and "x" not in field.dims:
        return field
    name = str(field.name)
    crs, target_crs = field.rio.crs, target.rio.crs
    if crs is not None and target_crs is not None and crs != target_crs:
        raise DriverInputError(
            f"{name}: CRS {crs.to_string()} differs from the area's {target_crs.to_string()}; "
            "reproject it first with .rio.reproject(area_crs)")
    field = field.transpose(..., "y", "x")
    ty, tx = target["y"].values, target["x"].values
    sy, sx = field["y"].values, field["x"].values
    coords = {k: v for k, v in target.coords.items() if set(v.dims) <= {"y", "x"}}
    same_shape = sy.shape == ty.shape and sx.shape == tx.shape
    if same_shape and np.allclose(sy, ty) and np.allclose(sx, tx):
        return field.assign_coords(coords)
    iy = _nearest_index(sy, ty, "y", name)
    ix = _nearest_index(sx, tx, "x", name)
    data = field.data
    if isinstance(data, dsa.Array):
        lead = {d: 1 for d in field.dims[:-2]}
        data = field.chunk({**lead, "y": -1, "x": -1}).data
        chunks = (*data.chunks[:-2], (ty.size,), (tx.size,))
        out = data.map_blocks(_take_block, iy=iy, ix=ix, chunks=chunks, dtype=data.dtype)
    else:
        out = _take_block(np.asarray(data), iy, ix)
    other = {k: v for k, v in field.coords.items() if not set(v.dims) & {"y", "x"}
             and k != "spatial_ref"}
    regridded = xr.DataArray(out, dims=field.dims, coords={**other, **coords},
                             name=field.name, attrs=field.attrs)
    return regridded.rio.write_crs(target_crs) if target_crs is not None else regridded


def _on_lead_chunks(da: xr.DataArray) -> xr.DataArray:
    if isinstance(da.data, dsa.Array) and "lead" in da.dims:
        return da.chunk({"lead": 1})
    return da


def dynamic_features(
    *,
    issue_time: np.datetime64,
    rain_observed: xr.DataArray,
    rain_forecast: xr.DataArray,
    evaporation_observed: xr.DataArray,
    sea_level_observed: xr.DataArray,
    sea_level_forecast: xr.DataArray,
    groundwater_depth: xr.DataArray,
    groundwater_rise: xr.DataArray,
    static: xr.Dataset,
    flow: pyflwdir.FlwdirRaster | FlowNetwork,
    upstream_windows_h: tuple[int, ...] = UPSTREAM_WINDOWS_H,
) -> xr.Dataset:
    """Dynamic features of every cell at every lead of one issue time.

    Parameters
    ----------
    issue_time : numpy.datetime64
        The issue time; observations must reach it (see :mod:`wetindex.features.hydromet`).
    rain_observed, rain_forecast : xr.DataArray
        Rain [mm/h] on ``time`` (hourly, :data:`~wetindex.features.hydromet.HISTORY_NEEDED_H`
        before the issue time) and on ``lead`` (1 … n h), area-uniform or on
        ``("y", "x")`` of the rain's own grid in the area's CRS, covering the area.
    evaporation_observed : xr.DataArray
        Evaporation [mm/d] on ``time``, area-uniform or on its own grid.
    sea_level_observed, sea_level_forecast : xr.DataArray
        Sea level [m] on ``time`` and ``lead`` (area-uniform).
    groundwater_depth : xr.DataArray
        Depth of the groundwater below terrain at the issue time [m] on the area grid.
    groundwater_rise : xr.DataArray
        Forecast rise of the groundwater since the issue time [m] on ``lead``
        (area-uniform or on the area grid).
    static : xr.Dataset
        The static cube (``elevation``, ``sea_flood_level``, ``dike_protected``,
        ``dike_crest_margin``), see :func:`wetindex.features.terrain.static_features`.
    flow : pyflwdir.FlwdirRaster or FlowNetwork
        :func:`wetindex.features.terrain.flow_directions` of the same elevation and
        outlets as ``static``.
    upstream_windows_h : tuple of int
        Rain windows [h] averaged over the upstream catchment.

    Returns
    -------
    xr.Dataset
        On ``("lead", "y", "x")`` of the area grid with ``issue_time``/``valid_time``
        coordinates and the area's CRS: ``rain_1h`` … ``rain_72h``, ``api``,
        ``rain_minus_evaporation_7d``/``_30d``, ``upstream_rain_{h}h`` [mm];
        ``groundwater_depth``, ``sea_margin``, ``sea_margin_max_24h``,
        ``sea_margin_over_dike_crest``, ``sea_margin_if_breached`` [m]; on ``lead``:
        ``sea_level``, ``sea_level_max_24h`` [m], ``lead_hours`` [h]. float32.
        On Dask input nothing is computed; the cube is chunked by one lead, so it can
        be streamed lead by lead (to Zarr or into a reduction) with bounded memory.
    """
    missing = [v for v in ("elevation", "sea_flood_level", "dike_protected", "dike_crest_margin")
               if v not in static]
    if missing:
        raise DriverInputError(f"static: missing {missing}; build the static cube with "
                               "'wetindex run static' (terrain.static_features)")
    dynamic_inputs = (rain_observed, rain_forecast, evaporation_observed, sea_level_observed,
                      sea_level_forecast, groundwater_depth, groundwater_rise)
    if any(isinstance(da.data, dsa.Array) for da in dynamic_inputs):
        # a NumPy static field times a (lead,) series would be computed right here, 48
        # full grids at once: make the static fields lazy too (one chunk, shared by leads)
        static = static[["elevation", "sea_flood_level", "dike_protected", "dike_crest_margin"]]
        static = static.map(lambda v: v if isinstance(v.data, dsa.Array) else v.chunk())
    area = static["elevation"]
    issue_time = np.datetime64(issue_time, "ns")
    leads = rain_forecast["lead"]
    for name, series in (("sea_level_forecast", sea_level_forecast),
                         ("groundwater_rise", groundwater_rise)):
        if not np.array_equal(series["lead"].values, leads.values):
            raise DriverInputError(f"{name}: leads differ from rain_forecast's; "
                                   "give every forecast on the same lead hours")
    valid = issue_time + leads.values.astype("int64").astype("timedelta64[h]")

    lazy = isinstance(area.data, dsa.Array)

    def per_lead(ds: xr.Dataset) -> xr.Dataset:
        # float32 and one chunk per lead on the inputs' own (coarse) grids, before they
        # meet the area grid: every later step then works on one lead's grid at a time
        ds = ds.astype("float32")
        return ds.chunk({"lead": 1}) if lazy else ds

    rain = per_lead(rain_drivers(rain_observed.rename("rain"), rain_forecast.rename("rain"),
                                 issue_time))
    evap = per_lead(evaporation_sums(evaporation_observed.rename("evaporation"), issue_time,
                                     leads))
    out: dict[str, xr.DataArray] = {}
    for h in RAIN_WINDOWS_H:
        out[f"rain_{h}h"] = regrid_nearest(rain[f"rain_{h}h"].rename(f"rain_{h}h"), area)
    out["api"] = regrid_nearest(rain["api"].rename("api"), area)
    for d in BALANCE_WINDOWS_D:
        balance = (regrid_nearest(rain[f"rain_{d}d"].rename("rain"), area)
                   - regrid_nearest(evap[f"evaporation_{d}d"].rename("evaporation"), area))
        out[f"rain_minus_evaporation_{d}d"] = balance
    template = xr.zeros_like(area, dtype="float32")  # broadcasts area-uniform drivers

    def on_area(da: xr.DataArray) -> xr.DataArray:
        da = regrid_nearest(da, area)
        return da if "y" in da.dims else da + template

    network = flow if isinstance(flow, FlowNetwork) else FlowNetwork(flow)
    for h in upstream_windows_h:
        window = rain[f"rain_{h}h"] if f"rain_{h}h" in rain else None
        if window is None:
            raise ValueError(f"upstream_windows_h: {h} h is not one of {RAIN_WINDOWS_H}")
        window = on_area(window.rename(f"rain_{h}h"))
        out[f"upstream_rain_{h}h"] = upstream_mean(window.transpose("lead", "y", "x")
                                                   .assign_attrs(units="mm"),
                                                   network, f"upstream_rain_{h}h")
    gw_rise = per_lead(groundwater_rise.rename("groundwater_rise").to_dataset())
    gw_rise = regrid_nearest(gw_rise["groundwater_rise"], area)
    out["groundwater_depth"] = groundwater_depth_at_leads(
        regrid_nearest(groundwater_depth.rename("groundwater_depth"), area), gw_rise)

    sea = per_lead(sea_drivers(sea_level_observed.rename("sea_level"),
                               sea_level_forecast.rename("sea_level"), issue_time))
    margins = sea_margins(sea["sea_level"], static["sea_flood_level"], static["dike_protected"],
                          static["dike_crest_margin"])
    out |= {k: margins[k] for k in margins.data_vars}
    out["sea_margin_max_24h"] = sea["sea_level_max_24h"] - static["sea_flood_level"]

    metres = {"groundwater_depth", "sea_margin", "sea_margin_max_24h",
              "sea_margin_over_dike_crest", "sea_margin_if_breached"}
    cube = {}
    for name, da in out.items():
        da = (da if "y" in da.dims else da + template).transpose("lead", "y", "x")
        da = da.astype("float32")
        da.attrs = {"units": "m" if name in metres else "mm"}
        cube[name] = _on_lead_chunks(da.rename(name))
    cube["sea_level"] = sea["sea_level"].astype("float32").assign_attrs(units="m")
    cube["sea_level_max_24h"] = sea["sea_level_max_24h"].astype("float32").assign_attrs(units="m")
    cube["lead_hours"] = xr.DataArray(leads.values.astype("float32"), dims="lead",
                                      attrs={"units": "h"})
    coords = {k: v for k, v in area.coords.items() if set(v.dims) <= {"y", "x"}}
    ds = xr.Dataset(cube).assign_coords(
        {**coords, "lead": leads.values, "issue_time": issue_time, "valid_time": ("lead", valid)})
    return ds.rio.write_crs(area.rio.crs) if area.rio.crs is not None else ds


def flow_network(elevation: xr.DataArray, sea: xr.DataArray) -> FlowNetwork:
    """The D8 network :func:`~wetindex.features.terrain.static_features` routes with.

    Outlets are the grid edge, cells next to nodata and the sea, as in the static cube.
    """
    z, _ = check_elevation(elevation)
    valid = ~np.isnan(z)
    outlets = terrain.default_outlets(valid) | (as_mask(sea, elevation, "sea") & valid)
    outlets_da = like(elevation, outlets, "outlets", None)
    return FlowNetwork(terrain.flow_directions(elevation, outlets_da))
