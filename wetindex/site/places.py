"""One page per place: its level hour by hour, its drivers, what to do.

A place's warning score at an hour is the score (the risk matrix of excess probability
and impact, :func:`wetindex.normal.warning_score`) reached by at least ``min_area_m2``
(1 ha, the same rule as the warnings) of it, and its level at that hour the highest
level that much of it reaches: both from :mod:`wetindex.risk`
(:func:`~wetindex.risk.place_hourly_score`, :func:`~wetindex.risk.place_hourly_levels`),
the same functions the warnings are made with; the chart draws that score against the
thresholds, the quantity the level is decided on. Where the place has a warning, its
hours, level, onset, peak and end are the warning's own (one computation for site, feed
and alerts); the page only draws and words them (:func:`wetindex.warnings.window_text`,
the sentence of the CAP message and the e-mail).
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

from wetindex.alerts.messages import table
from wetindex.forecast_io import read_cells
from wetindex.grid import AreaGrid
from wetindex.risk import MIN_AREA_M2, place_hourly_levels, place_hourly_score, place_raster, slug
from wetindex.site import chart
from wetindex.site.basemap import round_coordinates
from wetindex.site.i18n import LOCAL_TZ, Formatter
from wetindex.warnings import LEVEL_NAMES, WarningArea, window_text


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
    #: Warning score per lead hour, the quantity the level is decided on (NaN without a
    #: forecast).
    score: list[float]
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


def warning_action(lang: str, level: int) -> str:
    """What to do at a warning's level: the CAP message's instruction, word for word (the
    e-mail to a household says the same)."""
    return table(lang, "instruction")[level]


def _lonlat(geom: BaseGeometry, crs: Any) -> BaseGeometry:
    tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda x, y: tr.transform(x, y), interleaved=False)


def all_of(part: np.ndarray) -> np.ndarray:
    """Every cell of a ``(lead, cells)`` window: the mask the place reductions take."""
    return np.ones(part.shape[1], dtype=bool)


def place_series(places: list[SitePlace], grid: AreaGrid, forecast: xr.Dataset | None,
                 warnings: list[WarningArea], *, min_area_m2: float = MIN_AREA_M2
                 ) -> list[PlaceSeries]:
    """The hourly warning score and level of every place (see module docstring)."""
    index = place_raster(places, grid)
    min_cells = max(1, math.ceil(min_area_m2 / grid.cell_area))
    by_place = {w.place: w for w in warnings}
    n_lead = forecast.sizes["lead"] if forecast is not None else 48
    # read place by place (a window of the lazily opened cube), never the whole cube
    score_var = None
    if forecast is not None:
        score_var = "warning_score" if "warning_score" in forecast else "probability"
    out = []
    for i, place in enumerate(places, start=1):
        here = index == i
        scores = [math.nan] * n_lead
        levels = [0] * n_lead
        warning = by_place.get(place.name)
        flat = np.flatnonzero(here.ravel())
        if warning is not None and len(warning.hourly_levels) == n_lead:
            # the warning's own hours: the page shows what the feed and alerts say
            levels = list(warning.hourly_levels)
            if len(warning.hourly_score) == n_lead:
                scores = [math.nan if v is None else float(v) for v in warning.hourly_score]
            elif score_var is not None:
                part = read_cells(forecast, score_var, flat)  # the place's window only
                scores = [float(v) for v in place_hourly_score(part, all_of(part), min_cells)]
        elif score_var is not None and flat.size:
            part = read_cells(forecast, score_var, flat)
            scores = [float(v) for v in place_hourly_score(part, all_of(part), min_cells)]
            lv = read_cells(forecast, "level", flat)
            levels = [int(v) for v in place_hourly_levels(lv, all_of(lv), min_cells)]
        ll = _lonlat(place.geometry, grid.crs)
        w, s, e, n = ll.bounds
        simple = ll.simplify(0.0001, preserve_topology=True)
        label = ll.representative_point()
        out.append(PlaceSeries(place, slug(place.name) or f"place-{i}", scores, levels,
                               warning,
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
                  state: str, *, lang: str = "da") -> dict[str, Any]:
    """Everything ``place.html.j2`` needs for one place in one language."""
    tp = t["place"]
    w = series.warning
    axis = chart.Axis(_ticks(t, times), tp["axis_time"])
    markers: list[tuple[int, str]] = []
    if w is not None:
        # where each level begins (the lower ones before the onset too), the peak, the end
        starts = [(when, "onset", name) for name, when in sorted(
            w.level_from.items(), key=lambda kv: kv[1]) if when <= w.onset]
        for when, key, name in (*starts, (w.peak_time, "peak", ""), (w.expires, "end", "")):
            i = _hour_index(times, when)
            if key == "end" and i is None and times and when > times[-1]:
                i = len(times) - 1
            if i is not None:
                clock = f._clock(when.astimezone(LOCAL_TZ))
                label = tp[f"marker_{key}"].format(
                    time=clock, level=t["levels"][name] if name else "")
                markers.append((i if key != "end" else max(0, i - 1), label))
    th = {k: (v, tp["threshold_label"].format(level=t["levels"][k], probability=f.percent(v)))
          for k, v in thresholds.items() if k in ("yellow", "orange", "red")}
    name = series.place.name
    level_svg = chart.level_chart(
        "chart-level", axis, series.score, series.levels, th, markers,
        title=tp["chart_level_title"].format(place=name),
        desc=tp["chart_level_desc"], percent=f.percent, y_label=tp["axis_score"])
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
        p = series.score[i] if i < len(series.score) else math.nan
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
        # the sentence of the CAP message and the e-mail, from the warning's own window
        summary = window_text(lang, w) + " " + tp["warning_score_max"].format(
            probability=f.percent(w.probability))
        action = warning_action(lang, w.level)
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
