"""What a warning predicts: excess water on normally dry, exposed land.

The model gives ``probability``: P(cell covered by surface water at valid time t).
Surface water is not the same as flooding: a hollow in a wet autumn, a meadow that
is wet every winter, a lake, hold water without anyone being warned. A warning is
about water where it does not belong, so this module turns the probability into
three fields of the forecast dataset (all on ``(lead, y, x)``, 0–1):

``normal_water``
    The part of the forecast water that is *normal*: ``probability - excess_probability``,
    where the cell's baseline is the largest of its **seasonal normal** (the share of
    the labels of the same calendar month in the training history, taken at the hours
    where labels exist, in which it was wet; kept with the model as ``normal_water.nc``)
    and **what already stands** at the issue time: 1 where the latest satellite map of
    at most :data:`STANDING_MAX_AGE_H` hours before the issue saw water, and the model's
    own probability at the first
    lead hour (its estimate of the water standing now: satellites pass every few days
    and clouds hide the ground, so a hollow flooded since yesterday would otherwise
    count as new water for 48 hours). Water that rises further later is still excess.
    On land the forecast sea can reach (its flood level, over the terrain and any dike
    crest, at or below the highest forecast sea level) the first hour is not taken as
    standing: a flood from the sea under way stays warned.
    The map shows ``normal_water`` in its own style; it never makes a warning.
``excess_probability``
    ``max(probability - baseline, 0)``: the probability of water above the normal
    for the season and beyond what already stands, in probability points. A cell
    wet on every day of the month has a baseline of 1 and never gets excess.
    Permanent water (lakes, streams, the sea) is 0 by definition.
``warning_score``
    The levels as a risk matrix of chance and harm, in one number
    (:func:`warning_score`). The **impact** of water in a cell, :func:`impact_weight`,
    is what is exposed there (:data:`EXPOSURE_BY_COVER`: houses, summer houses, towns
    and roads 1, farmland 0.7, meadows 0.4, forest 0.3, beach and dunes 0.2; land kept
    dry by a dike at least :data:`DIKE_EXPOSURE`; an unknown land cover counts as fully
    exposed) times how rarely the cell is wet this month (``1 − normal``; 0 on land wet
    at least half the month). A cell is at a level when its impact reaches the level's
    threshold (``thresholds``: yellow 0.2, orange 0.4, red 0.7) and its excess
    probability reaches the level's ``warning_chance`` (yellow 0.4, orange 0.15, red
    0.4): orange on farmland, houses and roads needs less certainty than yellow on
    forest, meadows and dunes. A place is at a level when 1 ha of it is
    (:mod:`wetindex.risk`). This is the quantity the observed floods are scored in
    (:mod:`wetindex.model.events`: new water whose impact reaches the level on 1 ha), so
    a level means the same flood in the forecast and in the verification. Never the raw
    wetness.

    How the chances were chosen (:class:`wetindex.config.WarningChance`): replaying the
    demo's validation period (the half year before the hold-out, one issue every 48 h),
    the chances with at least 90 % of quiet issue times without any warning, FAR at most
    0.3 at orange and 0.2 at red, and the highest orange and red POD. The rule it
    replaced, ``excess × exposure`` against the same thresholds, asked p = 1.0 for red
    on farmland and 0.57 for orange, where a flooded field is a red event: on the demo's
    hold-out it warned 29 % of the orange events.

A missing seasonal normal (no label history) is a baseline of 0: everything wet is
then excess, so a missing input makes more warnings, never fewer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.config import Thresholds, WarningChance
from wetindex.forecast_io import LONG_NAMES, SCALE
from wetindex.model.label_times import label_hours, sample_by_month
from wetindex.model.predict import levels
from wetindex.sources.base import AreaInputs

log = logging.getLogger(__name__)

#: Exposure weight per land-cover meaning (``land_cover`` ``flag_meanings``).
EXPOSURE_BY_COVER: dict[str, float] = {
    "sea": 0.0, "lake": 0.0, "stream": 0.0, "water": 0.0,
    "town": 1.0, "summer_houses": 1.0, "buildings": 1.0, "road": 1.0, "roads": 1.0,
    "farmland": 0.7, "grassland_meadow": 0.4, "forest": 0.3, "beach_dune": 0.2,
}
#: Exposure of land with no known land cover (code 0, or a meaning not listed above).
UNKNOWN_EXPOSURE = 1.0
#: Land kept dry by a dike (the polder) is at least this exposed.
DIKE_EXPOSURE = 0.9
#: A cell whose seasonal normal is below this is normally dry (its water is flooding).
NORMAL_DRY = 0.5
#: A satellite map older than this at the issue time says nothing about what stands now.
STANDING_MAX_AGE_H = 72
#: The levels' thresholds and chances of an area that sets none (:mod:`wetindex.config`).
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(Thresholds().as_list())
DEFAULT_CHANCE: tuple[float, ...] = tuple(WarningChance().as_list())
#: File of the seasonal normal in a model's folder.
NORMAL_FILE = "normal_water.nc"
#: At most this many labelled hours per calendar month go into the normal.
DAYS_PER_MONTH = 45


def exposure_weight(static: xr.Dataset) -> np.ndarray:
    """Exposure 0–1 per cell ``(y, x)`` from ``land_cover``, ``dike_protected``, permanent water.

    Land behind a dike is at least :data:`DIKE_EXPOSURE` only where the sea must overtop
    a dike to reach it: with ``sea_flood_level`` and ``dike_crest`` given, where its
    flood level is at least the lowest crest. ``dike_protected`` alone also marks land
    in front of or around a dike whose flood level the dike raises a little; the tide
    reaches that land long before any overtopping, so it keeps its own land cover's
    exposure.
    """
    shape = static["elevation"].shape
    weight = np.full(shape, UNKNOWN_EXPOSURE, dtype="float32")
    if "land_cover" in static:
        cover = np.asarray(static["land_cover"].values)
        values = static["land_cover"].attrs.get("flag_values")
        meanings = str(static["land_cover"].attrs.get("flag_meanings", "")).split()
        if values is not None and len(meanings) == len(np.atleast_1d(values)):
            for code, meaning in zip(np.atleast_1d(values), meanings, strict=True):
                weight[cover == code] = EXPOSURE_BY_COVER.get(meaning, UNKNOWN_EXPOSURE)
    if "dike_protected" in static:
        protected = np.asarray(static["dike_protected"].values).astype(bool)
        if "sea_flood_level" in static and "dike_crest" in static:
            crest = np.asarray(static["dike_crest"].values, "float64")
            lowest = np.nanmin(crest) if np.isfinite(crest).any() else np.inf
            with np.errstate(invalid="ignore"):
                protected &= np.asarray(static["sea_flood_level"].values) >= lowest
        weight[protected] = np.maximum(weight[protected], DIKE_EXPOSURE)
    if "permanent_water" in static:
        weight[np.asarray(static["permanent_water"].values).astype(bool)] = 0.0
    return weight


def area_exposure(raw: xr.Dataset, static: xr.Dataset) -> np.ndarray:
    """:func:`exposure_weight` of an area: its land cover, permanent water and dike crests
    (``raw``, :meth:`AreaInputs.static_inputs`) with the dike protection and sea flood
    levels of its static features (``static``)."""
    cover = raw[[v for v in ("elevation", "land_cover", "permanent_water", "dike_crest")
                 if v in raw]].copy()
    for name in ("dike_protected", "sea_flood_level"):
        if name in static:
            cover[name] = (("y", "x"), np.asarray(static[name].values))
    return exposure_weight(cover)


def impact_weight(normal: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """How bad new water is in a cell, 0–1: ``exposure × (1 − normal)`` on normally dry
    land (``normal`` below :data:`NORMAL_DRY`), 0 on land that is normally wet.

    The observed severity of a flood is new water × this
    (:func:`wetindex.model.events.observed_flooding`); shapes broadcast.
    """
    normal = np.clip(np.nan_to_num(np.asarray(normal, "float32")), 0.0, 1.0)
    weight = np.asarray(exposure, "float32") * (np.float32(1.0) - normal)
    return np.where(normal < NORMAL_DRY, weight, np.float32(0.0)).astype("float32")


def seasonal_normal(inputs: AreaInputs, cells: np.ndarray, shape: tuple[int, int],
                    period: tuple[pd.Timestamp, pd.Timestamp], *, hour: int = 12,
                    seed: int = 0) -> xr.DataArray:
    """Share of the known labels of each calendar month in which a cell was wet, ``(month, y, x)``.

    Labels at the hours where they exist in ``period`` (the passes of a satellite
    record, at any hour; every hour for the demo's truth), at most
    :data:`DAYS_PER_MONTH` per month spread evenly — with labels at every hour, one a
    day at ``hour`` UTC (:func:`wetindex.model.label_times.sample_by_month`) — for the
    flat ``cells`` only (the screen's candidates: the others are forecast 0 anyway);
    cells never seen are 0 (normally dry).
    """
    hours = label_hours(inputs, period[0], period[1])
    by_month = sample_by_month(hours, DAYS_PER_MONTH, hour=hour)
    out = np.zeros((12, shape[0] * shape[1]), dtype="float32")
    used = 0
    for month, these in by_month.items():
        if len(cells) == 0:
            continue
        labels = np.asarray(inputs.labels(these.values, cells))
        known = (labels >= 0).sum(axis=0)
        wet = (labels == 1).sum(axis=0)
        used += len(these)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[month - 1, cells] = np.where(known > 0, wet / np.maximum(known, 1), 0.0)
    return xr.DataArray(out.reshape(12, *shape), dims=("month", "y", "x"),
                        coords={"month": np.arange(1, 13)}, name="normal_water",
                        attrs={"units": "1", "period": f"{period[0]} – {period[1]}",
                               "label_times": used,
                               "long_name": "share of the month's labels in which the cell "
                                            "was wet"})


def save_normal(model_dir: Path, normal: xr.DataArray) -> Path:
    """Write the normal next to the model (compressed NetCDF)."""
    path = Path(model_dir) / NORMAL_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    normal.to_netcdf(tmp, encoding={"normal_water": {"zlib": True, "complevel": 4}})
    tmp.replace(path)
    return path


def no_normal(shape: tuple[int, int]) -> xr.DataArray:
    """A baseline of 0 everywhere: without a label history everything wet is excess."""
    return xr.DataArray(np.zeros((12, *shape), "float32"), dims=("month", "y", "x"),
                        coords={"month": np.arange(1, 13)}, name="normal_water",
                        attrs={"units": "1", "period": "none: no history of observed water"})


def normal_for_model(model_dir: Path, inputs: AreaInputs, candidates: np.ndarray,
                     period: tuple[str, str] | None) -> xr.DataArray:
    """The model's seasonal normal: read from its folder, or built from ``period`` and kept.

    A model without a training ``period`` has no history to take a normal from: the
    baseline is then 0 (:func:`no_normal`), so a missing input makes more warnings.
    """
    path = Path(model_dir) / NORMAL_FILE
    if path.exists():
        with xr.open_dataarray(path) as da:
            return da.load()
    if period is None:
        log.warning("model in %s has no training period: no seasonal normal", model_dir)
        return no_normal(inputs.grid.shape)
    log.info("building the seasonal normal of surface water from %s – %s", *period)
    normal = seasonal_normal(inputs, candidates, inputs.grid.shape,
                             (pd.Timestamp(period[0]), pd.Timestamp(period[1])))
    save_normal(model_dir, normal)
    return normal


def standing_water(inputs: AreaInputs, issue_time: pd.Timestamp,
                   max_age_h: int = STANDING_MAX_AGE_H) -> np.ndarray | None:
    """Bool ``(y, x)``: water seen by the latest satellite map at most ``max_age_h`` old.

    ``None`` when there is no such map (then only the seasonal normal is the baseline).
    """
    seen = inputs.observed_water(pd.Timestamp(issue_time).to_datetime64())
    if seen is None:
        return None
    when = seen.attrs.get("time")
    if when is not None and (pd.Timestamp(issue_time) - pd.Timestamp(when)
                             > pd.Timedelta(hours=max_age_h)):
        return None
    return np.asarray(seen.values) == 1


def warning_score(excess: np.ndarray, impact: np.ndarray, thresholds: Sequence[float],
                  chance: Sequence[float]) -> np.ndarray:
    """The risk matrix as one score per cell: it reaches a level's threshold exactly when
    the cell is at that level or above.

    A cell is at level L (1 yellow, 2 orange, 3 red) when its ``impact``
    (:func:`impact_weight`) reaches ``thresholds[L-1]`` and its ``excess`` (the chance
    of new water) reaches ``chance[L-1]``; it takes the highest such level. The score
    lies between that level's threshold and the next one, by the way to the next
    level: the largest ``excess / chance`` of a higher level its impact allows (below
    1, or it would be there), and at red the way from ``chance[2]`` to certainty.
    Below yellow it is that share of ``thresholds[0]``. One stored step
    (:data:`wetindex.forecast_io.SCALE`) is kept clear of every threshold, so the
    8-bit score read back gives the same level. The alerts' thresholds, hysteresis and
    the place's 1-ha rule (:func:`wetindex.risk.place_hourly_score`) then read one
    number. NaN ``excess`` (no forecast) stays NaN; ``impact`` broadcasts.
    """
    e = np.asarray(excess, "float32")
    imp = np.broadcast_to(np.asarray(impact, "float32"), e.shape)
    t = [np.float32(v) for v in thresholds]
    q = [np.float32(v) for v in chance]
    level = np.zeros(e.shape, "int8")
    for lv in (1, 2, 3):
        level[(imp >= t[lv - 1]) & (e >= q[lv - 1])] = lv  # cells keep the highest
    progress = np.zeros(e.shape, "float32")
    for lv in (1, 2, 3):
        reach = (imp >= t[lv - 1]) & (level < lv)
        np.maximum(progress, np.where(reach, e / q[lv - 1], 0), out=progress)
    top = level == 3
    if q[2] < 1:
        progress[top] = (e[top] - q[2]) / (1 - q[2])
    np.clip(progress, 0, 1, out=progress)
    step = np.float32(SCALE)
    edges = np.asarray([0.0, *t, 1.0], "float32")
    low = edges[level] + np.where(level > 0, step, 0).astype("float32")
    high = edges[level + 1] - np.where(level < 3, step, 0).astype("float32")
    score = low + (high - low) * progress
    score[np.isnan(e)] = np.nan
    return score.astype("float32")


def excess_arrays(p: np.ndarray, normal: np.ndarray, standing: np.ndarray | None,
                  exposure: np.ndarray, permanent_water: np.ndarray | None = None,
                  sea_prone: np.ndarray | None = None, *,
                  thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                  chance: Sequence[float] = DEFAULT_CHANCE,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(excess_probability, warning_score)`` of ``p`` ``(lead, ...)``; the rest on ``(...)``.

    Works on grids ``(lead, y, x)`` and on flat cells ``(lead, cell)`` alike.
    ``sea_prone`` (bool): land the forecast sea can reach (:func:`sea_prone_land`);
    there the forecast's first hour is not taken as water that stands, so a flood from
    the sea that is already under way stays warned. The score is
    :func:`warning_score` of the excess and the impact of ``normal`` and ``exposure``
    under the levels' ``thresholds`` and ``chance`` (the area's configuration).
    """
    p = np.asarray(p, "float32")
    baseline = np.clip(np.nan_to_num(np.asarray(normal, "float32")), 0.0, 1.0)
    if standing is not None:
        baseline = np.where(standing, np.float32(1.0), baseline)
    # what stands now as the model sees it: its probability at the first lead hour
    first = p[0] if sea_prone is None else np.where(np.asarray(sea_prone, bool), 0.0, p[0])
    baseline = np.maximum(baseline, first)
    excess = np.clip(p - baseline[None], 0.0, 1.0)
    if permanent_water is not None:
        excess[:, np.asarray(permanent_water).astype(bool)] = 0.0
    impact = impact_weight(normal, exposure)
    score = np.empty(excess.shape, "float32")
    for lead in range(excess.shape[0]):  # lead by lead: a few cube-sized temporaries less
        score[lead] = warning_score(excess[lead], impact, thresholds, chance)
    return excess, score


def sea_prone_land(static: xr.Dataset, sea_level_max: float | None) -> np.ndarray | None:
    """Bool ``(y, x)``: land the forecast sea can reach — its ``sea_flood_level`` (over the
    terrain and any dike crest) at or below the highest forecast sea level
    ``sea_level_max`` [m]. None when either is not known."""
    if sea_level_max is None or not np.isfinite(sea_level_max) \
            or "sea_flood_level" not in static:
        return None
    with np.errstate(invalid="ignore"):
        return np.asarray(static["sea_flood_level"].values, "float64") <= sea_level_max


def forecast_sea_level_max(inputs: AreaInputs, issue_time: pd.Timestamp) -> float | None:
    """The highest sea level [m] the drivers' forecast gives within its horizon."""
    try:
        sea = inputs.forecast(pd.Timestamp(issue_time).to_datetime64())["sea_level"]
    except (KeyError, ValueError):
        return None
    value = float(np.nanmax(sea.values)) if sea.size else float("nan")
    return value if np.isfinite(value) else None


def excess_fields(probability: xr.DataArray, normal_month: np.ndarray,
                  standing: np.ndarray | None, exposure: np.ndarray,
                  permanent_water: np.ndarray | None = None,
                  sea_prone: np.ndarray | None = None, *,
                  thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                  chance: Sequence[float] = DEFAULT_CHANCE) -> xr.Dataset:
    """``normal_water``, ``excess_probability`` and ``warning_score`` (see module docstring).

    Parameters
    ----------
    probability : xr.DataArray
        P(surface water) on ``(lead, y, x)``.
    normal_month : numpy.ndarray
        The seasonal normal ``(y, x)`` for the valid month, 0–1.
    standing : numpy.ndarray or None
        Bool ``(y, x)``: water standing at the issue time.
    exposure : numpy.ndarray
        Exposure weight ``(y, x)`` from :func:`exposure_weight`.
    sea_prone : numpy.ndarray or None
        Bool ``(y, x)``: land the sea can reach (see :func:`excess_arrays`).
    """
    p = np.asarray(probability.values, dtype="float32")
    excess, score = excess_arrays(p, normal_month, standing, exposure, permanent_water,
                                  sea_prone, thresholds=thresholds, chance=chance)
    normal = p - excess  # = min(p, baseline); on permanent water all of p is normal

    def like(values: np.ndarray, name: str) -> xr.DataArray:
        return probability.copy(data=values.astype("float32")).rename(name).assign_attrs(
            units="1", long_name=LONG_NAMES[name])

    return xr.Dataset({"normal_water": like(normal, "normal_water"),
                       "excess_probability": like(excess, "excess_probability"),
                       "warning_score": like(score, "warning_score")})


def forecast_dataset(probability: xr.DataArray, *, inputs: AreaInputs, static: xr.Dataset,
                     normal: xr.DataArray, issue_time: pd.Timestamp,
                     thresholds: list[float], chance: Sequence[float] = DEFAULT_CHANCE,
                     ) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    """The forecast dataset a run publishes, and the per-cell fields warnings need.

    Returns ``(dataset, cell_fields)``: the dataset holds ``probability``, ``level``
    (from ``warning_score``), ``normal_water``, ``excess_probability`` and
    ``warning_score``; ``cell_fields`` the ``dike_crest`` [m] of the area's dikes.
    """
    raw = inputs.static_inputs()
    exposure = area_exposure(raw, static)
    # a 48-h forecast is compared with the normal of the month its middle falls in
    month = (pd.Timestamp(issue_time) + pd.Timedelta(hours=24)).month
    fields = excess_fields(probability, normal.sel(month=month).values,
                           standing_water(inputs, issue_time), exposure,
                           np.asarray(raw["permanent_water"].values),
                           sea_prone_land(static, forecast_sea_level_max(inputs, issue_time)),
                           thresholds=thresholds, chance=chance)
    ds = xr.Dataset({"probability": probability,
                     "level": levels(fields["warning_score"], thresholds), **fields})
    ds["level"].attrs["long_name"] = LONG_NAMES["level"]
    return ds, {"dike_crest": np.asarray(raw["dike_crest"].values, "float64")}
