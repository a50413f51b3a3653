"""Training samples (wetindex.model.dataset): periods apart in time, rows that are the
truth at their valid hour, every lead trained on, weights that keep the base rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from small_world import small_world

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import FEATURES
from wetindex.model.dataset import sample_rows, split_periods

H = pd.Timedelta(hours=1)


def test_periods_are_ordered_apart_and_end_before_the_last_forecast_is_verifiable():
    issues = pd.date_range("2024-01-01", "2024-12-31 21:00", freq="3h")
    p = split_periods(issues, issues[-1], holdout_days=60, validation_fraction=0.2,
                      gap_hours=120, max_lead_h=48)
    assert p.train[0] == issues[0] + HISTORY_NEEDED_H * H  # the features' history exists
    assert p.train[0] < p.train[1] < p.validation[0] < p.validation[1] < p.holdout[0]
    # a storm in one period cannot reach the next: one horizon plus rain windows apart
    assert p.validation[0] - p.train[1] == 120 * H
    assert p.holdout[0] - p.validation[1] == 120 * H
    # the hold-out ends where its 48-hour forecasts can still be checked
    assert p.holdout[1] == issues[-1] - 48 * H
    assert p.holdout[1] - p.holdout[0] == pd.Timedelta(days=60)
    fit = p.validation[1] - p.train[0]
    assert p.validation[1] - p.validation[0] == pytest.approx(fit * 0.2, abs=H)


def test_a_history_too_short_for_the_holdout_is_refused_with_the_fix():
    issues = pd.date_range("2024-01-01", periods=8 * 70, freq="3h")  # 70 days
    with pytest.raises(ValueError, match=r"rule: .*30 days of labelled history.*holdout_days"):
        split_periods(issues, issues[-1], holdout_days=60, validation_fraction=0.2,
                      gap_hours=120, max_lead_h=48)


@pytest.fixture(scope="module")
def sampled():
    inputs, static = small_world()
    issues = inputs.issue_times()
    period = (issues[0] + HISTORY_NEEDED_H * H, issues[0] + HISTORY_NEEDED_H * H
              + pd.Timedelta(days=200))
    cells = np.arange(0, inputs.grid.nx * inputs.grid.ny, 3)
    rows = sample_rows(inputs, static, cells, period, max_lead_h=48, valid_hour_step=2,
                       max_positive_rows=400, max_negative_rows=1200,
                       rng=np.random.default_rng(0))
    return inputs, cells, period, rows


def test_every_row_comes_from_an_issue_time_in_the_period_and_all_leads_are_used(sampled):
    inputs, _, period, rows = sampled
    issues = inputs.issue_times()
    in_period = issues[(issues >= period[0]) & (issues <= period[1])].values
    issue_t = rows.valid_time - rows.lead.astype("timedelta64[h]")
    assert np.isin(issue_t, in_period).all()
    assert rows.lead.min() >= 1 and rows.lead.max() <= 48
    counts = np.bincount(rows.lead, minlength=49)[1:]
    assert counts.min() > 0.6 * counts.mean(), counts  # every lead trained on equally
    assert rows.features.shape == (len(rows), len(FEATURES))
    assert np.isfinite(rows.features).any(axis=0).all()  # no feature left empty


def test_each_label_is_the_truth_at_its_valid_hour_and_cell(sampled):
    inputs, _, _, rows = sampled
    pick = np.random.default_rng(1).choice(len(rows), size=60, replace=False)
    for i in pick:
        truth = inputs.labels(rows.valid_time[i:i + 1], rows.cell[i:i + 1])[0, 0]
        assert rows.label[i] == (truth == 1), (rows.valid_time[i], rows.cell[i])
    assert 0 < rows.label.sum() < len(rows)


def test_weights_keep_the_population_base_rate(sampled):
    inputs, cells, period, rows = sampled
    issues = inputs.issue_times()
    in_period = issues[(issues >= period[0]) & (issues <= period[1])]
    valid = pd.date_range(in_period[0] + H, in_period[-1] + 48 * H, freq="2h")
    truth = inputs.labels(valid.values, cells)
    known = truth >= 0
    base_rate = (truth[known] == 1).mean()
    weighted = (rows.weight * rows.label).sum() / rows.weight.sum()
    # the classes were subsampled to 400 and 1200 rows: unweighted, wet is far too common
    assert rows.label.mean() > 2 * base_rate
    assert weighted == pytest.approx(base_rate, rel=0.25), (weighted, base_rate)
