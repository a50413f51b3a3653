"""The places a real area's warnings are named after.

A warning belongs to a meaningful place: a named settlement, a summer-house area, a
farm block, a dike section, a subscriber's area. An operator gives them as a vector
file (``--input places=FILE``: GeoJSON or GeoPackage polygons with a name
attribute, any CRS). Without one, the area is cut into square tiles of
:data:`DEFAULT_TILE_M` named by their row letter and column number ("Felt B3"),
clipped to the boundary, so a warning is never the whole municipality as one place.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import box

from wetindex.sources.base import Place

#: Side of the default tiles [m].
DEFAULT_TILE_M = 2000.0
#: Attribute names tried, in order, when the places file's name attribute is not given.
NAME_FIELDS: tuple[str, ...] = ("name", "navn", "NAME", "Name", "NAVN")


class PlacesInputError(ValueError):
    """A places file that cannot be used, with what to do."""


def read_places(path: Path, crs: str, name_field: str | None = None,
                outline: Any | None = None) -> list[Place]:
    """Named polygons from a GeoJSON/GeoPackage file, in the grid's ``crs``.

    Places outside ``outline`` (when given) are dropped; parts outside it are kept
    (a dike section may reach beyond the municipality's edge).
    """
    import geopandas as gpd  # noqa: PLC0415 - geopandas takes ~1 s to import; only this path needs it

    path = Path(path)
    try:
        frame = gpd.read_file(path)
    except Exception as err:  # every reader error gets the same advice
        raise PlacesInputError(f"{path}: cannot read the places file ({err}); give a "
                               "GeoJSON or GeoPackage of polygons with a name") from None
    if frame.crs is None:
        raise PlacesInputError(f"{path}: the places file has no CRS; save it with one "
                               "(GeoJSON is lon/lat by definition)")
    fields = [name_field] if name_field else [f for f in NAME_FIELDS if f in frame.columns]
    if not fields or fields[0] not in frame.columns:
        raise PlacesInputError(
            f"{path}: no name attribute ({name_field or ' / '.join(NAME_FIELDS)}) in "
            f"{sorted(c for c in frame.columns if c != 'geometry')}; set inputs.places."
            "variable to the attribute that holds the place names")
    frame = frame.to_crs(crs)
    polygons = frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygons.any():
        raise PlacesInputError(f"{path}: no polygons (got {sorted(set(frame.geom_type))}); "
                               "places are areas, not points or lines")
    places = []
    for name, geom in zip(frame[fields[0]][polygons], frame.geometry[polygons], strict=True):
        geom = shapely.make_valid(geom)
        if geom.is_empty or (outline is not None and not geom.intersects(outline)):
            continue
        places.append(Place(str(name), "place", geom))
    if not places:
        raise PlacesInputError(f"{path}: no place intersects the area; check the file's CRS")
    return places


def default_places(outline: Any, tile_m: float = DEFAULT_TILE_M) -> list[Place]:
    """Square tiles of ``tile_m`` over the outline, clipped to it, named "Felt B3"."""
    x0, y0, x1, y1 = outline.bounds
    cols = max(1, int(np.ceil((x1 - x0) / tile_m)))
    rows = max(1, int(np.ceil((y1 - y0) / tile_m)))
    places = []
    for r in range(rows):  # row A is the northernmost
        top = y1 - r * tile_m
        letter = _row_letter(r)
        for c in range(cols):
            left = x0 + c * tile_m
            part = box(left, top - tile_m, left + tile_m, top).intersection(outline)
            if part.is_empty or part.area < 0.05 * tile_m * tile_m:
                continue
            places.append(Place(f"Felt {letter}{c + 1}", "tile", part))
    return places


def _row_letter(i: int) -> str:
    letters = string.ascii_uppercase
    return letters[i] if i < len(letters) else letters[i // len(letters) - 1] + letters[
        i % len(letters)]
