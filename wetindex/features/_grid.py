"""Input checks and output wrapping shared by the terrain features.

One clear error per bad input: it names the input and says what to do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr


def check_grid(da: xr.DataArray, name: str) -> float:
    """Check that ``da`` is a north-up, square-celled grid in a projected CRS; return cell size."""
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"{name}: expected an xarray.DataArray, got {type(da).__name__}")
    if da.dims != ("y", "x"):
        raise ValueError(
            f"{name}: dims are {da.dims}; expected ('y', 'x') "
            "(use .rename() / .transpose('y', 'x'))"
        )
    if da.sizes["y"] < 2 or da.sizes["x"] < 2:
        raise ValueError(f"{name}: a grid needs at least 2 x 2 cells, got {da.shape}")
    crs = da.rio.crs
    if crs is None:
        raise ValueError(
            f"{name}: no CRS; write the projected CRS with .rio.write_crs('EPSG:25832') "
            "(or the area's CRS)"
        )
    if crs.is_geographic:
        raise ValueError(
            f"{name}: CRS {crs.to_string()} is geographic (degrees); terrain features need a "
            "projected CRS in metres: reproject first, e.g. .rio.reproject('EPSG:25832')"
        )
    units = (crs.linear_units or "").lower()
    if units not in ("metre", "meter", "m", "metres", "meters"):
        raise ValueError(
            f"{name}: CRS {crs.to_string()} has linear units {crs.linear_units!r}; "
            "reproject to a CRS in metres"
        )
    x = np.asarray(da["x"].values, dtype=float)
    y = np.asarray(da["y"].values, dtype=float)
    dx = np.diff(x)
    dy = -np.diff(y)
    if not (np.all(dx > 0) and np.all(dy > 0)):
        raise ValueError(
            f"{name}: x must increase and y must decrease (north-up); "
            "use .sortby('x').sortby('y', ascending=False)"
        )
    cell = float(dx[0])
    if not (np.allclose(dx, cell, rtol=1e-6) and np.allclose(dy, dy[0], rtol=1e-6)):
        raise ValueError(f"{name}: coordinates are not regularly spaced; resample to a grid")
    if not np.isclose(dy[0], cell, rtol=1e-6):
        raise ValueError(
            f"{name}: cells are not square ({cell:g} m x {dy[0]:g} m); "
            "resample with .rio.reproject(..., resolution=SIZE)"
        )
    return cell


def raw_values(da: xr.DataArray) -> np.ndarray:
    """The values as a float NumPy array with NaN at nodata (computes Dask input)."""
    values = np.asarray(da.values)
    if not np.issubdtype(values.dtype, np.floating):
        nodata = da.rio.nodata if da.rio.nodata is not None else da.attrs.get("_FillValue")
        out = values.astype(np.float32)
        if nodata is not None:
            out[values == nodata] = np.nan
        return out
    nodata = da.rio.nodata
    if nodata is not None and not np.isnan(nodata):
        values = np.where(values == nodata, np.nan, values).astype(values.dtype)
    return values


def check_elevation(elevation: xr.DataArray, name: str = "elevation") -> tuple[np.ndarray, float]:
    """Validated elevation as C-contiguous float32 (NaN = nodata) and the cell size.

    Terrain is computed in float32: 1e-5 m resolution at 100 m, far finer than any DEM,
    half the memory of float64, and one compiled version of each kernel.
    """
    cell = check_grid(elevation, name)
    z = np.ascontiguousarray(raw_values(elevation), dtype=np.float32)
    if not np.isfinite(z).any():
        raise ValueError(f"{name}: all cells are nodata (NaN); check the input file and its extent")
    if np.isinf(z).any():
        raise ValueError(f"{name}: contains infinite values; set them to NaN (nodata)")
    return z, cell


def not_below_input(level: xr.DataArray, elevation: xr.DataArray) -> xr.DataArray:
    """Keep ``level >= elevation`` exact for float64 input despite float32 computing.

    Where the float32 level equals the float32 elevation the cell is not raised, so it
    gets the input value itself; raised cells are already above the input.
    """
    if elevation.dtype != np.float64:
        return level
    z = raw_values(elevation)
    values = level.values
    exact = np.where(values == z.astype(np.float32), z, values.astype(np.float64))
    return level.copy(data=exact)


def check_same_grid(mask: xr.DataArray, like_da: xr.DataArray, name: str) -> None:
    """Raise if ``mask`` is not on the grid of ``like_da``."""
    if not isinstance(mask, xr.DataArray):
        raise TypeError(f"{name}: expected an xarray.DataArray, got {type(mask).__name__}")
    if mask.dims != ("y", "x") or mask.shape != like_da.shape:
        raise ValueError(
            f"{name}: shape {dict(mask.sizes)} differs from the elevation grid "
            f"{dict(like_da.sizes)}; reproject it with .rio.reproject_match(elevation)"
        )
    for dim in ("x", "y"):
        if dim in mask.coords and not np.allclose(
            mask[dim].values, like_da[dim].values, rtol=0, atol=1e-6 * abs(
                float(like_da["x"].values[1] - like_da["x"].values[0]))
        ):
            raise ValueError(
                f"{name}: {dim} coordinates differ from the elevation grid; "
                "reproject it with .rio.reproject_match(elevation)"
            )


def as_mask(mask: xr.DataArray, like_da: xr.DataArray, name: str) -> np.ndarray:
    """A bool NumPy mask on the grid of ``like_da`` (NaN counts as False)."""
    check_same_grid(mask, like_da, name)
    values = np.asarray(mask.values)
    if values.dtype == bool:
        return values
    return np.nan_to_num(values.astype(np.float64), nan=0.0) != 0


def like(template: xr.DataArray, values: Any, name: str, units: str | None, **attrs: Any
         ) -> xr.DataArray:
    """Wrap ``values`` (NumPy or Dask, shape of ``template``) on the grid of ``template``."""
    coords = {k: v for k, v in template.coords.items() if set(v.dims) <= {"y", "x"}}
    da = xr.DataArray(values, dims=("y", "x"), coords=coords, name=name)
    if units is not None:
        da.attrs["units"] = units
    da.attrs.update(attrs)
    return da.rio.write_crs(template.rio.crs, inplace=True)
