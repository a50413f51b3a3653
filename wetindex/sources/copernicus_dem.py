"""Copernicus DEM GLO-30: the global terrain fallback, from 1°×1° Cloud-Optimised GeoTIFFs.

Request per tile: ``GET {base}/{name}/{name}.tif`` with
``name = Copernicus_DSM_COG_10_N57_00_E009_00_DEM`` (``_10_`` = 1 arc-second).
Tiles are EPSG:4326, float32, heights in metres above EGM2008. This is a **surface
model** (buildings and trees included), not bare earth: the output says so in its
attributes, and local depressions under trees are filled. Ocean areas have no tile
(HTTP 404); the provider documents them as sea level, so such tiles read as 0 m
and are listed in ``attrs["ocean_tiles"]``. The mosaic is warped to the area grid
bilinearly.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from pyproj import Transformer
from rioxarray.merge import merge_arrays

from wetindex.grid import AreaGrid
from wetindex.sources.errors import SourceError
from wetindex.sources.harmonise import grid_bbox_lonlat, reproject_to_grid
from wetindex.sources.rasters import read_geotiff
from wetindex.sources.session import SourceSession


def tile_name(lat_south: int, lon_west: int) -> str:
    """Name of the 1° tile whose south-west corner is at (lat_south, lon_west)."""
    ns = "N" if lat_south >= 0 else "S"
    ew = "E" if lon_west >= 0 else "W"
    return (f"Copernicus_DSM_COG_10_{ns}{abs(lat_south):02d}_00_"
            f"{ew}{abs(lon_west):03d}_00_DEM")


def tiles_for_bbox(bbox: tuple[float, float, float, float]) -> list[tuple[str, int, int]]:
    """``(name, lat_south, lon_west)`` of every tile touching a lon/lat bbox."""
    west, south, east, north = bbox
    return [(tile_name(lat, lon), lat, lon)
            for lat in range(math.floor(south), math.ceil(north))
            for lon in range(math.floor(west), math.ceil(east))]


def fetch_dem(session: SourceSession, grid: AreaGrid) -> xr.DataArray:
    """Surface height [m above EGM2008] on ``grid``."""
    bbox = grid_bbox_lonlat(grid, pad_deg=0.01)
    pieces: list[xr.DataArray] = []
    ocean: list[str] = []
    for name, _, _ in tiles_for_bbox(bbox):
        url = session.entry.url(f"{name}/{name}.tif")
        try:
            answer = session.fetch(url, check=lambda c, r: read_geotiff(
                c, source=session.source, request=r, expected_crs="EPSG:4326"))
        except SourceError as err:
            if err.problem.startswith("HTTP 404"):
                ocean.append(name)
                continue
            raise
        pieces.append(read_geotiff(answer.content, source=session.source, request=f"GET {url}",
                                   expected_crs="EPSG:4326"))
    if not pieces:
        raise SourceError(session.source, session.entry.base_url,
                          f"no DEM tile exists for bbox {bbox} (all ocean?)",
                          "check the area's grid; an area fully at sea needs no terrain")
    mosaic = pieces[0] if len(pieces) == 1 else merge_arrays(pieces, nodata=np.nan)
    elevation = reproject_to_grid(mosaic, grid, "bilinear")
    if ocean:
        # ocean tiles are absent by design; the provider defines them as 0 m
        outside = np.isnan(elevation.values) & _outside_pieces(grid, pieces)
        elevation = elevation.where(~outside, 0.0)
    elevation.name = "elevation"
    elevation.attrs.update(
        units="m", datum="EGM2008", source=session.source, surface_model="DSM",
        note="Copernicus DEM is a surface model: buildings and vegetation included",
        ocean_tiles=",".join(ocean), licence=session.entry.licence,
        attribution=session.entry.attribution)
    return elevation


def _outside_pieces(grid: AreaGrid, pieces: list[xr.DataArray]) -> np.ndarray:
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(
        *np.meshgrid(grid.x, grid.y))
    inside = np.zeros(grid.shape, bool)
    for p in pieces:
        w, s, e, n = p.rio.bounds()
        inside |= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    return ~inside
