"""A probabilistic reference a forecaster would accept: no forecast of the drivers at all.

The yes/no rules (persistence, a rain threshold, the bathtub) are easy to beat in
Brier score because they say 0 or 1. The fair reference is a probabilistic model
that knows everything the wet-index model knows *except the driver forecasts*:
the cell's terrain and the drivers observed up to the issue time. It is a small
LightGBM trained on the training period with the drivers *persisted* from the
issue time (no rain after it, the sea level and groundwater anomaly held at their
issue-time values), the same rows the model is scored on otherwise. If the model
does not beat it, its forecasts of rain and sea add nothing. It learns from the
valid times where labels exist: a few fixed leads when labels exist at every hour,
the leads that meet a satellite pass otherwise.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import xarray as xr

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import FEATURES, drivers_for_issues, feature_rows
from wetindex.model.label_times import dense, label_hours, labelled_leads

#: LightGBM settings of the reference: small, fixed, no early stopping on the hold-out.
BASELINE_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 50,
    "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "verbose": -1,
    "deterministic": True, "num_threads": 0,
}
BASELINE_ROUNDS = 120
#: Most rows the reference is trained on.
MAX_ROWS = 400_000
#: Leads the reference is trained on (all leads are scored).
TRAIN_LEADS: tuple[int, ...] = (1, 3, 6, 9, 12, 18, 24, 30, 36, 42, 48)


def persisted_forecast(observed: xr.Dataset, issue_times: np.ndarray,
                       max_lead_h: int) -> xr.Dataset:
    """The drivers as known at each issue time, laid out like a forecast ``(issue_time, lead)``.

    No rain after the issue time; sea level and the groundwater anomaly stay at
    their last observed values.
    """
    issue_times = np.asarray(issue_times, "datetime64[ns]")
    at = observed.sel(time=issue_times, method="ffill")
    shape = (len(issue_times), max_lead_h)
    # no rain after the issue time; no rain at all where rain is not an input (NaN, unknown)
    no_rain = np.float32(np.nan if bool(np.isnan(observed["rain"].values).all()) else 0.0)
    data = {"rain": (("issue_time", "lead"), np.full(shape, no_rain, "float32"))}
    for name in ("sea_level", "groundwater_anomaly"):
        values = np.asarray(at[name].values, "float32")[:, None]
        data[name] = (("issue_time", "lead"), np.broadcast_to(values, shape).copy())
    return xr.Dataset(data, coords={"issue_time": issue_times,
                                    "lead": np.arange(1, max_lead_h + 1)})


def issue_time_drivers(inputs, issues: pd.DatetimeIndex, max_lead_h: int) -> np.ndarray:
    """Area drivers ``(issue, lead, driver)`` with the drivers persisted from each issue."""
    observed = inputs.observed(issues[0].to_datetime64() - np.timedelta64(HISTORY_NEEDED_H, "h"),
                               issues[-1].to_datetime64())
    return drivers_for_issues(observed, persisted_forecast(observed, issues.values, max_lead_h),
                              issues.values)


def fit_issue_time_baseline(inputs, statics: np.ndarray, cells: np.ndarray,
                            train: tuple[pd.Timestamp, pd.Timestamp], *, max_lead_h: int = 48,
                            issue_step_h: int = 48, seed: int = 1,
                            rounds: int = BASELINE_ROUNDS,
                            max_rows: int = MAX_ROWS) -> lgb.Booster | None:
    """Train the reference on the training period (``None`` when it has no wet row).

    ``statics`` are the static rows of ``cells`` (:func:`static_table`). ``rounds``
    boosting rounds on at most ``max_rows`` rows: :data:`BASELINE_ROUNDS` and
    :data:`MAX_ROWS` unless the model configuration's ``evaluation.baseline_rounds`` /
    ``evaluation.baseline_max_rows`` say otherwise (a lighter configuration's smaller
    reference, :func:`wetindex.model.evaluate.evaluation_options`).
    """
    issues = inputs.issue_times()
    issues = issues[(issues >= train[0]) & (issues <= train[1])]
    if len(issues) == 0:
        return None
    hours = label_hours(inputs, issues[0] + pd.Timedelta(hours=1),
                        issues[-1] + pd.Timedelta(hours=max_lead_h))
    if dense(hours, issues[0], issues[-1] + pd.Timedelta(hours=max_lead_h)):
        # labels at every hour: a few fixed leads of every issue_step_h-th issue time
        every = max(1, round(issue_step_h / max(1.0, _step_h(issues))))
        issues = issues[::every]
        fixed = [lead for lead in TRAIN_LEADS if lead <= max_lead_h]
        leads_of = [np.asarray(fixed)] * len(issues)
    else:
        # sparse labels (satellite passes): every issue time, at the leads that meet a pass
        leads_of = labelled_leads(issues, hours, max_lead_h)
        keep = [i for i, k in enumerate(leads_of) if len(k)]
        issues, leads_of = issues[keep], [leads_of[i] for i in keep]
        if len(issues) == 0:
            return None
    # bounded work: at most max_rows rows, from issues spread over the whole period
    per_issue = max(1, int(np.mean([len(k) for k in leads_of])))
    keep_n = max(10, max_rows // max(1, len(cells) * per_issue))
    if len(issues) > keep_n:
        pick = np.linspace(0, len(issues) - 1, keep_n).round().astype(int)
        issues, leads_of = issues[pick], [leads_of[i] for i in pick]
    drivers = issue_time_drivers(inputs, issues, max_lead_h)
    gw = inputs.groundwater_depth_cells(issues.values, cells)
    xs, ys = [], []
    for i, issue in enumerate(issues):
        leads = leads_of[i]
        valid = (issue + pd.to_timedelta(leads, unit="h")).values
        truth = np.asarray(inputs.labels(valid, cells))
        for k, lead in enumerate(leads):
            known = truth[k] >= 0
            xs.append(feature_rows(statics[known], drivers[i, lead - 1], gw[i][known]))
            ys.append(truth[k][known])
    if not xs:
        return None
    x = np.concatenate(xs)
    y = np.concatenate(ys).astype("float32")
    if y.sum() == 0:
        return None
    data = lgb.Dataset(x, y, feature_name=list(FEATURES), categorical_feature=["land_cover"])
    return lgb.train(BASELINE_PARAMS | {"seed": seed}, data, num_boost_round=rounds)


def _step_h(issues: pd.DatetimeIndex) -> float:
    if len(issues) < 2:
        return 1.0
    return float(np.median(np.diff(issues.values)) / np.timedelta64(1, "h"))
