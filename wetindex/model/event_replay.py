"""Replay the hold-out as the forecast runs would have issued it, and verify its events.

The forecast side of :mod:`wetindex.model.events`: which cells a replay runs on
(:func:`replay_cells`, a sample on a large area), the issue times
(:func:`replay_issue_times`), the same chain as a forecast run from compiled trees to
the warning score (:func:`replay_issues`) and each place's hourly level under the 1-ha
rule (:func:`replay_place_levels`). :func:`evaluate_events` puts them together with the
observed events (:func:`wetindex.model.events.observed_events`) and their scores
(:func:`wetindex.model.events.verify_events`), beside the same replay fed the observed
drivers: the upper bound of a perfect weather and sea-level forecast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import (
    DRIVER_FEATURES,
    drivers_for_issues,
    observed_as_forecast,
    static_table,
)
from wetindex.model.calibration import apply_calibration
from wetindex.model.events import (
    NEW_WATER_H,
    ReplayCells,
    case_studies,
    observed_events,
    place_index_of,
    verify_events,
)
from wetindex.model.forest import forest_from_booster
from wetindex.model.gridded import predict_cube
from wetindex.model.screen import screened_cells
from wetindex.normal import (
    DEFAULT_CHANCE,
    NORMAL_DRY,
    area_exposure,
    excess_arrays,
    seasonal_normal,
)
from wetindex.risk import MIN_AREA_M2


def replay_cells(inputs, static, *, screen: dict[str, Any],
                 train: tuple[pd.Timestamp, pd.Timestamp], min_area_m2: float = MIN_AREA_M2,
                 max_cells: int | None = 20_000, seed: int = 2) -> ReplayCells:
    """The screen's candidate cells (a random sample of at most ``max_cells``; all when
    ``None``) with their places, exposure, permanent water and seasonal normal.

    Each sampled cell stands for the candidates of its place in proportion, so a
    place's warned and flooded areas (and the 1-ha rule) are then estimates, not counts.
    """
    grid = inputs.grid
    places = inputs.places()
    candidates = screened_cells(inputs, static, screen)
    cells = candidates
    if max_cells is not None and len(cells) > max_cells:
        rng = np.random.default_rng(seed)
        cells = np.sort(rng.choice(candidates, size=max_cells, replace=False))
    place_of = place_index_of(cells, places, grid)
    per_place_all = np.bincount(place_index_of(candidates, places, grid) + 1,
                                minlength=len(places) + 1)[1:]
    per_place_sample = np.bincount(place_of + 1, minlength=len(places) + 1)[1:]
    scale = np.where(per_place_sample > 0, per_place_all / np.maximum(per_place_sample, 1), 1.0)
    raw = inputs.static_inputs()
    return ReplayCells(
        cells=cells, n_candidates=len(candidates), place_of=place_of,
        cell_area=grid.cell_area * scale,
        # the 1-ha rule in sampled cells: each stands for `scale` cells of its place
        min_cells=np.maximum(1, np.ceil(min_area_m2 / (grid.cell_area * scale))).astype(int),
        exposure=area_exposure(raw, static).ravel()[cells],
        permanent=np.asarray(raw["permanent_water"].values).ravel()[cells].astype(bool),
        normal=seasonal_normal(inputs, cells, grid.shape, train).values.reshape(12, -1)[:, cells])


def replay_issue_times(inputs, period: tuple[pd.Timestamp, pd.Timestamp],
                       issue_step_h: int) -> pd.DatetimeIndex:
    """The area's issue times in ``period``, one every ``issue_step_h`` hours."""
    issues = inputs.issue_times()
    issues = issues[(issues >= period[0]) & (issues <= period[1])]
    if len(issues) == 0:
        raise ValueError(f"no issue times in the period {period[0]} – {period[1]}")
    step = max(1.0, float(np.median(np.diff(issues.values)) / np.timedelta64(1, "h"))
               if len(issues) > 1 else 1.0)
    return issues[:: max(1, round(issue_step_h / step))]


def replay_issues(
    booster, inputs, static, issues: pd.DatetimeIndex, cells: np.ndarray, *,
    normal: np.ndarray, exposure: np.ndarray, permanent: np.ndarray,
    thresholds: Sequence[float], calibration: dict | None, max_lead_h: int = 48,
    chance: Sequence[float] = DEFAULT_CHANCE, observed_drivers: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.floating]]:
    """Per issue time, ``(excess, score, sea_max)`` as the forecast run would compute them.

    With ``observed_drivers`` the drivers' forecast is replaced by what was then observed
    (:func:`~wetindex.features.stack.observed_as_forecast`): the upper bound of a
    perfect weather and sea-level forecast.

    The same chain as a forecast run on the screened ``cells``: compiled trees,
    calibration where a kept map changes anything, the excess over the seasonal
    normal and standing water, exposure, and the warning score
    (:func:`wetindex.normal.excess_arrays`, both ``(lead, cell)``); ``sea_max`` is the
    highest forecast sea level [m] of the issue's ``max_lead_h`` hours.
    """
    flood_level = (np.asarray(static["sea_flood_level"].values, "float64").ravel()[cells]
                   if "sea_flood_level" in static else None)

    ahead = np.timedelta64(max_lead_h if observed_drivers else 0, "h")
    observed = inputs.observed(issues[0].to_datetime64() - np.timedelta64(HISTORY_NEEDED_H, "h"),
                               issues[-1].to_datetime64() + ahead)
    forecasts = (observed_as_forecast(observed, issues.values, max_lead_h) if observed_drivers
                 else inputs.forecasts_many(issues.values))
    drivers = drivers_for_issues(observed, forecasts, issues.values)
    sea_col = DRIVER_FEATURES.index("sea_level")
    statics = static_table(static, cells)
    gw = np.asarray(inputs.groundwater_depth_cells(issues.values, cells), "float32")
    forest = forest_from_booster(booster)
    calibrate = any(not m.get("identity") for m in (calibration or {}).get("maps", []))
    leads = np.arange(1, max_lead_h + 1)
    local = np.arange(len(cells))
    for i, issue in enumerate(issues):
        prob = np.zeros((max_lead_h, len(cells)), dtype="float32")
        predict_cube(forest, statics, gw[i], drivers[i, :max_lead_h], local, prob)
        if calibrate:
            prob = apply_calibration(prob, leads[:, None], calibration).astype("float32")
        seen = inputs.observed_water(issue.to_datetime64())
        standing = None
        if seen is not None and (issue - pd.Timestamp(seen.attrs.get("time", issue))
                                 <= pd.Timedelta(hours=72)):
            standing = np.asarray(seen.values).ravel()[cells] == 1
        month = (issue + pd.Timedelta(hours=24)).month
        sea_max = np.nanmax(drivers[i, :max_lead_h, sea_col])
        sea_prone = None  # land the forecast sea reaches (see wetindex.normal.sea_prone_land)
        if flood_level is not None:
            with np.errstate(invalid="ignore"):
                sea_prone = flood_level <= float(sea_max)
        excess, score = excess_arrays(prob, normal[month - 1], standing, exposure, permanent,
                                      sea_prone, thresholds=thresholds, chance=chance)
        yield excess, score, sea_max


def replay_place_levels(
    booster, inputs, static, issues: pd.DatetimeIndex, cells: np.ndarray,
    place_of: np.ndarray, n_places: int, *, normal: np.ndarray, exposure: np.ndarray,
    permanent: np.ndarray, thresholds: Sequence[float], calibration: dict | None,
    min_cells: int | np.ndarray, max_lead_h: int = 48, details: dict | None = None,
    chance: Sequence[float] = DEFAULT_CHANCE, observed_drivers: bool = False,
) -> np.ndarray:
    """Each place's hourly level ``(issue, place, lead)`` as the forecast runs would give it.

    The cells' scores of :func:`replay_issues` (its ``observed_drivers``: the upper
    bound), their levels, and the 1-ha rule per place (at least ``min_cells`` of the
    place's cells at the level or above).
    A ``details`` dict is filled with ``score`` ``(issue, place, lead)``, the
    warning score that the place's ``min_cells``-th highest cell reaches
    (the score 1 ha of the place reaches), and ``sea_max`` ``(issue,)``, the highest
    forecast sea level [m] of each issue's 48 h.
    """
    out = np.zeros((len(issues), n_places, max_lead_h), dtype="int8")
    min_cells = np.broadcast_to(np.asarray(min_cells), (n_places,))
    place_score = np.zeros((len(issues), n_places, max_lead_h), dtype="float32")
    sea_max = []
    replay = replay_issues(booster, inputs, static, issues, cells, normal=normal,
                           exposure=exposure, permanent=permanent, thresholds=thresholds,
                           calibration=calibration, max_lead_h=max_lead_h, chance=chance,
                           observed_drivers=observed_drivers)
    for i, (_, score, sea) in enumerate(replay):
        sea_max.append(sea)
        level = np.zeros(score.shape, dtype="int8")
        for value, threshold in enumerate(thresholds, start=1):
            level[score >= threshold] = value
        for pi in range(n_places):
            lv = level[:, place_of == pi]
            for value in (1, 2, 3):
                out[i, pi, (lv >= value).sum(axis=1) >= min_cells[pi]] = value
            sc = score[:, place_of == pi]
            if sc.shape[1] >= min_cells[pi]:
                k = sc.shape[1] - int(min_cells[pi])
                place_score[i, pi] = np.partition(sc, k, axis=1)[:, k]
    if details is not None:
        details["score"] = place_score
        details["sea_max"] = np.asarray(sea_max)
    return out


def evaluate_events(
    booster, inputs, static, *, holdout: tuple[pd.Timestamp, pd.Timestamp],
    train: tuple[pd.Timestamp, pd.Timestamp], screen: dict[str, Any],
    thresholds: Sequence[float], chance: Sequence[float] | None = None,
    calibration: dict | None = None, issue_step_h: int = 24,
    max_lead_h: int = 48, min_area_m2: float = MIN_AREA_M2, max_cells: int = 20_000,
    seed: int = 2, upper_bound: bool = True,
) -> dict[str, Any]:
    """Replay the hold-out every ``issue_step_h`` and verify each place's events.

    A large area is replayed on a random sample of at most ``max_cells`` candidate
    cells (:func:`replay_cells`). Returns :func:`verify_events`' scores with
    ``places``, ``issue_step_h`` and ``cells_sampled`` / ``cells_candidate``; with
    ``upper_bound``, ``observed_drivers`` holds the same scores (without the event
    lists) of a second replay fed the drivers as they were then observed: how much of
    what is missed is the weather and sea-level forecast's error.
    """
    rc = replay_cells(inputs, static, screen=screen, train=train, min_area_m2=min_area_m2,
                      max_cells=max_cells, seed=seed)
    issues = replay_issue_times(inputs, holdout, issue_step_h)
    details: dict[str, np.ndarray] = {}
    chance = DEFAULT_CHANCE if chance is None else chance

    def replay(observed_drivers: bool, details: dict) -> np.ndarray:
        return replay_place_levels(
            booster, inputs, static, issues, rc.cells, rc.place_of, len(rc.min_cells),
            normal=rc.normal, exposure=rc.exposure, permanent=rc.permanent,
            thresholds=thresholds, calibration=calibration, min_cells=rc.min_cells,
            max_lead_h=max_lead_h, details=details, chance=chance,
            observed_drivers=observed_drivers)

    levels = replay(False, details)
    truth = observed_events(inputs, static, rc, issues, train=train, thresholds=thresholds,
                            max_lead_h=max_lead_h, min_area_m2=min_area_m2)

    def verify(levels: np.ndarray, sea_max: np.ndarray, n: int) -> dict[str, Any]:
        return verify_events(truth.events, levels[:n], issues[:n], truth.names,
                             truth.flood_hours, max_lead_h=max_lead_h,
                             warning_causes=truth.warning_causes(sea_max[:n]),
                             labelled=truth.labelled)

    out = verify(levels, details["sea_max"], len(issues))
    # the upper bound needs the drivers observed over the whole horizon: the issues
    # whose 48 h have passed, and the forecast's scores on the same issues beside it
    seen_to = pd.Timestamp(inputs.observed_end()) - pd.Timedelta(hours=max_lead_h)
    n_seen = int((issues <= seen_to).sum())
    if upper_bound and n_seen:
        seen: dict[str, np.ndarray] = {}
        perfect = replay(True, seen)
        out["observed_drivers"] = {
            "n_issues": n_seen,
            "forecast": _without_event_lists(verify(levels, details["sea_max"], n_seen)),
            "observed": _without_event_lists(verify(perfect, seen["sea_max"], n_seen))}
    out["case_studies"] = case_studies(truth.observed, issues, truth.names, levels,
                                       details["score"], truth.area, truth.hours, thresholds,
                                       holdout)
    out["places"] = truth.names
    out["issue_step_h"] = issue_step_h
    out["cells_sampled"], out["cells_candidate"] = len(rc.cells), rc.n_candidates
    out["truth"] = (f"at least {min_area_m2 / 10_000:g} ha of exposed, normally dry land "
                    f"(seasonal normal < {NORMAL_DRY}) under new water (standing at most "
                    f"{NEW_WATER_H} h) in the place; scored at the levels its observed "
                    "score (new water × impact, exposure × (1 − normal)) reaches on 1 ha")
    return out


def _without_event_lists(scores: dict[str, Any]) -> dict[str, Any]:
    """Event scores without the per-event rows (kept once, for the forecast's own)."""
    for level in scores["levels"].values():
        level.pop("events", None)
        for by_cause in level.get("by_cause", {}).values():
            by_cause.pop("events", None)
    return scores
