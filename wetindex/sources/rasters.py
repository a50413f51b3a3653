"""Reading raster answers (GeoTIFF bytes) with checks: format, CRS, nodata."""

from __future__ import annotations

import numpy as np
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from rasterio.io import MemoryFile

from wetindex.sources.errors import SourceError


def read_geotiff(content: bytes, *, source: str, request: str,
                 expected_crs: str | None = None) -> xr.DataArray:
    """The first band of a GeoTIFF answer as a float32 DataArray (nodata → NaN).

    Raises
    ------
    SourceError
        The answer is not a readable raster (an XML service exception, a truncated
        file), or its CRS is not ``expected_crs``.
    """
    if not content.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        head = content[:300].decode("utf-8", "replace").replace("\n", " ").strip()
        raise SourceError(source, request,
                          f"the answer is not a GeoTIFF but: {head[:200]!r}",
                          "read the service's message above; check the coverage name, the bbox "
                          "and the token")
    try:
        with MemoryFile(content) as mem, mem.open() as src:
            data = src.read(1, masked=True).astype(np.float32).filled(np.nan)
            crs = src.crs
            transform = src.transform
            height, width = src.height, src.width
    except rasterio.errors.RasterioError as err:
        raise SourceError(source, request, f"the GeoTIFF cannot be read ({err}): truncated?",
                          "fetch again; a partial download is not cached") from None
    if crs is None:
        raise SourceError(source, request, "the raster has no CRS",
                          "ask the service for an explicit CRS")
    if expected_crs is not None and crs != rasterio.crs.CRS.from_user_input(expected_crs):
        raise SourceError(source, request,
                          f"the raster is in {crs.to_string()}, expected {expected_crs}",
                          f"request CRS={expected_crs} (or fix the source's crs in "
                          "data_sources/ if the provider changed it)")
    x = transform.c + (np.arange(width) + 0.5) * transform.a
    y = transform.f + (np.arange(height) + 0.5) * transform.e
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x})
    return da.rio.write_crs(crs).rio.write_transform(transform).rio.write_nodata(np.nan)
