"""An area's boundary from a file, checked and turned into an area grid.

Used by ``wetindex init --aoi FILE`` (and ``--kommune CODE`` with a boundary file):
any vector file GeoPandas reads (GeoJSON, GeoPackage, Shapefile) in any projected or
geographic CRS. The boundary is reprojected to the area's CRS and checked to be a
sensible polygon: valid, non-empty, with an area, not absurdly large and inside the
area of use of the CRS. Each failure is one :class:`BoundaryError` naming the file and
the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
import shapely.validation
from pyproj import CRS, Transformer

#: A boundary larger than this is a mistake (the largest Danish municipality is ~1 500 km²).
MAX_AREA_KM2 = 10_000.0
#: Degrees a boundary may reach outside the CRS's official area of use (UTM zones are
#: used beyond their edge in practice, e.g. EPSG:25832 for all Denmark up to Bornholm, 15.2°E).
AREA_OF_USE_SLACK_DEG = 4.0
#: Field names tried for a municipality code (DAGI's ``KOMKODE``, newer ``kommunekode``).
CODE_FIELDS = ("KOMKODE", "kommunekode", "komkode", "code")
NAME_FIELDS = ("KOMNAVN", "navn", "name", "NAME")


class BoundaryError(ValueError):
    """A boundary file that cannot be used, with what to do."""


@dataclass(frozen=True)
class Boundary:
    """A checked boundary in the area CRS."""

    geometry: Any  # shapely Polygon / MultiPolygon in ``crs``
    crs: str
    title: str
    source_crs: str

    @property
    def area_km2(self) -> float:
        return self.geometry.area / 1e6


def read_boundary(path: Path, crs: str = "EPSG:25832", code: str | None = None) -> Boundary:
    """Read, select (by municipality ``code``), reproject and check a boundary file.

    Parameters
    ----------
    path : Path
        Vector file with one or more polygons (all are merged, or the one with ``code``).
    crs : str
        The area's projected CRS.
    code : str, optional
        Municipality code to select, matched against :data:`CODE_FIELDS` (``"810"`` and
        ``"0810"`` are the same code).
    """
    import geopandas as gpd  # noqa: PLC0415 - geopandas takes ~1 s to import; only this path needs it

    path = Path(path)
    if not path.exists():
        raise BoundaryError(f"{path}: boundary file not found; pass an existing file to --aoi")
    try:
        frame = gpd.read_file(path)
    except Exception as err:
        raise BoundaryError(f"{path}: not a readable vector file ({err}); give a GeoJSON, "
                            "GeoPackage or Shapefile with the area's polygon") from None
    if frame.empty:
        raise BoundaryError(f"{path}: the file has no features; it must hold the area's polygon")
    if frame.crs is None:
        raise BoundaryError(f"{path}: the file has no CRS; set one (e.g. ogr2ogr -a_srs "
                            "EPSG:25832) or save it as GeoJSON in lon/lat")
    title = path.stem
    if code is not None:
        frame, title = _select_code(frame, code, path)
    else:
        name_field = next((f for f in NAME_FIELDS if f in frame.columns), None)
        if name_field and len(frame) == 1:
            title = str(frame[name_field].iloc[0])
    source_crs = frame.crs.to_string()
    _check_geographic_range(frame, path)
    geom = shapely.union_all(frame.geometry.values)
    geom = _check_polygon(geom, path)
    target = CRS.from_user_input(crs)
    if not target.is_projected:
        raise BoundaryError(f"area CRS {crs} is not projected; use a projected CRS in metres "
                            "such as EPSG:25832")
    _check_area_of_use(geom, frame.crs, target, path)
    projected = shapely.transform(
        geom, Transformer.from_crs(frame.crs, target, always_xy=True).transform,
        interleaved=False)
    projected = _check_polygon(projected, path)
    area_km2 = projected.area / 1e6
    if area_km2 > MAX_AREA_KM2:
        raise BoundaryError(f"{path}: the boundary covers {area_km2:,.0f} km², more than "
                            f"{MAX_AREA_KM2:,.0f} km²; give one municipality's boundary "
                            "(select it with --kommune CODE)")
    return Boundary(projected, target.to_string(), title, source_crs)


def _select_code(frame, code: str, path: Path):
    field = next((f for f in CODE_FIELDS if f in frame.columns), None)
    if field is None:
        raise BoundaryError(f"{path}: no municipality code field ({', '.join(CODE_FIELDS)}) "
                            "to select --kommune by; give a file with just your area to --aoi")
    wanted = str(code).strip().lstrip("0")
    match = frame[frame[field].astype(str).str.strip().str.lstrip("0") == wanted]
    if match.empty:
        raise BoundaryError(f"{path}: no feature with {field} = {code}; check the code")
    name_field = next((f for f in NAME_FIELDS if f in match.columns), None)
    title = str(match[name_field].iloc[0]) if name_field else f"Kommune {code}"
    return match, title


def _check_geographic_range(frame, path: Path) -> None:
    if not frame.crs.is_geographic:
        return
    x0, y0, x1, y1 = frame.total_bounds
    if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        raise BoundaryError(
            f"{path}: coordinates ({x0:.0f}, {y0:.0f}) … ({x1:.0f}, {y1:.0f}) are not lon/lat "
            f"although the file says {frame.crs.to_string()}; the file's CRS is wrong — set "
            "the real one (e.g. ogr2ogr -a_srs EPSG:25832)")


def _check_polygon(geom, path: Path):
    if geom is None or geom.is_empty:
        raise BoundaryError(f"{path}: the boundary is empty")
    if geom.geom_type == "GeometryCollection":
        geom = shapely.union_all([g for g in geom.geoms
                                  if g.geom_type in ("Polygon", "MultiPolygon")])
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise BoundaryError(f"{path}: the boundary is a {geom.geom_type}, not a polygon; give "
                            "the area's outline as a polygon")
    if not geom.is_valid:
        fixed = shapely.make_valid(geom)
        if fixed.geom_type == "GeometryCollection":
            fixed = shapely.union_all([g for g in fixed.geoms
                                       if g.geom_type in ("Polygon", "MultiPolygon")])
        if fixed.is_empty or not math.isclose(fixed.area, geom.area, rel_tol=0.01):
            raise BoundaryError(
                f"{path}: the polygon is invalid ({shapely.validation.explain_validity(geom)}); "
                "fix it (QGIS 'Fix geometries' or ogr2ogr -makevalid)")
        geom = fixed  # self-touching rings and the like: repaired without changing the area
    if not geom.area > 0:
        raise BoundaryError(f"{path}: the boundary has no area")
    return geom


def _check_area_of_use(geom, source, target: CRS, path: Path) -> None:
    use = target.area_of_use
    if use is None:
        return
    lon_lat = shapely.transform(
        geom, Transformer.from_crs(source, "EPSG:4326", always_xy=True).transform,
        interleaved=False)
    x0, y0, x1, y1 = lon_lat.bounds
    s = AREA_OF_USE_SLACK_DEG
    if x0 < use.west - s or x1 > use.east + s or y0 < use.south - s or y1 > use.north + s:
        raise BoundaryError(
            f"{path}: the boundary ({x0:.2f}, {y0:.2f}) … ({x1:.2f}, {y1:.2f}) in lon/lat lies "
            f"outside the area of use of {target.to_string()} ({use.name}); check the file's "
            "CRS, or choose a projected CRS for your area with --crs")


def grid_for(boundary: Boundary, cell_size: float = 10.0, margin_m: float = 500.0
             ) -> dict[str, Any]:
    """A grid covering the boundary plus ``margin_m`` (coast, upstream), snapped to cells."""
    if cell_size <= 0:
        raise BoundaryError(f"cell size must be positive, got {cell_size}")
    x0, y0, x1, y1 = boundary.geometry.bounds
    x_min = math.floor((x0 - margin_m) / cell_size) * cell_size
    y_min = math.floor((y0 - margin_m) / cell_size) * cell_size
    x_max = math.ceil((x1 + margin_m) / cell_size) * cell_size
    y_max = math.ceil((y1 + margin_m) / cell_size) * cell_size
    nx, ny = round((x_max - x_min) / cell_size), round((y_max - y_min) / cell_size)
    cells_inside = boundary.geometry.area / cell_size**2
    if cells_inside < 100:
        raise BoundaryError(f"the boundary holds only {cells_inside:.0f} cells of {cell_size} m; "
                            "use a smaller --cell-size or a larger area")
    return {"crs": boundary.crs, "cell_size": float(cell_size), "x_min": float(x_min),
            "y_max": float(y_max), "nx": int(nx), "ny": int(ny)}
