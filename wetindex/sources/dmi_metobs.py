"""DMI metObs v2: observed rain by station (``precip_past1h``, ``precip_past10min``).

Request: ``GET {base}/collections/observation/items?parameterId=…&datetime=start/end``
with ``stationId`` or ``bbox`` (lon/lat), paged by ``links rel=next``. Values are raw
(not quality controlled); DMI's trace code ``-0.1`` mm is read as 0, any other
negative value is an error. Output: ``rain`` [mm/h] on ``(time, station)``, each hour
labelled by its end (``precip_past1h`` observed at 07:00 covers 06:00–07:00).
Ten-minute values are summed to hours; an hour with fewer than six values is NaN,
never a smaller sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.sources.errors import SourceError
from wetindex.sources.http import describe_request
from wetindex.sources.observations import features_frame, rfc3339_interval, station_series
from wetindex.sources.session import SourceSession

RAIN_PARAMETERS = {"precip_past1h": 1, "precip_past10min": 6}
FIELDS = ("observed", "parameterId", "stationId", "value")
#: DMI's code for a trace of rain
TRACE = -0.1
#: more than this in one hour at a Danish station is treated as a faulty value
MAX_RAIN_MM_H = 200.0


def observation_query(parameter: str, start: Any, end: Any, *, station_id: str | None = None,
                      bbox: tuple[float, float, float, float] | None = None,
                      limit: int = 300_000) -> dict[str, Any]:
    """Query parameters of one observation request."""
    params: dict[str, Any] = {"parameterId": parameter,
                              "datetime": rfc3339_interval(start, end), "limit": limit}
    if station_id is not None:
        params["stationId"] = station_id
    if bbox is not None:
        params["bbox"] = ",".join(f"{v:.4f}" for v in bbox)
    return params


def rain_from_features(features: list[dict[str, Any]], parameter: str, *, source: str,
                       request: str) -> xr.DataArray:
    """Hourly ``rain`` [mm/h] on ``(time, station)`` from metObs features."""
    if parameter not in RAIN_PARAMETERS:
        raise ValueError(f"{parameter!r} is not a rain parameter; use one of "
                         f"{sorted(RAIN_PARAMETERS)}")
    frame = features_frame(features, FIELDS, source=source, request=request,
                           what="observations")
    frame = frame[frame["parameterId"] == parameter]
    if frame.empty:
        raise SourceError(source, request, f"empty answer: no '{parameter}' values",
                          "check parameterId and the station; the station may not measure rain")
    values = frame["value"].to_numpy(float)
    negative = (values < 0) & ~np.isclose(values, TRACE)
    if negative.any():
        raise SourceError(source, request,
                          f"impossible value: negative rain {values[negative][0]} mm",
                          "the observation is faulty: exclude the station or report it to DMI")
    if (values > MAX_RAIN_MM_H).any():
        raise SourceError(source, request,
                          f"impossible value: {values.max()} mm of rain in one interval",
                          "the observation is faulty: exclude the station or report it to DMI")
    frame = frame.assign(value=np.where(np.isclose(values, TRACE), 0.0, values))
    attrs = {"source": source, "parameter": parameter, "request": request,
             "long_name": "observed rain, hour ending at time"}
    series = station_series(frame, station_field="stationId", time_field="observed",
                            name="rain", units="mm/h", attrs=attrs)
    if RAIN_PARAMETERS[parameter] == 1:
        # keep only values on the hour; an hourly sum observed off the hour is unusual
        return series.sel(time=series.time.dt.minute == 0)
    return _ten_minute_to_hourly(series)


def _ten_minute_to_hourly(series: xr.DataArray) -> xr.DataArray:
    frame = series.to_pandas()
    hourly = frame.resample("1h", closed="right", label="right")
    total = hourly.sum(min_count=1)
    count = hourly.count()
    total = total.where(count == 6)
    out = xr.DataArray(total.to_numpy(), dims=("time", "station"),
                       coords={"time": total.index.values, "station": series.station.values,
                               "lon": series.lon, "lat": series.lat}, name="rain")
    out.attrs.update(series.attrs)
    out.attrs["aggregation"] = "sum of six 10-minute values; NaN when any is missing"
    return out


def fetch_rain(session: SourceSession, start: Any, end: Any, *,
               station_ids: list[str] | None = None,
               bbox: tuple[float, float, float, float] | None = None,
               parameter: str = "precip_past1h") -> xr.DataArray:
    """Observed hourly rain of stations (by id, or all in a lon/lat ``bbox``)."""
    url = session.entry.url("collections/observation/items")
    queries = ([observation_query(parameter, start, end, station_id=s) for s in station_ids]
               if station_ids else [observation_query(parameter, start, end, bbox=bbox)])
    features: list[dict[str, Any]] = []
    for query in queries:
        features.extend(session.feature_pages(url, query))
    request = describe_request("GET", url, queries[0]) + (
        f" (+{len(queries) - 1} more stations)" if len(queries) > 1 else "")
    rain = rain_from_features(features, parameter, source=session.source, request=request)
    rain.attrs.update(licence=session.entry.licence, attribution=session.entry.attribution)
    return rain


def fetch_stations(session: SourceSession, bbox: tuple[float, float, float, float]
                   ) -> pd.DataFrame:
    """Stations in a lon/lat bbox: ``stationId``, ``name``, ``lon``, ``lat``."""
    url = session.entry.url("collections/station/items")
    params = {"bbox": ",".join(f"{v:.4f}" for v in bbox), "limit": 10_000}
    features = list(session.feature_pages(url, params))
    return features_frame(features, ("stationId", "name"), source=session.source,
                          request=describe_request("GET", url, params),
                          what="stations").drop_duplicates("stationId", keep="last")
