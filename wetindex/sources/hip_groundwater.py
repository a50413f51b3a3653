"""HIP near-surface groundwater depth (GEUS/SDFI), from NetCDF files.

HIP has no documented API: the operator downloads NetCDF grids from the HIP web app
or SDFI's FTP and gives a path (or a URL, fetched once into the cache). The files
carry **no CRS** and a **year-0001 time origin** (``days since 0001-01-01``) that
NumPy-based decoders reject. This reader

* decodes time with cftime in the file's calendar and converts to UTC
  ``datetime64`` (a file without a time axis is one static field);
* assigns EPSG:25832 (ETRS89 / UTM 32N, the CRS of Danish national grids) after
  checking the coordinates lie in Denmark in that CRS — recorded in
  ``attrs["crs_assumed"]``;
* returns ``groundwater_depth`` [m below terrain], ``(time, y, x)`` north-up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.sources.errors import SourceError
from wetindex.sources.session import SourceSession

ASSUMED_CRS = "EPSG:25832"
#: Denmark in EPSG:25832, generously
DENMARK_E = (380_000.0, 920_000.0)
DENMARK_N = (6_020_000.0, 6_430_000.0)
PLAUSIBLE_DEPTH_M = (-5.0, 200.0)
_XY_NAMES = {"X": "x", "Y": "y", "easting": "x", "northing": "y", "E": "x", "N": "y"}


def _decode_time(ds: xr.Dataset, origin: str) -> xr.Dataset:
    if "time" not in ds.variables:
        return ds
    decoded = xr.decode_cf(ds, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    values = decoded["time"].values
    try:
        stamps = pd.DatetimeIndex([pd.Timestamp(t.isoformat()) if hasattr(t, "isoformat")
                                   else pd.Timestamp(t) for t in values])
    except (ValueError, OverflowError) as err:
        raise SourceError(origin, origin, f"the time axis cannot be read ({err})",
                          "check the file's time units (HIP uses days since 0001-01-01)") from None
    return decoded.assign_coords(time=stamps.values.astype("datetime64[ns]"))


def open_groundwater_depth(path: Path, *, variable: str | None = None,
                           origin: str | None = None) -> xr.DataArray:
    """Read a HIP NetCDF into ``groundwater_depth`` (see module docstring)."""
    path = Path(path)
    origin = origin or f"file {path}"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such HIP groundwater file")
    try:
        raw = xr.open_dataset(path, decode_times=False, engine="netcdf4")
    except OSError as err:
        raise SourceError(origin, str(path), f"not a readable NetCDF file ({err}): truncated?",
                          "download the file again from HIP") from None
    with raw:
        ds = _decode_time(raw.rename({k: v for k, v in _XY_NAMES.items() if k in raw.dims}),
                          origin).load()
    grids = [n for n, v in ds.data_vars.items() if {"x", "y"} <= set(v.dims)]
    if variable is None:
        if len(grids) != 1:
            raise SourceError(origin, str(path),
                              f"{len(grids)} gridded variables ({', '.join(map(str, grids))})",
                              "name the depth variable (variable=...)")
        variable = str(grids[0])
    if variable not in ds:
        raise SourceError(origin, str(path), f"no variable '{variable}' (has: "
                          f"{', '.join(map(str, ds.data_vars))})", "name the depth variable")
    da = ds[variable].astype(np.float32)
    if "time" not in da.dims:
        da = da.expand_dims(time=[np.datetime64("NaT", "ns")])
    da = da.transpose("time", "y", "x")
    x, y = da["x"].values, da["y"].values
    if not (DENMARK_E[0] <= x.min() and x.max() <= DENMARK_E[1]
            and DENMARK_N[0] <= y.min() and y.max() <= DENMARK_N[1]):
        raise SourceError(origin, str(path),
                          f"coordinates x {x.min():.0f}–{x.max():.0f}, y {y.min():.0f}–"
                          f"{y.max():.0f} are not Denmark in {ASSUMED_CRS}",
                          "the file is in another CRS: reproject it or tell us its CRS")
    if y[0] < y[-1]:
        da = da.isel(y=slice(None, None, -1))
    finite = da.values[np.isfinite(da.values)]
    if finite.size == 0:
        raise SourceError(origin, str(path), "every depth value is missing",
                          "check the variable and the area of the download")
    if finite.min() < PLAUSIBLE_DEPTH_M[0] or finite.max() > PLAUSIBLE_DEPTH_M[1]:
        raise SourceError(origin, str(path),
                          f"depths from {finite.min():.1f} to {finite.max():.1f} m are not "
                          "depths to groundwater in metres", "check the variable and its units")
    da.name = "groundwater_depth"
    da.attrs = {"units": "m", "long_name": "depth to near-surface groundwater below terrain",
                "source": origin, "hip_variable": variable, "crs_assumed": ASSUMED_CRS}
    return da.rio.write_crs(ASSUMED_CRS)


def fetch_groundwater_depth(session: SourceSession, url: str, *,
                            variable: str | None = None) -> xr.DataArray:
    """Fetch a HIP NetCDF from ``url`` into the cache once (streamed to disk), and read it."""
    path = session.download(url, check_head=_check_netcdf(session.source))
    da = open_groundwater_depth(path, variable=variable, origin=session.source)
    da.attrs.update(licence=session.entry.licence, attribution=session.entry.attribution,
                    url=url)
    return da


def _check_netcdf(source: str):
    def check(content: bytes, request: str) -> None:
        if not content.startswith((b"CDF", b"\x89HDF")):
            raise SourceError(source, request, "the answer is not a NetCDF file",
                              "check the URL; HIP downloads may be zip files to unpack first")
    return check
