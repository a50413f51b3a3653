"""One page per place: its level hour by hour, its drivers, what to do.

A place's probability at an hour is the probability that at least ``min_area_m2``
(1 ha, the same rule as the warnings) of it reaches: the k-th highest cell
probability in the place, k = cells per hectare. Its level at an hour is the highest
level that at least that much of the place reaches. Where the place has a warning,
the onset, peak and end shown are the warning's own (one computation for site, feed
and alerts); the hourly curve only draws them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
import xarray as xr
from pyproj import Transformer
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from wetindex.forecast_io import read_cells
from wetindex.grid import AreaGrid
from wetindex.risk import place_raster, slug
from wetindex.site import chart
from wetindex.site.basemap import round_coordinates
from wetindex.site.i18n import LOCAL_TZ, Formatter
from wetindex.warnings import LEVEL_NAMES, WarningArea


@dataclass(frozen=True)
class SitePlace:
    """A named place of the area (``geometry`` in the grid CRS)."""

    name: str
    kind: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class PlaceSeries:
    """What the place page shows, before translation."""

    place: SitePlace
    slug: str
    #: Probability per lead hour (NaN without a forecast).
    probability: list[float]
    #: Level 0–3 per lead hour.
    levels: list[int]
    warning: WarningArea | None
    #: ``[[south, west], [north, east]]`` in degrees.
    bounds: list[list[float]]
    #: Simplified outline in lon/lat (GeoJSON geometry).
    outline: dict[str, Any]
    #: ``[lat, lon]`` of the place's name on the map (a point inside the place).
    label_at: list[float]


def as_site_places(places: list[Any] | None, outline: BaseGeometry, area_name: str,
                   warnings: list[WarningArea] = (), crs: Any = None) -> list[SitePlace]:
    """Places given as objects with ``name``, ``geometry`` (and ``kind``).

    When none are given: the whole area, and each warning's own area (its lon/lat
    geometry taken back to the grid CRS ``crs``), so every warning has a page.
    """
    if not places:
        out = [SitePlace(area_name, "area", outline)]
        if crs is not None:
            tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
            for w in warnings:
                geom = shapely.transform(shapely.geometry.shape(w.geometry),
                                         lambda x, y: tr.transform(x, y), interleaved=False)
                if w.place != area_name:
                    out.append(SitePlace(w.place, "warning", geom))
        return out
    out = []
    for p in places:
        geom = getattr(p, "geometry", None)
        if not getattr(p, "name", "") or geom is None or geom.is_empty:
            raise ValueError(f"places: {p!r} needs a name and a non-empty geometry (grid CRS)")
        out.append(SitePlace(p.name, getattr(p, "kind", "place"), geom))
    return out


def _lonlat(geom: BaseGeometry, crs: Any) -> BaseGeometry:
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda x, y: tr.transform(x, y), interleaved=False)


def place_series(places: list[SitePlace], grid: AreaGrid, forecast: xr.Dataset | None,
                 warnings: list[WarningArea], *, min_area_m2: float = 10_000.0
                 ) -> list[PlaceSeries]:
    """The hourly probability and level of every place (see module docstring)."""
    index = place_raster(places, grid)
    min_cells = max(1, math.ceil(min_area_m2 / grid.cell_area))
    by_place = {w.place: w for w in warnings}
    n_lead = forecast.sizes["lead"] if forecast is not None else 48
    out = []
    for i, place in enumerate(places, start=1):
        flat = np.flatnonzero(index.ravel() == i)
        probs = [math.nan] * n_lead
        levels = [0] * n_lead
        if forecast is not None and flat.size:
            k = min(min_cells, flat.size)
            p = read_cells(forecast, "probability", flat)  # the place's window only
            lv = read_cells(forecast, "level", flat)
            # k-th highest per hour: the probability reached by at least k cells
            probs = [float(v) for v in np.partition(p, p.shape[1] - k, axis=1)[:, -k]]
            levels = [max((lvl for lvl in (3, 2, 1) if int((row >= lvl).sum()) >= k),
                          default=0) for row in lv]
        ll = _lonlat(place.geometry, grid.crs)
        w, s, e, n = ll.bounds
        simple = ll.simplify(0.0001, preserve_topology=True)
        label = ll.representative_point()
        out.append(PlaceSeries(place, slug(place.name) or f"place-{i}", probs, levels,
                               by_place.get(place.name),
                               [[round(s, 5), round(w, 5)], [round(n, 5), round(e, 5)]],
                               round_coordinates(mapping(simple)),
                               [round(label.y, 5), round(label.x, 5)]))
    return out


def _hour_index(times: list[datetime], when: datetime | None) -> int | None:
    if when is None or not times:
        return None
    diffs = [abs((t - when).total_seconds()) for t in times]
    i = int(np.argmin(diffs))
    return i if diffs[i] <= 3600 else None


def _ticks(t: dict[str, Any], times: list[datetime]) -> list[str]:
    days = t["format"]["weekdays"]
    out = []
    for when in times:
        loc = when.astimezone(LOCAL_TZ)
        if loc.hour == 0:
            out.append(days[loc.weekday()][:3])
        elif loc.hour % 6 == 0:
            out.append(f"{loc.hour:02d}")
        else:
            out.append("")
    return out


def _short(t: dict[str, Any], f: Formatter, when: datetime) -> str:
    """``"man 14:00"``: weekday and clock in Danish time (a table row per hour)."""
    loc = when.astimezone(LOCAL_TZ)
    return f"{t['format']['weekdays'][loc.weekday()][:3]} {f._clock(loc)}"


def place_context(t: dict[str, Any], f: Formatter, series: PlaceSeries, times: list[datetime],
                  thresholds: dict[str, float], drivers: dict[str, Any] | None,
                  state: str) -> dict[str, Any]:
    """Everything ``place.html.j2`` needs for one place in one language."""
    tp = t["place"]
    w = series.warning
    axis = chart.Axis(_ticks(t, times), tp["axis_time"])
    markers: list[tuple[int, str]] = []
    if w is not None:
        for when, key in ((w.onset, "onset"), (w.peak_time, "peak"), (w.expires, "end")):
            i = _hour_index(times, when)
            if key == "end" and i is None and times and when > times[-1]:
                i = len(times) - 1
            if i is not None:
                clock = f._clock(when.astimezone(LOCAL_TZ))
                markers.append((i if key != "end" else max(0, i - 1),
                                tp[f"marker_{key}"].format(time=clock)))
    th = {k: (v, tp["threshold_label"].format(level=t["levels"][k], probability=f.percent(v)))
          for k, v in thresholds.items() if k in ("yellow", "orange", "red")}
    name = series.place.name
    level_svg = chart.level_chart(
        "chart-level", axis, series.probability, series.levels, th, markers,
        title=tp["chart_level_title"].format(place=name),
        desc=tp["chart_level_desc"], percent=f.percent)
    rain = sea = crest = None
    if drivers:
        rain, sea, crest = drivers.get("rain"), drivers.get("sea_level"), drivers.get("dike_crest")
    driver_svg = None
    driver_facts: list[str] = []
    driver_markers = list(markers)
    if sea is not None and times and any(math.isfinite(v) for v in sea):
        i_high = int(np.nanargmax(np.asarray(sea, dtype=float)))
        when = times[i_high]
        driver_markers = [(i_high, tp["marker_high_water"].format(
            time=f._clock(when.astimezone(LOCAL_TZ))))]
        fact = tp["high_water"].format(height=f.number(sea[i_high], 2), time=f.both(when))
        if crest is not None and math.isfinite(crest):
            margin = crest - sea[i_high]
            fact += " " + (tp["crest_margin"].format(crest=f.number(crest, 2),
                                                     margin=f.number(margin, 2))
                           if margin > 0 else tp["crest_over"].format(
                               crest=f.number(crest, 2), over=f.number(-margin, 2)))
        driver_facts.append(fact)
    if rain is not None and any(math.isfinite(v) for v in rain):
        driver_facts.append(tp["rain_total"].format(
            total=f.number(float(np.nansum(np.asarray(rain, dtype=float))), 0)))
    if rain is not None or sea is not None:
        driver_svg = chart.driver_chart(
            "chart-drivers", axis, rain, sea, crest, driver_markers,
            title=tp["chart_drivers_title"], desc=tp["chart_drivers_desc"],
            rain_label=tp["rain_unit"], sea_label=tp["sea_unit"],
            crest_label=tp["crest_label"].format(height=f.number(crest, 2)) if crest is not None
            else "", metres=lambda v: f.number(v, 1))
    rows = []
    for i, when in enumerate(times):
        p = series.probability[i] if i < len(series.probability) else math.nan
        lvl = series.levels[i] if i < len(series.levels) else 0
        rows.append({
            "id": f"h-{i + 1}", "local": _short(t, f, when), "utc": f.utc(when),
            "probability": f.percent(p) if math.isfinite(p) else t["format"]["no_value"],
            "level": lvl, "level_text": t["levels"][LEVEL_NAMES[lvl]] if lvl else
            t["levels"]["none"],
            "rain": f.number(rain[i], 1) if rain is not None else None,
            "sea": f.number(sea[i], 2) if sea is not None else None,
        })
    if w is not None:
        summary = tp["warning_summary"].format(
            level=t["levels"][w.level_name], onset=f.both(w.onset), peak=f.both(w.peak_time),
            end=f.both(w.expires), probability=f.percent(w.probability))
        action = t["level_actions"][w.level_name]
        level_key = w.level_name
    elif state == "missing":
        summary, action, level_key = tp["no_forecast"], "", "missing"
    else:
        summary, action, level_key = tp["no_warning"], t["level_actions"]["low"], "none"
    return {
        "place_name": name, "slug": series.slug, "summary": summary, "action": action,
        "place_level_key": level_key, "level_chart": level_svg, "driver_chart": driver_svg,
        "hour_rows": rows, "has_rain": rain is not None, "has_sea": sea is not None,
        "driver_facts": driver_facts,
        "place_bounds": series.bounds,
    }
