"""Permanent water and streams as inputs: the operator's polygons and lines on the grid.

``--input water=FILE``: polygons of lakes, ponds, wide rivers, normally wet ground (the
Danish water bodies, e.g. GeoDanmark ``Soe``/``Vandloebskant``, or any polygons).
``--input streams=FILE``: stream centre lines (GeoDanmark ``Vandloebsmidtelinje`` or any
lines). They become the static ``permanent_water`` and ``stream`` masks: drainage for
HAND and ``distance_to_stream``; ``permanent_water`` is never warned (it is wet on a dry
day) and labels inside it are not observations of flooding (they become unknown).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rasterio.features import rasterize

from wetindex.grid import AreaGrid
from wetindex.sources.base import InputMissingError

#: what each kind must be: polygons (areas) or lines
GEOMETRY = {"water": ("Polygon", "MultiPolygon"),
            "streams": ("LineString", "MultiLineString", "Polygon", "MultiPolygon")}


def read_vector(kind: str, path: Path, grid: AreaGrid):
    """An operator's vector file (any format GDAL reads) as a GeoDataFrame in the grid's CRS.

    One error naming the input ``kind`` when the file cannot be read or has no CRS.
    """
    import geopandas as gpd  # noqa: PLC0415 - geopandas takes ~1 s to import; only this path needs it

    try:
        frame = gpd.read_file(path)
    except Exception as err:
        raise InputMissingError(kind, f"{path}: not a readable vector file ({err})") from None
    if frame.crs is None:
        raise InputMissingError(kind, f"{path}: no CRS; set one (ogr2ogr -a_srs EPSG:25832)")
    return frame.to_crs(grid.crs)


def read_layer(kind: str, path: Path, grid: AreaGrid) -> np.ndarray:
    """A water layer (``water`` polygons or ``streams`` lines) as a boolean grid.

    Polygons cover the cells whose centre they hold (a lake's shore cell half on land is
    not permanent water); lines cover every cell they touch (a 2 m stream in a 10 m
    cell is still a stream).
    """
    geoms = [g for g in read_vector(kind, path, grid).geometry
             if g is not None and not g.is_empty]
    wrong = sorted({g.geom_type for g in geoms} - set(GEOMETRY[kind]))
    if wrong or not geoms:
        what = "polygons" if kind == "water" else "lines"
        raise InputMissingError(kind, f"{path}: {kind} must be {what}, the file has "
                                      f"{wrong or 'no geometries'}")
    lines = kind == "streams"
    return rasterize([(g, 1) for g in geoms], out_shape=grid.shape, transform=grid.transform,
                     fill=0, all_touched=lines).astype(bool)


def water_summary(permanent_water: np.ndarray, stream: np.ndarray, cell_size: float,
                  given: dict[str, bool]) -> list[str]:
    """Lines for ``check``: the water layers found, with counts."""
    km2 = cell_size**2 / 1e6
    out = []
    for kind, mask, unit in (("water", permanent_water, "permanent water"),
                             ("streams", stream, "stream")):
        if not given.get(kind):
            out.append(f"{kind}: none given (no {unit} known; add --input {kind}=FILE)")
            continue
        n = int(mask.sum())
        out.append(f"{kind}: {n} cells of {unit} ({n * km2:.3f} km²), never warned"
                   if kind == "water" else f"{kind}: {n} cells of {unit} "
                                           f"(~{n * cell_size / 1000:.2f} km)")
    return out
