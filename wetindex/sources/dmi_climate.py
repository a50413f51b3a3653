"""DMI climateData v2: daily rain and Makkink evaporation on the 10 km grid.

Request: ``GET {base}/collections/10kmGridValue/items?parameterId=…&timeResolution=day
&datetime=start/end&bbox=…`` paged by ``links rel=next``. Each feature is one cell
(``cellId`` such as ``10km_615_66``) and one day (``from``/``to``). Values are quality
controlled; gaps are interpolated by DMI. Output on ``(time, cell)`` with the cell's
lon/lat: ``evaporation`` [mm/d] from ``pot_evaporation_makkink``, ``rain_daily``
[mm/d] from ``acc_precip``. ``time`` is the start of the day (UTC).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from wetindex.sources.errors import SourceError
from wetindex.sources.http import describe_request
from wetindex.sources.observations import features_frame, rfc3339_interval, station_series
from wetindex.sources.session import SourceSession

#: DMI parameter → (canonical name, units, largest plausible daily value)
PARAMETERS = {
    "pot_evaporation_makkink": ("evaporation", "mm/d", 15.0),
    "acc_precip": ("rain_daily", "mm/d", 300.0),
}
FIELDS = ("cellId", "from", "parameterId", "timeResolution", "value")


def grid_values_from_features(features: list[dict[str, Any]], parameter: str, *, source: str,
                              request: str) -> xr.DataArray:
    """Daily grid-cell values of ``parameter`` on ``(time, cell)``."""
    name, units, largest = PARAMETERS[parameter]
    frame = features_frame(features, FIELDS, source=source, request=request,
                           what="grid values")
    frame = frame[(frame["parameterId"] == parameter) & (frame["timeResolution"] == "day")]
    if frame.empty:
        raise SourceError(source, request, f"empty answer: no daily '{parameter}' values",
                          "check parameterId, timeResolution=day and the bbox")
    values = frame["value"].to_numpy(float)
    if (values < 0).any() or (values > largest).any():
        bad = values[(values < 0) | (values > largest)][0]
        raise SourceError(source, request,
                          f"impossible value: {parameter} = {bad} {units}",
                          "a faulty value or a unit change: check DMI's parameter list")
    da = station_series(frame.rename(columns={"cellId": "cell"}), station_field="cell",
                        time_field="from", name=name, units=units,
                        attrs={"source": source, "parameter": parameter, "request": request,
                               "long_name": f"{parameter}, day starting at time"})
    return da.rename(station="cell")


def fetch_grid_values(session: SourceSession, parameter: str, start: Any, end: Any,
                      bbox: tuple[float, float, float, float], *,
                      collection: str = "10kmGridValue") -> xr.DataArray:
    """Daily values of ``parameter`` in all grid cells inside a lon/lat ``bbox``."""
    if parameter not in PARAMETERS:
        raise ValueError(f"{parameter!r}: use one of {sorted(PARAMETERS)}")
    url = session.entry.url(f"collections/{collection}/items")
    params = {"parameterId": parameter, "timeResolution": "day",
              "datetime": rfc3339_interval(start, end),
              "bbox": ",".join(f"{v:.4f}" for v in bbox), "limit": 300_000}
    features = list(session.feature_pages(url, params))
    da = grid_values_from_features(features, parameter, source=session.source,
                                   request=describe_request("GET", url, params))
    da.attrs.update(licence=session.entry.licence, attribution=session.entry.attribution)
    return da.astype(np.float64)
