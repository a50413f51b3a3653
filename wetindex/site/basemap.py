"""The base map a citizen recognises: roads, buildings and water, served by the site.

The operator gives vector files (an OpenStreetMap extract or GeoDanmark's
``vejmidte``/``bygning``/``soe``, as GeoJSON, GeoPackage or Shapefile in any
declared CRS; the demo makes its own in :mod:`wetindex.demo.basemap`). At publish
time each layer is clipped to the area, simplified to what a phone screen can show,
reduced to a ``name`` and a ``kind`` per feature, and written as a small GeoJSON file
in lon/lat under ``static/basemap/``. Leaflet draws them under the risk layers; the
buildings are loaded only when the reader zooms in far enough to see them, so the
first load stays small.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

#: Layers the site draws, bottom first, with their display simplification [m].
LAYERS: dict[str, float] = {"water": 3.0, "landuse": 5.0, "roads": 2.0, "buildings": 0.5}

#: Zoom from which buildings are loaded and drawn.
BUILDINGS_MIN_ZOOM = 15

#: Buildings are split into square tiles of this size [m]; the browser loads only the
#: tiles in view (a municipality has 10⁵ buildings, a street a few dozen).
BUILDING_TILE_M = 1000.0

FOLDER = "static/basemap"


class BasemapError(ValueError):
    """A base-map layer the site cannot use; the message names the layer and the fix."""


def _frame(source: Any, layer: str, crs: Any):
    import geopandas as gpd  # noqa: PLC0415 - geopandas takes ~1 s to import; only this path needs it

    if isinstance(source, gpd.GeoDataFrame):
        gdf = source
    else:
        path = Path(source)
        if not path.is_file():
            raise BasemapError(f"site.basemap.{layer}: {path} not found; fix the path in the "
                               "area config")
        try:
            gdf = gpd.read_file(path)
        except Exception as err:  # pyogrio's errors vary by driver
            raise BasemapError(f"site.basemap.{layer}: {path} is not a readable vector file "
                               f"(GeoJSON, GeoPackage, Shapefile): {err}") from err
    if gdf.crs is None:
        raise BasemapError(f"site.basemap.{layer}: no CRS declared; save it with its CRS")
    return gdf.to_crs(crs)


def round_coordinates(obj: Any) -> Any:
    """GeoJSON coordinates rounded to 5 decimals (about 1 m in lon/lat): smaller files."""
    if isinstance(obj, float):
        return round(obj, 5)
    if isinstance(obj, list | tuple):
        return [round_coordinates(v) for v in obj]
    if isinstance(obj, dict):
        return {k: round_coordinates(v) for k, v in obj.items()}
    return obj


def _text(row: Any, *names: str) -> str:
    for n in names:
        v = row.get(n) if hasattr(row, "get") else None
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def write_basemap(out_dir: Path, layers: dict[str, Any] | None, *, crs: Any,
                  outline: BaseGeometry) -> dict[str, str]:
    """Clip, simplify and write each base-map layer; return layer -> release-relative path.

    Parameters
    ----------
    out_dir : Path
        Root of the site being built.
    layers : dict or None
        Layer name (one of :data:`LAYERS`) -> path of a vector file or a GeoDataFrame.
    crs : CRS
        The area grid's CRS (clipping and simplification happen in metres).
    outline : shapely geometry
        Area boundary in ``crs``; features are clipped to it plus 200 m.
    """
    if not layers:
        return {}
    unknown = sorted(set(layers) - set(LAYERS))
    if unknown:
        raise BasemapError(f"site.basemap: unknown layer(s) {unknown}; use {list(LAYERS)}")
    clip = outline.buffer(200.0)
    written: dict[str, str] = {}
    for layer in LAYERS:
        if layer not in layers:
            continue
        gdf = _frame(layers[layer], layer, crs)
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
        gdf = gdf[gdf.intersects(clip)].copy()
        gdf["geometry"] = gdf.geometry.intersection(clip).simplify(
            LAYERS[layer], preserve_topology=True)
        gdf = gdf[~gdf.geometry.is_empty]
        if layer == "buildings":
            written[layer] = _write_building_tiles(out_dir, gdf)
            continue
        rel = f"{FOLDER}/{layer}.geojson"
        _write_features(out_dir / rel, gdf)
        written[layer] = rel
    return written


def _features(gdf) -> list[dict[str, Any]]:
    ll = gdf.to_crs("EPSG:4326")
    features = []
    for geom, (_, row) in zip(ll.geometry, ll.drop(columns="geometry").iterrows(),
                              strict=True):
        props = {"kind": _text(row, "kind", "highway", "type", "vejkategori", "bygningstype")}
        name = _text(row, "name", "navn", "vejnavn")
        if name:
            props["name"] = name
        features.append({"type": "Feature", "properties": props,
                         "geometry": round_coordinates(mapping(geom))})
    return features


def _write_features(path: Path, gdf) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": _features(gdf)},
                               ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _write_building_tiles(out_dir: Path, gdf) -> str:
    """Buildings in square tiles plus an index of the tiles' lon/lat bounds."""
    centres = gdf.geometry.representative_point()
    ti = (centres.x // BUILDING_TILE_M).astype(int)
    tj = (centres.y // BUILDING_TILE_M).astype(int)
    tiles = []
    for (i, j), part in gdf.groupby([ti.to_numpy(), tj.to_numpy()]):
        name = f"{i}-{j}.geojson"
        _write_features(out_dir / FOLDER / "buildings" / name, part)
        w, s, e, n = part.to_crs("EPSG:4326").total_bounds
        bounds = [[float(s), float(w)], [float(n), float(e)]]
        tiles.append({"b": round_coordinates(bounds), "u": name})
    rel = f"{FOLDER}/buildings/index.json"
    (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / rel).write_text(json.dumps({"tiles": tiles}, separators=(",", ":")),
                               encoding="utf-8")
    return rel
