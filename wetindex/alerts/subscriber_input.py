"""Getting subscribers in: area shapes from GeoJSON files or a point, and in-code
subscriptions (e.g. the demo's) seeded into the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wetindex.alerts.subscribers import SubscriberSpec, SubscriberStore
from wetindex.alerts.subscriptions import AreaSpec, Subscription, reproject


def _read_geojson(path: Any, kind: str) -> tuple[list, str]:
    """Coordinates of the one ``kind`` (Polygon/LineString) in a GeoJSON file, and its CRS."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not GeoJSON ({exc})") from None
    crs = (data.get("crs") or {}).get("properties", {}).get("name", "EPSG:4326")
    if data.get("type") == "FeatureCollection":
        features = data.get("features") or []
        if len(features) != 1:
            raise ValueError(f"{path}: needs exactly one feature, found {len(features)}")
        data = features[0]
    if data.get("type") == "Feature":
        data = data.get("geometry") or {}
    if data.get("type") != kind:
        raise ValueError(f"{path}: expected a {kind} geometry, found {data.get('type')!r}")
    coords = data["coordinates"][0] if kind == "Polygon" else data["coordinates"]
    return [tuple(c[:2]) for c in coords], "EPSG:4326" if "CRS84" in crs else crs


def area_shape(*, polygon_file: Any = None, line_file: Any = None, point: str | None = None,
               radius_m: float | None = None, buffer_m: float | None = None,
               crs: str = "EPSG:4326") -> AreaSpec:
    """The subscribed shape from files or a point: exactly one of polygon, line, point.

    GeoJSON files are in CRS84 (lon, lat) unless they name a ``crs``; ``point`` is
    ``"X,Y"`` in ``crs``.
    """
    given = [n for n, v in (("--polygon", polygon_file), ("--line", line_file),
                            ("--point", point)) if v is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of --polygon FILE, --line FILE --buffer M, "
                         f"--point X,Y --radius M (got {given or 'none'})")
    if polygon_file is not None:
        coords, file_crs = _read_geojson(polygon_file, "Polygon")
        return AreaSpec(crs=file_crs, polygon=coords)
    if line_file is not None:
        if buffer_m is None:
            raise ValueError("--line needs --buffer M (metres either side of the line)")
        coords, file_crs = _read_geojson(line_file, "LineString")
        return AreaSpec(crs=file_crs, line=coords, buffer_m=buffer_m)
    try:
        x, y = (float(v) for v in str(point).split(","))
    except ValueError:
        raise ValueError(f"--point {point!r}: give X,Y, e.g. 540100,6329900") from None
    if radius_m is None:
        raise ValueError("--point needs --radius M")
    return AreaSpec(crs=crs, point=(x, y), radius_m=radius_m)


def seed_subscribers(store: SubscriberStore, area: str, crs: str,
                     subscriptions: list[Subscription]) -> int:
    """Store in-code subscriptions (e.g. the demo's) not stored yet, matched by id.

    Each becomes an active subscriber with its area as a polygon in ``crs``. Returns
    how many were added; running it again adds none.
    """
    known = {s.id for s in store.list(area)}
    added = 0
    for sub in subscriptions:
        if sub.id in known:
            continue
        geometry = sub.geometry if not sub.crs or sub.crs == crs else reproject(
            sub.geometry, sub.crs, crs)
        if geometry.geom_type != "Polygon":
            raise ValueError(f"subscription {sub.id!r}: only a Polygon area can be seeded, "
                             f"not a {geometry.geom_type}")
        spec = SubscriberSpec(
            area=area, name=sub.name, email=sub.email, language=sub.language,
            channels=tuple(sub.channels), min_level=sub.min_level,  # type: ignore[arg-type]
            min_probability=sub.min_probability, max_lead_h=sub.max_lead_h,
            kind=sub.kind,  # type: ignore[arg-type]
            shape={"crs": crs, "polygon": list(geometry.exterior.coords)})
        store.add(spec, crs, subscriber_id=sub.id)
        added += 1
    return added
