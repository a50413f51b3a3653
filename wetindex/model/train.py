"""Training the LightGBM wet-index model on an area's history."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import xarray as xr
import yaml

from wetindex import progress
from wetindex.features.stack import FEATURES
from wetindex.model.calibration import (
    apply_calibration,
    expected_calibration_error,
    fit_calibration,
    guard_calibration,
)
from wetindex.model.cv import cross_validate, storm_events
from wetindex.model.dataset import Periods, SampleTable, sample_rows, split_periods
from wetindex.model.evaluate import lead_bins
from wetindex.model.label_times import check_labelled_history
from wetindex.model.screen import screened_cells
from wetindex.sources.base import AreaInputs

log = logging.getLogger(__name__)


@dataclass
class TrainedModel:
    """A booster with what is needed to use and describe it."""

    booster: lgb.Booster
    model_config: dict[str, Any]
    periods: Periods
    screen: dict[str, float]
    n_rows: dict[str, int]
    scores: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    cv: dict[str, Any] = field(default_factory=dict)


def load_model_config(path: Path) -> dict[str, Any]:
    """Read a model configuration (``models/configs/*.yaml``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: model configuration not found")
    config = yaml.safe_load(path.read_text())
    unknown = set(config) - {"lightgbm", "sampling", "screen", "evaluation", "cv"}
    if unknown:
        raise ValueError(f"{path}: unknown sections {sorted(unknown)}")
    return config


def quick_model_config(config: dict[str, Any]) -> dict[str, Any]:
    """A lighter copy of a model configuration, for a first look in minutes.

    Fewer training cells and rows, 80 boosting rounds, a smaller evaluation sample and
    issue-time reference (40 rounds on at most 50 000 rows, about the model's own size,
    instead of 120 on 400 000), no blocked cross-validation and no second event replay
    with the observed drivers; the hold-out scores remain. The notebooks and the
    end-to-end test train with it.
    """
    quick = copy.deepcopy(config)
    quick["sampling"].update(training_cells=4000, valid_hour_step=6,
                             max_positive_rows=8000, max_negative_rows=16000)
    quick["lightgbm"].update(num_boost_round=80)
    quick["evaluation"].update(cells=300, issue_step_h=48, baseline_rounds=40,
                               baseline_max_rows=50_000, events_upper_bound=False)
    quick.setdefault("cv", {})["n_folds"] = 1
    return quick


def screen_settings(inputs: AreaInputs, model_config: dict[str, Any],
                    history: tuple[pd.Timestamp, pd.Timestamp]) -> dict[str, Any]:
    """The screen's parameters, with the highest sea level of the history."""
    observed = inputs.observed(history[0].to_datetime64(), history[1].to_datetime64())
    anomaly = observed["groundwater_anomaly"]
    return {
        "hand_max_m": float(model_config["screen"]["hand_max_m"]),
        "sea_level_headroom_m": float(model_config["screen"]["sea_level_headroom_m"]),
        "groundwater_headroom_m": float(model_config["screen"]["groundwater_headroom_m"]),
        "max_sea_level": float(observed["sea_level"].max()),
        "groundwater_shallowest_time": str(pd.Timestamp(
            anomaly["time"].values[int(anomaly.argmax(dim="time"))]).isoformat()),
    }


def train(
    inputs: AreaInputs, static: xr.Dataset, model_config: dict[str, Any], *,
    history_end: pd.Timestamp, holdout_days: int, max_lead_h: int = 48, seed: int = 0,
) -> tuple[TrainedModel, SampleTable]:
    """Train on the history before the hold-out period.

    Returns the trained model and the validation rows (for calibration checks).
    """
    rng = np.random.default_rng(seed)
    sampling = model_config["sampling"]
    issue_times = inputs.issue_times()
    periods = split_periods(
        issue_times, history_end, holdout_days=holdout_days,
        validation_fraction=sampling["validation_fraction"],
        gap_hours=sampling["gap_hours"], max_lead_h=max_lead_h)
    check_labelled_history(inputs, (periods.train[0], periods.validation[1]))
    screen = screen_settings(inputs, model_config, (issue_times[0], periods.validation[1]))
    candidates = screened_cells(inputs, static, screen)
    n_cells = min(int(sampling["training_cells"]), len(candidates))
    cells = np.sort(rng.choice(candidates, size=n_cells, replace=False))
    common = dict(max_lead_h=max_lead_h, valid_hour_step=sampling["valid_hour_step"],
                  max_positive_rows=sampling["max_positive_rows"],
                  max_negative_rows=sampling["max_negative_rows"], rng=rng)
    train_rows = sample_rows(inputs, static, cells, periods.train, **common)
    val_rows = sample_rows(inputs, static, cells, periods.validation, **common)
    log.info("training rows: %d (%d wet), validation rows: %d (%d wet)",
             len(train_rows), int(train_rows.label.sum()),
             len(val_rows), int(val_rows.label.sum()))
    if train_rows.label.sum() == 0:
        raise ValueError("no wet cell in the training period: the model cannot learn; "
                         "use a longer history or check the labels")

    params = {k: v for k, v in model_config["lightgbm"].items()
              if k not in ("num_boost_round", "early_stopping_rounds")}
    params |= {"verbose": -1, "seed": seed, "num_threads": 0, "deterministic": True}
    dtrain = lgb.Dataset(train_rows.features, train_rows.label, weight=train_rows.weight,
                         feature_name=list(FEATURES), categorical_feature=["land_cover"],
                         free_raw_data=False)
    dval = lgb.Dataset(val_rows.features, val_rows.label, weight=val_rows.weight,
                       reference=dtrain)
    booster = lgb.train(
        params, dtrain, num_boost_round=model_config["lightgbm"]["num_boost_round"],
        valid_sets=[dval], valid_names=["validation"],
        callbacks=[lgb.early_stopping(model_config["lightgbm"]["early_stopping_rounds"],
                                      verbose=False),
                   progress.lightgbm_callback("  boosting rounds")])
    bins = lead_bins(max_lead_h)
    raw_val = booster.predict(val_rows.features)
    calibration = fit_calibration(raw_val, val_rows.label, val_rows.lead, bins,
                                  weight=val_rows.weight)
    cv, oof_rows = _blocked_cv(inputs, train_rows, val_rows, params, model_config, booster,
                               (issue_times[0], periods.validation[1]), seed=seed)
    if oof_rows is not None:  # keep a bin's map only where it helps outside validation
        p, rows = oof_rows
        calibration = guard_calibration(calibration, p, rows.label, rows.lead, rows.weight)
    calibration["validation_ece"] = _ece_by_bin(raw_val, val_rows, bins, calibration)
    model = TrainedModel(
        booster=booster, model_config=model_config, periods=periods, screen=screen,
        n_rows={"train": len(train_rows), "train_wet": int(train_rows.label.sum()),
                "validation": len(val_rows), "validation_wet": int(val_rows.label.sum()),
                "training_cells": int(n_cells), "candidate_cells": len(candidates)},
        calibration=calibration, cv=cv)
    return model, val_rows


def _ece_by_bin(raw: np.ndarray, rows: SampleTable, bins: list[tuple[int, int]],
                calibration: dict[str, Any]) -> dict[str, list[float]]:
    """ECE per lead bin on the validation rows before and after calibration.

    The rows are class-subsampled, so they are resampled by their weights
    first (a weighted ECE with the population's class balance).
    """
    rng = np.random.default_rng(0)
    take = rng.choice(len(rows), size=min(len(rows), 200_000), p=rows.weight / rows.weight.sum())
    after = apply_calibration(raw, rows.lead, calibration)
    out: dict[str, list[float]] = {"before": [], "after": []}
    for lo, hi in bins:
        sel = take[(rows.lead[take] > lo) & (rows.lead[take] <= hi)]
        out["before"].append(expected_calibration_error(raw[sel], rows.label[sel]))
        out["after"].append(expected_calibration_error(after[sel], rows.label[sel]))
    return out


def _blocked_cv(inputs: AreaInputs, train_rows: SampleTable, val_rows: SampleTable,
                params: dict[str, Any], model_config: dict[str, Any], booster: lgb.Booster,
                window: tuple[pd.Timestamp, pd.Timestamp], *, seed: int
                ) -> tuple[dict[str, Any], tuple[np.ndarray, SampleTable] | None]:
    """Space- and storm-blocked cross-validation on the training and validation rows.

    Returns the scores (for metadata) and the out-of-fold predictions of the rows
    outside the validation period, with those rows (for the calibration guard).
    """
    cfg = {"n_folds": 3, "tile_m": 500.0, "max_rows": 80_000, **model_config.get("cv", {})}
    if cfg["n_folds"] < 2:
        return {}, None
    observed = inputs.observed(window[0].to_datetime64(), window[1].to_datetime64())
    storms = storm_events(observed)
    rows = SampleTable(*(np.concatenate([a, b]) for a, b in zip(
        (train_rows.features, train_rows.label, train_rows.weight, train_rows.valid_time,
         train_rows.lead, train_rows.cell),
        (val_rows.features, val_rows.label, val_rows.weight, val_rows.valid_time,
         val_rows.lead, val_rows.cell), strict=True)))
    if len(rows) > cfg["max_rows"]:  # a uniform subsample keeps the weights' meaning
        keep = np.zeros(len(rows), bool)
        keep[np.random.default_rng(seed).choice(len(rows), int(cfg["max_rows"]), False)] = True
        rows = rows.subset(keep)
    rounds = max(int(booster.best_iteration or 0), 10)
    cv = cross_validate(rows, storms, params, num_boost_round=rounds, nx=inputs.grid.nx,
                        cell_size=inputs.grid.cell_size, n_folds=int(cfg["n_folds"]),
                        tile_m=float(cfg["tile_m"]),
                        gap_h=int(model_config["sampling"]["gap_hours"]), seed=seed)
    log.info("blocked CV (%d storms): %s", len(storms),
             ", ".join(f"{k} {v:.3f}" for k, v in cv["mean"].items()))
    oof = cv.pop("out_of_fold")
    outside = np.isfinite(oof) & (rows.valid_time < window[1].to_datetime64()) & (
        rows.valid_time < np.datetime64(val_rows.valid_time.min()))
    if outside.sum() == 0:
        return cv, None
    return cv, (oof[outside], rows.subset(outside))
