"""DMI Forecast EDR v1: HARMONIE rain and DKSS storm-surge sea level, 0–48 h.

Requests (OGC API – EDR, GeoJSON output; no limit/offset paging):

* ``GET {base}/collections/{c}/position?coords=POINT(lon lat)&crs=crs84
  &parameter-name=…&f=GeoJSON`` for one point;
* ``GET {base}/collections/{c}/cube?bbox=w,s,e,n&crs=crs84&parameter-name=…&f=GeoJSON``
  for an area.

Each feature is one point at one ``step`` (valid time, UTC). HARMONIE DINI
(``harmonie_dini_sf``) ``total-precipitation`` is accumulated since the model run
started [kg/m² = mm]: it is de-accumulated to hourly ``rain`` [mm/h], labelled by
the end of each hour; the first step of an answer has no predecessor and is dropped
(its hour is unknown, not dry) unless the run start is given. DKSS
(``dkss_nsbs``, ``dkss_lf``, …) ``sea-mean-deviation`` is in metres relative to mean
sea level and is returned as ``sea_level`` [m] with that datum recorded.
``temperature-2m`` is kept in Kelvin as ``air_temperature``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.sources.errors import SourceError
from wetindex.sources.http import describe_request
from wetindex.sources.observations import rfc3339_interval, utc_naive
from wetindex.sources.session import SourceSession

#: EDR parameter → (canonical name, units)
PARAMETERS = {
    "total-precipitation": ("precipitation_accumulated", "mm"),
    "sea-mean-deviation": ("sea_level", "m"),
    "temperature-2m": ("air_temperature", "K"),
}
#: a de-accumulated hour may dip below zero by GRIB packing noise; beyond this it is an error
NOISE_MM = 0.05
MAX_ABS_SURGE_M = 5.0


def edr_query(parameters: list[str], *, point: tuple[float, float] | None = None,
              bbox: tuple[float, float, float, float] | None = None,
              start: Any = None, end: Any = None) -> tuple[str, dict[str, Any]]:
    """``(query type, params)`` of a position or cube request."""
    params: dict[str, Any] = {"crs": "crs84", "parameter-name": ",".join(parameters),
                              "f": "GeoJSON"}
    if start is not None or end is not None:
        params["datetime"] = rfc3339_interval(start, end)
    if point is not None:
        params["coords"] = f"POINT({point[0]:.5f} {point[1]:.5f})"
        return "position", params
    if bbox is None:
        raise ValueError("give a point or a bbox")
    params["bbox"] = ",".join(f"{v:.4f}" for v in bbox)
    return "cube", params


def edr_dataset(doc: Any, parameters: list[str], *, source: str, request: str) -> xr.Dataset:
    """Point series ``(time, point)`` of ``parameters`` from an EDR GeoJSON answer."""
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise SourceError(source, request, "the answer is not a GeoJSON FeatureCollection",
                          "ask for f=GeoJSON; the default EDR format is CoverageJSON")
    rows = []
    for i, feature in enumerate(doc["features"]):
        props = feature.get("properties") or {}
        missing = [p for p in ("step", *parameters) if p not in props]
        if missing:
            raise SourceError(
                source, request,
                f"changed schema: feature {i} has no {', '.join(map(repr, missing))} "
                f"(fields present: {', '.join(sorted(props)) or 'none'})",
                "the parameter may be renamed or not in this collection: list it with "
                "/collections/{c} and update the connector")
        lon, lat = (feature.get("geometry") or {}).get("coordinates", [np.nan, np.nan])[:2]
        rows.append({"step": props["step"], "lon": round(float(lon), 6),
                     "lat": round(float(lat), 6), **{p: props[p] for p in parameters}})
    if not rows:
        raise SourceError(source, request, "empty answer: no forecast steps",
                          "the model run may not be published yet, or the point/bbox is outside "
                          "the model's domain; the forecast input stays missing")
    frame = pd.DataFrame(rows)
    frame["time"] = utc_naive(frame["step"])
    points = frame[["lon", "lat"]].drop_duplicates().reset_index(drop=True)
    points["point"] = np.arange(len(points))
    frame = frame.merge(points, on=["lon", "lat"])
    ds = xr.Dataset(coords={"point": points["point"].to_numpy(),
                            "lon": ("point", points["lon"].to_numpy()),
                            "lat": ("point", points["lat"].to_numpy())})
    for p in parameters:
        name, units = PARAMETERS.get(p, (p.replace("-", "_"), ""))
        frame[p] = pd.to_numeric(frame[p], errors="coerce")
        table = frame.pivot_table(index="time", columns="point", values=p, aggfunc="last",
                                  dropna=False).reindex(columns=points["point"])
        ds[name] = xr.DataArray(table.to_numpy(float), dims=("time", "point"),
                                coords={"time": table.index.values},
                                attrs={"units": units, "edr_parameter": p})
    ds.attrs.update(source=source, request=request)
    return ds


def deaccumulate(accumulated: xr.DataArray, *, source: str, request: str,
                 run_start: Any = None) -> xr.DataArray:
    """Hourly ``rain`` [mm/h] from rain accumulated since the run start.

    Steps must be hourly. With ``run_start`` the first step's accumulation counts from
    the run start; without it the first step is dropped.
    """
    acc = accumulated.sortby("time")
    steps = np.diff(acc.time.values).astype("timedelta64[m]").astype(int)
    if (steps != 60).any():
        raise SourceError(source, request,
                          f"forecast steps are not hourly (steps of {sorted(set(steps))} min)",
                          "ask for the hourly steps (datetime) or resample before de-accumulating")
    rain = acc.diff("time", label="upper")
    if run_start is not None:
        run = pd.Timestamp(run_start)
        run = run.tz_convert("UTC").tz_localize(None) if run.tzinfo else run
        first_h = acc.time.values[0] - np.datetime64(run)
        if first_h == np.timedelta64(1, "h"):
            rain = xr.concat([acc.isel(time=[0]), rain], dim="time")
    if float(rain.min()) < -NOISE_MM:
        raise SourceError(source, request,
                          f"impossible value: accumulated rain falls by {-float(rain.min()):.2f} "
                          "mm in an hour (the answer mixes model runs, or is not accumulated)",
                          "fetch a single model run (one instance) and de-accumulate again")
    rain = rain.clip(min=0.0)
    rain.name = "rain"
    rain.attrs = {"units": "mm/h", "long_name": "forecast rain, hour ending at time",
                  "source": source, "request": request,
                  "method": "difference of total-precipitation accumulated since run start"}
    return rain


def fetch_harmonie_rain(session: SourceSession, *, point: tuple[float, float] | None = None,
                        bbox: tuple[float, float, float, float] | None = None,
                        collection: str = "harmonie_dini_sf",
                        run_start: Any = None, instance: str | None = None) -> xr.DataArray:
    """Hourly forecast rain [mm/h] of HARMONIE at a point or in a lon/lat bbox.

    ``instance`` asks one model run (an EDR instance id) instead of the latest.
    """
    kind, params = edr_query(["total-precipitation"], point=point, bbox=bbox)
    path = f"instances/{instance}/{kind}" if instance else kind
    url = session.entry.url(f"collections/{collection}/{path}")
    request = describe_request("GET", url, params)
    ds = edr_dataset(session.fetch_json(url, params), ["total-precipitation"],
                     source=session.source, request=request)
    rain = deaccumulate(ds["precipitation_accumulated"], source=session.source,
                        request=request, run_start=run_start)
    rain.attrs.update(licence=session.entry.licence, attribution=session.entry.attribution)
    return rain


def fetch_surge(session: SourceSession, *, point: tuple[float, float] | None = None,
                bbox: tuple[float, float, float, float] | None = None,
                collection: str = "dkss_nsbs", instance: str | None = None) -> xr.DataArray:
    """Forecast sea level [m relative to mean sea level] of a DKSS storm-surge model.

    ``instance`` asks one model run (an EDR instance id) instead of the latest.
    """
    kind, params = edr_query(["sea-mean-deviation"], point=point, bbox=bbox)
    path = f"instances/{instance}/{kind}" if instance else kind
    url = session.entry.url(f"collections/{collection}/{path}")
    request = describe_request("GET", url, params)
    ds = edr_dataset(session.fetch_json(url, params), ["sea-mean-deviation"],
                     source=session.source, request=request)
    level = ds["sea_level"]
    if not np.isfinite(level.values).any():
        raise SourceError(session.source, request, "every sea level is missing (a land point?)",
                          "pick a point in the sea covered by this DKSS domain")
    worst = float(np.nanmax(np.abs(level.values)))
    if worst > MAX_ABS_SURGE_M:
        raise SourceError(session.source, request,
                          f"impossible value: sea level deviation of {worst:.1f} m",
                          "a unit change (cm?) or a faulty run: check the parameter's units")
    level.attrs.update(units="m", datum="model mean sea level (DKSS), not DVR90",
                       source=session.source, request=request, collection=collection,
                       licence=session.entry.licence, attribution=session.entry.attribution)
    return level
