"""Station observations from OGC API – Features answers (DMI metObs, oceanObs, climateData).

Turns GeoJSON features into a tidy table and a ``(time, station)`` DataArray with
``lon``/``lat`` coordinates, checking the schema on the way: a renamed or missing
field, an empty answer or a non-numeric value is one clear error, never a gap
filled with zeros. Times are UTC (stored as naive ``datetime64[ns]`` in UTC, as
everywhere in wetindex).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.sources.errors import SourceError


def utc_naive(values: Any) -> pd.DatetimeIndex:
    """Parse RFC3339 times to a naive UTC index."""
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).tz_localize(None)


def rfc3339_interval(start: Any, end: Any) -> str:
    """``start/end`` in RFC3339 UTC (``..`` for an open end)."""
    def one(t: Any) -> str:
        if t is None:
            return ".."
        ts = pd.Timestamp(t)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{one(start)}/{one(end)}"


def features_frame(features: Iterable[dict[str, Any]], fields: Sequence[str], *, source: str,
                   request: str, what: str) -> pd.DataFrame:
    """Properties of ``features`` as a table, with ``lon``/``lat`` from point geometries.

    Raises
    ------
    SourceError
        No features, or a feature lacking one of ``fields`` (a changed schema).
    """
    rows = []
    for i, feature in enumerate(features):
        props = feature.get("properties") or {}
        missing = [f for f in fields if f not in props]
        if missing:
            raise SourceError(
                source, request,
                f"changed schema: feature {i} has no field {', '.join(map(repr, missing))} "
                f"(fields present: {', '.join(sorted(props)) or 'none'})",
                "the provider renamed or removed a field: update the connector's field names "
                "to the provider's current documentation")
        geom = feature.get("geometry") or {}
        lon, lat = _representative_lonlat(geom)
        rows.append({**{f: props[f] for f in fields}, "lon": lon, "lat": lat})
    if not rows:
        raise SourceError(source, request, f"empty answer: no {what} in this window",
                          "check the station/area and the time window (the station may be out "
                          "of service, or the data not yet published); the input stays missing")
    frame = pd.DataFrame(rows)
    if "value" in frame:
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
        bad = frame["value"].isna() & pd.Series([r["value"] is not None for r in rows])
        if bad.any():
            raise SourceError(source, request,
                              f"non-numeric value {rows[int(np.argmax(bad))]['value']!r}",
                              "the provider changed its value format: report it / update the "
                              "connector")
    return frame


def _representative_lonlat(geom: dict[str, Any]) -> tuple[float, float]:
    coords = geom.get("coordinates")
    if not coords:
        return (np.nan, np.nan)
    if geom.get("type") == "Point":
        return float(coords[0]), float(coords[1])
    flat = np.asarray(_flatten(coords), dtype=float).reshape(-1, 2)
    return float(flat[:, 0].mean()), float(flat[:, 1].mean())


def _flatten(coords: Any) -> list[float]:
    if isinstance(coords[0], (int, float)):
        return list(coords[:2])
    out: list[float] = []
    for c in coords:
        out.extend(_flatten(c))
    return out


def station_series(frame: pd.DataFrame, *, station_field: str, time_field: str,
                   name: str, units: str, attrs: dict[str, Any]) -> xr.DataArray:
    """Pivot a table of observations into ``(time, station)`` with lon/lat coords.

    Duplicate (time, station) rows keep the last one (DMI re-publishes corrected
    values with a later ``created``).
    """
    frame = frame.assign(time=utc_naive(frame[time_field]))
    frame = frame.sort_values([station_field, "time"])
    table = frame.pivot_table(index="time", columns=station_field, values="value",
                              aggfunc="last", dropna=False)
    where = frame.groupby(station_field)[["lon", "lat"]].first().reindex(table.columns)
    da = xr.DataArray(
        table.to_numpy(dtype=np.float64), dims=("time", "station"),
        coords={"time": table.index.values, "station": table.columns.astype(str).values,
                "lon": ("station", where["lon"].to_numpy(float)),
                "lat": ("station", where["lat"].to_numpy(float))},
        name=name)
    da.attrs.update(units=units, **attrs)
    return da
