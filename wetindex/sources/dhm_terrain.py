"""The Danish terrain model (DHM) through the Dataforsyningen WCS, tiled.

Request per tile (WCS 1.0.0)::

    GET {base}?SERVICE=WCS&VERSION=1.0.0&REQUEST=GetCoverage&COVERAGE=dhm_terraen
        &CRS=EPSG:25832&BBOX=minE,minN,maxE,maxN&WIDTH=w&HEIGHT=h&FORMAT=GTiff&token=…

The token comes from ``DATAFORSYNINGEN_TOKEN`` (free from a Dataforsyningen user
profile); it is sent, never cached, logged or recorded. The native grid is 0.4 m;
the service resamples to the requested ``WIDTH``/``HEIGHT``, so tiles are blocks of
the area grid of at most :data:`MAX_TILE_PX` cells a side. Output: ``elevation``
[m above DVR90] on the area grid (EPSG:25832; another grid CRS is reprojected).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from pyproj import Transformer

from wetindex.grid import AreaGrid
from wetindex.sources.errors import SourceError
from wetindex.sources.harmonise import reproject_to_grid
from wetindex.sources.http import describe_request
from wetindex.sources.rasters import read_geotiff
from wetindex.sources.session import SourceSession

TOKEN_VARIABLE = "DATAFORSYNINGEN_TOKEN"
NATIVE_CRS = "EPSG:25832"
MAX_TILE_PX = 2000
#: heights outside this range are not Danish terrain (DVR90)
PLAUSIBLE_M = (-30.0, 250.0)


def tiles(grid: AreaGrid, max_px: int = MAX_TILE_PX) -> list[tuple[slice, slice]]:
    """``(rows, cols)`` blocks of the grid, each at most ``max_px`` a side."""
    return [(slice(r, min(r + max_px, grid.ny)), slice(c, min(c + max_px, grid.nx)))
            for r in range(0, grid.ny, max_px) for c in range(0, grid.nx, max_px)]


def tile_query(grid: AreaGrid, rows: slice, cols: slice, coverage: str) -> dict[str, str]:
    """WCS 1.0.0 GetCoverage parameters (without the token) of one block."""
    x0 = grid.x_min + cols.start * grid.cell_size
    x1 = grid.x_min + cols.stop * grid.cell_size
    y1 = grid.y_max - rows.start * grid.cell_size
    y0 = grid.y_max - rows.stop * grid.cell_size
    return {"SERVICE": "WCS", "VERSION": "1.0.0", "REQUEST": "GetCoverage",
            "COVERAGE": coverage, "CRS": NATIVE_CRS, "RESPONSE_CRS": NATIVE_CRS,
            "BBOX": f"{x0:.2f},{y0:.2f},{x1:.2f},{y1:.2f}",
            "WIDTH": str(cols.stop - cols.start), "HEIGHT": str(rows.stop - rows.start),
            "FORMAT": "GTiff"}


def fetch_terrain(session: SourceSession, grid: AreaGrid, *, coverage: str = "dhm_terraen",
                  max_px: int = MAX_TILE_PX) -> xr.DataArray:
    """Terrain height [m DVR90] on ``grid`` (``dhm_terraen``: bare earth; ``dhm_overflade``:
    surface)."""
    if grid.crs.upper() != NATIVE_CRS:
        native = _covering_native_grid(grid)
        return reproject_to_grid(fetch_terrain(session, native, coverage=coverage,
                                               max_px=max_px), grid, "bilinear")
    token = session.credential(TOKEN_VARIABLE, "the terrain model's pixels need a free token "
                               "from a Dataforsyningen user profile")
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    for rows, cols in tiles(grid, max_px):
        params = tile_query(grid, rows, cols, coverage)
        request = describe_request("GET", session.entry.base_url, params)
        answer = session.fetch(session.entry.base_url, params, secret_params={"token": token},
                               check=lambda c, r: read_geotiff(c, source=session.source,
                                                               request=r,
                                                               expected_crs=NATIVE_CRS))
        tile = read_geotiff(answer.content, source=session.source, request=request,
                            expected_crs=NATIVE_CRS)
        want = (rows.stop - rows.start, cols.stop - cols.start)
        if tile.shape != want:
            raise SourceError(session.source, request,
                              f"tile of {tile.shape[0]}×{tile.shape[1]} cells, asked for "
                              f"{want[0]}×{want[1]}",
                              "the service ignored WIDTH/HEIGHT: lower max_px or check the WCS")
        out[rows, cols] = tile.values
    finite = out[np.isfinite(out)]
    if finite.size == 0:
        raise SourceError(session.source, describe_request("GET", session.entry.base_url, {}),
                          "every terrain cell is nodata", "is the area inside Denmark?")
    if finite.min() < PLAUSIBLE_M[0] or finite.max() > PLAUSIBLE_M[1]:
        raise SourceError(session.source, session.entry.base_url,
                          f"heights from {finite.min():.1f} to {finite.max():.1f} m are not "
                          "Danish terrain in metres", "check the coverage and its units")
    return grid.data_array(out, "elevation", "m", datum="DVR90", source=session.source,
                           coverage=coverage, licence=session.entry.licence,
                           attribution=session.entry.attribution,
                           resampling="by the WCS from the 0.4 m grid")


def _covering_native_grid(grid: AreaGrid) -> AreaGrid:
    west, south, east, north = Transformer.from_crs(
        grid.crs, NATIVE_CRS, always_xy=True).transform_bounds(*grid.bounds, densify_pts=21)
    size = grid.cell_size if grid.cell_size > 0.3 else 0.4
    x0 = np.floor(west / size) * size
    y1 = np.ceil(north / size) * size
    return AreaGrid(NATIVE_CRS, size, x0, y1, int(np.ceil((east - x0) / size)) + 1,
                    int(np.ceil((y1 - south) / size)) + 1)
