"""Getting subscribers in: area shapes from GeoJSON files or a point (``subscribers
add``), a subscribers file (``subscribers import``) and in-code subscribers (the demo's),
all as the one model, :class:`~wetindex.alerts.subscribers.SubscriberSpec`.

A subscribers file is YAML, one entry per subscriber with the fields of
:class:`~wetindex.alerts.subscribers.SubscriberSpec` and an ``id``::

    subscribers:
      - id: digelag-klitten            # letters, digits, . _ - (a re-import matches by it)
        name: Digelaget Klitten        # shown in alerts as the place
        email: formand@example.dk      # and/or phone: "+45...", and/or webhook_url:
                                       # https://... with its webhook_secret: whsec_...
        language: da                   # da | en
        kind: dike_association         # household | dike_association | operator
        min_level: 2                   # 1 yellow, 2 orange, 3 red
        min_probability: 0.3           # optional floor on the probability thresholds
        max_lead_h: 24                 # only look this many hours ahead
        shape:
          crs: EPSG:25832              # of the coordinates below; default EPSG:4326 (lon, lat)
          line: [[540100, 6329900], [540300, 6329900]]
          buffer_m: 20                 # a dike section: the line buffered by 20 m
          # or  polygon: [[x, y], ...]
          # or  point: [x, y] with radius_m: 100

The area name comes from ``--area`` (an entry may repeat it as ``area: NAME``). The
old format (``subscriptions:``, the shape under ``area:``) is refused with one error
that says what to rename, so nothing is lost or read wrongly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wetindex.alerts.subscribers import SubscriberSpec, SubscriberStore, spec_problem
from wetindex.alerts.subscriptions import AreaSpec, area_geometry

OLD_FORMAT = ("{path}: this is the old subscriptions format ({what}); rename the top-level "
              "'subscriptions:' to 'subscribers:' and each entry's 'area:' (its shape) to "
              "'shape:' (the area name comes from --area), then import again")


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


class SubscribersFileError(ValueError):
    """A subscribers file that cannot be read at all (missing, not YAML, old format)."""


def _entries(path: Path) -> list:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SubscribersFileError(f"{path}: subscribers file not found") from None
    except yaml.YAMLError as err:
        raise SubscribersFileError(f"{path}: not valid YAML ({err})") from None
    if isinstance(data, dict) and "subscriptions" in data and "subscribers" not in data:
        raise SubscribersFileError(OLD_FORMAT.format(path=path, what="'subscriptions:'"))
    entries = data.get("subscribers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SubscribersFileError(f"{path}: expected a 'subscribers:' list at the top level")
    if any(isinstance(e, dict) and isinstance(e.get("area"), dict) for e in entries):
        raise SubscribersFileError(OLD_FORMAT.format(path=path, what="a shape under 'area:'"))
    return entries


def read_subscribers_file(path: Path, area: str, crs: str
                          ) -> tuple[list[SubscriberSpec], list[str]]:
    """``(subscribers, problems)`` of a subscribers file, entry by entry.

    Each entry is checked on its own, its shape included (in the grid ``crs``): one bad
    entry is one line in ``problems`` (file, entry, what is wrong) and does not hold back
    the others.

    Raises
    ------
    SubscribersFileError
        When the file as a whole cannot be read (missing, not YAML, the old format).
    """
    path = Path(path)
    out: list[SubscriberSpec] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(_entries(path)):
        ident = entry.get("id") if isinstance(entry, dict) else None
        label = f"entry #{i + 1}" + (f" (id {ident!r})" if ident else "")
        try:
            if not isinstance(entry, dict):
                raise ValueError("expected a mapping of fields")
            if not ident:
                raise ValueError("needs an 'id' (a re-import matches entries by it)")
            if entry.get("area", area) != area:
                raise ValueError(f"area {entry['area']!r} is not the imported area {area!r}")
            spec = SubscriberSpec.model_validate({**entry, "area": area})
            if spec.id in seen:
                raise ValueError(f"duplicate id {spec.id!r}; ids must be unique")
            area_geometry(spec.shape, crs, "its shape")
        except ValidationError as err:
            problems.append(spec_problem(err, f"{path}: {label} skipped"))
            continue
        except Exception as err:  # a shape or CRS that cannot be used: this entry only
            problems.append(f"{path}: {label} skipped: {err}")
            continue
        seen.add(spec.id)
        out.append(spec)
    return out, problems


def seed_subscribers(store: SubscriberStore, crs: str, specs: list[SubscriberSpec]) -> int:
    """Store each subscriber whose id is not stored yet (an import, the demo's seeds).

    Returns how many were added; running it again adds none.
    """
    known = {s.id for s in store.list()}
    added = 0
    for spec in specs:
        if spec.id is None:
            raise ValueError(f"subscriber {spec.name!r}: seeding needs an id")
        if spec.id not in known:
            store.add(spec, crs)
            known.add(spec.id)
            added += 1
    return added
