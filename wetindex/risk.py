"""From probabilities to warnings: levels, warning areas per place, their drivers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import rasterio.features
import shapely
import xarray as xr
from pyproj import Transformer
from shapely.geometry import mapping, shape
from shapely.ops import unary_union

from wetindex.grid import AreaGrid
from wetindex.sources.base import Place
from wetindex.warnings import DRIVER_GROUPS, LEVEL_NAMES, WarningArea

#: A place (or a subscriber's area) is at a level in an hour when at least this much of
#: it reaches that level: the 1-ha rule of the site, the feed, the alerts and the events.
MIN_AREA_M2 = 10_000.0

#: Explains the forecast at one lead for some flat cells: driver group -> share.
Explainer = Callable[[int, np.ndarray], dict[str, float]]


def slug(text: str) -> str:
    """ASCII identifier for a place name (``"Engene ved Lilleå"`` → ``"engene-ved-lillea"``)."""
    text = text.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = text.replace("Æ", "Ae").replace("Ø", "Oe").replace("Å", "Aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def place_raster(places: Sequence[Place], grid: AreaGrid) -> np.ndarray:
    """Index (1-based) of the place each cell is in; 0 where no place covers it."""
    shapes = [(p.geometry, i) for i, p in enumerate(places, start=1)]
    if not shapes:
        return np.zeros(grid.shape, dtype="int32")
    return rasterio.features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform,
                                       fill=0, dtype="int32")


def _to_wgs84(geom, crs: str):
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geom, project)


def place_min_cells(min_cells: int, place_cells: int) -> int:
    """How many of a place's cells must reach a level for the place to be at it.

    ``min_cells`` (the cells of ``min_area_m2``), but never more than the place has: a
    place smaller than that is at a level when all of it is.
    """
    return max(1, min(int(min_cells), int(place_cells)))


def place_hourly_levels(level: np.ndarray, here: np.ndarray, min_cells: int) -> np.ndarray:
    """The place's level at each lead: the highest level reached by ``min_cells`` of its cells.

    ``level`` is the cube ``(lead, y, x)``, ``here`` the place's cells ``(y, x)``
    (capped at the place's size, :func:`place_min_cells`).
    """
    lv = level[:, here]
    k = place_min_cells(min_cells, lv.shape[1])
    out = np.zeros(lv.shape[0], dtype="int8")
    for value in (1, 2, 3):
        out[(lv >= value).sum(axis=1) >= k] = value
    return out


def place_hourly_score(score: np.ndarray, here: np.ndarray, min_cells: int) -> np.ndarray:
    """The place's warning score at each lead: the score reached by ``min_cells`` of its cells.

    The k-th highest cell score per hour (k from :func:`place_min_cells`). The cube's
    levels are the score against the thresholds, so this is exactly the quantity the
    place's level (:func:`place_hourly_levels`) is decided on: the place is at a level
    in an hour if and only if this score reaches the level's threshold. NaN cells
    (no forecast) count as below every threshold.
    """
    s = np.asarray(score[:, here], dtype="float64")
    if s.shape[1] == 0:
        return np.full(s.shape[0], np.nan)
    k = place_min_cells(min_cells, s.shape[1])
    s = np.where(np.isnan(s), -np.inf, s)
    out = np.partition(s, s.shape[1] - k, axis=1)[:, s.shape[1] - k]
    return np.where(np.isfinite(out), out, np.nan)


def warning_window(hourly: np.ndarray, mass: np.ndarray) -> tuple[int, int, int] | None:
    """``(onset, peak, end)`` lead indices of a place's warning, or ``None``.

    Onset is the first hour at the warning's level (the level at the peak), end the
    last hour at or above yellow; the peak is the hour of the highest level, ties
    broken by the largest warned ``mass`` (summed score).
    """
    active = np.flatnonzero(hourly >= 1)
    if active.size == 0:
        return None
    top = hourly.max()
    at_top = np.flatnonzero(hourly == top)
    peak = int(at_top[np.argmax(mass[at_top])])
    return int(at_top[0]), peak, int(active[-1])


def level_onsets(hourly: np.ndarray) -> dict[int, int]:
    """First lead index at or above each level the place reaches (1 yellow … 3 red).

    A level whose first hour is also the next level's first hour (the place jumped
    over it, or the subscriber does not hear about it) is left out: "yellow from 10:00,
    orange from 10:00" says nothing the orange does not.
    """
    first = {lv: int(np.argmax(hourly >= lv)) for lv in (1, 2, 3) if (hourly >= lv).any()}
    return {lv: i for lv, i in first.items() if lv + 1 not in first or i < first[lv + 1]}


def warning_timeline(
    hourly: np.ndarray, valid_times: Sequence, mass: np.ndarray | None = None,
) -> dict[str, object] | None:
    """The one computation of a warning's level and window, from the place's hourly levels.

    The **headline level** is the highest hourly level; the warning runs *from* the
    first hour at the headline level (``onset``), with the lower levels before it
    kept as ``level_from`` (``{"yellow": …, "orange": …, "red": …}``, first hour at or
    above each level up to the headline); *until* the end of the last hour at or
    above yellow (``expires``); ``beyond_horizon`` when the place is still warned in
    the forecast's last hour (the end is then not known, only that it is later);
    ``peak_time`` the hour of the headline level with the most warned ``mass``. Times
    are the ``valid_times`` (UTC) of the hours; ``None`` when no hour is warned.

    The site, the CAP feed and every alert read these fields (through
    :class:`wetindex.warnings.WarningArea` and the alert decisions); nothing
    recomputes them.
    """
    hourly = np.asarray(hourly)
    mass = np.zeros(hourly.shape[0]) if mass is None else np.asarray(mass)
    window = warning_window(hourly, mass)
    if window is None:
        return None
    onset, peak, end = window
    times = [_as_utc(t) for t in valid_times]
    step = times[1] - times[0] if len(times) > 1 else pd.Timedelta(hours=1).to_pytimedelta()
    level = int(hourly[peak])
    return {
        "level": level,
        "onset": times[onset],
        "peak_time": times[peak],
        "expires": times[end] + step,
        "beyond_horizon": bool(end == hourly.shape[0] - 1),
        "level_from": {LEVEL_NAMES[lv]: times[i] for lv, i in level_onsets(hourly).items()},
        "window": window,
    }


def _as_utc(t) -> datetime:
    ts = pd.Timestamp(t)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def conditions_at(
    window: tuple[int, int, int], valid_times: pd.DatetimeIndex, cells: np.ndarray,
    drivers: xr.Dataset | None, dike_crest: np.ndarray | None,
    groundwater_depth: np.ndarray | None, place_cells: np.ndarray,
) -> dict[str, object]:
    """The physical drivers of one warning (keys :data:`wetindex.warnings.CONDITION_KEYS`).

    ``drivers`` holds the forecast ``rain`` [mm/h] and ``sea_level`` [m] on ``lead``
    (the leads of the cube, in order); ``cells`` the warned cells, ``place_cells`` the
    place's (flat indices); ``dike_crest`` [m] is NaN off the dikes.
    """
    onset, peak, end = window
    out: dict[str, object] = {}
    high = None
    if drivers is not None and "rain" in drivers:
        rain = np.asarray(drivers["rain"].values, "float64")
        out["rain_mm"] = round(float(np.nansum(rain[onset:end + 1])), 1)
    if drivers is not None and "sea_level" in drivers:
        sea = np.asarray(drivers["sea_level"].values, "float64")
        out["sea_level_cm"] = round(100 * float(sea[peak]), 0)
        # the high water that drives a flood comes at or just before it: 6 h before onset
        lo = max(0, onset - 6)
        hi_idx = lo + int(np.nanargmax(sea[lo:end + 1]))
        high = float(sea[hi_idx])
        out["high_water_cm"] = round(100 * high, 0)
        out["high_water_time"] = valid_times[hi_idx].tz_localize("UTC").isoformat()
    if dike_crest is not None and high is not None:
        crest = dike_crest.ravel()[place_cells]
        if np.isfinite(crest).any():
            out["dike_crest_margin_cm"] = round(100 * (float(np.nanmin(crest)) - high), 0)
    if groundwater_depth is not None and len(cells):
        depth = groundwater_depth.ravel()[cells]
        if np.isfinite(depth).any():
            out["groundwater_depth_m"] = round(float(np.nanmedian(depth)), 2)
    return out


def warning_areas(
    forecast: xr.Dataset, places: Sequence[Place], grid: AreaGrid, *, area_name: str,
    area_id: str, explain: Explainer | None = None, min_area_m2: float = MIN_AREA_M2,
    drivers: xr.Dataset | None = None, dike_crest: np.ndarray | None = None,
    groundwater_depth: np.ndarray | None = None,
) -> list[WarningArea]:
    """One warning per place whose level reaches at least yellow in some hour.

    The place's level is taken hour by hour (:func:`place_hourly_levels`); its level,
    onset ("from": the first hour at that level), earlier lower levels, peak and end
    come from :func:`warning_timeline`, and its conditions are the drivers in physical
    units over the whole warned period, lower levels included (:func:`conditions_at`).

    Parameters
    ----------
    forecast : xr.Dataset
        ``level`` on ``(lead, y, x)`` with ``valid_time``, and ``warning_score`` (the
        risk matrix of excess probability and impact, :mod:`wetindex.normal`; the raw
        ``probability`` when there is none).
    places : sequence of Place
        Named parts of the area; a warning is named after its place.
    min_area_m2 : float
        A place is at a level in an hour only where at least this much of it (default
        1 ha) reaches that level in that hour: a single wet hollow in a field does
        not make a whole place red, and isolated cells are noise at the map's scale.
    drivers : xr.Dataset, optional
        The forecast ``rain`` [mm/h] and ``sea_level`` [m] on the cube's leads.
    dike_crest : numpy.ndarray, optional
        Dike crest height [m] per cell ``(y, x)``, NaN off the dikes.
    groundwater_depth : numpy.ndarray, optional
        Groundwater depth below terrain at the issue time [m] ``(y, x)``.
    """
    level = np.asarray(forecast["level"].values)
    score_var = "warning_score" if "warning_score" in forecast else "probability"
    prob = np.asarray(forecast[score_var].values)
    place_idx = place_raster(places, grid)
    valid_times = pd.DatetimeIndex(forecast["valid_time"].values)
    out: list[WarningArea] = []
    min_cells = max(1, int(np.ceil(min_area_m2 / grid.cell_area)))
    flat_level = level.reshape(level.shape[0], -1)
    flat_prob = prob.reshape(prob.shape[0], -1)
    for i, place in enumerate(places, start=1):
        here = place_idx == i
        if not here.any():
            continue
        hourly = place_hourly_levels(level, here, min_cells)
        place_cells = np.flatnonzero(here.ravel())
        warned = flat_level[:, place_cells] >= 1
        mass = np.where(warned, flat_prob[:, place_cells], 0.0).sum(axis=1)
        timeline = warning_timeline(hourly, valid_times, mass)
        if timeline is None:
            continue
        _, peak, end = timeline["window"]
        # the warning's period, lower levels included: its area, rain and high water
        first = int(np.argmax(hourly >= 1))
        in_window = warned[first:end + 1].any(axis=0)
        flat = place_cells[in_window]
        in_place = np.zeros(grid.shape, bool)
        in_place.ravel()[flat] = True
        polys = [shape(g) for g, v in rasterio.features.shapes(
            in_place.astype("uint8"), mask=in_place, transform=grid.transform) if v == 1]
        geom = unary_union(polys).simplify(grid.cell_size / 2)
        shares = {g: 0.0 for g in DRIVER_GROUPS}
        if explain is not None:
            top = flat[np.argsort(flat_prob[peak, flat])[::-1][:300]]
            shares.update(explain(int(peak), top))
        else:
            shares["terrain"] = 1.0
        score_by_hour = place_hourly_score(prob, here, min_cells)
        # the score 1 ha of the place reaches, the one its level is decided on: one hot
        # cell in a yellow place does not make the warning say "up to 90 %"
        top_score = np.nanmax(score_by_hour[first:end + 1], initial=0.0)
        out.append(WarningArea(
            warning_id=f"{area_id}-{slug(place.name)}",
            area_name=area_name,
            place=place.name,
            level=timeline["level"],
            probability=round(float(top_score), 3),
            onset=timeline["onset"],
            expires=timeline["expires"],
            peak_time=timeline["peak_time"],
            drivers=shares,
            geometry=mapping(_to_wgs84(geom, grid.crs)),
            cells=len(flat),
            conditions=conditions_at((first, peak, end), valid_times, flat, drivers,
                                     dike_crest, groundwater_depth, place_cells),
            hourly_levels=[int(v) for v in hourly],
            level_from=timeline["level_from"],
            beyond_horizon=timeline["beyond_horizon"],
            hourly_score=[None if not np.isfinite(v) else round(float(v), 4)
                          for v in score_by_hour],
        ))
    return sorted(out, key=warning_order)


def warning_order(w: WarningArea) -> tuple:
    """Sort key of the day's warnings: highest level, then highest score, then the
    earliest onset (the flood that comes first leads), then the place's name."""
    return (-w.level, -w.probability, w.onset, w.place)


def group_contributions(contrib: np.ndarray, feature_names: Sequence[str],
                        groups: dict[str, str]) -> dict[str, float]:
    """Shares of the positive (towards wet) contributions per driver group.

    ``contrib`` is LightGBM's ``pred_contrib`` output ``(n, n_features + 1)``;
    the last column (the bias) is not a driver.
    """
    per_feature = np.clip(contrib[:, :-1], 0, None).sum(axis=0)
    shares = {g: 0.0 for g in DRIVER_GROUPS}
    for name, value in zip(feature_names, per_feature, strict=True):
        shares[groups[name]] += float(value)
    total = sum(shares.values())
    if total <= 0:
        return {g: (1.0 if g == "terrain" else 0.0) for g in DRIVER_GROUPS}
    return {g: round(v / total, 3) for g, v in shares.items()}



