"""Verification on the hold-out period, by lead-time bin, against baselines.

Scores on a random sample of candidate cells × issue times of the hold-out period
× the leads whose valid time has a label (every lead for the demo's hourly truth; the
hours of the satellite passes for a real area, :mod:`wetindex.model.label_times`).
Every reference is scored on the same rows. Each lead bin reports its cases (valid
times, cells, rows, wet rows) in ``cases``; a bin without any is listed in
``bins_without_cases`` with its reason and left out of the scores, so no verdict is
drawn from an empty bin. Cells outside the screen are forecast 0 by construction; how
many of them were wet in the same sample is reported as ``screen_misses``.
"""

from __future__ import annotations

import itertools
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import xarray as xr

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import (
    FEATURES,
    drivers_for_issues,
    feature_rows,
    observed_as_forecast,
    static_table,
)
from wetindex.model.baselines import (
    BASELINE_ROUNDS,
    MAX_ROWS,
    fit_issue_time_baseline,
    issue_time_drivers,
)
from wetindex.model.calibration import (
    apply_calibration,
    expected_calibration_error,
    reliability_curve,
)
from wetindex.model.event_replay import evaluate_events
from wetindex.model.label_times import (
    bin_cases,
    label_hours,
    sample_by_month,
    verification_issues,
)
from wetindex.model.screen import screened_cells
from wetindex.sources.base import AreaInputs

LEAD_BIN_EDGES: tuple[int, ...] = (0, 6, 12, 18, 24, 30, 36, 42, 48)
LEVELS: tuple[str, ...] = ("yellow", "orange", "red")
#: Methods whose reliability diagrams are drawn.
RELIABILITY_METHODS: tuple[str, ...] = ("model", "model_raw", "climatology_month",
                                        "issue_time_baseline", "model_observed_drivers")
#: The references a forecaster accepts; every method gets a Brier skill score against
#: each (``bss_<reference>``). ``model_observed_drivers`` is the upper bound, not a
#: reference: the model fed the observed future drivers.
REFERENCES: tuple[str, ...] = ("never_wet", "climatology_month", "issue_time_baseline")


def evaluation_options(evaluation: dict[str, Any]) -> dict[str, Any]:
    """:func:`evaluate`'s sample and reference sizes from a model configuration's
    ``evaluation`` section (``cells``, ``issue_step_h``; optional ``baseline_rounds`` and
    ``baseline_max_rows``, by default the issue-time reference's full size, and
    ``events``, by default true: the event verification, and ``events_upper_bound``, by
    default true: the same replay fed the observed drivers). The section's other optional
    key, ``report_images`` (default true), is the report's
    (:func:`wetindex.stages.train.train_stage`).

    Training and ``wetindex evaluate`` both read them here, so a re-evaluation scores
    the same rows against the same reference as the training did.
    """
    return {"n_cells": int(evaluation["cells"]), "issue_step_h": int(evaluation["issue_step_h"]),
            "baseline_rounds": int(evaluation.get("baseline_rounds", BASELINE_ROUNDS)),
            "baseline_max_rows": int(evaluation.get("baseline_max_rows", MAX_ROWS)),
            "with_events": bool(evaluation.get("events", True)),
            "events_upper_bound": bool(evaluation.get("events_upper_bound", True))}


def lead_bins(max_lead_h: int = 48) -> list[tuple[int, int]]:
    """``(0, 6), (6, 12), …``: a lead ``l`` is in ``(a, b]``."""
    edges = [e for e in LEAD_BIN_EDGES if e < max_lead_h] + [max_lead_h]
    return list(itertools.pairwise(edges))


def brier(p: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of ``p`` against ``y``, summed in float64: two equal forecasts
    score equal whatever their dtype (a float32 sum made an all-zero model ~1e-8 better
    than "never wet", which then counted as skill)."""
    return float(np.mean((np.asarray(p, "float64") - np.asarray(y, "float64")) ** 2))


def categorical_scores(p: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    """POD, FAR and CSI of the warning ``p >= threshold`` against ``y``."""
    warn = p >= threshold
    hits = int(np.sum(warn & (y == 1)))
    misses = int(np.sum(~warn & (y == 1)))
    false_alarms = int(np.sum(warn & (y == 0)))
    pod = hits / (hits + misses) if hits + misses else float("nan")
    far = false_alarms / (hits + false_alarms) if hits + false_alarms else float("nan")
    csi = hits / (hits + misses + false_alarms) if hits + misses + false_alarms else float("nan")
    return {"pod": pod, "far": far, "csi": csi}


def _safe(metric, y: np.ndarray, p: np.ndarray) -> float:
    return float(metric(y, p)) if 0 < y.sum() < len(y) else float("nan")


def _ranked(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives at each distinct threshold, highest first."""
    order = np.argsort(-np.asarray(p, "float64"), kind="mergesort")
    p_sorted, y_sorted = np.asarray(p)[order], np.asarray(y, "float64")[order]
    last = np.r_[np.flatnonzero(np.diff(p_sorted)), len(p_sorted) - 1]
    tps = np.cumsum(y_sorted)[last]
    return tps, (last + 1) - tps


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (ties as sklearn's ``roc_auc_score``: trapezoids).

    The same number as sklearn's, without its input checks, which cost more than the
    score on the evaluation's ~100 (method, bin) pairs.
    """
    tps, fps = _ranked(y, p)
    tpr, fpr = np.r_[0.0, tps] / tps[-1], np.r_[0.0, fps] / fps[-1]
    return float(np.trapezoid(tpr, fpr))


def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision: Σ (recallₙ − recallₙ₋₁)·precisionₙ over the distinct
    thresholds (sklearn's ``average_precision_score``, no interpolation)."""
    tps, fps = _ranked(y, p)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def baseline_probabilities(x: np.ndarray, climatology: np.ndarray,
                           persistence: np.ndarray) -> dict[str, np.ndarray]:
    """The reference forecasts, from the same rows the model sees."""
    col = {name: i for i, name in enumerate(FEATURES)}
    low = (x[:, col["bluespot_depth"]] > 0) | (x[:, col["hand"]] < 1.0)
    rain_rule = (low & (x[:, col["rain_6h"]] >= 24.0)).astype("float32")
    with np.errstate(invalid="ignore"):
        bathtub = (x[:, col["sea_margin"]] > 0).astype("float32")
    return {
        "climatology": climatology,
        "persistence": persistence,
        "rain_rule": rain_rule,
        "bathtub": bathtub,
        "best_baseline": np.maximum.reduce([persistence, rain_rule, bathtub]),
    }


def last_observed_water(inputs: AreaInputs, issues: pd.DatetimeIndex, cells: np.ndarray,
                        fallback: np.ndarray) -> np.ndarray:
    """Persistence: the latest satellite water map at or before each issue time.

    Wet → 1, dry → 0; where the pass saw nothing (cloud) or there is no pass yet,
    the cell's climatology. The demo's truth at the issue time is *not* used: no
    real forecaster knows it.
    """
    out = np.empty((len(issues), len(cells)), dtype="float32")
    cache: dict[str, np.ndarray] = {}
    for i, issue in enumerate(issues):
        observed = inputs.observed_water(issue.to_datetime64())
        if observed is None:
            out[i] = fallback
            continue
        key = observed.attrs.get("time", str(i))
        if key not in cache:
            cache[key] = observed.values.ravel()[cells]
        seen = cache[key]
        out[i] = np.where(seen >= 0, (seen == 1).astype("float32"), fallback)
    return out


def evaluate(
    booster: lgb.Booster, inputs: AreaInputs, static: xr.Dataset, *,
    holdout: tuple[pd.Timestamp, pd.Timestamp], train: tuple[pd.Timestamp, pd.Timestamp],
    screen: dict[str, float], thresholds: list[float],
    chance: list[float] | None = None, n_cells: int = 3000, issue_step_h: int = 12,
    max_lead_h: int = 48, seed: int = 1,
    calibration: dict[str, Any] | None = None, with_events: bool = True,
    event_issue_step_h: int = 24, events_upper_bound: bool = True,
    baseline_rounds: int = BASELINE_ROUNDS,
    baseline_max_rows: int = MAX_ROWS,
) -> dict[str, Any]:
    """Scores per lead bin for the model and the baselines (see module docstring).

    ``model`` is the calibrated model (``calibration`` from the metadata; the raw
    booster when ``None``), ``model_raw`` the booster's own probabilities. The
    ``nowcast`` is the best baseline given the *observed* drivers at the valid
    time and the latest satellite pass before it: what one could say with no
    forecast error at all. ``baseline_rounds`` and ``baseline_max_rows``: the size of
    the issue-time reference (:func:`wetindex.model.baselines.fit_issue_time_baseline`).
    """
    rng = np.random.default_rng(seed)
    candidates = screened_cells(inputs, static, screen)
    cells = np.sort(rng.choice(candidates, size=min(n_cells, len(candidates)), replace=False))
    others = np.setdiff1d(np.arange(static.sizes["y"] * static.sizes["x"]), candidates)
    others = others[~static["permanent_water"].values.ravel()[others].astype(bool)]
    outside = rng.choice(others, size=min(n_cells, len(others)), replace=False)

    issues = inputs.issue_times()
    issues = issues[(issues >= holdout[0]) & (issues <= holdout[1])]
    if len(issues) == 0:
        raise ValueError(f"no issue times in the hold-out period {holdout[0]} – {holdout[1]}")
    bins = lead_bins(max_lead_h)
    # scored only at valid times where a label exists (passes at any hour), and from
    # issue times that put a labelled valid time in every lead bin
    hours = label_hours(inputs, issues[0] + pd.Timedelta(hours=1),
                        issues[-1] + pd.Timedelta(hours=max_lead_h))
    issues, leads_of, every_issue = verification_issues(
        issues, hours, max_lead_h, max(1, issue_step_h // 3), bins)
    if len(issues) == 0:
        raise ValueError(f"no label falls within {max_lead_h} h after any issue time of the "
                         f"hold-out period {holdout[0]} – {holdout[1]}: nothing to verify")
    climatology, by_month = label_climatology(inputs, cells, train)

    observed = inputs.observed(issues[0].to_datetime64() - np.timedelta64(HISTORY_NEEDED_H, "h"),
                               issues[-1].to_datetime64())
    drivers = drivers_for_issues(observed, inputs.forecasts_many(issues.values), issues.values)
    statics = static_table(static, cells)
    gw = inputs.groundwater_depth_cells(issues.values, cells)
    persistence_now = last_observed_water(inputs, issues, cells, climatology)
    observed_all = inputs.observed(
        issues[0].to_datetime64() - np.timedelta64(HISTORY_NEEDED_H, "h"),
        issues[-1].to_datetime64() + np.timedelta64(max_lead_h, "h"))
    drivers_seen = drivers_for_issues(
        observed_all, observed_as_forecast(observed_all, issues.values, max_lead_h), issues.values)
    valid_all = pd.DatetimeIndex(sorted({issue + pd.Timedelta(hours=int(h))
                                         for issue, kept in zip(issues, leads_of, strict=True)
                                         for h in kept}))
    persistence_valid = dict(zip(valid_all, last_observed_water(inputs, valid_all, cells,
                                                                climatology), strict=True))
    # the probabilistic reference: terrain and the drivers known at the issue time only
    reference = fit_issue_time_baseline(inputs, statics, cells, train, max_lead_h=max_lead_h,
                                        rounds=baseline_rounds, max_rows=baseline_max_rows)
    drivers_then = issue_time_drivers(inputs, issues, max_lead_h)

    rows: dict[str, list[np.ndarray]] = {"lead": [], "y": [], "model": [], "x": [], "clim": [],
                                         "clim_month": [], "pers": [], "nowcast": [],
                                         "reference": [], "upper": [], "valid": [], "cell": []}
    screen_misses = 0
    for i, issue in enumerate(issues):
        leads = leads_of[i]
        valid = (issue + pd.to_timedelta(leads, unit="h")).values
        truth = inputs.labels(valid, cells)
        screen_misses += int((inputs.labels(valid[::max(1, len(valid) // 8)], outside)
                              == 1).sum())
        seen_rows, then_rows = [], []
        for li, lead_h in enumerate(leads):
            x = feature_rows(statics, drivers[i, lead_h - 1], gw[i])
            rows["x"].append(x)
            rows["y"].append(truth[li])
            rows["lead"].append(np.full(len(cells), lead_h))
            rows["valid"].append(np.full(len(cells), valid[li].astype("datetime64[h]").astype(
                "int64")))
            rows["cell"].append(cells)
            rows["clim"].append(climatology)
            rows["clim_month"].append(by_month.get(issue.month, climatology))
            rows["pers"].append(persistence_now[i])
            # the nowcast's rules need only a few columns: keep its answer, not its rows
            x_seen = feature_rows(statics, drivers_seen[i, lead_h - 1], gw[i])
            rows["nowcast"].append(baseline_probabilities(
                x_seen, climatology, persistence_valid[pd.Timestamp(valid[li])])["best_baseline"])
            seen_rows.append(x_seen)
            then_rows.append(feature_rows(statics, drivers_then[i, lead_h - 1], gw[i]))
        # one call per issue time (48 leads), not per lead: the per-call cost dominates
        rows["upper"].append(booster.predict(np.concatenate(seen_rows)))
        rows["reference"].append(reference.predict(np.concatenate(then_rows))
                                 if reference is not None else np.tile(climatology, len(leads)))
    x = np.concatenate(rows["x"])
    y = np.concatenate(rows["y"]).astype("float32")
    lead = np.concatenate(rows["lead"])
    known = y >= 0
    x, y, lead = x[known], y[known], lead[known]
    valid_h = np.concatenate(rows["valid"])[known]
    cell = np.concatenate(rows["cell"])[known]
    raw = booster.predict(x)
    probs = {"model": apply_calibration(raw, lead, calibration) if calibration else raw,
             "model_raw": raw}
    clim = np.concatenate(rows["clim"])[known]
    probs |= baseline_probabilities(x, clim, np.concatenate(rows["pers"])[known])
    probs["climatology_month"] = np.concatenate(rows["clim_month"])[known]
    probs["nowcast"] = np.concatenate(rows["nowcast"])[known]
    probs["never_wet"] = np.zeros(len(y), dtype="float32")
    probs["issue_time_baseline"] = np.concatenate(rows["reference"])[known]
    upper = np.concatenate(rows["upper"])[known]
    probs["model_observed_drivers"] = (apply_calibration(upper, lead, calibration)
                                       if calibration else upper)
    cases = bin_cases(lead, valid_h, cell, y, bins)
    # a bin without cases is reported with its reason and kept out of the scores, so
    # every score and verdict comes from bins with cases
    scored = [b for b, c in zip(bins, cases, strict=True) if c["cases"]]
    scores, reliability = score_by_lead_bin(probs, y, lead, scored, thresholds)
    events = None
    if with_events:

        events = evaluate_events(booster, inputs, static, holdout=holdout, train=train,
                                 screen=screen, thresholds=thresholds, chance=chance,
                                 calibration=calibration,
                                 issue_step_h=event_issue_step_h, max_lead_h=max_lead_h,
                                 upper_bound=events_upper_bound)
    return {
        "lead_bins": [f"{lo}-{hi}" for lo, hi in scored],
        "scores": scores,
        "cases": [c for c in cases if c["cases"]],
        "bins_without_cases": [{"bin": c["bin"], "reason": c["reason"]}
                               for c in cases if not c["cases"]],
        "verified_at": (f"{len(valid_all)} labelled valid hours; "
                        + ("every issue time" if every_issue else
                           f"every {issue_step_h} h of issue time")),
        "n_rows": len(y),
        "n_wet": int(y.sum()),
        "n_issues": len(issues),
        "n_cells": len(cells),
        "screen_misses": screen_misses,
        "holdout": [holdout[0].isoformat(), holdout[1].isoformat()],
        "thresholds": dict(zip(LEVELS, thresholds, strict=True)),
        "warning_chance": (dict(zip(LEVELS, chance, strict=True)) if chance is not None
                           else None),
        "calibrated": bool(calibration),
        # a calibration only changes anything where a lead bin's map was kept
        "calibration_applied": any(not m.get("identity")
                                   for m in (calibration or {}).get("maps", [])),
        "reliability": reliability,
        "references": [r for r in REFERENCES if r in probs],
        "issue_time_baseline": ("LightGBM on terrain and the drivers observed up to the "
                                "issue time" if reference is not None
                                else "climatology (no wet row to train on)"),
        "events": events,
    }


def label_climatology(inputs: AreaInputs, cells: np.ndarray,
                      train: tuple[pd.Timestamp, pd.Timestamp]
                      ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Share of known labels in which each cell was wet over ``train``, all seasons and
    per calendar month, from the hours where labels exist (:mod:`label_times`).

    One label a day (at the hour of day ``train`` starts at) when labels exist at
    every hour; every pass of a sparse satellite record otherwise (at most 62 a month).
    Unknown labels (cloud) count in neither the wet nor the known.
    """
    hours = label_hours(inputs, train[0], train[1])
    by_month_times = sample_by_month(hours, 62, hour=pd.Timestamp(train[0]).hour)
    if not by_month_times:
        zero = np.zeros(len(cells), "float32")
        return zero, {}
    times = pd.DatetimeIndex(np.concatenate([t.values for t in by_month_times.values()]))
    labels = np.asarray(inputs.labels(times.values, cells))

    def share(sel: np.ndarray) -> np.ndarray:
        known = (labels[sel] >= 0).sum(axis=0)
        wet = (labels[sel] == 1).sum(axis=0)
        return np.where(known > 0, wet / np.maximum(known, 1), 0.0).astype("float32")

    # the same base rate for the calendar month only: a hold-out in a drier season than
    # the year's average makes the all-season rate an easy reference to beat
    by_month = {m: share(np.asarray(times.month == m)) for m in by_month_times}
    return share(np.ones(len(times), bool)), by_month


def score_by_lead_bin(
    probs: dict[str, np.ndarray], y: np.ndarray, lead: np.ndarray,
    bins: list[tuple[int, int]], thresholds: list[float],
) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[dict[str, list[float]]]]]:
    """Scores ``{method: {metric: [per bin]}}`` and reliability curves per method and bin.

    Metrics: Brier, Brier skill vs. ``probs["climatology"]``, ROC-AUC, PR-AUC,
    ECE, and POD / FAR / CSI at each warning level (``p >= threshold``).
    """
    scores: dict[str, dict[str, list[float]]] = {}
    reliability: dict[str, list[dict[str, list[float]]]] = {}
    for method, p in probs.items():
        m: dict[str, list[float]] = {}
        for lo, hi in bins:
            sel = (lead > lo) & (lead <= hi)
            b = brier(p[sel], y[sel])
            b_ref = brier(probs["climatology"][sel], y[sel])
            m.setdefault("brier", []).append(b)
            m.setdefault("brier_skill", []).append(1.0 - b / b_ref if b_ref > 0
                                                   else float("nan"))
            m.setdefault("roc_auc", []).append(_safe(roc_auc, y[sel], p[sel]))
            m.setdefault("pr_auc", []).append(_safe(average_precision, y[sel], p[sel]))
            m.setdefault("ece", []).append(expected_calibration_error(p[sel], y[sel]))
            for ref in REFERENCES:
                if ref in probs:
                    b_r = brier(probs[ref][sel], y[sel])
                    m.setdefault(f"bss_{ref}", []).append(1.0 - b / b_r if b_r > 0
                                                          else float("nan"))
            # how often each level came true: rows forecast in [threshold, next threshold)
            edges = [*thresholds, np.inf]
            for k, level in enumerate(LEVELS):
                at = (p[sel] >= edges[k]) & (p[sel] < edges[k + 1])
                m.setdefault(f"cases_{level}", []).append(int(at.sum()))
                m.setdefault(f"came_true_{level}", []).append(
                    float(y[sel][at].mean()) if at.any() else float("nan"))
            for level, threshold in zip(LEVELS, thresholds, strict=True):
                for k, v in categorical_scores(p[sel], y[sel], threshold).items():
                    m.setdefault(f"{k}_{level}", []).append(v)
            if method in RELIABILITY_METHODS:
                reliability.setdefault(method, []).append(reliability_curve(p[sel], y[sel]))
        scores[method] = m
    return scores, reliability
