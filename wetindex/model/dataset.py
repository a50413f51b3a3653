"""Training and evaluation samples of (cell, issue time, lead).

Rows are drawn from the truth at valid hours of a period, for a fixed random set
of candidate cells. Each (valid hour, cell) gets one lead at random among those
whose issue time exists, so every lead is trained on equally and the inputs are
forecasts as they were at that lead. Classes are subsampled to a row budget and
every kept row is weighted by the inverse of its class's inclusion rate, so the
model's probabilities remain those of the full population (no recalibration of
class balance needed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import (
    drivers_for_issues,
    feature_rows,
    static_table,
)
from wetindex.sources.base import AreaInputs


@dataclass
class SampleTable:
    """Feature rows with labels, weights and where each row came from."""

    features: np.ndarray  # (n, n_features) float32
    label: np.ndarray  # (n,) int8, 0 dry / 1 wet
    weight: np.ndarray  # (n,) float32
    valid_time: np.ndarray  # (n,) datetime64[ns]
    lead: np.ndarray  # (n,) int16
    cell: np.ndarray  # (n,) int64 flat cell index

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, mask: np.ndarray) -> SampleTable:
        return SampleTable(self.features[mask], self.label[mask], self.weight[mask],
                           self.valid_time[mask], self.lead[mask], self.cell[mask])


@dataclass(frozen=True)
class Periods:
    """Issue-time periods: training, validation (early stopping) and hold-out."""

    train: tuple[pd.Timestamp, pd.Timestamp]
    validation: tuple[pd.Timestamp, pd.Timestamp]
    holdout: tuple[pd.Timestamp, pd.Timestamp]

    def to_dict(self) -> dict[str, list[str]]:
        return {k: [v[0].isoformat(), v[1].isoformat()] for k, v in
                {"train": self.train, "validation": self.validation,
                 "holdout": self.holdout}.items()}


def split_periods(
    issue_times: pd.DatetimeIndex, history_end: pd.Timestamp, *, holdout_days: int,
    validation_fraction: float, gap_hours: int, max_lead_h: int,
) -> Periods:
    """Time-blocked periods separated by gaps so no storm is in two of them."""
    first = issue_times[0] + pd.Timedelta(hours=HISTORY_NEEDED_H)
    last = min(issue_times[-1], history_end - pd.Timedelta(hours=max_lead_h))
    gap = pd.Timedelta(hours=gap_hours)
    holdout_start = last - pd.Timedelta(days=holdout_days)
    fit_end = holdout_start - gap
    if fit_end <= first + pd.Timedelta(days=30):
        raise ValueError(
            f"rule: training needs {HISTORY_NEEDED_H // 24} days of driver history before its "
            f"first issue time, then at least 30 days of labelled history before the "
            f"{holdout_days}-day hold-out; the usable issue times cover {first.date()} – "
            f"{last.date()}: use a longer history or a shorter training.holdout_days")
    val_start = fit_end - (fit_end - first) * validation_fraction
    return Periods(
        train=(first, val_start - gap),
        validation=(val_start, fit_end),
        holdout=(holdout_start, last),
    )


def _issues_in(issue_times: pd.DatetimeIndex, period: tuple[pd.Timestamp, pd.Timestamp]):
    return issue_times[(issue_times >= period[0]) & (issue_times <= period[1])]


def sample_rows(
    inputs: AreaInputs, static: xr.Dataset, cells: np.ndarray,
    period: tuple[pd.Timestamp, pd.Timestamp], *, max_lead_h: int, valid_hour_step: int,
    max_positive_rows: int, max_negative_rows: int, rng: np.random.Generator,
) -> SampleTable:
    """Rows for valid hours whose issue time lies in ``period`` (see module docstring)."""
    issues = _issues_in(inputs.issue_times(), period)
    if len(issues) == 0:
        raise ValueError(f"no issue times in {period[0]} – {period[1]}")
    step_h = int((issues[1] - issues[0]) / pd.Timedelta(hours=1)) if len(issues) > 1 else 1
    valid = pd.date_range(issues[0] + pd.Timedelta(hours=1),
                          issues[-1] + pd.Timedelta(hours=max_lead_h),
                          freq=f"{valid_hour_step}h")
    truth = np.concatenate([inputs.labels(valid[chunk].values, cells) for chunk in
                            np.array_split(np.arange(len(valid)), max(1, len(valid) // 256))])
    n_pos = int((truth == 1).sum())
    n_neg = int((truth == 0).sum())
    rate_pos = min(1.0, max_positive_rows / max(n_pos, 1))
    rate_neg = min(1.0, max_negative_rows / max(n_neg, 1))
    # draw the kept rows block by block: a uniform draw over the whole (hours × cells)
    # matrix at once would cost gigabytes on a full-size area
    picked_v, picked_c = [], []
    for block in np.array_split(np.arange(len(valid)), max(1, len(valid) // 256)):
        t = truth[block]
        rate = np.where(t == 1, np.float32(rate_pos), np.float32(rate_neg))
        keep = (t >= 0) & (rng.random(t.shape, dtype=np.float32) < rate)
        v, c = np.nonzero(keep)
        picked_v.append(block[v])
        picked_c.append(c)
    vi, ci = np.concatenate(picked_v), np.concatenate(picked_c)

    # a lead per row, uniformly among those with an issue time in the period
    issue_set = issues.values
    valid_t = valid.values[vi]
    # the leads whose issue time is on the issue grid are first, first + step, … ≤ max;
    # one of them at random (snapping a lead drawn from 1…max down to the grid gave the
    # longest leads a third of the rows of the others)
    since_first = (valid_t - issue_set[0]) // np.timedelta64(1, "h")
    first = (since_first - 1) % step_h + 1
    lead = first + step_h * rng.integers(0, (max_lead_h - first) // step_h + 1)
    issue_t = valid_t - lead.astype("timedelta64[h]")
    ok = (lead >= 1) & (issue_t >= issue_set[0]) & (issue_t <= issue_set[-1])
    ok &= np.isin(issue_t, issue_set)
    vi, ci, lead, issue_t, valid_t = vi[ok], ci[ok], lead[ok], issue_t[ok], valid_t[ok]

    start = issue_set[0] - np.timedelta64(HISTORY_NEEDED_H, "h")
    observed = inputs.observed(start, issue_set[-1])
    uniq_issue, issue_pos = np.unique(issue_t, return_inverse=True)
    drivers = drivers_for_issues(observed, inputs.forecasts_many(uniq_issue), uniq_issue)
    row_drivers = drivers[issue_pos, lead - 1]
    gw = inputs.groundwater_depth_cells(uniq_issue, cells)  # (n_issues, n_cells)
    statics = static_table(static, cells)
    x = feature_rows(statics[ci], row_drivers, gw[issue_pos, ci])
    label = (truth[vi, ci] == 1).astype("int8")
    weight = np.where(label == 1, 1.0 / rate_pos, 1.0 / rate_neg).astype("float32")
    return SampleTable(x, label, weight, valid_t, lead.astype("int16"), cells[ci])

