"""Observed water drawn as shapes: Copernicus EMS rapid-mapping polygons, operators'
water polygons and citizens' incident reports, rasterised to :class:`LabelMap` objects.

Shapes are reprojected from their own CRS to the area grid. A cell is water when
its centre lies inside a water shape, dry when it lies inside what was observed
(the EMS product's footprint within its area of interest, an operator's footprint
polygons) and no water shape, and unknown otherwise: a map says nothing about where
nobody looked, and a report only about where it is. Satellite water masks are in
:mod:`wetindex.model.labels`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio.features
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Point, shape

from wetindex.grid import AreaGrid
from wetindex.model.labels import (
    DRY,
    PERMANENT,
    SOURCE_CONFIDENCE,
    UNKNOWN,
    WET,
    LabelInputError,
    LabelMap,
)


def _to_grid_crs(geoms: list, src_crs: str | CRS, grid: AreaGrid) -> list:
    tr = Transformer.from_crs(src_crs, grid.crs, always_xy=True)
    return [shapely.transform(g, lambda x, y: tr.transform(x, y), interleaved=False)
            for g in geoms]


def rasterise(geoms: list, grid: AreaGrid, *, all_touched: bool = False) -> np.ndarray:
    """Boolean ``(ny, nx)``: cells whose centre is inside any of ``geoms`` (grid CRS)."""
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(grid.shape, dtype=bool)
    return rasterio.features.rasterize(
        [(g, 1) for g in geoms], out_shape=grid.shape, transform=grid.transform, fill=0,
        dtype="uint8", all_touched=all_touched).astype(bool)


# --------------------------------------------------------------------------- EMS

def _read_shapes(path: Path) -> tuple[list, list[dict], str]:
    import shapefile  # pyshp: pure Python, reads the EMS shapefiles without GDAL  # noqa: PLC0415 - pyshp, only for shapefile label input

    prj = path.with_suffix(".prj")
    crs = CRS.from_wkt(prj.read_text()).to_string() if prj.exists() else "EPSG:4326"
    with shapefile.Reader(str(path)) as r:
        names = [f.name for f in r.fields[1:]]
        geoms = [shape(s.__geo_interface__) for s in r.shapes()]
        records = [dict(zip(names, rec, strict=True)) for rec in r.records()]
    return geoms, records, crs


def _ems_order(prefix: str) -> tuple[int, str]:
    # the first delineation (…_DEL_v1) before its monitoring updates (…_DEL_MONIT01_v1, …)
    m = re.search(r"_MONIT(\d+)", prefix)
    return (int(m.group(1)) if m else 0, prefix)


def _ems_product(folder: Path, prefix: str, grid: AreaGrid) -> list[dict]:
    """The acquisitions of one EMS product: time, name, seen and wet cells."""
    events = folder / f"{prefix}_observed_event_a.shp"
    need = {k: folder / f"{prefix}_{k}" for k in
            ("image_footprint_a.shp", "area_of_interest_a.shp", "source.dbf")}
    missing = [p.name for p in need.values() if not p.exists()]
    if missing:
        raise LabelInputError(f"{folder}: EMS product {prefix} lacks {missing}")
    ev_geoms, ev_recs, crs = _read_shapes(events)
    fp_geoms, fp_recs, fp_crs = _read_shapes(need["image_footprint_a.shp"])
    aoi_geoms, _, aoi_crs = _read_shapes(need["area_of_interest_a.shp"])
    import shapefile  # noqa: PLC0415 - pyshp, only for shapefile label input

    with open(need["source.dbf"], "rb") as dbf, shapefile.Reader(dbf=dbf) as r:
        names = [f.name for f in r.fields[1:]]
        sources = {int(rec[names.index("src_id")]): dict(zip(names, rec, strict=True))
                   for rec in r.records()}
    aoi = rasterise(_to_grid_crs(aoi_geoms, aoi_crs, grid), grid)
    if not aoi.any():
        raise LabelInputError(f"{events}: the EMS area of interest does not intersect the "
                              "area grid; check the grid or the product")
    out = []
    for src_id in sorted({int(r["dmg_src_id"]) for r in ev_recs}):
        src = sources.get(src_id)
        if src is None:
            raise LabelInputError(f"{events}: dmg_src_id {src_id} not in the source table")
        when = pd.to_datetime(f"{src['src_date']} {src['source_tm']}", format="%d/%m/%Y %H:%M:%S")
        footprint = [g for g, r in zip(fp_geoms, fp_recs, strict=True)
                     if int(r["or_src_id"]) == src_id]
        seen = aoi & rasterise(_to_grid_crs(footprint, fp_crs, grid), grid)
        wet = rasterise(_to_grid_crs([g for g, r in zip(ev_geoms, ev_recs, strict=True)
                                      if int(r["dmg_src_id"]) == src_id], crs, grid), grid)
        out.append({"time": when, "prefix": prefix, "src_id": src_id,
                    "name": src["source_nam"], "seen": seen, "wet": wet,
                    "update": _ems_order(prefix)[0] > 0})
    return out


def read_ems_observations(folder: Path, grid: AreaGrid, *, product: str | None = None,
                          confidence: float | None = None,
                          permanent_water: np.ndarray | None = None) -> list[LabelMap]:
    """Copernicus EMS observed-flood polygons as one label map per satellite acquisition.

    Reads ``*_observed_event_a.shp`` (flood polygons, ``dmg_src_id`` → the source),
    ``*_image_footprint_a.shp`` (``or_src_id``), ``*_area_of_interest_a.shp`` and
    ``*_source.dbf`` (``src_date`` dd/mm/yyyy, ``source_tm``) of every product in
    the folder (the first delineation, then its monitoring updates ``_MONITnn``);
    an acquisition delivered by several products is read once. Cells inside the
    acquisition's footprint and the area of interest are dry unless an event
    polygon covers them; cells outside are unknown.

    A monitoring update adds the water of its new acquisition; it does not redraw
    the earlier water, so cells that were water before and that the update does
    not cover are unknown on its date, not dry. Permanent water is 2.

    Parameters
    ----------
    product : str, optional
        Prefix of one product to read (e.g. ``"EMSR332_02PADOVA_DEL_MONIT01_v1"``);
        default: all products in the folder.
    """
    folder = Path(folder)
    events = sorted(folder.glob(f"{product or '*'}_observed_event_a.shp"))
    if not events:
        raise LabelInputError(f"{folder}: no '{product or '*'}_observed_event_a.shp' "
                              "(Copernicus EMS schema)")
    prefixes = sorted((e.name.removesuffix("_observed_event_a.shp") for e in events),
                      key=_ems_order)
    acquisitions: dict[pd.Timestamp, dict] = {}
    for prefix in prefixes:
        for acq in _ems_product(folder, prefix, grid):
            acquisitions.setdefault(acq["time"], acq)  # the first product that mapped it
    out = []
    ever_wet = np.zeros(grid.shape, bool)
    for when in sorted(acquisitions):
        acq = acquisitions[when]
        seen, wet = acq["seen"], acq["wet"]
        values = np.full(grid.shape, UNKNOWN, dtype="int8")
        values[seen] = DRY
        if acq["update"]:
            values[seen & ever_wet] = UNKNOWN  # not redrawn by the update: not evidence of dry
        values[seen & wet] = WET
        if permanent_water is not None:
            values[seen & np.asarray(permanent_water, bool)] = PERMANENT
        ever_wet |= seen & wet
        out.append(LabelMap(values, when, when, "ems",
                            SOURCE_CONFIDENCE["ems"] if confidence is None else confidence,
                            f"{acq['prefix']} source {acq['src_id']} ({acq['name']})"))
    return out


# --------------------------------------------------------------------------- polygons

def water_polygon_maps(geoms: list, water: list[bool], times: list[pd.Timestamp],
                       grid: AreaGrid) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Water polygons (grid CRS) by time as ``(time, ny*nx)`` int8 maps.

    ``water`` False marks a polygon as the observed footprint (seen, dry unless a
    water polygon covers it). Outside the footprint a cell is unknown, never dry:
    a polygon file says nothing about where nobody looked. Without footprints,
    only the water is labelled.
    """
    frame = pd.DataFrame({"g": geoms, "water": water, "time": times})
    out_t, maps = [], []
    for t, part in frame.groupby("time"):
        seen = rasterise([g for g, w in zip(part.g, part.water, strict=True) if not w], grid)
        wet = rasterise([g for g, w in zip(part.g, part.water, strict=True) if w], grid)
        values = np.full(grid.shape, UNKNOWN, dtype="int8")
        values[seen] = DRY
        values[wet] = WET
        out_t.append(t)
        maps.append(values.ravel())
    return pd.DatetimeIndex(out_t), np.stack(maps)


# --------------------------------------------------------------------------- reports

def _report_geometry(props: dict, geom, default_radius: float):
    radius = float(props.get("radius_m") or default_radius)
    return geom.buffer(radius) if geom.geom_type in ("Point", "MultiPoint") else geom


def read_incident_reports(path: Path, grid: AreaGrid, *, crs: str | None = None,
                          default_radius_m: float | None = None,
                          default_duration_h: float = 3.0) -> list[LabelMap]:
    """Incident reports (CSV or GeoJSON) as label maps, one per report.

    CSV columns: ``time`` (UTC), either ``x``/``y`` (in ``crs``, default the
    grid's) or ``lon``/``lat``; optional ``end_time``, ``radius_m``, ``wet``
    (1 water seen, 0 "no water here"), ``source``, ``confidence``. GeoJSON:
    Point or Polygon features with the same properties; coordinates in CRS84
    unless the file has a ``crs`` member. A report says something only where
    it is: every other cell stays unknown.
    """
    path = Path(path)
    if not path.exists():
        raise LabelInputError(f"{path}: incident report file not found")
    radius = default_radius_m if default_radius_m is not None else grid.cell_size
    items: list[tuple[dict, object, str]] = []
    if path.suffix.lower() == ".csv":
        table = pd.read_csv(path)
        if "time" not in table:
            raise LabelInputError(f"{path}: a 'time' column (UTC) is required")
        if {"lon", "lat"} <= set(table.columns):
            src_crs, xs, ys = "EPSG:4326", table["lon"], table["lat"]
        elif {"x", "y"} <= set(table.columns):
            src_crs, xs, ys = crs or grid.crs, table["x"], table["y"]
        else:
            raise LabelInputError(f"{path}: give 'x'/'y' or 'lon'/'lat' columns")
        for (_, row), x, y in zip(table.iterrows(), xs, ys, strict=True):
            items.append((row.dropna().to_dict(), Point(float(x), float(y)), src_crs))
    elif path.suffix.lower() in (".geojson", ".json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        src_crs = crs or doc.get("crs", {}).get("properties", {}).get("name", "OGC:CRS84")
        for feature in doc.get("features", []):
            props = feature.get("properties") or {}
            if "time" not in props:
                raise LabelInputError(f"{path}: every feature needs a 'time' property (UTC)")
            items.append((props, shape(feature["geometry"]), src_crs))
    else:
        raise LabelInputError(f"{path}: incident reports must be .csv or .geojson")
    out = []
    for i, (props, geom, src_crs) in enumerate(items):
        start = pd.Timestamp(props["time"])
        start = start.tz_convert("UTC").tz_localize(None) if start.tzinfo else start
        end = (pd.Timestamp(props["end_time"]) if props.get("end_time")
               else start + pd.Timedelta(hours=default_duration_h))
        end = end.tz_convert("UTC").tz_localize(None) if end.tzinfo else end
        g = _to_grid_crs([geom], src_crs, grid)[0]
        cells = rasterise([_report_geometry(props, g, radius)], grid, all_touched=True)
        if not cells.any():
            continue  # outside the area: says nothing about it
        values = np.full(grid.shape, UNKNOWN, dtype="int8")
        values[cells] = WET if int(props.get("wet", 1)) == 1 else DRY
        source = str(props.get("source", "report"))
        conf = float(props.get("confidence", SOURCE_CONFIDENCE["report"]))
        out.append(LabelMap(values, start, end, source, conf, f"{path.name} #{i}"))
    return out
