"""What the pages say: pure functions from forecast, warnings and status to page content.

Nothing here touches disk. Every sentence comes from the translation files; these
functions only choose which one and fill in places, times and probabilities.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely
import xarray as xr
from pyproj import Transformer
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from wetindex.alerts.messages import table
from wetindex.site.i18n import Formatter
from wetindex.warnings import LEVEL_NAMES, RunStatus, WarningArea

ForecastState = Literal["ok", "degraded", "missing"]


@dataclass(frozen=True)
class HourSummary:
    """The area-wide picture at one lead hour."""

    lead: int
    valid_time: datetime
    level: int
    probability: float


def validate_forecast(forecast: xr.Dataset) -> None:
    """Raise one clear ``ValueError`` if ``forecast`` is not the forecast contract."""
    fix = ("pass the model's forecast Dataset: probability (float 0–1) and level "
           "(uint8 0–3) on dims ('lead', 'y', 'x') with lead, valid_time and issue_time coords")
    if not isinstance(forecast, xr.Dataset):
        raise ValueError(
            f"forecast: expected an xarray Dataset, got {type(forecast).__name__}; {fix}")
    for var in ("probability", "level"):
        if var not in forecast:
            raise ValueError(f"forecast: variable {var!r} missing; {fix}")
        if set(forecast[var].dims) != {"lead", "y", "x"}:
            raise ValueError(f"forecast: {var} has dims {forecast[var].dims}; {fix}")
    for coord in ("lead", "issue_time"):
        if coord not in forecast.coords:
            raise ValueError(f"forecast: coordinate {coord!r} missing; {fix}")
    if forecast.sizes["lead"] == 0:
        raise ValueError(f"forecast: no lead times; {fix}")
    if forecast["probability"].rio.crs is None:
        raise ValueError("forecast: no CRS; write the grid CRS with .rio.write_crs()")


def forecast_state(forecast: xr.Dataset | None, status: RunStatus) -> ForecastState:
    """``missing`` if there is no usable forecast, ``degraded`` if any input was not fresh."""
    if forecast is None or not status.forecast_ok or status.issue_time is None:
        return "missing"
    return "ok" if status.healthy else "degraded"


def thresholds(forecast: xr.Dataset | None, attr: str = "thresholds") -> dict[str, float]:
    """Per-level values from ``forecast.attrs[attr]`` (dict or JSON string): the levels'
    ``thresholds`` of the warning score, or their ``warning_chance`` (the chance of new
    water each level needs, :class:`wetindex.config.WarningChance`)."""
    if forecast is None:
        return {}
    raw = forecast.attrs.get(attr, {})
    if isinstance(raw, str):
        raw = json.loads(raw)
    return {k: float(v) for k, v in dict(raw).items()}


def to_utc_datetime(value: Any) -> datetime:
    """Any datetime64/Timestamp/datetime as an aware UTC ``datetime``."""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def hour_summaries(forecast: xr.Dataset) -> list[HourSummary]:
    """Highest level and probability over the area at each lead hour."""
    issue = to_utc_datetime(forecast["issue_time"].values)
    levels = np.asarray(forecast["level"].max(("y", "x")).values)
    probs = np.asarray(forecast["probability"].max(("y", "x")).values)
    out = []
    for i, lead in enumerate(forecast["lead"].values):
        if "valid_time" in forecast.coords:
            valid = to_utc_datetime(forecast["valid_time"].values[i])
        else:
            valid = issue + pd.Timedelta(hours=int(lead))
        out.append(HourSummary(int(lead), valid, int(levels[i]), float(probs[i])))
    return out


def ordered_warnings(warnings: list[WarningArea]) -> list[WarningArea]:
    """Highest level first, then highest probability, then earliest onset."""
    return sorted(warnings, key=lambda w: (-w.level, -w.probability, w.onset))


def level_text(t: dict[str, Any], level: int) -> str:
    return t["levels"][LEVEL_NAMES[level]]


def driver_text(t: dict[str, Any], warning: WarningArea) -> str:
    # A driver group without a plain name is left out: internal keys never reach a page.
    names = [t["drivers"][d] for d in warning.main_drivers if d in t["drivers"]]
    return t["format"]["list_separator"].join(names) or t["drivers"]["other"]


def headline(t: dict[str, Any], f: Formatter, state: ForecastState,
             warnings: list[WarningArea], lang: str = "da") -> dict[str, Any]:
    """The first thing on the map page: the highest level and one sentence."""
    th = t["headline"]
    if warnings:
        top = ordered_warnings(warnings)[0]
        fill = {"place": top.place, "onset": f.local(top.onset),
                "expires": f.local(top.expires), "probability": f.percent(top.probability)}
        key = "one_warning" if len(warnings) == 1 else "many_warnings"
        return {
            "level": top.level, "level_key": LEVEL_NAMES[top.level],
            "title": t["level_short"][LEVEL_NAMES[top.level]],
            # the CAP message's instruction for that level, word for word
            "action": table(lang, "instruction")[top.level],
            "sentence": th[key].format(count=len(warnings), **fill),
        }
    if state == "missing":
        return {"level": None, "level_key": "missing", "title": th["no_forecast_title"],
                "action": "", "sentence": th["no_forecast"]}
    sentence = th["no_warnings_detail"] if state == "ok" else th["no_warnings_degraded"]
    return {"level": 0, "level_key": "none", "title": th["no_warnings"], "action": "",
            "sentence": sentence}


def hour_entries(t: dict[str, Any], f: Formatter, hours: list[HourSummary],
                 urls: dict[int, str]) -> list[dict[str, Any]]:
    """One entry per lead hour for the time control (all text already translated)."""
    tt = t["time"]
    entries = []
    for h in hours:
        if h.level > 0:
            summary = tt["hour_summary"].format(level=level_text(t, h.level),
                                                probability=f.percent(h.probability))
        else:
            summary = tt["hour_summary_none"]
        entries.append({
            "lead": h.lead, "url": urls[h.lead], "local": f.local(h.valid_time),
            "utc": f.utc(h.valid_time), "summary": summary, "level": h.level,
            "label": tt["range_value"].format(local=f.local(h.valid_time), lead=h.lead),
        })
    return entries


def warning_rows(t: dict[str, Any], f: Formatter,
                 warnings: list[WarningArea]) -> list[dict[str, Any]]:
    """Rows of the warnings table, highest level first."""
    return [{
        "place": w.place, "level": w.level, "level_key": w.level_name,
        "level_text": level_text(t, w.level), "action": t["level_short"][w.level_name],
        "onset": f.both(w.onset), "peak": f.both(w.peak_time),
        # still warned in the forecast's last hour: the end is not known, only "at least"
        "expires": t["warnings"]["beyond_horizon"].format(time=f.both(w.expires))
        if w.beyond_horizon else f.both(w.expires),
        "probability": f.percent(w.probability), "drivers": driver_text(t, w),
    } for w in ordered_warnings(warnings)]


def input_rows(t: dict[str, Any], f: Formatter, status: RunStatus) -> list[dict[str, Any]]:
    """Rows of the input-health table on the status page."""
    ts = t["status"]
    rows = []
    for item in status.inputs:
        if item.status == "fresh":
            state = ts["fresh"]
        elif item.status == "stale":
            state = (ts["stale_since"].format(since=f.both(item.last_time))
                     if item.last_time else ts["stale"])
        else:
            state = ts["missing"]
        rows.append({"name": t["inputs"].get(item.name, t["inputs"]["other"]),
                     "status": item.status,
                     "state": state, "last_time": f.both(item.last_time) if item.last_time
                     else ts["no_data_time"], "detail": item.detail})
    return rows


def unhealthy_inputs(t: dict[str, Any], f: Formatter, status: RunStatus) -> list[str]:
    """One line per input that was not fresh, for the banner."""
    return [f"{row['name']}: {row['state']}" for row in input_rows(t, f, status)
            if row["status"] != "fresh"]


def scorecard_tables(t: dict[str, Any], f: Formatter,
                     scorecard: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One table per metric: methods as rows, lead-time bins as columns."""
    if not scorecard:
        return []
    ta = t["about"]
    bins = list(scorecard.get("lead_bins", []))
    scores: dict[str, dict[str, list]] = scorecard.get("scores", {})
    metrics: list[str] = []
    for per_method in scores.values():
        metrics += [m for m in per_method if m not in metrics]
    tables = []
    for metric in metrics:
        rows = []
        for method, per_method in scores.items():
            # methods and metrics without a plain name are not shown to citizens
            if metric not in per_method or method not in ta["methods"]:
                continue
            values = list(per_method[metric]) + [None] * (len(bins) - len(per_method[metric]))
            rows.append({"method": ta["methods"].get(method, method),
                         "cells": [f.number(v) for v in values[: len(bins)]]})
        if metric not in ta["metrics"] or not rows:
            continue
        name = ta["metrics"][metric]
        tables.append({"metric": name["name"], "explain": name["explain"],
                       "bins": bins, "rows": rows})
    return tables


def _round_coords(obj: Any, digits: int = 6) -> Any:
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, list | tuple):
        return [_round_coords(v, digits) for v in obj]
    if isinstance(obj, dict):
        return {k: _round_coords(v, digits) for k, v in obj.items()}
    return obj


def outline_geojson(outline: BaseGeometry, crs: Any, tolerance: float) -> dict[str, Any]:
    """The area outline in lon/lat, simplified to ``tolerance`` metres for display."""
    if outline is None or outline.is_empty:
        raise ValueError("outline: empty geometry; pass the area boundary in the grid CRS")
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    simple = outline.simplify(tolerance, preserve_topology=True)
    ll = shapely.transform(simple, lambda x, y: tr.transform(x, y), interleaved=False)
    minx, miny, maxx, maxy = ll.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90) or not all(
        map(math.isfinite, ll.bounds)
    ):
        raise ValueError(f"outline: does not map to lon/lat from {crs}; pass it in the grid CRS")
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": _round_coords(mapping(ll))}]}


def _check_lonlat(warning: WarningArea) -> None:
    flat = np.asarray(shapely.get_coordinates(shapely.geometry.shape(warning.geometry)))
    if flat.size == 0:
        raise ValueError(f"warnings: {warning.warning_id} has an empty geometry")
    lon, lat = flat[:, 0], flat[:, 1]
    if lon.min() < -180 or lon.max() > 180 or lat.min() < -90 or lat.max() > 90:
        raise ValueError(
            f"warnings: geometry of {warning.warning_id} is not in lon/lat (WGS84); "
            "WarningArea.geometry must be GeoJSON in degrees"
        )


def warnings_geojson(warnings: list[WarningArea], state: ForecastState,
                     issue_time: datetime | None) -> dict[str, Any]:
    """The warnings as a GeoJSON FeatureCollection in lon/lat, for machines."""
    features = []
    for w in ordered_warnings(warnings):
        _check_lonlat(w)
        props = {k: v for k, v in w.to_dict().items() if k != "geometry"}
        props["main_drivers"] = w.main_drivers
        features.append({"type": "Feature", "id": w.warning_id, "properties": props,
                         "geometry": _round_coords(w.geometry)})
    return {
        "type": "FeatureCollection",
        "forecast_state": state,
        "issue_time": issue_time.astimezone(UTC).isoformat() if issue_time else None,
        "features": features,
    }


def map_warnings(t: dict[str, Any], f: Formatter, warnings: list[WarningArea]) -> dict[str, Any]:
    """Warnings for the map layer: level and a translated label per polygon."""
    features = []
    for w in ordered_warnings(warnings):
        label = t["map"]["warning_label"].format(
            level=level_text(t, w.level), place=w.place, probability=f.percent(w.probability),
            onset=f.local(w.onset), expires=f.local(w.expires))
        features.append({"type": "Feature", "properties": {"level": w.level, "label": label},
                         "geometry": _round_coords(w.geometry)})
    return {"type": "FeatureCollection", "features": features}
