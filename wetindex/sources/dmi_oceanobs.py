"""DMI oceanObs v2: observed sea level at tide gauges, in m above DVR90.

Request: ``GET {base}/collections/observation/items?parameterId=sealev_dvr&stationId=…
&datetime=start/end``, paged by ``links rel=next``. DMI gives ``sealev_dvr`` (and
``sea_reg`` for Kystdirektoratet gauges) in **centimetres**; the output ``sea_level``
is in metres above DVR90 on ``(time, station)``, 10-minute steps as observed.
A value beyond ±5 m of DVR90 has never been seen on a Danish coast (record surges
are about 2 m) and is reported as a faulty value or a unit change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from wetindex.sources.errors import SourceError
from wetindex.sources.http import describe_request
from wetindex.sources.observations import features_frame, rfc3339_interval, station_series
from wetindex.sources.session import SourceSession

#: parameters in cm relative to DVR90
SEA_LEVEL_PARAMETERS_CM = ("sealev_dvr", "sea_reg")
FIELDS = ("observed", "parameterId", "stationId", "value")
MAX_ABS_SEA_LEVEL_M = 5.0


def sea_level_from_features(features: list[dict[str, Any]], parameter: str, *, source: str,
                            request: str) -> xr.DataArray:
    """``sea_level`` [m above DVR90] on ``(time, station)`` from oceanObs features."""
    if parameter not in SEA_LEVEL_PARAMETERS_CM:
        raise ValueError(f"{parameter!r}: use one of {SEA_LEVEL_PARAMETERS_CM} (DVR90, cm)")
    frame = features_frame(features, FIELDS, source=source, request=request,
                           what="sea-level observations")
    frame = frame[frame["parameterId"] == parameter]
    if frame.empty:
        raise SourceError(source, request, f"empty answer: no '{parameter}' values",
                          "check the station id; Kystdirektoratet gauges report 'sea_reg'")
    metres = frame["value"].to_numpy(float) / 100.0
    if (np.abs(metres) > MAX_ABS_SEA_LEVEL_M).any():
        worst = metres[np.argmax(np.abs(metres))]
        raise SourceError(
            source, request,
            f"impossible value: sea level {worst:.2f} m above DVR90 "
            f"({worst * 100:.0f} cm as sent)",
            "a faulty gauge value or a change of units: exclude the station or check the "
            "provider's parameter documentation")
    frame = frame.assign(value=metres)
    da = station_series(frame, station_field="stationId", time_field="observed",
                        name="sea_level", units="m",
                        attrs={"source": source, "parameter": parameter, "request": request,
                               "datum": "DVR90", "long_name": "observed sea level above DVR90",
                               "converted_from": "cm"})
    return da


def fetch_sea_level(session: SourceSession, station_ids: list[str], start: Any, end: Any, *,
                    parameter: str = "sealev_dvr") -> xr.DataArray:
    """Observed sea level [m above DVR90] of tide gauges."""
    url = session.entry.url("collections/observation/items")
    features: list[dict[str, Any]] = []
    first = None
    for station in station_ids:
        params = {"stationId": station, "parameterId": parameter,
                  "datetime": rfc3339_interval(start, end), "limit": 300_000}
        first = first or params
        features.extend(session.feature_pages(url, params))
    request = describe_request("GET", url, first)
    da = sea_level_from_features(features, parameter, source=session.source, request=request)
    da.attrs.update(licence=session.entry.licence, attribution=session.entry.attribution)
    return da
