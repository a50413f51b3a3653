"""A forecast on disk: one 8-bit cube for analysts and 8-bit cloud-optimised GeoTIFFs.

A forecast folder holds (besides warnings and status, written by the forecast stage):

``forecast.nc``
    The one cube for analysts, NetCDF-4 on ``(lead, y, x)`` with ``issue_time``,
    ``valid_time`` and a CF ``spatial_ref``. The fractions ``probability`` and
    ``warning_score`` (the exposure-weighted excess water the levels come from) are
    stored as ``uint8`` codes with ``scale_factor = 0.005``: **code 0–200 is 0–100 % in steps of
    0.5 %, code 255 (``_FillValue``) is "unknown"** — no forecast for that cell and hour,
    never "no risk". xarray, GDAL and netCDF readers decode them to float (NaN for
    unknown). ``level`` is ``uint8`` 0 none, 1 yellow, 2 orange, 3 red, computed from the
    full-precision ``warning_score`` before it was rounded, so levels are exact.
    There is no full-precision copy: probabilities are known to ±0.25 % (half a step).
    ``normal_water`` and ``excess_probability`` are not stored (bytes: each would cost
    as much as ``probability``); :func:`wetindex.normal.forecast_dataset` makes them.
``geotiff/probability.tif``, ``geotiff/warning_score.tif``
    The same codes as one cloud-optimised GeoTIFF per quantity, one band per lead hour
    (band tag ``NETCDF_DIM_lead`` = the lead hour, ``scale_factor`` 0.005), DEFLATE level 3 with
    the horizontal predictor, 512 × 512 tiles, internal overviews (average of the known
    cells), nodata 255.

:class:`CubeWriter` writes both block of rows by block of rows, so a forecast is never
held whole in memory (:mod:`wetindex.forecast_stream`); :func:`write_forecast_grids`
writes an in-memory forecast dataset (the physical forecast) the same way.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import rasterio
import rasterio.shutil
import xarray as xr
from pyproj import CRS

from wetindex.grid import AreaGrid

#: Fraction per code step: codes 0–200 are 0–100 %.
SCALE = 0.005
#: Code of an unknown value (no forecast for that cell and hour).
NODATA = 255
#: Fractions stored as 8-bit codes in forecast.nc, in this order.
FRACTIONS = ("probability", "warning_score")
#: Fractions also written as cloud-optimised GeoTIFFs (GIS users, the site's downloads).
COG_VARIABLES = ("probability", "warning_score")
#: GDAL block cache [MB] while the COGs are made (see benchmarks/results/stream.md:
#: the default, 5 % of memory, made the COGs 7x faster and wrote 4x fewer temporary
#: bytes at 2950², but took 0.5 GiB more).
GDAL_CACHE_MB = 512
#: Marks the folder of a forecast streamed before its folder is switched in:
#: ``.<issue>.stream.tmp-<pid>`` (what :func:`wetindex.atomicdir.clean_leftovers` removes
#: when that process is gone).
STAGING_MARK = ".stream.tmp-"

LONG_NAMES = {
    "probability": "probability of surface water",
    "normal_water": "probability of water normal for the season or already standing",
    "excess_probability": "probability of water above the seasonal normal and what stands "
                          "at the issue time",
    "warning_score": "excess probability weighted by exposure; levels come from it",
    "level": "warning level from the exposure-weighted excess water",
}


def encode_fraction(values: np.ndarray) -> np.ndarray:
    """0–1 floats as uint8 codes ``round(v / 0.005)``; NaN (unknown) becomes :data:`NODATA`."""
    v = np.asarray(values, dtype="float32")
    codes = np.rint(np.clip(v, 0.0, 1.0) * np.float32(1 / SCALE))
    codes = np.where(np.isnan(v), NODATA, codes)
    return codes.astype("uint8")


def decode_fraction(codes: np.ndarray) -> np.ndarray:
    """uint8 codes back to float32 fractions, NaN where the code is :data:`NODATA`."""
    c = np.asarray(codes)
    out = c.astype("float32") * np.float32(SCALE)
    out[c == NODATA] = np.nan
    return out


def block_rows(grid: AreaGrid, chunk_cells: int) -> int:
    """Rows per block so that a block holds about ``chunk_cells`` cells (at least one row)."""
    return max(1, min(grid.ny, chunk_cells // max(1, grid.nx)))


class CubeWriter:
    """forecast.nc and the COGs of one forecast, written one block of rows at a time.

    Parameters
    ----------
    folder : Path
        Where ``forecast.nc`` and ``geotiff/`` go (created).
    grid : AreaGrid
        The area's grid.
    issue_time : numpy.datetime64
        The forecast's issue time; leads are hours after it.
    leads : sequence of int
        Lead hours, one per band/lead.
    rows : int
        Rows per block (the NetCDF chunk height): :meth:`write` calls should use it.
    attrs : dict, optional
        Global attributes of forecast.nc.
    """

    def __init__(self, folder: Path, grid: AreaGrid, issue_time: np.datetime64,
                 leads: Sequence[int], rows: int, attrs: dict | None = None) -> None:
        self.folder = Path(folder)
        self.grid = grid
        self.leads = np.asarray(leads, dtype="int32")
        self.rows = rows
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "geotiff").mkdir(exist_ok=True)
        issue = pd.Timestamp(issue_time)
        valid = issue + pd.to_timedelta(self.leads, unit="h")
        self._valid = valid
        self._nc = self._create_netcdf(issue, valid, attrs or {})

    def _create_netcdf(self, issue: pd.Timestamp, valid: pd.DatetimeIndex,
                       attrs: dict) -> netCDF4.Dataset:
        g = self.grid
        nc = netCDF4.Dataset(self.folder / "forecast.nc", "w", format="NETCDF4")
        nc.createDimension("lead", len(self.leads))
        nc.createDimension("y", g.ny)
        nc.createDimension("x", g.nx)
        coords = g.coords()
        for name in ("y", "x"):
            var = nc.createVariable(name, "f8", (name,))
            var[:] = np.asarray(coords[name])
            var.units = "m"
        lead = nc.createVariable("lead", "i4", ("lead",))
        lead[:] = self.leads
        lead.units = "h"
        epoch = "hours since 1970-01-01 00:00:00"
        vt = nc.createVariable("valid_time", "i8", ("lead",))
        vt[:] = (valid - pd.Timestamp("1970-01-01")) // pd.Timedelta(hours=1)
        vt.units = epoch
        it = nc.createVariable("issue_time", "i8", ())
        it[...] = (issue - pd.Timestamp("1970-01-01")) // pd.Timedelta(hours=1)
        it.units = epoch
        ref = nc.createVariable("spatial_ref", "i4", ())
        ref.crs_wkt = CRS.from_user_input(g.crs).to_wkt()
        ref.spatial_ref = ref.crs_wkt
        ref.GeoTransform = " ".join(str(v) for v in g.transform.to_gdal())
        chunks = (1, self.rows, g.nx)
        for name in (*FRACTIONS, "level"):
            fill = NODATA if name != "level" else None
            var = nc.createVariable(name, "u1", ("lead", "y", "x"), zlib=True, complevel=4,
                                    chunksizes=chunks, fill_value=fill)
            var.set_auto_maskandscale(False)  # we write the codes themselves
            var.long_name = LONG_NAMES[name]
            var.grid_mapping = "spatial_ref"
            var.coordinates = "valid_time issue_time"
            if name == "level":
                var.flag_values = np.array([0, 1, 2, 3], "u1")
                var.flag_meanings = "none yellow orange red"
            else:
                var.scale_factor = np.float32(SCALE)
                var.add_offset = np.float32(0.0)
                var.units = "1"
                var.comment = "codes 0-200 = 0-100 % in steps of 0.5 %; 255 = unknown"
        nc.setncatts({k: v for k, v in attrs.items() if v is not None})
        return nc

    def write(self, y0: int, codes: dict[str, np.ndarray]) -> None:
        """Rows ``y0 …`` of every variable: ``codes[name]`` is ``(lead, rows, nx)`` uint8.

        Codes of names that are not stored (see :data:`FRACTIONS`) are ignored.
        """
        for name, block in codes.items():
            if name not in self._nc.variables:
                continue
            self._nc[name][:, y0:y0 + block.shape[1], :] = block

    def close(self) -> list[Path]:
        """Finish forecast.nc, then make the COGs from it; returns the COGs.

        GDAL reads the codes straight from forecast.nc (its CF georeferencing, nodata
        255, one band per lead with the tag ``NETCDF_DIM_lead`` = lead hours): no
        temporary GeoTIFF is written.
        """
        self._nc.close()
        out = []
        source = self.folder / "forecast.nc"
        for name in COG_VARIABLES:
            final = self.folder / "geotiff" / f"{name}.tif"
            # GDAL's block cache defaults to 5 % of the machine's memory (1.2 GB here):
            # bounded, so the COG's memory does not grow with the area
            with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
                rasterio.shutil.copy(f'NETCDF:"{source}":{name}', final, driver="COG",
                                     compress="DEFLATE", level=3, predictor="YES",
                                     blocksize=512, overview_resampling="AVERAGE",
                                     bigtiff="IF_SAFER", num_threads=2)
            out.append(final)
        return out


def write_forecast_grids(folder: Path, ds: xr.Dataset, *, chunk_cells: int = 250_000) -> None:
    """forecast.nc and ``geotiff/`` of one forecast into ``folder``.

    A forecast streamed by :mod:`wetindex.forecast_stream` is already on disk in a
    staging folder: its files are moved in. Any other dataset (``probability`` and
    ``level`` on ``(lead, y, x)``, the other fractions if present) is written block
    by block.
    """
    staged = staging_folder_of(ds)
    folder = Path(folder)
    if staged is not None:
        for item in staged.iterdir():
            os.replace(item, folder / item.name)
        shutil.rmtree(staged, ignore_errors=True)
        return
    grid = AreaGrid.from_dataarray(ds["probability"].isel(lead=0))
    rows = block_rows(grid, chunk_cells)
    attrs = {k: v for k, v in ds.attrs.items() if isinstance(v, str | int | float)}
    writer = CubeWriter(folder, grid, ds["issue_time"].values, ds["lead"].values, rows, attrs)
    try:
        for y0 in range(0, grid.ny, rows):
            part = ds.isel(y=slice(y0, y0 + rows))
            codes = {name: encode_fraction(part[name].values)
                     for name in FRACTIONS if name in part}
            for name in FRACTIONS:  # a forecast without the excess fields: unknown
                codes.setdefault(name, np.full(part["probability"].shape, NODATA, "uint8"))
            codes["level"] = np.asarray(part["level"].values, dtype="uint8")
            writer.write(y0, codes)
    finally:
        writer.close()


def staging_folder_of(ds: xr.Dataset) -> Path | None:
    """The staging folder a streamed forecast dataset was opened from, else None."""
    source = ds.encoding.get("source")
    if not source:
        return None
    parent = Path(source).parent
    return parent if STAGING_MARK in parent.name and parent.is_dir() else None


def open_forecast(folder: Path, grid: AreaGrid | None = None) -> xr.Dataset:
    """forecast.nc of ``folder`` opened lazily: fractions decode to float32 (NaN unknown).

    Nothing is read until used (Dask-backed, in the file's chunks), so a reader takes one
    lead or one window at a time (``ds.isel(lead=i)``, ``ds.isel(y=…, x=…)``,
    :func:`read_cells`) without holding the cube; ``.values`` of a whole variable
    decodes all of it (4 bytes per cell-hour).
    """
    # chunked as stored (one lead × a block of rows): reductions such as
    # ``ds.probability.max(("y", "x"))`` then run chunk by chunk, never on the whole cube
    ds = xr.open_dataset(Path(folder) / "forecast.nc", decode_coords="all", chunks={})
    if grid is not None:
        ds = ds.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    return ds


def read_cells(ds: xr.Dataset, name: str, cells: np.ndarray) -> np.ndarray:
    """``name`` at the flat ``cells`` of the grid, ``(lead, len(cells))``, reading only
    their bounding window (not the whole cube)."""
    cells = np.asarray(cells)
    nx = ds.sizes["x"]
    if cells.size == 0:
        return np.asarray(ds[name].isel(y=slice(0, 0)).values).reshape(ds.sizes["lead"], 0)
    rows, cols = np.divmod(cells, nx)
    r0, c0 = int(rows.min()), int(cols.min())
    part = np.asarray(ds[name].isel(y=slice(r0, int(rows.max()) + 1),
                                    x=slice(c0, int(cols.max()) + 1)).values)
    width = part.shape[-1]
    return part.reshape(part.shape[0], -1)[:, (rows - r0) * width + (cols - c0)]


def read_codes(ds: xr.Dataset, name: str, max_values: int = 16_000_000) -> np.ndarray:
    """The uint8 codes of ``name`` ``(lead, y, x)``, read a few leads at a time.

    The cube costs 1 byte per cell-hour; at most ``max_values`` are decoded to floats at
    once (the stored codes come back exactly: ``code × 0.005`` rounds back to ``code``).
    """
    var = ds[name]
    out = np.empty(var.shape, dtype="uint8")
    n_leads = var.sizes["lead"]
    step = max(1, min(n_leads, max_values // max(1, var.size // max(1, n_leads))))
    for i in range(0, n_leads, step):
        values = var.isel(lead=slice(i, i + step)).values
        out[i:i + step] = values if name == "level" else encode_fraction(values)
    return out
