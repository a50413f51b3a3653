"""A forecast on disk: each quantity stored once, in 8 bits.

A forecast folder holds (besides warnings and status, written by the forecast stage):

``geotiff/probability.tif``, ``geotiff/warning_score.tif``
    The fractions ``probability`` and ``warning_score`` (the risk matrix of excess
    water and impact the levels come from), one GeoTIFF per quantity, one band per lead hour
    (band tag ``NETCDF_DIM_lead`` = the lead hour, pixel-interleaved: a tile holds
    every hour of its cells), stored as ``uint8`` codes with scale
    0.005: **code 0–200 is 0–100 % in steps of 0.5 %, code 255 (nodata) is
    "unknown"** — no forecast for that cell and hour, never "no risk". Tiled 256 × 256,
    DEFLATE with the horizontal predictor, internal overviews (average of the known
    cells), every IFD at the head of the file (:mod:`wetindex.cog_writer`). These two
    files are the analysts' cube of fractions and the GIS users' download at once:
    the same values are not written a second time into forecast.nc.
``forecast.nc``
    NetCDF-4 on ``(lead, y, x)`` with ``issue_time``, ``valid_time``, a CF
    ``spatial_ref`` and the run's attributes, and ``level`` (``uint8`` 0 none,
    1 yellow, 2 orange, 3 red), computed from the full-precision ``warning_score``
    before it was rounded, so levels are exact. There is no full-precision copy:
    probabilities are known to ±0.25 % (half a step). ``normal_water`` and
    ``excess_probability`` are not stored; :func:`wetindex.normal.forecast_dataset`
    makes them.

:func:`open_forecast` gives all of it as one lazy dataset (fractions decoded to float,
NaN unknown). :class:`CubeWriter` writes the files block of rows by block of rows, so
a forecast is never held whole in memory (:mod:`wetindex.forecast_stream`), each byte
written once (no temporary file); :func:`write_forecast_grids` writes an in-memory
forecast dataset (the physical forecast) the same way.
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
import rasterio.errors
import rasterio.windows
import rioxarray
import xarray as xr
from pyproj import CRS

from wetindex.cog_writer import TILE, StreamedCog
from wetindex.grid import AreaGrid

#: Fraction per code step: codes 0–200 are 0–100 %.
SCALE = 0.005
#: Code of an unknown value (no forecast for that cell and hour).
NODATA = 255
#: Fractions stored as 8-bit codes, one GeoTIFF each, in this order.
FRACTIONS = ("probability", "warning_score")
#: The GeoTIFFs of the fractions (the analysts' cube and the GIS users' download).
COG_VARIABLES = FRACTIONS
#: Marks the folder of a forecast streamed before its folder is switched in:
#: ``.<issue>.stream.tmp-<pid>`` (what :func:`wetindex.atomicdir.clean_leftovers` removes
#: when that process is gone).
STAGING_MARK = ".stream.tmp-"

LONG_NAMES = {
    "probability": "probability of surface water",
    "normal_water": "probability of water normal for the season or already standing",
    "excess_probability": "probability of water above the seasonal normal and what stands "
                          "at the issue time",
    "warning_score": "risk matrix of the excess probability and the impact; "
                     "levels come from it",
    "level": "warning level from the risk matrix of excess water and impact",
}


def encode_fraction(values: np.ndarray) -> np.ndarray:
    """0–1 floats as uint8 codes ``round(v / 0.005)``; NaN (unknown) becomes :data:`NODATA`."""
    v = np.asarray(values, dtype="float32")
    codes = np.clip(v, 0.0, 1.0)  # in place from here: a block is ~10^7 values
    codes *= np.float32(1 / SCALE)
    np.rint(codes, out=codes)
    codes[np.isnan(v)] = NODATA
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
    """forecast.nc and the GeoTIFFs of one forecast, written one block of rows at a time.

    Blocks may come in any order (Dask tasks finish when they finish): a block is held
    until the rows above it are written, as the GeoTIFFs are written top to bottom.

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
        Rows per block (the NetCDF chunk height).
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
        self._next_row = 0
        self._waiting: dict[int, dict[str, np.ndarray]] = {}
        self._nc = self._create_netcdf(issue, valid, attrs or {})
        self._cogs: dict[str, StreamedCog] = {}
        try:
            for name in COG_VARIABLES:
                self._cogs[name] = StreamedCog(
                    self.folder / "geotiff" / f"{name}.tif", grid, len(self.leads),
                    band_tags=[{"NETCDF_DIM_lead": int(lead), "scale_factor": SCALE,
                                "valid_time": f"{v:%Y-%m-%dT%H:%MZ}"}
                               for lead, v in zip(self.leads, valid, strict=True)],
                    tags={"long_name": LONG_NAMES[name], "units": "1",
                          "issue_time": f"{issue:%Y-%m-%dT%H:%MZ}",
                          "comment": "codes 0-200 = 0-100 % in steps of 0.5 %; "
                                     "255 = unknown"},
                    scale=SCALE)
        except BaseException:
            self.abort()
            raise

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
        # a chunk is every lead of a block's rows × 256 columns: written once per block,
        # and a reader of a window (a place, a strip) decompresses only the chunks on it
        var = nc.createVariable("level", "u1", ("lead", "y", "x"), zlib=True, complevel=4,
                                chunksizes=(len(self.leads), self.rows, min(TILE, g.nx)))
        var.set_auto_maskandscale(False)  # we write the codes themselves
        var.long_name = LONG_NAMES["level"]
        var.grid_mapping = "spatial_ref"
        var.coordinates = "valid_time issue_time"
        var.flag_values = np.array([0, 1, 2, 3], "u1")
        var.flag_meanings = "none yellow orange red"
        nc.fractions = ("probability and warning_score: geotiff/<name>.tif, uint8 codes "
                        "0-200 = 0-100 % in steps of 0.5 %, 255 = unknown, one band per lead")
        nc.setncatts({k: v for k, v in attrs.items() if v is not None})
        return nc

    def write(self, y0: int, codes: dict[str, np.ndarray]) -> None:
        """Rows ``y0 …`` of every quantity: ``codes[name]`` is ``(lead, rows, nx)`` uint8.

        Codes of names that are not stored are ignored; a fraction not given is unknown.
        """
        self._waiting[y0] = codes
        while self._next_row in self._waiting:
            block = self._waiting.pop(self._next_row)
            y = self._next_row
            n = block["level"].shape[1]
            self._nc["level"][:, y:y + n, :] = block["level"]
            for name, cog in self._cogs.items():
                part = block.get(name)
                if part is None:
                    part = np.full(block["level"].shape, NODATA, np.uint8)
                cog.write(part)
            self._next_row = y + n

    def close(self) -> list[Path]:
        """Finish forecast.nc and the GeoTIFFs; returns the GeoTIFFs."""
        if self._waiting or self._next_row != self.grid.ny:
            self.abort()
            raise ValueError(f"forecast: rows {self._next_row} of {self.grid.ny} written "
                             f"(blocks waiting at rows {sorted(self._waiting)})")
        self._nc.close()
        return [cog.close() for cog in self._cogs.values()]

    def abort(self) -> None:
        """Stop writing after a failure (the caller removes the folder)."""
        if self._nc.isopen():
            self._nc.close()
        for cog in self._cogs.values():
            cog.abort()


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
    except BaseException:
        writer.abort()
        raise
    writer.close()


def staging_folder_of(ds: xr.Dataset) -> Path | None:
    """The staging folder a streamed forecast dataset was opened from, else None."""
    source = ds.encoding.get("source")
    if not source:
        return None
    parent = Path(source).parent
    return parent if STAGING_MARK in parent.name and parent.is_dir() else None


def open_forecast(folder: Path, grid: AreaGrid | None = None) -> xr.Dataset:
    """The forecast of ``folder`` opened lazily: forecast.nc's ``level`` and coordinates
    with the GeoTIFFs' fractions, decoded to float32 (NaN unknown).

    Nothing is read until used (Dask-backed, in the files' chunks: a tile of every lead
    for the fractions, one lead × a block of rows for ``level``), so a reader takes a
    window or a block of rows at a time (``ds.isel(y=…, x=…)``, :func:`read_cells`)
    without holding the cube; ``.values`` of a whole variable decodes all of it (4 bytes
    per cell-hour). A reader of one lead over the whole area decompresses every lead of
    the fractions: read all leads of a block of rows instead.
    """
    folder = Path(folder)
    # chunked as stored: reductions such as ``ds.probability.max(("y", "x"))`` then run
    # chunk by chunk, never on the whole cube
    ds = xr.open_dataset(folder / "forecast.nc", decode_coords="all", chunks={})
    for name in COG_VARIABLES:
        path = folder / "geotiff" / f"{name}.tif"
        if name not in ds and path.exists():  # (forecasts written before: in the .nc)
            ds[name] = _fraction_from_cog(path, ds["level"])
    if grid is not None:
        ds = ds.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    return ds


def _fraction_from_cog(path: Path, like: xr.DataArray) -> xr.DataArray:
    """A fraction's GeoTIFF as a lazy ``(lead, y, x)`` float32 array on ``like``'s coords."""
    # a chunk is a tile: every lead of its cells (how the file stores them)
    codes = rioxarray.open_rasterio(path, chunks={"band": -1, "y": TILE, "x": TILE},
                                    mask_and_scale=False)
    if codes.shape != like.shape:
        raise ValueError(f"{path}: {codes.shape} cells and leads, but forecast.nc has "
                         f"{like.shape}; the forecast folder is inconsistent: run it again")
    values = codes.data.map_blocks(decode_fraction, dtype="float32")
    out = xr.DataArray(values, dims=like.dims, coords=like.coords,
                       attrs={"long_name": LONG_NAMES[path.stem], "units": "1"})
    out.encoding["geotiff"] = str(path)  # read_codes reads a window's codes from it
    return out


def _codes_from_geotiff(var: xr.DataArray) -> np.ndarray | None:
    """The stored codes of ``var``'s window, every lead, from its GeoTIFF; None when
    ``var`` is not that (a subset of leads, another dataset, the file moved away)."""
    path = var.encoding.get("geotiff")
    if not path or var.dims != ("lead", "y", "x") or 0 in var.shape:
        return None
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError:
        return None  # moved (a streamed forecast's files went into their folder)
    with src:
        if src.count != var.sizes["lead"]:
            return None
        row, col = src.index(float(var["x"].values[0]), float(var["y"].values[0]))
        window = rasterio.windows.Window(col, row, var.sizes["x"], var.sizes["y"])
        return src.read(window=window)


def _codes_from_netcdf(var: xr.DataArray) -> np.ndarray | None:
    """``var``'s window, every lead, as stored in the forecast.nc it was opened from."""
    path = var.encoding.get("source")
    if not path or var.dims != ("lead", "y", "x") or 0 in var.shape or not os.path.exists(path):
        return None
    with netCDF4.Dataset(path) as nc:
        if var.name not in nc.variables or nc[var.name].shape[0] != var.sizes["lead"]:
            return None
        r0 = int(np.argmin(np.abs(nc["y"][:] - float(var["y"].values[0]))))
        c0 = int(np.argmin(np.abs(nc["x"][:] - float(var["x"].values[0]))))
        stored = nc[var.name]
        stored.set_auto_maskandscale(False)
        return np.asarray(stored[:, r0:r0 + var.sizes["y"], c0:c0 + var.sizes["x"]])


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

    A forecast opened with :func:`open_forecast` (every lead, a window of the grid) is
    read straight from its files, codes as stored, in one windowed read (no Dask graph).

    The cube costs 1 byte per cell-hour; at most ``max_values`` are decoded to floats at
    once (the stored codes come back exactly: ``code × 0.005`` rounds back to ``code``).
    """
    var = ds[name]
    direct = _codes_from_geotiff(var) if name != "level" else _codes_from_netcdf(var)
    if direct is not None:
        return direct
    out = np.empty(var.shape, dtype="uint8")
    n_leads = var.sizes["lead"]
    step = max(1, min(n_leads, max_values // max(1, var.size // max(1, n_leads))))
    for i in range(0, n_leads, step):
        values = var.isel(lead=slice(i, i + step)).values
        out[i:i + step] = values if name == "level" else encode_fraction(values)
    return out
