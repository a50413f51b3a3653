"""Warning areas as integrators can use them: merged, simplified, never smaller.

A warning's geometry comes from the grid: hundreds of 10 m squares, some touching
only at a corner. A CAP consumer (a siren system, an app, a broadcaster) needs a few
polygons with at most a few hundred vertices. :func:`simplify_for_cap`

1. works in metres (a local equirectangular projection about the area's centre,
   accurate to well under a metre over a municipality);
2. merges cells closer than ``gap`` metres (a closing: buffer out, buffer in);
3. drops holes (a CAP polygon has none; a warning covers too much rather than too
   little);
4. simplifies with a growing tolerance until the total vertex count is at most
   ``max_vertices``, and buffers the result out by the tolerance (mitred corners) so
   the simplified area still covers every warned cell.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

MAX_VERTICES = 300
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


def _exteriors(geometry: BaseGeometry) -> BaseGeometry:
    polygons = [geometry] if geometry.geom_type == "Polygon" else list(
        getattr(geometry, "geoms", []))
    return shapely.MultiPolygon([shapely.Polygon(p.exterior) for p in polygons
                                 if p.geom_type == "Polygon" and not p.is_empty])


def vertex_count(geometry: dict[str, Any]) -> int:
    """Vertices of the exterior rings of a GeoJSON (Multi)Polygon."""
    rings = [geometry["coordinates"][0]] if geometry["type"] == "Polygon" else [
        poly[0] for poly in geometry["coordinates"]]
    return sum(len(r) for r in rings)


def simplify_for_cap(geometry: dict[str, Any], *, max_vertices: int = MAX_VERTICES,
                     gap: float = 15.0) -> dict[str, Any]:
    """A GeoJSON (Multi)Polygon in lon/lat, merged and simplified (see module docstring)."""
    g = shape(geometry)
    if g.is_empty:
        raise ValueError("warning geometry is empty")
    lon0, lat0 = g.centroid.x, g.centroid.y
    kx = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))

    scale = np.array([kx, _M_PER_DEG_LAT])
    origin = np.array([lon0, lat0])
    metric = shapely.transform(g, lambda xy: (xy - origin) * scale)
    # the cells may overlap or touch: a MultiPolygon of them is not valid until dissolved
    metric = shapely.union_all(list(getattr(metric, "geoms", [metric])))
    merged = metric.buffer(gap / 2, join_style="mitre").buffer(-gap / 2, join_style="mitre")
    merged = _exteriors(shapely.union(merged, metric))
    tolerance = 2.0
    while True:
        simple = merged.simplify(tolerance, preserve_topology=True)  # valid, so the buffer is right
        covering = _exteriors(simple.buffer(tolerance, join_style="mitre"))
        n = sum(len(p.exterior.coords) for p in covering.geoms)
        if n <= max_vertices or tolerance > 5_000:
            break
        tolerance *= 1.5
        # parts that the tolerance can no longer tell apart are merged too
        merged = _exteriors(merged.buffer(tolerance, join_style="mitre")
                            .buffer(-tolerance, join_style="mitre").union(merged))
    out = shapely.transform(covering, lambda xy: xy / scale + origin)
    parts = list(out.geoms)
    return mapping(parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts))
