"""Open-Meteo: the global fallback for rain, evaporation and sea level (coarse).

Requests (``timezone=UTC``, ``timeformat=iso8601``)::

    GET {forecast}/forecast?latitude=…&longitude=…&hourly=precipitation,et0_fao_evapotranspiration
    GET {archive}/archive?…&start_date=…&end_date=…&models=era5_land&hourly=…
    GET {marine}/marine?…&hourly=sea_level_height_msl

Several points go in one request as comma-separated lists; the answer is then a
list. Times are converted to UTC with ``utc_offset_seconds`` (an answer in local
time, as in the real sample, is shifted). Output on ``(time, point)``:
``rain`` [mm/h] from ``precipitation`` (mm in the hour ending at time),
``evaporation`` [mm/d] from hourly ``et0_fao_evapotranspiration`` × 24, and
``sea_level`` [m above model mean sea level] — 8 km tides + SMOC currents, flagged
``coarse`` (the provider: "accuracy at coastal areas is limited").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.sources.errors import SourceError
from wetindex.sources.http import describe_request
from wetindex.sources.session import SourceSession

#: Open-Meteo variable → (canonical name, expected unit, factor to canonical, canonical unit)
VARIABLES = {
    "precipitation": ("rain", "mm", 1.0, "mm/h"),
    "et0_fao_evapotranspiration": ("evaporation", "mm", 24.0, "mm/d"),
    "sea_level_height_msl": ("sea_level", "m", 1.0, "m"),
}
#: the 48-hour horizon plus a margin for the issue time falling late in a day
FORECAST_DAYS = 3
PRODUCTS = {
    "forecast": ("forecast", ("precipitation", "et0_fao_evapotranspiration")),
    "archive": ("archive", ("precipitation", "et0_fao_evapotranspiration")),
    "marine": ("marine", ("sea_level_height_msl",)),
}


def query(points: list[tuple[float, float]], variables: tuple[str, ...], *,
          start: Any = None, end: Any = None, model: str | None = None) -> dict[str, Any]:
    """Query parameters for ``points`` given as ``(lon, lat)``."""
    params: dict[str, Any] = {
        "latitude": ",".join(f"{lat:.4f}" for _, lat in points),
        "longitude": ",".join(f"{lon:.4f}" for lon, _ in points),
        "hourly": ",".join(variables), "timezone": "UTC", "timeformat": "iso8601"}
    if start is not None:
        params["start_date"] = pd.Timestamp(start).strftime("%Y-%m-%d")
    if end is not None:
        params["end_date"] = pd.Timestamp(end).strftime("%Y-%m-%d")
    if model:
        params["models"] = model
    return params


def hourly_dataset(doc: Any, variables: tuple[str, ...], *, source: str, request: str
                   ) -> xr.Dataset:
    """Canonical ``(time, point)`` variables from an Open-Meteo answer (one or a list)."""
    if isinstance(doc, dict) and doc.get("error"):
        raise SourceError(source, request, f"the service refused: {doc.get('reason')}",
                          "fix the parameter it names")
    docs = doc if isinstance(doc, list) else [doc]
    arrays: dict[str, list[np.ndarray]] = {v: [] for v in variables}
    times = None
    lons, lats = [], []
    for d in docs:
        hourly, units = d.get("hourly"), d.get("hourly_units")
        if not isinstance(hourly, dict) or not isinstance(units, dict) or "time" not in hourly:
            raise SourceError(source, request, "changed schema: no 'hourly'/'hourly_units'/"
                              f"'hourly.time' (keys: {', '.join(sorted(d))})",
                              "compare with Open-Meteo's API documentation")
        offset = pd.Timedelta(seconds=int(d.get("utc_offset_seconds", 0)))
        t = (pd.DatetimeIndex(pd.to_datetime(hourly["time"])) - offset).values
        if not len(t):
            raise SourceError(source, request, "empty answer: no hourly steps",
                              "check start_date/end_date against the product's range")
        if times is not None and not np.array_equal(times, t):
            raise SourceError(source, request, "points have different time axes",
                              "request the points separately")
        times = t
        for v in variables:
            if v not in hourly:
                raise SourceError(source, request,
                                  f"changed schema: no hourly '{v}' (has: "
                                  f"{', '.join(k for k in hourly if k != 'time')})",
                                  "the variable was renamed or is not in this product")
            _, unit, factor, _ = VARIABLES[v]
            if units.get(v) != unit:
                raise SourceError(source, request,
                                  f"wrong units: '{v}' in {units.get(v)!r}, expected {unit!r}",
                                  "remove unit options (precipitation_unit=...) from the request")
            arrays[v].append(np.asarray(hourly[v], dtype=float) * factor)
        lons.append(float(d.get("longitude", np.nan)))
        lats.append(float(d.get("latitude", np.nan)))
    ds = xr.Dataset(coords={"time": times, "point": np.arange(len(docs)),
                            "lon": ("point", lons), "lat": ("point", lats)})
    for v in variables:
        name, _, _, unit = VARIABLES[v]
        data = np.stack(arrays[v], axis=1)
        if name in ("rain", "evaporation") and (data < 0).any():
            raise SourceError(source, request, f"impossible value: negative {name} "
                              f"{data[data < 0][0]}", "report it to Open-Meteo; do not use")
        if name == "sea_level" and (np.abs(data[np.isfinite(data)]) > 10).any():
            raise SourceError(source, request, "impossible value: sea level beyond ±10 m",
                              "check the variable and its units")
        ds[name] = (("time", "point"), data, {"units": unit, "openmeteo_variable": v})
    ds.attrs.update(source=source, request=request)
    return ds


def fetch_hourly(session: SourceSession, product: str, points: list[tuple[float, float]], *,
                 start: Any = None, end: Any = None) -> xr.Dataset:
    """``forecast``, ``archive`` (ERA5-Land) or ``marine`` hourly series at ``points``."""
    path, variables = PRODUCTS[product]
    params = query(points, variables, start=start, end=end,
                   model="era5_land" if product == "archive" else None)
    if product != "archive" and start is None:
        params["forecast_days"] = FORECAST_DAYS
    url = session.entry.url(path)
    ds = hourly_dataset(session.fetch_json(url, params), variables, source=session.source,
                        request=describe_request("GET", url, params))
    ds.attrs.update(licence=session.entry.licence, attribution=session.entry.attribution,
                    coarse=int(session.entry.coarse))
    if product == "marine":
        ds["sea_level"].attrs.update(
            datum="model mean sea level, not a national datum", coarse=1,
            note="tides at 8 km and SMOC currents: a rough proxy, not a storm-surge model")
    return ds
